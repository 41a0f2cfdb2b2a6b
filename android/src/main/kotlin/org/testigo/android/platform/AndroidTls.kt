package org.testigo.android.platform

import android.content.Context

/**
 * Lets the Rust sync client check the hub's certificate with Android's trust store
 * (rustls-platform-verifier). [TestigoAndroid] installs it before opening the store;
 * an app that uses `FieldStore` directly calls [install] once at startup.
 */
object AndroidTls {
    @Volatile
    private var installed = false

    init {
        // JNA opens the library for the generated bindings; JNI needs it loaded by the
        // JVM too to find this class's native method.
        System.loadLibrary("testigo_ffi")
    }

    @Synchronized
    fun install(context: Context) {
        if (!installed) {
            initialize(context.applicationContext)
            installed = true
        }
    }

    @JvmStatic
    private external fun initialize(context: Context)
}
