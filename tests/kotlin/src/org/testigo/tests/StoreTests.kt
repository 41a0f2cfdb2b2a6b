package org.testigo.tests

import java.io.File
import org.testigo.core.FieldStore
import org.testigo.core.Role
import org.testigo.core.TestigoException
import org.testigo.core.wipeStoreFiles

fun storeTests() = Suite("store").apply {
    test("opens a new store with a fresh device identity, the same after reopening") {
        withStore { f ->
            val device = f.store.device()
            expect(device.deviceId.startsWith("dev_")) { "device id ${device.deviceId}" }
            assertEquals(64, device.publicKeyHex.length, "public key hex length")
            assertEquals(Role.VOLUNTEER, device.role, "role before enrolment")
            assertEquals(false, device.enrolled, "enrolled")
            assertEquals(0uL, f.store.incidentCount(), "incidents in a new store")
            f.reopen().use { again -> assertEquals(device.deviceId, again.device().deviceId, "device id after reopening") }
        }
    }

    test("a wrong key is TestigoException.WrongKey and the store stays readable with the right one") {
        withStore { f ->
            f.store.createIncident(fieldIncident())
            val e = assertThrows<TestigoException.WrongKey>("open with another key") { FieldStore.open(f.path, randomKey()) }
            expect(e.reason.isNotBlank()) { "WrongKey carries a reason" }
            f.reopen().use { assertEquals(1uL, it.incidentCount(), "incidents with the right key") }
        }
    }

    test("an empty or short key is TestigoException.MissingKey") {
        val dir = tempDir()
        assertThrows<TestigoException.MissingKey>("empty key") { FieldStore.open(File(dir, "a.db").path, ByteArray(0)) }
        assertThrows<TestigoException.MissingKey>("16-byte key") { FieldStore.open(File(dir, "b.db").path, ByteArray(16)) }
        dir.deleteRecursively()
    }

    test("nothing on disk is plaintext") {
        withStore { f ->
            f.store.createIncident(fieldIncident(place = "PLAINTEXT-CANARY corner"))
            f.store.close()
            val bytes = File(f.dir, "field.db").readBytes()
            expect(!String(bytes, Charsets.ISO_8859_1).contains("PLAINTEXT-CANARY")) { "the place text is readable on disk" }
            expect(!String(bytes, Charsets.ISO_8859_1).startsWith("SQLite format 3")) { "the database header is plaintext" }
        }
    }

    test("clock status, integrity check and store time") {
        withStore { f ->
            val clock = f.store.clock()
            assertEquals(0L, clock.offsetMs, "offset before any sync")
            assertEquals(false, clock.skewed, "skewed")
            f.store.integrityCheck()
            val now = f.store.now()
            expect(kotlin.math.abs(now.toEpochMilli() - System.currentTimeMillis()) < 5_000) { "store time $now" }
        }
    }

    test("wipe destroys the store and its files; later calls are TestigoException.Closed") {
        withStore { f ->
            f.store.createIncident(fieldIncident())
            f.store.wipe()
            expect(f.dir.listFiles()!!.isEmpty()) { "files left: ${f.dir.list()!!.toList()}" }
            assertThrows<TestigoException.Closed>("call after wipe") { f.store.incidentCount() }
            f.store.wipe()
            f.reopen().use { fresh -> assertEquals(0uL, fresh.incidentCount(), "a new store at the same path") }
        }
    }

    test("a store whose key is lost is wiped without opening it") {
        withStore { f ->
            f.store.createIncident(fieldIncident())
            f.store.close()
            wipeStoreFiles(f.path)
            expect(f.dir.listFiles()!!.isEmpty()) { "files left: ${f.dir.list()!!.toList()}" }
        }
    }

    test("retention removes nothing that is open or unsynced") {
        withStore { f ->
            f.store.createIncident(fieldIncident())
            assertEquals(emptyList<String>(), f.store.applyRetention(), "removed")
            assertEquals(1uL, f.store.incidentCount(), "incidents")
        }
    }

    test("a closed store refuses calls instead of crashing") {
        val f = StoreFixture()
        f.store.close()
        assertThrows<IllegalStateException>("call after close") { f.store.incidentCount() }
        f.dir.deleteRecursively()
    }
}
