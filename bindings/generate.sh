#!/usr/bin/env bash
# Builds the host cdylib (unstripped) and generates the Kotlin, Swift and Python
# bindings from it in library mode, with the workspace's own uniffi-bindgen so the
# generator always matches the runtime compiled into the library.
#
#   bindings/generate.sh [--release] [--out DIR] [kotlin] [swift] [python]
#
# Default: debug profile, all three languages, into <target dir>/bindings/<language>.
# Prints the path of the library the bindings were generated from. Generated code is
# never committed: every consumer (tests, Gradle, the XCFramework script) runs this.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

profile=debug
cargo_profile=()
out=""
languages=()
while (($#)); do
    case "$1" in
        --release) profile=release; cargo_profile=(--release) ;;
        --out) out="$2"; shift ;;
        kotlin|swift|python) languages+=("$1") ;;
        *) echo "usage: $0 [--release] [--out DIR] [kotlin] [swift] [python]" >&2; exit 2 ;;
    esac
    shift
done
((${#languages[@]})) || languages=(kotlin swift python)
out="${out:-$target_dir/bindings}"

cargo build --quiet "${cargo_profile[@]}" -p testigo-ffi >&2
# The generator runs on the build machine, so it is always a (fast) debug binary.
cargo build --quiet -p testigo-uniffi-bindgen >&2

case "$(uname -s)" in
    Darwin) library="$target_dir/$profile/libtestigo_ffi.dylib" ;;
    *) library="$target_dir/$profile/libtestigo_ffi.so" ;;
esac

for language in "${languages[@]}"; do
    rm -rf "${out:?}/$language"
    "$target_dir/debug/uniffi-bindgen" generate --library "$library" --language "$language" \
        --no-format --out-dir "$out/$language" >&2
done
echo "$library"
