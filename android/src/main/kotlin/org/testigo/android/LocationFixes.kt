package org.testigo.android

import java.time.Instant
import org.testigo.core.LocationFix
import org.testigo.core.LocationProvider

/**
 * Builds [LocationFix]es from what Android's location APIs report, without touching
 * Android classes (so it is tested on the JVM); `platform.FusedLocationSource` feeds it
 * from `android.location.Location`.
 */
object LocationFixes {

    /**
     * @param provider `Location.getProvider()`: "gps", "network", "fused", or anything else.
     * @param accuracyMeters `Location.getAccuracy()`; callers drop fixes without accuracy
     *   (`hasAccuracy() == false`), which cannot be judged on scene.
     * @param timeMillis `Location.getTime()`, UTC milliseconds.
     * @param isMock `Location.isMock()` (API 31+) or `isFromMockProvider()` before it.
     */
    fun fromPlatform(
        latitude: Double,
        longitude: Double,
        accuracyMeters: Float,
        altitudeMeters: Double?,
        provider: String?,
        timeMillis: Long,
        isMock: Boolean,
    ): LocationFix = LocationFix(
        lat = latitude,
        lon = longitude,
        accuracyM = accuracyMeters.toDouble(),
        altitudeM = altitudeMeters,
        provider = providerOf(provider),
        fixTime = Instant.ofEpochMilli(timeMillis),
        mock = isMock,
    )

    fun providerOf(name: String?): LocationProvider = when (name) {
        "gps" -> LocationProvider.GPS
        "network" -> LocationProvider.NETWORK
        "fused" -> LocationProvider.FUSED
        else -> LocationProvider.UNKNOWN
    }
}
