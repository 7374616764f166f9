import Foundation
import Testing
import WeightJPEG

// How a Swift program reads one tensor of a `.wjpg` without decoding the others (the README's
// "From Swift" shows the middle part; compiled and run with the tests, so it stays true).

@Test func readOneTensorLazily() throws {
    let folder = NSTemporaryDirectory() + "weightjpeg-lazy-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/model.wjpg"
    let source = try SafetensorsFile.read(path: TestPaths.referenceMLP)
    try ModelCodec.compress(source, policy: .transparent).write(to: path)

    let reader = try ContainerReader(path: path)            // maps the file, validates the header only
    let codec = try JPEGTensorCodec()                         // one per thread
    guard let index = (0..<reader.count).first(where: { reader.declaration($0).name == "0.weight" }) else {
        Issue.record("no tensor 0.weight")
        return
    }
    let tensor = try ModelCodec.decode(reader.entry(index), codec: codec, path: reader.path)  // its payloads only
    let values = try tensor.floats()                          // or tensor.data: the bytes in the original dtype

    #expect(tensor.shape == source["0.weight"]!.shape && tensor.dtype == source["0.weight"]!.dtype)
    let original = try source["0.weight"]!.floats()
    let squaredError = zip(values, original).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
    let squaredNorm = original.map { Double($0) * Double($0) }.reduce(0, +)
    let relative = (squaredError / squaredNorm).squareRoot()
    #expect(relative <= CompressionPolicy.defaultMaxRelativeError * 1.01, "relative RMS error \(relative)")
}
