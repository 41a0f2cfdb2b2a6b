#!/usr/bin/env bash
# The S3-compatible server the hub's media tests run against: moto's server mode,
# installed from PyPI into a virtual environment of its own (under ~/.cache, keyed by
# scripts/s3-server.requirements.txt, so it is installed once per machine and again
# only when the pins change), listening on a free loopback port.
#
#   scripts/s3-server.sh start   install if needed, start, create the test bucket, wait
#                                until it answers; prints the endpoint URL
#   scripts/s3-server.sh stop    stop the server this checkout started (no-op if none)
#
# By hand:
#   export TESTIGO_TEST_S3_ENDPOINT="$(scripts/s3-server.sh start)"
#   cargo test -p testigo-tests --test media
#   scripts/s3-server.sh stop
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$root/scripts/s3-server.requirements.txt"
state="${CARGO_TARGET_DIR:-$root/target}/s3-server"
bucket="${TESTIGO_TEST_S3_BUCKET:-testigo-test}"
pins="$(sha256sum "$requirements" | cut -c1-12)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/testigo/s3-server-$pins"

log() { echo "s3-server: $*" >&2; }

install() {
    # The marker is written last: an install cut short is done again from scratch.
    if [[ -f "$venv/.installed" ]]; then
        return
    fi
    log "installing moto from PyPI into $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
    touch "$venv/.installed"
}

# Our own server's pid, if it is still running (and is still moto: pids are reused).
running_pid() {
    [[ -f "$state/pid" ]] || return 1
    local pid
    pid="$(cat "$state/pid")"
    [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "moto.server" || return 1
    echo "$pid"
}

start() {
    if pid="$(running_pid)"; then
        log "already running (pid $pid)"
        cat "$state/endpoint"
        return
    fi
    install
    mkdir -p "$state"
    local port endpoint
    port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    endpoint="http://127.0.0.1:$port"
    # Its output goes to the log, never to our stdout: a caller reading the endpoint
    # through $(…) would otherwise wait for the server to end.
    "$venv/bin/python" -m moto.server -H 127.0.0.1 -p "$port" </dev/null >"$state/log" 2>&1 &
    echo $! >"$state/pid"
    echo "$endpoint" >"$state/endpoint"
    # Up to 60 s for it to answer, then the bucket (moto takes unsigned requests).
    if ! "$venv/bin/python" - "$endpoint" "$bucket" <<'PY'
import sys, time, urllib.request, urllib.error
endpoint, bucket = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 60
while True:
    try:
        urllib.request.urlopen(endpoint + "/moto-api/", timeout=2).read()
        break
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        if time.monotonic() > deadline:
            sys.exit("the server did not answer within 60 s")
        time.sleep(0.2)
urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"), timeout=10).read()
PY
    then
        log "could not start; its log:"
        cat "$state/log" >&2
        stop
        exit 1
    fi
    log "listening on $endpoint (bucket $bucket, pid $(cat "$state/pid"), log $state/log)"
    echo "$endpoint"
}

stop() {
    if pid="$(running_pid)"; then
        kill "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid"
        fi
        log "stopped (pid $pid)"
    fi
    rm -f "$state/pid" "$state/endpoint"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
