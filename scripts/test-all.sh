#!/usr/bin/env bash
# Runs every test of the project from a fresh clone: the Rust workspace (unit,
# property and end-to-end tests against a real hub on loopback), then the suites
# that drive the generated bindings from other languages. Each suite installs what
# it needs itself.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
echo "== Rust workspace =="
cargo test --workspace --locked
echo "== Rust workspace: $((SECONDS - started)) s =="

for suite in tests/kotlin/run.sh tests/python/run.sh tests/console/run.sh; do
    if [[ -x "$suite" ]]; then
        suite_started=$SECONDS
        echo "== $suite =="
        "$suite"
        echo "== $suite: $((SECONDS - suite_started)) s =="
    fi
done
echo "== all tests passed in $((SECONDS - started)) s =="
