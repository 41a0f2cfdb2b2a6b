#!/usr/bin/env bash
# Kotlin tests of the generated bindings and of the Android wrapper's plain-Kotlin
# parts, on the JVM (Java 17) against the real library, through JNA.
#
#   tests/kotlin/run.sh            (from anywhere)
#
# Installs what is missing: kotlinc (npm `kotlin-compiler`, into .tools/) and JNA
# (Debian `libjna-java`). Builds the debug cdylib, generates the Kotlin bindings,
# compiles bindings + wrapper + tests in one kotlinc run (skipped when no source
# changed), runs them, and ends with one line `N passed, M failed`; exits non-zero
# when a test failed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

KOTLIN_VERSION=2.4.20
tools="$root/.tools"
kotlin_home="$tools/node_modules/kotlin-compiler"
build="$root/tests/kotlin/.build"
jna=/usr/share/java/jna.jar

if [[ ! -x "$kotlin_home/bin/kotlinc" ]] || ! grep -q "\"version\": \"$KOTLIN_VERSION\"" "$kotlin_home/package.json"; then
    echo "installing kotlinc $KOTLIN_VERSION into $tools" >&2
    mkdir -p "$tools"
    npm install --silent --no-audit --no-fund --prefix "$tools" "kotlin-compiler@$KOTLIN_VERSION" >&2
    chmod +x "$kotlin_home"/bin/*
fi

if [[ ! -f "$jna" ]]; then
    echo "installing JNA (libjna-java)" >&2
    sudo=""
    [[ "$(id -u)" == 0 ]] || sudo=sudo
    $sudo apt-get install -y -qq libjna-java libjna-jni >&2 \
        || { $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq libjna-java libjna-jni >&2; }
fi

library="$(bindings/generate.sh --out "$build/generated" kotlin)"

sources=(
    "$build"/generated/kotlin/org/testigo/core/*.kt
    # The Android wrapper's files that need no Android classes (the platform/
    # subpackage does); they are compiled and exercised here.
    android/src/main/kotlin/org/testigo/android/*.kt
    tests/kotlin/src/org/testigo/tests/*.kt
)
classpath="$jna:$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
jar="$build/tests.jar"
stamp="$build/tests.jar.sha256"
digest="$(cat "${sources[@]}" | sha256sum | cut -d' ' -f1)"

if [[ ! -f "$jar" || "$(cat "$stamp" 2>/dev/null)" != "$digest" ]]; then
    echo "compiling ${#sources[@]} Kotlin files" >&2
    rm -f "$jar" "$stamp"
    "$kotlin_home/bin/kotlinc" -nowarn -jvm-target 17 -cp "$classpath" -d "$jar" "${sources[@]}" >&2
    echo "$digest" > "$stamp"
fi

# Some tests make the library panic on purpose (the barrier turns it into an
# exception); one line per panic on stderr is enough.
RUST_BACKTRACE=0 exec java -cp "$classpath:$kotlin_home/lib/kotlin-stdlib.jar:$jar" \
    -Djna.library.path="$(dirname "$library")" \
    org.testigo.tests.HarnessKt
