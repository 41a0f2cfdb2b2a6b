package org.testigo.android.platform

import android.util.Log
import org.testigo.core.LogLevel
import org.testigo.core.LogRecord
import org.testigo.core.Logger
import org.testigo.core.setLogger

/** Sends the Rust core's log events to Logcat under [tag]. */
class LogcatLogger(private val tag: String = "Testigo") : Logger {
    override fun log(record: LogRecord) {
        val message = "${record.target}: ${record.message}"
        when (record.level) {
            LogLevel.ERROR -> Log.e(tag, message)
            LogLevel.WARN -> Log.w(tag, message)
            LogLevel.INFO -> Log.i(tag, message)
            LogLevel.DEBUG -> Log.d(tag, message)
            LogLevel.TRACE -> Log.v(tag, message)
        }
    }

    companion object {
        /** Installs a Logcat logger for the process; call once from `Application.onCreate`. */
        fun install(level: LogLevel = LogLevel.INFO, tag: String = "Testigo") = setLogger(LogcatLogger(tag), level)
    }
}
