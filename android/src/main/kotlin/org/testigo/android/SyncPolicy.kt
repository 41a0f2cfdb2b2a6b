package org.testigo.android

import org.testigo.core.TestigoException

/** What a background sync does after a failure. */
enum class SyncOutcome {
    /** Done; the next sync runs when scheduled or when the app asks. */
    DONE,
    /** Transient (network, hub down, disk briefly busy): try again with backoff. */
    RETRY,
    /** Retrying cannot help (not enrolled, credential revoked, store wiped): stop and tell the user. */
    GIVE_UP,
}

/**
 * The retry decision for a failed sync, kept apart from WorkManager so it is tested on
 * the JVM: only failures that time can fix are retried.
 */
object SyncPolicy {
    fun outcomeOf(error: Throwable?): SyncOutcome = when (error) {
        null -> SyncOutcome.DONE
        is TestigoException.Sync, is TestigoException.Storage -> SyncOutcome.RETRY
        is TestigoException -> SyncOutcome.GIVE_UP
        // A bug (uniffi's InternalException, an unexpected Kotlin exception): retrying
        // the same sync would fail the same way.
        else -> SyncOutcome.GIVE_UP
    }
}
