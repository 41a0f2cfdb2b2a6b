package org.testigo.tests

import org.testigo.android.LocationFixes
import org.testigo.core.AccuracyLevel
import org.testigo.core.GeoPoint
import org.testigo.core.LocationProvider
import org.testigo.core.TestigoException
import org.testigo.core.accuracyWarnM
import org.testigo.core.assessFix
import org.testigo.core.distanceM

fun locationTests() = Suite("location").apply {
    test("assessFix says good, poor or mocked, and rejects impossible numbers with the field") {
        assertEquals(AccuracyLevel.GOOD, assessFix(fix(accuracyM = 5.0)), "5 m")
        assertEquals(AccuracyLevel.POOR, assessFix(fix(accuracyM = accuracyWarnM() + 1)), "past the threshold")
        assertEquals(AccuracyLevel.MOCKED, assessFix(fix(mock = true)), "mock provider")
        val e = assertThrows<TestigoException.InvalidInput>("latitude 91") { assessFix(fix(lat = 91.0)) }
        assertEquals("latitude", e.field, "field")
        assertEquals("accuracy", assertThrows<TestigoException.InvalidInput>("NaN accuracy") { assessFix(fix(accuracyM = Double.NaN)) }.field, "field")
    }

    test("distanceM measures great-circle metres and rejects points off the Earth") {
        val cityHall = GeoPoint(38.6270, -90.1994)
        val arch = GeoPoint(38.6247, -90.1848)
        val d = distanceM(arch, cityHall)
        expect(d in 1_250.0..1_350.0) { "arch to city hall: $d m" }
        assertThrows<TestigoException.InvalidInput>("latitude 200") { distanceM(GeoPoint(200.0, 0.0), arch) }
    }

    test("Android location values map to a fix with the mock flag and provider") {
        val fix = LocationFixes.fromPlatform(38.59, -90.22, 12.5f, 140.0, "gps", 1_750_000_000_000, isMock = true)
        assertEquals(LocationProvider.GPS, fix.provider, "provider")
        assertEquals(12.5, fix.accuracyM, "accuracy")
        assertEquals(1_750_000_000_000, fix.fixTime.toEpochMilli(), "time")
        assertEquals(AccuracyLevel.MOCKED, assessFix(fix), "a mock location is flagged")
        assertEquals(LocationProvider.FUSED, LocationFixes.providerOf("fused"), "fused")
        assertEquals(LocationProvider.UNKNOWN, LocationFixes.providerOf(null), "no provider")
    }
}
