import Foundation
import Testing
import WeightJPEG

// How a Swift program uses WeightJPEG: compress a model, look at what was written, restore it, run it.
// (Compiled and run with the tests, so it stays true; the README shows it.)

@Test func compressInspectDecompressEvaluate() throws {
    let folder = NSTemporaryDirectory() + "weightjpeg-usage-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let model = TestPaths.referenceMLP              // a 784-512-10 MLP saved by PyTorch (safetensors)

    // 1. Compress with the default policy: every float tensor within relative error 0.002 (the
    //    documented bound for a model whose task is unknown); the report has each tensor's error,
    //    measured by decoding what was written.
    let safe = try CompressionPlan(input: model, output: folder + "/safe.wjpg").run()
    print("default: \(safe.outputBytes) bytes, largest relative error \(safe.worstTensor!.error!.relative!) in \(safe.worstTensor!.name)")
    #expect(safe.worstTensor!.error!.relative! <= CompressionPolicy.defaultMaxRelativeError)

    // 2. This model's task tolerates far more: JPEG at quality 20 (`CompressionPolicy()`: large image-like
    //    2-D tensors as JPEG, the rest within the default bound or as the rules say), and with the
    //    training set named, hidden units that never activate are removed (the file records them).
    var plan = CompressionPlan(input: model, output: folder + "/model.wjpg")
    plan.policy = CompressionPolicy()
    if TestPaths.hasTrainingSet {
        plan.dataDirectory = TestPaths.mnist
        plan.removeDeadUnits = true
    }
    let report = try plan.run()
    print("wrote \(report.outputBytes) bytes, \(report.inputBytes / report.outputBytes)× smaller; dead units: \(String(describing: report.deadUnits))")
    #expect(report.outputBytes * 40 < report.inputBytes)

    // 3. Inspect the file: per tensor coding, bytes and bits per weight (what `weightjpeg inspect` prints).
    let inspection = try ContainerReport(path: plan.output)
    for tensor in inspection.tensors {
        print(tensor.name, tensor.shape, tensor.coding, tensor.bytes, "bytes", tensor.bitsPerWeight, "bits/weight")
    }
    #expect(inspection.tensors.first { $0.name == "0.weight" }?.quality == 20)
    #expect(inspection.fileBytes == report.outputBytes)

    // 4. Decompress to safetensors: the original names, order, dtypes and shapes (removed units come back as zeros).
    try ModelPipeline.decompress(input: plan.output, output: folder + "/restored.safetensors")
    let restored = try SafetensorsFile.read(path: folder + "/restored.safetensors")
    let original = try SafetensorsFile.read(path: model)
    #expect(restored.tensors.map(\.name) == original.tensors.map(\.name))
    #expect(restored.tensors.map(\.shape) == original.tensors.map(\.shape))

    // 5. Evaluate: load the `.wjpg` as a float MLP and measure it on the test images.
    guard TestPaths.hasTestSet else { return }
    let network = try ModelFile.load(plan.output)
    let test = try Dataset.load(directory: TestPaths.mnist, split: .test)
    let result = try network.evaluate(inputs: test.normalized(), labels: test.labels)
    print("test accuracy \(result.accuracy) (\(result.correct) of \(result.samples))")
    #expect(result.accuracy > 0.97)
}
