#!/usr/bin/env bash
# Runs every test of the project from a fresh clone: the Rust workspace (unit,
# property and end-to-end tests against a real hub on loopback), then the suites
# that drive the generated bindings from other languages. Each suite installs what
# it needs itself.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust workspace =="
cargo test --workspace --locked

for suite in tests/kotlin/run.sh tests/python/run.sh tests/console/run.sh; do
    if [[ -x "$suite" ]]; then
        echo "== $suite =="
        "$suite"
    fi
done
