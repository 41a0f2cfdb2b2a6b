package org.testigo.android.platform

import android.Manifest
import android.content.Context
import android.location.Location
import android.os.Build
import android.os.Looper
import androidx.annotation.RequiresPermission
import com.google.android.gms.location.CurrentLocationRequest
import com.google.android.gms.location.LocationCallback
import com.google.android.gms.location.LocationRequest
import com.google.android.gms.location.LocationResult
import com.google.android.gms.location.LocationServices
import com.google.android.gms.location.Priority
import com.google.android.gms.tasks.CancellationTokenSource
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.suspendCancellableCoroutine
import org.testigo.android.LocationFixes
import org.testigo.core.LocationFix

/**
 * Location fixes from the FusedLocationProviderClient, as [LocationFix]es with the
 * platform's mock flag. The app holds the location permission before calling.
 */
class FusedLocationSource(context: Context) {
    private val client = LocationServices.getFusedLocationProviderClient(context)

    /**
     * One fresh fix for a check-in or an observation, or null when the phone has none
     * (location off, no signal). A cached fix up to [maxAgeMillis] old is accepted.
     */
    @RequiresPermission(anyOf = [Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION])
    suspend fun currentFix(priority: Int = Priority.PRIORITY_HIGH_ACCURACY, maxAgeMillis: Long = 10_000): LocationFix? {
        val request = CurrentLocationRequest.Builder().setPriority(priority).setMaxUpdateAgeMillis(maxAgeMillis).build()
        val cancellation = CancellationTokenSource()
        val location = suspendCancellableCoroutine<Location?> { continuation ->
            client.getCurrentLocation(request, cancellation.token)
                .addOnSuccessListener { continuation.resume(it) }
                .addOnFailureListener { continuation.resumeWithException(it) }
            continuation.invokeOnCancellation { cancellation.cancel() }
        }
        return location?.let(::toFix)
    }

    /** Fixes every [intervalMillis] while collected (e.g. while the volunteer is on scene). */
    @RequiresPermission(anyOf = [Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION])
    fun fixes(intervalMillis: Long = 5_000, priority: Int = Priority.PRIORITY_HIGH_ACCURACY): Flow<LocationFix> = callbackFlow {
        val callback = object : LocationCallback() {
            override fun onLocationResult(result: LocationResult) {
                result.locations.mapNotNull(::toFix).forEach { trySend(it) }
            }
        }
        client.requestLocationUpdates(LocationRequest.Builder(priority, intervalMillis).build(), callback, Looper.getMainLooper())
            .addOnFailureListener { close(it) }
        awaitClose { client.removeLocationUpdates(callback) }
    }

    companion object {
        /** A fix without an accuracy radius cannot be judged on scene and is dropped. */
        fun toFix(location: Location): LocationFix? {
            if (!location.hasAccuracy()) return null
            val mock = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
                location.isMock
            } else {
                @Suppress("DEPRECATION")
                location.isFromMockProvider
            }
            return LocationFixes.fromPlatform(
                latitude = location.latitude,
                longitude = location.longitude,
                accuracyMeters = location.accuracy,
                altitudeMeters = if (location.hasAltitude()) location.altitude else null,
                provider = location.provider,
                timeMillis = location.time,
                isMock = mock,
            )
        }
    }
}
