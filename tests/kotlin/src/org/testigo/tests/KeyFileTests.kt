package org.testigo.tests

import java.io.File
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.testigo.android.WrappedKeyFile
import org.testigo.core.FieldStore

private fun aesKey(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

fun keyFileTests() = Suite("wrapped database key").apply {
    test("the key is made once, stored only wrapped, and unwraps to the same bytes; it opens the store") {
        val dir = tempDir()
        val wrapping = aesKey()
        val file = File(dir, "testigo.dbkey")
        val key = WrappedKeyFile(file) { wrapping }.getOrCreate()
        assertEquals(32, key.size, "key length")
        expect(file.readBytes().toList().windowed(32).none { it == key.toList() }) { "the raw key is in the file" }
        val again = WrappedKeyFile(file) { wrapping }.getOrCreate()
        expect(key.contentEquals(again)) { "a second read gives another key" }
        FieldStore.open(File(dir, "field.db").path, key).close()
        FieldStore.open(File(dir, "field.db").path, again).close()
        dir.deleteRecursively()
    }

    test("another wrapping key, a truncated or an altered file is KeyUnavailableException, never a new key") {
        val dir = tempDir()
        val file = File(dir, "testigo.dbkey")
        WrappedKeyFile(file) { aesKey() }.getOrCreate()
        val original = file.readBytes()
        assertThrows<WrappedKeyFile.KeyUnavailableException>("another wrapping key") { WrappedKeyFile(file) { aesKey() }.getOrCreate() }
        file.writeBytes(original.copyOf(original.size - 1))
        assertThrows<WrappedKeyFile.KeyUnavailableException>("truncated") { WrappedKeyFile(file) { aesKey() }.getOrCreate() }
        expect(file.readBytes().size == original.size - 1) { "the file was replaced" }
        val wrapping = aesKey()
        WrappedKeyFile(file) { wrapping }.apply { destroy() }.getOrCreate()
        val altered = file.readBytes().also { it[it.size - 20] = (it[it.size - 20].toInt() xor 1).toByte() }
        file.writeBytes(altered)
        assertThrows<WrappedKeyFile.KeyUnavailableException>("one bit flipped") { WrappedKeyFile(file) { wrapping }.getOrCreate() }
        WrappedKeyFile(file) { wrapping }.destroy()
        expect(!file.exists()) { "destroy leaves the file" }
        dir.deleteRecursively()
    }
}
