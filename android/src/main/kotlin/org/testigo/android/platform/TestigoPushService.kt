package org.testigo.android.platform

import kotlinx.coroutines.runBlocking
import org.unifiedpush.android.connector.FailedReason
import org.unifiedpush.android.connector.PushService
import org.unifiedpush.android.connector.data.PushEndpoint
import org.unifiedpush.android.connector.data.PushMessage

/**
 * The UnifiedPush receiver (connector 3.x): a distributor the volunteer chose (ntfy,
 * NextPush, …) hands the app an endpoint URL, which goes to the hub; the hub POSTs an
 * **empty** wake to it when there is work for this phone, and the app then syncs.
 * The message content is ignored: the hub never puts anything in it, and whatever
 * arrives is not trusted. The notification, if any, is built after the sync from the
 * local encrypted store ([OnDutyService] or the app's observer).
 *
 * Register once the device is enrolled:
 * `UnifiedPush.tryUseCurrentOrDefaultDistributor(context) { ok -> if (ok) UnifiedPush.register(context) }`.
 */
class TestigoPushService : PushService() {

    override fun onNewEndpoint(endpoint: PushEndpoint, instance: String) {
        runBlocking {
            val store = TestigoAndroid.store(applicationContext).fieldStore
            // On failure (offline) the next onNewEndpoint, or the app's own retry at
            // its next start, registers it.
            runCatching { store.registerPushEndpoint(endpoint.url) }
        }
    }

    override fun onMessage(message: PushMessage, instance: String) {
        SyncWorker.syncWhenConnected(applicationContext)
    }

    override fun onRegistrationFailed(reason: FailedReason, instance: String) {
        // No distributor or it refused: the on-duty service and the periodic sync remain.
    }

    override fun onUnregistered(instance: String) {
        runBlocking {
            runCatching { TestigoAndroid.store(applicationContext).fieldStore.unregisterPushEndpoint() }
        }
    }
}
