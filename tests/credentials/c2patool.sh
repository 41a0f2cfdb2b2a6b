#!/usr/bin/env bash
# Checks the hub's exported files with c2patool, the C2PA project's own command-line
# validator, as a newsroom or court would: each evidence copy (a JPEG and an MP4) is
# Trusted with the organisation's anchor, Valid with `signingCredential.untrusted`
# without it, not Trusted under an impostor's anchor of the same name, and Invalid
# once one byte changed. c2patool is installed from crates.io when TESTIGO_C2PATOOL=1,
# into ~/.cache/testigo/, and used from there by every later run; when it is not
# installed, or the install fails or takes longer than the limit, this prints why
# and skips (the next run goes on building where this one stopped), since the C2PA
# library's own Reader reads the same files in tests/tests/credentials.rs anyway.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The newest c2patool that builds on the project's Rust (later ones need Rust 1.96).
version="${TESTIGO_C2PATOOL_VERSION:-0.26.72}"
limit="${TESTIGO_C2PATOOL_TIMEOUT:-600}"
root="${HOME}/.cache/testigo/c2patool-${version}"
tool="${root}/bin/c2patool"
if [[ ! -x "$tool" && "${TESTIGO_C2PATOOL:-}" != 1 ]]; then
    # Building c2patool takes a quarter of an hour of CPU on a 2-core machine, too long
    # for every test run: it is built only when asked for, then kept.
    echo "SKIP: c2patool ${version} is not installed in ${root}; TESTIGO_C2PATOOL=1 builds it (about 15 min of CPU, once per machine)"
    exit 0
fi
if [[ ! -x "$tool" ]]; then
    mkdir -p "$root"
    echo "installing c2patool ${version} (once per machine, at most ${limit} s)"
    # The build directory is kept: an install cut off by the time limit goes on
    # where it stopped at the next run.
    if ! timeout "$limit" cargo install "c2patool@${version}" --locked --root "$root" \
        --target-dir "${root}/build" >"${root}/install.log" 2>&1; then
        echo "SKIP: c2patool ${version} could not be installed within ${limit} s; last lines of ${root}/install.log:"
        tail -n 5 "${root}/install.log" | sed 's/^/    /'
        exit 0
    fi
fi

files="$(mktemp -d)"
trap 'rm -rf "$files"' EXIT
TESTIGO_CREDENTIALS_DIR="$files" cargo test --locked -p testigo-tests --test credentials \
    -- --exact exported_photo_and_video_are_trusted_with_the_anchor_untrusted_without_and_invalid_once_changed

# The active manifest's validation state and failure codes, from c2patool's report.
state() {
    python3 -c '
import json, sys
report = json.load(sys.stdin)
failures = [s["code"] for s in report.get("validation_results", {}).get("activeManifest", {}).get("failure", [])]
print(report.get("validation_state"), " ".join(sorted(failures)))'
}
expect() {
    local what="$1" got="$2" want="$3"
    if [[ "$got" != $want ]]; then
        echo "FAIL: c2patool on ${what}: got '${got}', expected '${want}'"
        exit 1
    fi
    echo "ok: c2patool on ${what}: ${got}"
}
for ext in jpg mp4; do
    expect "evidence.${ext} with the anchor" \
        "$("$tool" "${files}/evidence.${ext}" trust --trust_anchors "${files}/org.pem" | state)" "Trusted "
    expect "evidence.${ext} without an anchor" \
        "$("$tool" "${files}/evidence.${ext}" | state)" "Valid signingCredential.untrusted"
    expect "evidence.${ext} under an impostor's anchor" \
        "$("$tool" "${files}/evidence.${ext}" trust --trust_anchors "${files}/impostor.pem" | state)" \
        "Valid signingCredential.untrusted"
    expect "forged.${ext} (an impostor's signature) with the anchor" \
        "$("$tool" "${files}/forged.${ext}" trust --trust_anchors "${files}/org.pem" | state)" \
        "Valid signingCredential.untrusted"
    expect "changed.${ext} (one byte flipped)" \
        "$("$tool" "${files}/changed.${ext}" trust --trust_anchors "${files}/org.pem" | state)" \
        "Invalid *Hash.mismatch*"
done
echo "c2patool agrees on every file"
