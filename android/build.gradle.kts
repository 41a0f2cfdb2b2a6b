import org.jetbrains.kotlin.gradle.dsl.JvmTarget

// Testigo for Android: the Rust core as libtestigo_ffi.so for each ABI (cargo-ndk),
// the uniffi-generated Kotlin bindings (org.testigo.core), and the Kotlin wrapper
// (org.testigo.android). Both Rust steps run on every build when their inputs change;
// nothing generated is checked in.

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

/** The Cargo workspace this module lives in. */
val workspace: File = projectDir.parentFile
val rustProfile: String = providers.gradleProperty("testigo.rustProfile").getOrElse("release")
val rustAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")
val androidMinSdk = 26

/**
 * The Kotlin half of rustls-platform-verifier must be the version the Rust half was
 * built with: read it from Cargo.lock.
 */
val rustlsPlatformVerifierVersion: String = workspace.resolve("Cargo.lock").readLines().let { lines ->
    val at = lines.indexOfFirst { it.trim() == "name = \"rustls-platform-verifier-android\"" }
    check(at >= 0) { "rustls-platform-verifier-android is not in Cargo.lock" }
    lines[at + 1].substringAfter('"').substringBefore('"')
}

val rustJniLibs = layout.buildDirectory.dir("rustJniLibs")
val uniffiOut = layout.buildDirectory.dir("generated/uniffi")

val rustSources = files(
    fileTree(workspace.resolve("core")) { include("Cargo.toml", "src/**") },
    fileTree(workspace.resolve("bindings")) { include("Cargo.toml", "uniffi.toml", "src/**", "uniffi-bindgen/**") },
    workspace.resolve("Cargo.toml"),
    workspace.resolve("Cargo.lock"),
)

/** libtestigo_ffi.so for every ABI, into build/rustJniLibs/<abi>/. Needs cargo-ndk and the NDK. */
val cargoNdkBuild by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds libtestigo_ffi.so for ${rustAbis.joinToString()} with cargo-ndk."
    inputs.files(rustSources)
    inputs.property("profile", rustProfile)
    outputs.dir(rustJniLibs)
    workingDir = workspace
    val outDir = rustJniLibs.get().asFile
    commandLine(
        buildList {
            addAll(listOf("cargo", "ndk"))
            rustAbis.forEach { addAll(listOf("-t", it)) }
            addAll(listOf("--platform", androidMinSdk.toString(), "-o", outDir.path, "build", "-p", "testigo-ffi"))
            // Release builds use the size-optimised, stripped profile the apps ship.
            if (rustProfile == "release") addAll(listOf("--profile", "release-ffi"))
        },
    )
    // cargo-ndk finds the NDK through ANDROID_NDK_HOME; default it to the one AGP uses.
    doFirst {
        if (System.getenv("ANDROID_NDK_HOME") == null) {
            environment("ANDROID_NDK_HOME", android.ndkDirectory.path)
        }
    }
}

/**
 * The Kotlin bindings, generated in library mode from the host build of the same
 * crate by the workspace's own uniffi-bindgen (bindings/generate.sh).
 */
val generateUniffiBindings by tasks.registering(Exec::class) {
    group = "rust"
    description = "Generates the uniffi Kotlin bindings (org.testigo.core) into build/generated/uniffi/kotlin."
    inputs.files(rustSources)
    inputs.file(workspace.resolve("bindings/generate.sh"))
    outputs.dir(uniffiOut)
    workingDir = workspace
    commandLine("bash", "bindings/generate.sh", "--out", uniffiOut.get().asFile.path, "kotlin")
}

android {
    namespace = "org.testigo.android"
    compileSdk = 35
    ndkVersion = "27.2.12479018"

    defaultConfig {
        // java.time.Instant in the generated bindings needs API 26 (no desugaring).
        minSdk = androidMinSdk
        consumerProguardFiles("consumer-rules.pro")
        ndk { abiFilters += rustAbis }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets["main"].apply {
        java.srcDir(uniffiOut.map { it.dir("kotlin") })
        jniLibs.srcDir(rustJniLibs)
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

tasks.named("preBuild") { dependsOn(generateUniffiBindings, cargoNdkBuild) }

dependencies {
    // The generated bindings call the library through JNA; the AAR carries
    // libjnidispatch.so for every ABI.
    implementation("net.java.dev.jna:jna:5.13.0@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
    // UnifiedPush receiver (platform/TestigoPushService.kt).
    implementation("org.unifiedpush.android:connector:3.0.10")
    implementation("com.google.android.gms:play-services-location:21.3.0")
    implementation("rustls:rustls-platform-verifier:$rustlsPlatformVerifierVersion")
}
