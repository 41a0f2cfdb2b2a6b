#!/usr/bin/env bash
# Builds ios/build/TestigoFFI.xcframework (static libtestigo_ffi.a for iPhone devices
# and for the simulator on Apple silicon and Intel Macs) and generates the Swift
# bindings into ios/Sources/Testigo/Generated/. Runs on a Mac with Xcode and rustup.
#
#   ios/build-xcframework.sh [--debug]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
ios="$root/ios"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

# The size-optimised profile the apps ship (root Cargo.toml); the Swift bindings are
# generated from the unstripped host build by bindings/generate.sh.
profile=release-ffi
cargo_profile=(--profile release-ffi)
if [[ "${1:-}" == "--debug" ]]; then
    profile=debug
    cargo_profile=()
fi

[[ "$(uname -s)" == Darwin ]] || { echo "build-xcframework.sh needs macOS with Xcode" >&2; exit 1; }
command -v xcodebuild >/dev/null || { echo "xcodebuild not found: install Xcode" >&2; exit 1; }

# Matches Package.swift's platforms.
export IPHONEOS_DEPLOYMENT_TARGET=15.0

device=aarch64-apple-ios
simulators=(aarch64-apple-ios-sim x86_64-apple-ios)
rustup target add "$device" "${simulators[@]}"

for target in "$device" "${simulators[@]}"; do
    echo "building testigo-ffi for $target ($profile)" >&2
    cargo build "${cargo_profile[@]}" -p testigo-ffi --target "$target"
done

work="$target_dir/xcframework"
rm -rf "$work"
mkdir -p "$work/device" "$work/simulator" "$work/headers"

cp "$target_dir/$device/$profile/libtestigo_ffi.a" "$work/device/"
# One simulator slice may hold both architectures: lipo them into a fat library.
lipo -create \
    "$target_dir/aarch64-apple-ios-sim/$profile/libtestigo_ffi.a" \
    "$target_dir/x86_64-apple-ios/$profile/libtestigo_ffi.a" \
    -output "$work/simulator/libtestigo_ffi.a"

# Swift bindings, C header and module map, generated from the host library by the
# workspace's uniffi-bindgen (same uniffi version as the static libraries).
bindings/generate.sh --out "$work/bindings" swift >/dev/null
cp "$work/bindings/swift/TestigoFFI.h" "$work/headers/"
cp "$work/bindings/swift/TestigoFFI.modulemap" "$work/headers/module.modulemap"
mkdir -p "$ios/Sources/Testigo/Generated"
cp "$work/bindings/swift/Testigo.swift" "$ios/Sources/Testigo/Generated/Testigo.swift"

rm -rf "$ios/build/TestigoFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$work/device/libtestigo_ffi.a" -headers "$work/headers" \
    -library "$work/simulator/libtestigo_ffi.a" -headers "$work/headers" \
    -output "$ios/build/TestigoFFI.xcframework"

echo "built $ios/build/TestigoFFI.xcframework and Sources/Testigo/Generated/Testigo.swift" >&2
