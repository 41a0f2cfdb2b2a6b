package org.testigo.android

import java.io.File
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The database key, kept in [file] only as AES-GCM ciphertext under [wrappingKey].
 *
 * On Android the wrapping key lives in the AndroidKeyStore and never leaves it
 * (`platform.KeystoreDatabaseKey`); this class holds the file format and is plain JVM
 * code so it is tested on the JVM. The 32-byte database key exists unwrapped only in
 * memory, for as long as the store is being opened.
 *
 * File format: `"TGK1"`, 12-byte GCM nonce, then the 32-byte key encrypted with a
 * 128-bit tag; the magic is authenticated as associated data.
 */
class WrappedKeyFile(
    private val file: File,
    private val wrappingKey: () -> SecretKey,
) {
    /** The wrapped key cannot be recovered; the store it opened is lost, never replaced silently. */
    class KeyUnavailableException(message: String, cause: Throwable? = null) : Exception(message, cause)

    /**
     * The database key: unwrapped from [file], or made and saved on first use.
     * Throws [KeyUnavailableException] when the file exists but cannot be unwrapped
     * (the wrapping key was deleted, e.g. after a device reset, or the file was
     * altered). The caller then decides to wipe: it never gets a fresh key for an
     * existing store.
     */
    @Synchronized
    fun getOrCreate(): ByteArray = if (file.exists()) unwrap(file.readBytes()) else create()

    fun exists(): Boolean = file.exists()

    /** Forgets the key; the database it opened can no longer be read. Part of a wipe. */
    @Synchronized
    fun destroy() {
        if (file.exists() && !file.delete()) throw IOException("cannot delete $file")
    }

    private fun create(): ByteArray {
        val key = ByteArray(KEY_BYTES).also { SecureRandom().nextBytes(it) }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        // The provider picks the nonce (AndroidKeyStore insists on it), read back below.
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey())
        cipher.updateAAD(MAGIC)
        val sealed = cipher.doFinal(key)
        val nonce = cipher.iv
        check(nonce.size == NONCE_BYTES) { "unexpected GCM nonce length ${nonce.size}" }
        writeAtomically(MAGIC + nonce + sealed)
        return key
    }

    private fun unwrap(bytes: ByteArray): ByteArray {
        if (bytes.size != MAGIC.size + NONCE_BYTES + KEY_BYTES + TAG_BYTES ||
            !bytes.copyOfRange(0, MAGIC.size).contentEquals(MAGIC)
        ) {
            throw KeyUnavailableException("$file is not a wrapped Testigo database key")
        }
        val nonce = bytes.copyOfRange(MAGIC.size, MAGIC.size + NONCE_BYTES)
        val sealed = bytes.copyOfRange(MAGIC.size + NONCE_BYTES, bytes.size)
        return try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(TAG_BYTES * 8, nonce))
            cipher.updateAAD(MAGIC)
            cipher.doFinal(sealed)
        } catch (e: GeneralSecurityException) {
            throw KeyUnavailableException("the database key in $file cannot be unwrapped", e)
        }
    }

    /** A crash mid-write leaves either no key file or the complete one. */
    private fun writeAtomically(bytes: ByteArray) {
        file.parentFile?.mkdirs()
        val temp = File(file.parentFile, "${file.name}.tmp")
        temp.outputStream().use { out ->
            out.write(bytes)
            out.fd.sync()
        }
        if (!temp.renameTo(file)) {
            temp.delete()
            throw IOException("cannot move the new key into $file")
        }
    }

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val KEY_BYTES = 32
        const val NONCE_BYTES = 12
        const val TAG_BYTES = 16
        val MAGIC = "TGK1".toByteArray(Charsets.US_ASCII)
    }
}
