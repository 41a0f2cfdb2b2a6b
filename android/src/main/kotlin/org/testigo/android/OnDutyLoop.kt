package org.testigo.android

import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import org.testigo.core.DutyWake
import org.testigo.core.FieldStore
import org.testigo.core.WaitCanceller

/**
 * A phone on duty: holds the hub's wake long-poll open, syncs when the hub says there
 * is work, and hands each arrival to [onArrival] (which builds the notification from
 * the summaries, read from the local encrypted store — the wake itself carries
 * nothing). Plain Kotlin, so it is tested on the JVM; `platform/OnDutyService` runs it
 * on a thread of its own inside a foreground service.
 *
 * [run] blocks until [stop] is called, or throws the failure retrying cannot fix (not
 * enrolled, device revoked, store wiped: see [SyncPolicy]). Network failures are
 * retried with backoff ([retryDelayMs] for the n-th failure in a row).
 */
class OnDutyLoop(
    private val store: FieldStore,
    private val waitSecs: UInt = 60u,
    private val retryDelayMs: (failures: Int) -> Long = { n -> minOf(60_000L, 1_000L shl minOf(n, 6)) },
    private val onArrival: (DutyWake.Synced) -> Unit,
) {
    private val canceller = WaitCanceller()
    private val stopped = CountDownLatch(1)

    /** Ends the wait in progress at once (its connection is closed) and the loop with it. */
    fun stop() {
        stopped.countDown()
        canceller.cancel()
    }

    fun run() {
        var failures = 0
        while (stopped.count > 0) {
            val wake = try {
                store.waitForWork(waitSecs, canceller)
            } catch (e: Exception) {
                if (SyncPolicy.outcomeOf(e) != SyncOutcome.RETRY) throw e
                failures++
                stopped.await(retryDelayMs(failures), TimeUnit.MILLISECONDS)
                continue
            }
            failures = 0
            when (wake) {
                is DutyWake.Synced -> onArrival(wake)
                DutyWake.Timeout -> {}
                DutyWake.Cancelled -> return
            }
        }
    }
}
