#!/usr/bin/env bash
# Kotlin tests of the generated bindings and of the Android wrapper's plain-Kotlin
# parts, on the JVM (Java 17) against the real library, through JNA, with a real hub
# (testigo-hub) on loopback for the sync tests.
#
#   tests/kotlin/run.sh            (from anywhere)
#
# Installs what is missing: kotlinc (npm `kotlin-compiler`, into .tools/) and JNA
# (Debian `libjna-java`). Builds the debug cdylib, generates the Kotlin bindings,
# compiles bindings + wrapper + tests in one kotlinc run (skipped when no source
# changed), starts a hub on a free loopback port with a fresh database, runs the
# tests, stops the hub, and ends with one line `N passed, M failed`; exits non-zero
# when a test failed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

KOTLIN_VERSION=2.4.20
target_dir="${CARGO_TARGET_DIR:-$root/target}"
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

cargo build --quiet -p testigo-hub >&2
hub_dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$target_dir/debug/testigo-hub" --listen "127.0.0.1:$port" --db "$hub_dir/hub.sqlite" >"$hub_dir/hub.log" 2>&1 &
hub_pid=$!
trap 'kill "$hub_pid" 2>/dev/null; wait "$hub_pid" 2>/dev/null || true; rm -rf "$hub_dir"' EXIT
for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    kill -0 "$hub_pid" 2>/dev/null || { cat "$hub_dir/hub.log" >&2; echo "the hub did not start" >&2; exit 1; }
    sleep 0.1
done
# Printed once, on the hub's first start: the coordinator's enrolment code.
code="$(sed -n 's/.*with code \([^ ]*\) .*/\1/p' "$hub_dir/hub.log" | head -n 1)"
[[ -n "$code" ]] || { cat "$hub_dir/hub.log" >&2; echo "no bootstrap code in the hub's output" >&2; exit 1; }

# Some tests make the library panic on purpose (the barrier turns it into an
# exception); one line per panic on stderr is enough.
status=0
TESTIGO_TEST_HUB_URL="http://127.0.0.1:$port" TESTIGO_TEST_HUB_CODE="$code" RUST_BACKTRACE=0 \
    java -cp "$classpath:$kotlin_home/lib/kotlin-stdlib.jar:$jar" \
    -Djna.library.path="$(dirname "$library")" \
    org.testigo.tests.HarnessKt || status=$?
exit "$status"
