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

// Your own metric, in Swift: the task search scores every candidate (decoded from its real bytes
// into a safetensors file) with your `TaskEvaluator` and writes the smallest file within the bound.
@Test(.enabled(if: TestPaths.hasTrainingSet, "data/mnist missing; run scripts/fetch-mnist"))
func compressWithinYourOwnSwiftMetric() throws {
    let folder = NSTemporaryDirectory() + "weightjpeg-usage-metric-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let model = TestPaths.referenceMLP

    /// Percent of the images on which a model predicts what the original predicts.
    struct Agreement: TaskEvaluator, Sendable {
        let images: [Float], count: Int, original: [Int]
        var direction: MetricDirection { .higherIsBetter }
        func evaluate(modelAt path: String) throws(TaskEvaluationError) -> Double {
            do {
                let predicted = try ModelFile.load(path).predictions(images, count: count)
                return 100 * Double(zip(predicted, original).filter { $0 == $1 }.count) / Double(count)
            } catch {
                throw .builtIn("\(path): \(error)")
            }
        }
    }
    let data = try Dataset.load(directory: TestPaths.mnist, split: .train).subset(50_000..<52_000)
    let images = data.normalized()
    let agreement = Agreement(images: images, count: data.count,
                              original: try ModelFile.load(model).predictions(images, count: data.count))

    var plan = CompressionPlan(input: model, output: folder + "/yours.wjpg")
    plan.taskSearch = TaskSearchRequest(evaluator: agreement, maxDrop: 1.0)   // lose at most 1 point of agreement
    let report = try plan.run()
    let chosen = try #require(report.allocation?.evaluations.first { $0.chosen })
    print("wrote \(report.outputBytes) bytes after \(report.allocation!.evaluations.count) evaluations; agreement \(chosen.metric) %")
    #expect(chosen.drop <= 1.0 && report.outputBytes * 20 < report.inputBytes)

    // The file written is the one scored: restored, it scores what the search measured.
    try ModelPipeline.decompress(input: plan.output, output: folder + "/yours.safetensors")
    #expect(try agreement.evaluate(modelAt: folder + "/yours.safetensors") == chosen.metric)
}
