// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "WeightJPEG",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "WeightJPEG", targets: ["WeightJPEG"]),
        .executable(name: "weightjpeg", targets: ["weightjpeg"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // zlib, for gzipped IDX files (Debian: zlib1g-dev).
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Thin C shim over libjpeg-turbo that traps libjpeg's errors with setjmp.
        .target(
            name: "CJPEG",
            linkerSettings: [.linkedLibrary("jpeg")]
        ),
        // Batch-1 hot loops of DCT-domain inference, with AVX2/AVX-512 versions chosen at run time.
        .target(name: "CKernels"),
        .target(
            name: "WeightJPEG",
            dependencies: ["CBLAS", "CZlib", "CJPEG", "CKernels"]
        ),
        .executableTarget(
            name: "weightjpeg",
            dependencies: [
                "WeightJPEG",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "WeightJPEGTests",
            dependencies: ["WeightJPEG"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
