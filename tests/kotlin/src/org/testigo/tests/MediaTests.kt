package org.testigo.tests

import java.awt.image.BufferedImage
import java.io.File
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList
import javax.imageio.ImageIO
import org.testigo.core.MediaCapture
import org.testigo.core.MediaProblem
import org.testigo.core.MediaUpload
import org.testigo.core.Network
import org.testigo.core.ObservationKind
import org.testigo.core.TestigoException
import org.testigo.core.UploadProgressListener
import org.testigo.core.defaultUploadPolicy

/** A real JPEG written by the JVM's own encoder, as a camera app would hand it over. */
private fun jpeg(dir: File, name: String, width: Int, height: Int): File {
    val image = BufferedImage(width, height, BufferedImage.TYPE_INT_RGB)
    for (x in 0 until width) for (y in 0 until height) image.setRGB(x, y, (x * 7 shl 16) or (y * 5 shl 8) or (x + y))
    return File(dir, name).also { ImageIO.write(image, "jpg", it) }
}

/** An MP4-shaped file (an `ftyp` box, then varied bytes). */
private fun mp4(dir: File, name: String, size: Int): File {
    val bytes = ByteArray(size) { i -> ((i * 31) % 251).toByte() }
    "\u0000\u0000\u0000\u0018ftypisom".toByteArray(Charsets.ISO_8859_1).copyInto(bytes)
    return File(dir, name).also { it.writeBytes(bytes) }
}

/**
 * Photos and video from the JVM through the bindings: attached offline, uploaded to
 * the real hub tests/kotlin/run.sh starts, with progress reported to a Kotlin listener.
 */
fun mediaTests() = Suite("media").apply {
    val console by lazy { HubConsole.shared ?: error("no hub: run through tests/kotlin/run.sh") }

    test("a missing file is TestigoException.Media(VANISHED) and nothing is saved") {
        withStore { f ->
            val id = f.store.createIncident(fieldIncident())
            val gone = MediaCapture(File(f.dir, "never.jpg").path, "image/jpeg", Instant.now(), null, null)
            val e = assertThrows<TestigoException.Media>("vanished file") {
                f.store.addObservationWithMedia(id, ObservationKind.NOTE, "", null, null, listOf(gone))
            }
            assertEquals(MediaProblem.VANISHED, e.problem, "problem")
            assertEquals(0, f.store.incident(id).observations.size, "observations")
            assertEquals(emptyList<MediaUpload>(), f.store.pendingUploads(), "uploads")
        }
    }

    test("a photo with its preview and a video upload to a real hub, with progress callbacks") {
        withStore { f ->
            f.store.enrol(console.url, console.enrolmentCode("volunteer"))
            val id = f.store.createIncident(fieldIncident())
            val photo = jpeg(f.dir, "IMG_0001.jpg", 1200, 900)
            val thumb = jpeg(f.dir, "thumb.jpg", 120, 90)
            val video = mp4(f.dir, "VID_0001.mp4", 1_500_000)
            f.store.addObservationWithMedia(
                id, ObservationKind.NOTE, "the SUV's plate", null, fix(),
                listOf(
                    MediaCapture(photo.path, "image/jpeg", Instant.now(), fix(), thumb.path),
                    MediaCapture(video.path, "video/mp4", Instant.now(), fix(), null),
                ),
            )
            // The camera's files are the app's to delete; the store keeps its own sealed copies.
            listOf(photo, thumb, video).forEach { it.delete() }
            val pending = f.store.pendingUploads()
            assertEquals(3, pending.size, "files waiting")
            assertEquals(true, pending.first().isPreview, "the preview goes first")

            f.store.sync(null)
            val progress = CopyOnWriteArrayList<Pair<String, ULong>>()
            val listener = object : UploadProgressListener {
                override fun onProgress(upload: MediaUpload, ackedBytes: ULong) {
                    progress += upload.sha256 to ackedBytes
                }
            }
            val onMobile = f.store.uploadMedia(null, Network.METERED, defaultUploadPolicy(), listener)
            assertEquals(2u, onMobile.completed, "preview and photo on mobile data")
            assertEquals(1u, onMobile.waitingForNetwork, "the video waits for Wi-Fi")

            val onWifi = f.store.uploadMedia(null, Network.UNMETERED, defaultUploadPolicy(), listener)
            assertEquals(1u, onWifi.completed, "the video on Wi-Fi")
            val videoUpload = f.store.media(id).single { it.mime == "video/mp4" }
            val videoProgress = progress.filter { it.first == videoUpload.sha256 }.map { it.second }
            expect(videoProgress.size >= 5) { "one callback per acknowledged chunk: $videoProgress" }
            expect(videoProgress.zipWithNext().all { (a, b) -> a < b }) { "progress only grows: $videoProgress" }
            assertEquals(1_500_000uL, videoProgress.last(), "the last callback is the whole file")
            expect(f.store.media(id).all { it.uploaded }) { "every file uploaded: ${f.store.media(id)}" }
            assertEquals(emptyList<MediaUpload>(), f.store.pendingUploads(), "nothing left")
        }
    }
}
