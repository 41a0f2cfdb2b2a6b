package org.testigo.tests

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.security.KeyPairGenerator
import java.security.Signature
import java.time.Duration

/**
 * The dispatcher/coordinator console's side of the hub, over its real HTTP API: what a
 * coordinator does to enrol devices and a dispatcher does when a call comes in. The
 * devices in these tests go through the generated bindings; only the console is here.
 */
class HubConsole private constructor(val url: String, private val credential: String) {
    companion object {
        private val http: HttpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()

        /** The hub started by tests/kotlin/run.sh, or null when the tests run without one. */
        fun fromEnvironment(): Pair<String, String>? {
            val url = System.getenv("TESTIGO_TEST_HUB_URL") ?: return null
            val code = System.getenv("TESTIGO_TEST_HUB_CODE") ?: return null
            return url to code
        }

        /**
         * The coordinator console of the hub tests/kotlin/run.sh started, enrolled once
         * for every suite (the first-start code is single-use); null without a hub.
         */
        val shared: HubConsole? by lazy { fromEnvironment()?.let { (url, code) -> enrol(url, code) } }

        /**
         * Enrols the console as the hub's coordinator with the hub's first-start code,
         * proving it holds its key: an ed25519 signature over "testigo-enrol-v1:", the
         * hub's device id, the normalised code and the public key, zero-separated.
         */
        fun enrol(url: String, bootstrapCode: String): HubConsole {
            val keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair()
            // The raw key is the last 32 bytes of the X.509 encoding.
            val publicKey = keys.public.encoded.takeLast(32).toByteArray()
            val hub = field(get(url, "/v1/hub"), "device_id")
            val code = bootstrapCode.filter { it.isLetterOrDigit() && it.code < 128 }.uppercase()
            val message = "testigo-enrol-v1:".toByteArray() + hub.toByteArray() + byteArrayOf(0) +
                code.toByteArray() + byteArrayOf(0) + publicKey
            val proof = Signature.getInstance("Ed25519").run {
                initSign(keys.private)
                update(message)
                sign()
            }
            val hex = { bytes: ByteArray -> bytes.joinToString("") { "%02x".format(it) } }
            val body = post(
                url,
                "/v1/enrol",
                null,
                """{"code": ${quote(bootstrapCode)}, "public_key": "${hex(publicKey)}", "proof": "${hex(proof)}"}""",
            )
            return HubConsole(url, field(body, "credential"))
        }

        private fun get(url: String, path: String): String {
            val request = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(30)).GET().build()
            val response = http.send(request, HttpResponse.BodyHandlers.ofString())
            expect(response.statusCode() in 200..299) { "GET $path: ${response.statusCode()} ${response.body()}" }
            return response.body()
        }

        private fun post(url: String, path: String, credential: String?, json: String): String {
            val request = HttpRequest.newBuilder(URI.create(url + path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .apply { if (credential != null) header("Authorization", "Bearer $credential") }
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build()
            val response = http.send(request, HttpResponse.BodyHandlers.ofString())
            expect(response.statusCode() in 200..299) { "POST $path: ${response.statusCode()} ${response.body()}" }
            return response.body()
        }

        private fun quote(s: String) = "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\""

        /** The first string value of `key` in a JSON body. */
        private fun field(json: String, key: String): String =
            Regex("\"${Regex.escape(key)}\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1)
                ?: throw AssertionFailed("no \"$key\" in $json")
    }

    /** A one-time enrolment code for a device of [role] ("volunteer", "team_lead"…). */
    fun enrolmentCode(role: String, team: String? = null): String =
        field(post(url, "/v1/enrol-codes", credential, """{"role": ${quote(role)}, "team": ${team?.let(::quote) ?: "null"}}"""), "code")

    /** A call comes in: opens an incident on the hub running the shipped checklist. */
    fun openIncident(place: String, urgency: String = "high"): String = field(
        post(
            url,
            "/v1/incidents",
            credential,
            """{"place_text": ${quote(place)}, "point": {"lat": 38.5930, "lon": -90.2235}, "description": "Caller reports agents at the corner",
               "urgency": ${quote(urgency)}, "template": {"id": "field-verification", "version": 1},
               "caller_name": "Private Caller", "caller_phone": "+1 314 555 0100"}""",
        ),
        "id",
    )

    fun assign(incidentId: String, deviceId: String) {
        post(url, "/v1/incidents/$incidentId/assign", credential, """{"device": ${quote(deviceId)}}""")
    }

    /** Gives the incident to a team: its team lead's devices receive it. */
    fun assignTeam(incidentId: String, team: String) {
        post(url, "/v1/incidents/$incidentId/assign", credential, """{"team": ${quote(team)}}""")
    }
}
