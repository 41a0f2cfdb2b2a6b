package org.testigo.android.platform

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.os.Build
import android.os.IBinder
import kotlinx.coroutines.runBlocking
import org.testigo.android.OnDutyLoop
import org.testigo.core.DutyWake

/**
 * "On duty": a foreground service (type `dataSync`) that keeps the hub's wake
 * long-poll open while the volunteer is on shift, so a dispatch reaches the phone in
 * about a second instead of at the next periodic sync. The loop ([OnDutyLoop]) runs on
 * a thread of its own; each arrival becomes a notification built from the incident's
 * summary as the local encrypted store holds it. The wake carries nothing, so nothing
 * about an incident passes through any push provider.
 *
 * Start with [start] when the volunteer goes on duty, stop with [stop]. When the
 * device is revoked or the store wiped the loop ends and so does the service.
 */
class OnDutyService : Service() {
    private var loop: OnDutyLoop? = null
    private var thread: Thread? = null

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        val manager = getSystemService(NotificationManager::class.java)
        manager.createNotificationChannel(NotificationChannel(DUTY_CHANNEL, "On duty", NotificationManager.IMPORTANCE_LOW))
        manager.createNotificationChannel(NotificationChannel(DISPATCH_CHANNEL, "Dispatches", NotificationManager.IMPORTANCE_HIGH))
        val ongoing = Notification.Builder(this, DUTY_CHANNEL)
            .setContentTitle("On duty")
            .setContentText("Dispatches arrive as soon as they are made")
            .setSmallIcon(android.R.drawable.stat_notify_sync)
            .setOngoing(true)
            .build()
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            startForeground(ONGOING_ID, ongoing, ServiceInfo.FOREGROUND_SERVICE_TYPE_DATA_SYNC)
        } else {
            startForeground(ONGOING_ID, ongoing)
        }
        if (loop == null) {
            val store = runBlocking { TestigoAndroid.store(applicationContext) }.fieldStore
            val onDuty = OnDutyLoop(store) { wake -> notify(manager, wake) }
            loop = onDuty
            thread = Thread({
                runCatching { onDuty.run() }
                // Revoked, wiped or not enrolled: waiting cannot help any more.
                stopSelf()
            }, "testigo-on-duty").apply { start() }
        }
        return START_STICKY
    }

    override fun onDestroy() {
        loop?.stop()
        thread?.join(2_000)
        loop = null
        thread = null
        super.onDestroy()
    }

    private fun notify(manager: NotificationManager, wake: DutyWake.Synced) {
        for (incident in wake.newIncidents) {
            val notification = Notification.Builder(this, DISPATCH_CHANNEL)
                .setContentTitle("New dispatch · ${incident.urgency.name.lowercase()}")
                .setContentText(incident.placeText)
                .setSmallIcon(android.R.drawable.ic_dialog_alert)
                .setCategory(Notification.CATEGORY_MESSAGE)
                // The place is shown only when the phone is unlocked.
                .setVisibility(Notification.VISIBILITY_PRIVATE)
                .setAutoCancel(true)
                .build()
            manager.notify(incident.id.hashCode(), notification)
        }
    }

    companion object {
        private const val DUTY_CHANNEL = "testigo-on-duty"
        private const val DISPATCH_CHANNEL = "testigo-dispatch"
        private const val ONGOING_ID = 1

        fun start(context: Context) {
            context.startForegroundService(Intent(context, OnDutyService::class.java))
        }

        fun stop(context: Context) {
            context.stopService(Intent(context, OnDutyService::class.java))
        }
    }
}
