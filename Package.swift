// swift-tools-version: 6.0
import PackageDescription

/// Hot kernels are written over unsafe buffers with SIMD types; without an explicit CPU target,
/// Swift lowers `SIMD8<Float>` fused multiply-adds to scalar `fmaf` calls (~100x slower).
/// Haswell (AVX2 + FMA) runs on every x86-64 machine this project targets, Intel and AMD alike.
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"]),
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
]

/// Kernel and method modules compile optimized even in debug builds: unoptimized SIMD code runs ~100x slower, and the debug
/// test suite runs real models through these kernels (a 5-token SmolLM2 forward took minutes at -Onone).
let optimizedInDebug: [SwiftSetting] = kernelFlags + [.unsafeFlags(["-O"], .when(configuration: .debug))]

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
        .package(url: "https://github.com/JohnSundell/Ink", from: "0.6.0"),
    ],
    targets: [
        // OpenBLAS (BLAS + LAPACK), opened at run time so the core type can be chosen first.
        .target(name: "CBLAS", linkerSettings: [.linkedLibrary("dl")]),
        // Software prefetch (one static inline C function) for the decode kernels.
        .target(name: "CPrefetch"),
        .target(name: "LoupeTensor", dependencies: ["CBLAS"], swiftSettings: optimizedInDebug),
        // GNU readline for the REPL.
        .systemLibrary(name: "CReadline", providers: [.apt(["libreadline-dev"])]),
        // The language: lexer, parser, resolver, interpreter, values, errors, builtin registry.
        .target(name: "LoupeLang", dependencies: ["LoupeTensor"], resources: [.copy("Resources/stdlib")],
                swiftSettings: kernelFlags),
        // SVG charts; depends on nothing of ours.
        .target(name: "LoupePlot", swiftSettings: kernelFlags),
        // GGUF and safetensors, tokenizers, architectures, inference, generation, hooks.
        .target(name: "LoupeModels", dependencies: ["LoupeTensor", "CBLAS", "CPrefetch"], swiftSettings: optimizedInDebug),
        // The research methods and metrics, one file per method.
        .target(name: "LoupeMethods", dependencies: ["LoupeTensor", "LoupeModels"], swiftSettings: optimizedInDebug),
        // Binds the Swift modules (tensors, models, methods, plots) into the language.
        .target(name: "LoupeLibrary",
                dependencies: ["LoupeLang", "LoupeTensor", "LoupeModels", "LoupeMethods", "LoupePlot"],
                swiftSettings: kernelFlags),
        // .nb notebooks: format, dependency graph, cell cache, runner, reports, snapshot tests.
        .target(name: "LoupeNotebook",
                dependencies: ["LoupeLang", "LoupeLibrary", "LoupePlot", .product(name: "Ink", package: "Ink")],
                swiftSettings: kernelFlags),
        .executableTarget(
            name: "loupe",
            dependencies: ["LoupeTensor", "LoupeLang", "LoupeLibrary", "LoupeNotebook", "LoupeModels", "LoupePlot",
                           "CReadline",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: kernelFlags),
        .executableTarget(
            name: "loupe-bench",
            dependencies: ["LoupeTensor", "LoupeLang", "LoupeLibrary", "LoupeNotebook", "LoupeModels",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: kernelFlags),
        .testTarget(
            name: "LoupeTensorTests", dependencies: ["LoupeTensor"],
            resources: [.copy("Fixtures")], swiftSettings: kernelFlags),
        .testTarget(
            name: "LoupeLangTests", dependencies: ["LoupeLang", "LoupeLibrary"],
            resources: [.copy("Corpus")], swiftSettings: kernelFlags),
        .testTarget(
            name: "LoupeModelsTests", dependencies: ["LoupeModels", "LoupeTensor"],
            resources: [.copy("Fixtures")], swiftSettings: kernelFlags),
        .testTarget(
            name: "LoupeMethodsTests", dependencies: ["LoupeMethods", "LoupeTensor", "LoupeLang", "LoupeLibrary"],
            resources: [.copy("Fixtures")], swiftSettings: kernelFlags),
        .testTarget(
            name: "LoupePlotTests", dependencies: ["LoupePlot"], resources: [.copy("Fixtures")],
            swiftSettings: kernelFlags),
        .testTarget(
            name: "LoupeNotebookTests", dependencies: ["LoupeNotebook", "LoupeLang", "LoupeLibrary", "LoupePlot"],
            resources: [.copy("Fixtures")], swiftSettings: kernelFlags),
    ],
    swiftLanguageModes: [.v5]
)
