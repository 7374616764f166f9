// swift-tools-version: 6.0
import PackageDescription

// The layers, lowest first. A target depends only on targets above it in this list, so the build
// itself forbids an upward import (docs/ARCHITECTURE.md draws the picture):
//
//   WeightJPEGCore       bytes, CRC-32, files (atomic, mapped), BLAS, half precision, parallel map
//   WeightJPEGFormats    safetensors, the .wjpg container, IDX, PNG
//   WeightJPEGCodec      per-tensor codings (JPEG, rANS, scalar), policy, whole-model coding, pipeline
//   WeightJPEGModel      MLP, training, evaluation, datasets
//   WeightJPEGInference  DCT-domain inference engine
//   WeightJPEGTuning     rate control, dead units, JPEG-native fine-tuning
//   WeightJPEG           the library a Swift user imports: re-exports the layers, model files, reports
//   WeightJPEGTools      comparison, founding experiment, synthetic checkpoints, benchmark references
//   WeightJPEGC          the C interface (libweightjpeg, Sources/CWeightJPEG/include/weightjpeg.h)
//   weightjpeg           the command-line tool: one thin file per subcommand
let package = Package(
    name: "WeightJPEG",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "WeightJPEG", targets: ["WeightJPEG"]),
        .executable(name: "weightjpeg", targets: ["weightjpeg"]),
        // libweightjpeg for C, Python (ctypes) and any other language: Sources/CWeightJPEG/include/weightjpeg.h.
        // Built as libWeightJPEGC.so; scripts/install links the Swift runtime in statically and installs it
        // as libweightjpeg.so.
        .library(name: "WeightJPEGC", type: .dynamic, targets: ["WeightJPEGC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C: system libraries and the two small shims.
        // OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // zlib: CRC-32, gzipped IDX files, PNG (Debian: zlib1g-dev).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Thin C shim over libjpeg-turbo that traps libjpeg's errors with setjmp.
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // Plain libjpeg loops, the reference of the benchmarks (tools only).
        .target(name: "CJPEGBench", dependencies: ["CJPEG"], linkerSettings: [.linkedLibrary("jpeg")]),
        // Batch-1 hot loops of DCT-domain inference, with AVX2/AVX-512 versions chosen at run time.
        .target(name: "CKernels"),
        // Coding 6's hot loops (the encoder's trellis pass), branch-free C.
        .target(name: "CTrellis"),
        // The C interface's header (weightjpeg.h) and its defaults; the functions are WeightJPEGC's.
        .target(name: "CWeightJPEG"),

        // Swift layers.
        .target(name: "WeightJPEGCore", dependencies: ["CBLAS", "CZlib"]),
        .target(name: "WeightJPEGFormats", dependencies: ["WeightJPEGCore", "CZlib"]),
        .target(name: "WeightJPEGCodec", dependencies: ["WeightJPEGCore", "WeightJPEGFormats", "CJPEG", "CTrellis"]),
        .target(name: "WeightJPEGModel", dependencies: ["WeightJPEGCore", "WeightJPEGFormats"]),
        .target(name: "WeightJPEGInference",
                dependencies: ["WeightJPEGCore", "WeightJPEGFormats", "WeightJPEGCodec", "WeightJPEGModel", "CBLAS", "CKernels"]),
        .target(name: "WeightJPEGTuning",
                dependencies: ["WeightJPEGCore", "WeightJPEGFormats", "WeightJPEGCodec", "WeightJPEGModel", "WeightJPEGInference"]),
        .target(name: "WeightJPEG",
                dependencies: ["WeightJPEGCore", "WeightJPEGFormats", "WeightJPEGCodec", "WeightJPEGModel",
                               "WeightJPEGInference", "WeightJPEGTuning"]),
        // The C interface: @_cdecl functions over the library (product WeightJPEGC).
        .target(name: "WeightJPEGC", dependencies: ["WeightJPEG", "CWeightJPEG"]),
        .target(name: "WeightJPEGTools", dependencies: ["WeightJPEG", "CJPEGBench", "CBLAS"]),
        .executableTarget(
            name: "weightjpeg",
            dependencies: [
                "WeightJPEG", "WeightJPEGTools",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "WeightJPEGTests",
            // The CLI's commands are tested in process (`@testable import weightjpeg`).
            dependencies: ["WeightJPEG", "WeightJPEGTools", "weightjpeg"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
