package org.testigo.android.platform

import android.content.Context
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import java.io.File
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.testigo.android.WrappedKeyFile

/**
 * The 32-byte SQLCipher key of the field store, wrapped by an AES-256-GCM key that
 * lives in the AndroidKeyStore (in StrongBox where the phone has one) and never
 * leaves it. The wrapped key is kept in `noBackupFilesDir`: a backup restored to
 * another phone could not unwrap it anyway, and it must not travel.
 *
 * The wrapping key does not require an unlocked device or user authentication, so
 * the sync worker can open the store while the phone is locked in a pocket.
 *
 * Blocking (keystore operations): call off the main thread.
 */
class KeystoreDatabaseKey(
    context: Context,
    private val alias: String = "org.testigo.database-key",
    fileName: String = "testigo.dbkey",
) {
    private val keyFile = WrappedKeyFile(File(context.noBackupFilesDir, fileName)) { wrappingKey() }

    /**
     * The database key, made on first use. Throws [WrappedKeyFile.KeyUnavailableException]
     * when a wrapped key exists but its keystore key is gone (e.g. after the lock screen
     * was removed on some devices): the store cannot be opened again and must be wiped.
     */
    fun getOrCreate(): ByteArray = keyFile.getOrCreate()

    /** Deletes the wrapped key and the keystore key: the store becomes unreadable. */
    fun destroy() {
        keyFile.destroy()
        keyStore().deleteEntry(alias)
    }

    private fun keyStore(): KeyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }

    private fun wrappingKey(): SecretKey {
        (keyStore().getKey(alias, null) as SecretKey?)?.let { return it }
        if (keyFile.exists()) {
            // A new keystore key could never unwrap the existing file.
            throw WrappedKeyFile.KeyUnavailableException("the keystore key '$alias' that wrapped the database key is gone")
        }
        return if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
            try {
                generate(strongBox = true)
            } catch (e: StrongBoxUnavailableException) {
                generate(strongBox = false)
            }
        } else {
            generate(strongBox = false)
        }
    }

    private fun generate(strongBox: Boolean): SecretKey {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .setRandomizedEncryptionRequired(true)
            .apply { if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) setIsStrongBoxBacked(strongBox) }
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE).run {
            init(spec)
            generateKey()
        }
    }

    private companion object {
        const val ANDROID_KEYSTORE = "AndroidKeyStore"
    }
}
