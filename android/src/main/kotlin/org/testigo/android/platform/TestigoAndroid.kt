package org.testigo.android.platform

import android.content.Context
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext
import org.testigo.android.TestigoStore
import org.testigo.core.wipeStoreFiles

/**
 * The app's one field store. Screens and the sync worker share it, so that a sync's
 * changes reach the screens' observers and two connections never race on one file.
 * The database lives in `noBackupFilesDir` (never in a backup) and opens with the
 * keystore-wrapped key of [KeystoreDatabaseKey].
 */
object TestigoAndroid {
    private val lock = Mutex()
    private var store: TestigoStore? = null

    /** The shared store, opened on first use. */
    suspend fun store(context: Context): TestigoStore = lock.withLock {
        store ?: withContext(Dispatchers.IO) {
            val app = context.applicationContext
            AndroidTls.install(app)
            val key = KeystoreDatabaseKey(app).getOrCreate()
            val file = databaseFile(app).apply { parentFile?.mkdirs() }
            try {
                TestigoStore.open(file.path, key)
            } finally {
                key.fill(0)
            }
        }.also { store = it }
    }

    /**
     * Erases everything Testigo holds on this phone: the store (device identity,
     * documents, files) and the database key. Works when the key is already gone
     * ([org.testigo.android.WrappedKeyFile.KeyUnavailableException]) too: the files
     * are then deleted unopened. Screens holding the old store get
     * `TestigoException.Closed`.
     */
    suspend fun wipe(context: Context) = lock.withLock {
        withContext(Dispatchers.IO) {
            val app = context.applicationContext
            val open = store
            store = null
            if (open != null) {
                open.wipe()
                open.close()
            } else {
                wipeStoreFiles(databaseFile(app).path)
            }
            KeystoreDatabaseKey(app).destroy()
            databaseFile(app).parentFile?.deleteRecursively()
        }
    }

    private fun databaseFile(context: Context) = File(File(context.noBackupFilesDir, "testigo"), "field.db")
}
