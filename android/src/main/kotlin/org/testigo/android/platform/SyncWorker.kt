package org.testigo.android.platform

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import java.util.concurrent.TimeUnit
import org.testigo.android.SyncOutcome
import org.testigo.android.SyncPolicy

/**
 * Syncs the shared store with the hub in the background. WorkManager runs it only
 * with a network connection, so work done offline on scene goes up as soon as the
 * phone is back online; failures that time can fix are retried with exponential
 * backoff ([SyncPolicy]).
 */
class SyncWorker(context: Context, parameters: WorkerParameters) : CoroutineWorker(context, parameters) {

    override suspend fun doWork(): Result {
        val error = runCatching { TestigoAndroid.store(applicationContext).sync() }.exceptionOrNull()
        return when (SyncPolicy.outcomeOf(error)) {
            SyncOutcome.DONE -> Result.success()
            SyncOutcome.RETRY -> Result.retry()
            SyncOutcome.GIVE_UP -> Result.failure(workDataOf(KEY_ERROR to (error?.message ?: error?.javaClass?.name)))
        }
    }

    companion object {
        const val KEY_ERROR = "error"
        private const val NOW = "testigo-sync-now"
        private const val PERIODIC = "testigo-sync-periodic"

        private val connected = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

        /**
         * Syncs as soon as there is a connection (right away if there is one): call after
         * every change the volunteer makes. Calls while one is waiting are merged.
         */
        fun syncWhenConnected(context: Context) {
            val request = OneTimeWorkRequestBuilder<SyncWorker>()
                .setConstraints(connected)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(NOW, ExistingWorkPolicy.KEEP, request)
        }

        /** Also syncs every [minutes] while connected, to receive new assignments. */
        fun schedulePeriodic(context: Context, minutes: Long = 15) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(minutes, TimeUnit.MINUTES)
                .setConstraints(connected)
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                .build()
            WorkManager.getInstance(context).enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.UPDATE, request)
        }
    }
}
