// swift-tools-version: 6.0
// Fuzz targets for WeightJPEG's readers (libFuzzer). A separate package so the normal build never
// sees the sanitizer flags; build and run with scripts/fuzz (see docs/LIMITS.md).
import PackageDescription

let package = Package(
    name: "WeightJPEGFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "WeightJPEG", path: "..")],
    targets: [
        // Declares libFuzzer's LLVMFuzzerRunDriver (the runtime comes with -sanitize=fuzzer).
        .target(name: "CFuzzDriver"),
        // The four harnesses, as plain functions: builds without sanitizers (CI's build check).
        .target(name: "FuzzTargets", dependencies: [.product(name: "WeightJPEG", package: "WeightJPEG")]),
        // The fuzzer executable: `wjfuzz TARGET [libFuzzer options] [corpus dirs]`.
        .executableTarget(name: "wjfuzz", dependencies: ["CFuzzDriver", "FuzzTargets"]),
    ]
)
