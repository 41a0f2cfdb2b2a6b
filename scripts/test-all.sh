#!/usr/bin/env bash
# Runs every test of the project from a fresh clone: the Rust workspace (unit,
# property and end-to-end tests against a real hub on loopback), then the suites
# that drive the generated bindings from other languages. Each suite installs what
# it needs itself.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
# The hub's media suite runs over a real S3-compatible server too; it is stopped
# however the run ends. TESTIGO_REQUIRE_S3: its tests fail rather than skip if the
# server is missing.
trap 'bash scripts/s3-server.sh stop' EXIT
echo "== S3-compatible test server =="
TESTIGO_TEST_S3_ENDPOINT="$(bash scripts/s3-server.sh start)"
export TESTIGO_TEST_S3_ENDPOINT TESTIGO_REQUIRE_S3=1
echo "== Rust workspace =="
cargo test --workspace --locked
bash scripts/s3-server.sh stop
echo "== Rust workspace: $((SECONDS - started)) s =="
# Exported media checked by the C2PA project's own c2patool too, when it is installed
# (TESTIGO_C2PATOOL=1 builds it once); skipped, saying why, otherwise.
suite_started=$SECONDS
echo "== content credentials with c2patool =="
bash tests/credentials/c2patool.sh
echo "== c2patool: $((SECONDS - suite_started)) s =="

for suite in tests/kotlin/run.sh tests/python/run.sh tests/console/run.sh; do
    if [[ -x "$suite" ]]; then
        suite_started=$SECONDS
        echo "== $suite =="
        "$suite"
        echo "== $suite: $((SECONDS - suite_started)) s =="
    fi
done
echo "== all tests passed in $((SECONDS - started)) s =="
