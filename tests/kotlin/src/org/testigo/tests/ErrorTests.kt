package org.testigo.tests

import java.util.Collections
import org.testigo.core.LogLevel
import org.testigo.core.LogRecord
import org.testigo.core.Logger
import org.testigo.core.TestigoException
import org.testigo.core.debugPanicProbe
import org.testigo.core.setLogger

class RecordingLogger : Logger {
    val records: MutableList<LogRecord> = Collections.synchronizedList(mutableListOf())
    override fun log(record: LogRecord) {
        records += record
    }
}

fun errorTests() = Suite("errors and logging").apply {
    test("a panic inside the library surfaces as TestigoException.Internal, and the library goes on") {
        val e = assertThrows<TestigoException.Internal>("debugPanicProbe") { debugPanicProbe() }
        expect(e.reason.contains("deliberate panic")) { "reason: ${e.reason}" }
        withStore { f -> f.store.createIncident(fieldIncident()) }
    }

    test("library log events reach the foreign logger at the chosen level, and stop when it is removed") {
        val logger = RecordingLogger()
        setLogger(logger, LogLevel.INFO)
        try {
            runCatching { debugPanicProbe() }
            val errors = logger.records.filter { it.level == LogLevel.ERROR && it.target == "testigo_ffi" }
            expect(errors.any { it.message.contains("debug_panic_probe panicked") }) { "records: ${logger.records}" }
            expect(logger.records.none { it.level == LogLevel.DEBUG || it.level == LogLevel.TRACE }) { "records below INFO" }
        } finally {
            setLogger(null, LogLevel.INFO)
        }
        val before = logger.records.size
        runCatching { debugPanicProbe() }
        assertEquals(before, logger.records.size, "records after the logger was removed")
    }

    test("a logger that throws does not break the call that logged") {
        setLogger(object : Logger {
            override fun log(record: LogRecord) = throw IllegalStateException("logger bug")
        }, LogLevel.TRACE)
        try {
            assertThrows<TestigoException.Internal>("debugPanicProbe with a failing logger") { debugPanicProbe() }
            withStore { f -> f.store.createIncident(fieldIncident()) }
        } finally {
            setLogger(null, LogLevel.INFO)
        }
    }
}
