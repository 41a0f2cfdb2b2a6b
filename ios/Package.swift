// swift-tools-version:5.9
// Testigo for iOS: the Rust core as a static XCFramework (TestigoFFI) and the Swift
// module (Testigo) holding the uniffi-generated bindings and the Swift wrapper.
// Run ./build-xcframework.sh first: it builds build/TestigoFFI.xcframework and
// generates Sources/Testigo/Generated/Testigo.swift (neither is checked in).
import PackageDescription

let package = Package(
    name: "Testigo",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "Testigo", targets: ["Testigo"]),
    ],
    targets: [
        .binaryTarget(name: "TestigoFFI", path: "build/TestigoFFI.xcframework"),
        .target(
            name: "Testigo",
            dependencies: ["TestigoFFI"],
            path: "Sources/Testigo",
            linkerSettings: [
                .linkedFramework("CoreLocation"),
                // SQLCipher's crypto on Apple targets: CommonCrypto, and Security's
                // random generator (sqlcipher/build.rs).
                .linkedFramework("Security"),
                .linkedFramework("CoreFoundation"),
            ]
        ),
    ]
)
