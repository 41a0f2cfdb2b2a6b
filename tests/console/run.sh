#!/usr/bin/env bash
# The dispatcher console's end-to-end browser test: Debian's Chromium, driven by
# playwright-core, against a real hub started by the Rust fixture
# (tests/src/bin/console-fixture.rs). Installs what is missing: chromium from
# Debian, playwright-core from npm into tests/console/node_modules (gitignored).
# Screenshots go to target/console-shots/. Prints "N passed, M failed".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ ! -x /usr/bin/chromium ]]; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    echo "installing Debian's chromium"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

if [[ ! -f "$here/node_modules/playwright-core/package.json" ]]; then
    echo "installing playwright-core"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "building the hub fixture"
fixture="$(cd "$root" && cargo build --quiet -p testigo-tests --bin console-fixture --message-format=json \
    | node -e '
        let last = "";
        require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
            const m = JSON.parse(line);
            if (m.reason === "compiler-artifact" && m.executable && m.target.name === "console-fixture") last = m.executable;
        }).on("close", () => console.log(last));
    ')"
if [[ -z "$fixture" ]]; then
    echo "the fixture did not build"
    echo "0 passed, 1 failed"
    exit 1
fi

node "$here/console.test.mjs" "$fixture" "$root/target/console-shots"
