package org.testigo.tests

import java.io.File
import java.nio.file.Files
import java.security.SecureRandom
import java.time.Instant
import java.time.temporal.ChronoUnit
import org.testigo.core.FieldStore
import org.testigo.core.GeoPoint
import org.testigo.core.LocationFix
import org.testigo.core.LocationProvider
import org.testigo.core.NewFieldIncident
import org.testigo.core.Urgency

/** The corner of the report used throughout: Cherokee St & Jefferson Ave, St. Louis. */
val reportedCorner = GeoPoint(lat = 38.5930, lon = -90.2235)

fun tempDir(): File = Files.createTempDirectory("testigo-kt").toFile().also { it.deleteOnExit() }

fun randomKey(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

/** A fresh store in its own directory, with its own key. */
class StoreFixture {
    val dir = tempDir()
    val path: String = File(dir, "field.db").path
    val key = randomKey()
    val store: FieldStore = FieldStore.open(path, key)

    fun reopen(): FieldStore = FieldStore.open(path, key)
}

fun <T> withStore(body: (StoreFixture) -> T): T {
    val fixture = StoreFixture()
    try {
        return body(fixture)
    } finally {
        fixture.store.close()
        fixture.dir.deleteRecursively()
    }
}

fun fix(
    lat: Double = 38.5931,
    lon: Double = -90.2236,
    accuracyM: Double = 8.0,
    mock: Boolean = false,
): LocationFix = LocationFix(
    lat = lat,
    lon = lon,
    accuracyM = accuracyM,
    altitudeM = null,
    provider = LocationProvider.FUSED,
    // The store keeps times at millisecond precision, as documents do.
    fixTime = Instant.now().truncatedTo(ChronoUnit.MILLIS),
    mock = mock,
)

fun fieldIncident(place: String = "Cherokee St & Jefferson Ave") = NewFieldIncident(
    placeText = place,
    point = reportedCorner,
    reportedAt = Instant.now(),
    description = "Two unmarked SUVs, agents in vests outside the taquería",
    urgency = Urgency.HIGH,
    template = null,
)
