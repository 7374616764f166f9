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

    // 1. Compress with the default policy (large 2-D tensors as JPEG at quality 20, biases as float16,
    //    the output layer int8 per row). With MNIST in `dataDirectory` the plan also removes hidden
    //    units that never activate; `rateControl` and `finetuneEpochs` add the other data-dependent steps.
    var plan = CompressionPlan(input: model, output: folder + "/model.wjpg")
    plan.dataDirectory = TestPaths.mnist
    let report = try plan.run()
    print("wrote \(report.outputBytes) bytes, \(report.inputBytes / report.outputBytes)× smaller; dead units: \(String(describing: report.deadUnits))")
    #expect(report.outputBytes * 40 < report.inputBytes)

    // 2. Inspect the file: per tensor coding, bytes and bits per weight (what `weightjpeg inspect` prints).
    let inspection = try ContainerReport(path: plan.output)
    for tensor in inspection.tensors {
        print(tensor.name, tensor.shape, tensor.coding, tensor.bytes, "bytes", tensor.bitsPerWeight, "bits/weight")
    }
    #expect(inspection.tensors.first { $0.name == "0.weight" }?.quality == 20)
    #expect(inspection.fileBytes == report.outputBytes)

    // 3. Decompress to safetensors: the original names, order and dtypes (shapes smaller by the removed units).
    try ModelPipeline.decompress(input: plan.output, output: folder + "/restored.safetensors")
    let restored = try SafetensorsFile.read(path: folder + "/restored.safetensors")
    #expect(restored.tensors.map(\.name) == (try SafetensorsFile.read(path: model)).tensors.map(\.name))

    // 4. Evaluate: load the `.wjpg` as a float MLP and measure it on the test images.
    guard TestPaths.hasTestSet else { return }
    let network = try ModelFile.load(plan.output)
    let test = try Dataset.load(directory: TestPaths.mnist, split: .test)
    let result = try network.evaluate(inputs: test.normalized(), labels: test.labels)
    print("test accuracy \(result.accuracy) (\(result.correct) of \(result.samples))")
    #expect(result.accuracy > 0.97)
}
