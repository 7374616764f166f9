import Foundation

/// Where the tests find their files, located from this source file (`#filePath`, not `Bundle.module`,
/// so that a test run from any directory finds them; Fixtures/README.md).
enum TestPaths {
    /// Tests/WeightJPEGTests.
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
    /// The package's root folder.
    static let packageRoot = URL(fileURLWithPath: testsDirectory).deletingLastPathComponent().deletingLastPathComponent().path

    /// `Fixtures/name`.
    static func fixture(_ name: String) -> String { testsDirectory + "/Fixtures/" + name }

    /// The reference MLP 784-512-10 (`Fixtures/mlp_seed0.safetensors`).
    static let referenceMLP = fixture("mlp_seed0.safetensors")
    /// The MNIST IDX files (scripts/fetch-mnist; CI fetches them first).
    static let mnist = packageRoot + "/data/mnist"

    /// Whether `data/mnist` holds the training images (gzipped or not).
    static var hasTrainingSet: Bool { hasFile("train-images-idx3-ubyte") }
    /// Whether `data/mnist` holds the test images (gzipped or not).
    static var hasTestSet: Bool { hasFile("t10k-images-idx3-ubyte") }

    private static func hasFile(_ stem: String) -> Bool {
        [stem, stem + ".gz"].contains { FileManager.default.fileExists(atPath: mnist + "/" + $0) }
    }

    /// A new empty folder under the system's temporary directory, named after `label` and this
    /// process (the caller removes it).
    static func temporaryDirectory(_ label: String) throws -> String {
        let dir = NSTemporaryDirectory() + "weightjpeg-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
