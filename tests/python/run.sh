#!/usr/bin/env bash
# Smoke test of the generated Python bindings: builds the debug cdylib, generates the
# Python module beside a copy of the library, runs smoke.py (one line `N passed,
# M failed`; non-zero exit when a test failed). Callable from anywhere.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
build="$root/tests/python/.build"

library="$(bindings/generate.sh --out "$build" python)"
# The generated module loads the library from its own directory.
cp "$library" "$build/python/"

RUST_BACKTRACE=0 PYTHONPATH="$build/python" exec python3 "$root/tests/python/smoke.py"
