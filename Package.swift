// swift-tools-version: 6.0
import PackageDescription

/// Hot kernels are written over unsafe buffers with SIMD types; without an explicit CPU target,
/// Swift lowers `SIMD8<Float>` fused multiply-adds to scalar `fmaf` calls (~100x slower).
/// Haswell (AVX2 + FMA) runs on every x86-64 machine this project targets, Intel and AMD alike.
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"]),
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
]

let package = Package(
    name: "Loupe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "loupe", targets: ["loupe"]),
        .executable(name: "loupe-bench", targets: ["loupe-bench"]),
        .library(name: "LoupeTensor", targets: ["LoupeTensor"]),
        .library(name: "LoupeLang", targets: ["LoupeLang"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // OpenBLAS (BLAS + LAPACK), opened at run time so the core type can be chosen first.
        .target(name: "CBLAS", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "LoupeTensor", dependencies: ["CBLAS"], swiftSettings: kernelFlags),
        // GNU readline for the REPL.
        .systemLibrary(name: "CReadline", providers: [.apt(["libreadline-dev"])]),
        // The language: lexer, parser, resolver, interpreter, values, errors, builtin registry.
        .target(name: "LoupeLang", dependencies: ["LoupeTensor"], resources: [.copy("Resources/stdlib")],
                swiftSettings: kernelFlags),
        // Binds the Swift modules (tensors now; models and methods later) into the language.
        .target(name: "LoupeLibrary", dependencies: ["LoupeLang", "LoupeTensor"], swiftSettings: kernelFlags),
        .executableTarget(
            name: "loupe",
            dependencies: ["LoupeTensor", "LoupeLang", "LoupeLibrary", "CReadline",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: kernelFlags),
        .executableTarget(
            name: "loupe-bench",
            dependencies: ["LoupeTensor", "LoupeLang", "LoupeLibrary",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: kernelFlags),
        .testTarget(
            name: "LoupeTensorTests", dependencies: ["LoupeTensor"],
            resources: [.copy("Fixtures")], swiftSettings: kernelFlags),
        .testTarget(
            name: "LoupeLangTests", dependencies: ["LoupeLang", "LoupeLibrary"],
            resources: [.copy("Corpus")], swiftSettings: kernelFlags),
    ],
    swiftLanguageModes: [.v5]
)
