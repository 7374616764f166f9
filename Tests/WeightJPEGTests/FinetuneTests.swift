import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGModel
@testable import WeightJPEGInference
@testable import WeightJPEGTuning
@testable import WeightJPEGTools

/// Fine-tuning the first layer as its JPEG DCT coefficients (`CoefficientFinetuner`).
enum FinetuneTestSupport {
    /// The founding model (fixture or synthetic) coded at `quality`.
    /// The first `hidden` units of the founding model (fixture or synthetic), to keep debug runs fast.
    static func container(quality: Int, hidden: Int = 96) throws -> Container {
        let (full, _) = try DCTTestSupport.model()
        let model = try MLP(tensors: full.floatTensors())
        let w0 = model.layers[0].weight, w2 = model.layers[1].weight
        let first = Matrix(rows: hidden, columns: w0.columns, storage: Array(w0.storage[0..<(hidden * w0.columns)]))
        var second = Matrix(rows: w2.rows, columns: hidden)
        for r in 0..<w2.rows { for c in 0..<hidden { second[r, c] = w2[r, c] } }
        let small = MLP(layers: [DenseLayer(weight: first, bias: Array(model.layers[0].bias[0..<hidden])),
                                 DenseLayer(weight: second, bias: model.layers[1].bias)])
        let file = SafetensorsFile(tensors: small.namedTensors.map { SafetensorsTensor(name: $0.name, shape: $0.tensor.shape, floats: $0.tensor.values) })
        var policy = CompressionPolicy()
        policy.quality = quality
        return try ModelCodec.compress(file, policy: policy)
    }

    /// `n` labelled training samples (normalized): real MNIST training images when present, else
    /// random images labelled by the model itself (so there is something to fit).
    static func samples(_ n: Int, container: Container) throws -> (x: [Float], labels: [UInt8]) {
        if TestPaths.hasTestSet, let train = try? Dataset.load(directory: TestPaths.mnist, split: .train) {
            let s = train.subset(0..<n)
            return (s.normalized(), s.labels)
        }
        var rng = RandomSource(seed: 5)
        let x = (0..<(n * 784)).map { _ in Dataset.normalize(UInt8(truncatingIfNeeded: rng.next() >> 56)) }
        let model = try MLP(tensors: ModelCodec.floatTensors(container, path: "test"))
        // Labels of a slightly different rule than the model's, so the loss has room to fall.
        let labels = try model.predictions(x, count: n).enumerated().map { UInt8(($0.offset % 3 == 0 ? $0.element + 1 : $0.element) % 10) }
        return (x, labels)
    }

    static func meanLoss(_ tuner: CoefficientFinetuner, features: [Float], labels: [UInt8]) -> Double {
        features.withUnsafeBufferPointer { f in
            FinetuneScore(tuner.snapped(tuner.shadow), features: f, labels: labels[...]).loss
        }
    }
}

@Test func finetuneForwardMatchesDecodeThenDenseAndDCTModel() throws {
    let container = try FinetuneTestSupport.container(quality: 10)
    let (x, n) = try DCTTestSupport.inputs()
    let count = min(n, 300)
    let xs = Array(x[0..<(count * 784)])
    for mode in ZeroPattern.allCases {
        var config = FinetuneConfiguration()
        config.zeroPattern = mode
        let tuner = try CoefficientFinetuner(container: container, path: "test", configuration: config)
        // Snapping the untouched coefficients gives them back exactly.
        #expect(tuner.quantizedCoefficients(tuner.shadow) == tuner.originalCoefficients)
        let features = tuner.features(xs, count: count)
        let z = tuner.dctLogits(features: features, count: count)
        // Same formula as the DCT engine: agree to float rounding.
        let engine = try DCTModel(container: container, path: "test", kernel: .sparse).logits(xs, count: count)
        var maxEngine: Float = 0
        for i in z.indices { maxEngine = max(maxEngine, abs(z[i] - engine[i]) / max(1, abs(engine[i]))) }
        #expect(maxEngine <= 1e-3, "\(mode): DCT-domain training forward vs DCTModel: \(maxEngine)")
        // Decode-then-dense differs only by the decoder's pixel rounding and clamping.
        let dense = try MLP(tensors: ModelCodec.floatTensors(container, path: "test")).logits(xs, count: count)
        var agree = 0, maxDelta: Float = 0
        for r in 0..<count {
            let a: Int = (0..<10).max { z[r * 10 + $0] < z[r * 10 + $1] }!, b = (0..<10).max { dense[r * 10 + $0] < dense[r * 10 + $1] }!
            if a == b { agree += 1 }
            for c in 0..<10 { maxDelta = max(maxDelta, abs(z[r * 10 + c] - dense[r * 10 + c])) }
        }
        print("finetune forward q10 \(mode): max |Δ| vs DCTModel (relative) \(maxEngine), vs dense \(maxDelta), agreement \(agree)/\(count)")
        #expect(Double(agree) / Double(count) >= 0.99)
        #expect(maxDelta < 1.0)
    }
}

@Test(arguments: ZeroPattern.allCases)
func finetuneLowersTrainingLossAndWritesTheSnappedCoefficients(mode: ZeroPattern) throws {
    let container = try FinetuneTestSupport.container(quality: 10)
    let (x, labels) = try FinetuneTestSupport.samples(256, container: container)
    var config = FinetuneConfiguration()
    config.zeroPattern = mode
    config.epochs = 2
    config.batchSize = 32
    // Large enough that coefficients cross grid points within 16 steps (one JPEG step is
    // s·Q ≈ 0.1…0.6 in weight units at quality 10).
    config.learningRate = 2e-2
    config.selectBest = false
    let tuner = try CoefficientFinetuner(container: container, path: "test", configuration: config)
    let features = tuner.features(x, count: labels.count)
    let before = FinetuneTestSupport.meanLoss(tuner, features: features, labels: labels)
    let history = tuner.train(features: features, labels: labels, train: 0..<labels.count, validation: nil)
    let after = FinetuneTestSupport.meanLoss(tuner, features: features, labels: labels)
    print("finetune \(mode): training loss \(before) → \(after), nonzeros \(history.map(\.nonzeros))")
    #expect(history.count == 3)
    #expect(after < before)

    let q = tuner.quantizedCoefficients(tuner.shadow)
    let original = tuner.originalCoefficients
    let changed = zip(original, q).filter { $0.0 != $0.1 }.count
    let created = zip(original, q).filter { $0.0 == 0 && $0.1 != 0 }.count
    print("finetune \(mode): \(changed) coefficients changed, \(created) new nonzeros")
    #expect(changed > 0, "training moved no coefficient")
    if mode == .keep {
        #expect(created == 0, "keep mode created new nonzeros")
    }
    let illegal = q.enumerated().filter { $0.element < ($0.offset % 64 == 0 ? -1024 : -1023) || $0.element > 1023 }.count
    #expect(illegal == 0)

    // Write, read back as a file, and check the coefficients and that it decodes.
    let tuned = try tuner.tunedContainer(container, path: "test")
    let bytes = tuned.serialized()
    let back = try Container(bytes: bytes, path: "tuned.wjpg")
    let reread = try CoefficientTensor(entry: back["0.weight"]!, path: "tuned.wjpg")
    var inFile = [Int16](repeating: 0, count: q.count)
    for j in 0..<reread.rows {
        for e in Int(reread.rowStart[j])..<Int(reread.rowStart[j + 1]) { inFile[j * reread.positionCount + Int(reread.positions[e])] = reread.values[e] }
    }
    #expect(inFile == q, "coefficients in the written file differ from the snapped trained values")
    #expect(reread.table == tuner.original.table && reread.mappings == tuner.original.mappings)
    #expect(back["0.weight"]!.payloads[0] == container["0.weight"]!.payloads[0], "scale payload changed")
    // Every image payload is a standard JPEG that decodes to pixels.
    let decoder = try JPEGDecoder()
    for payload in back["0.weight"]!.payloads.dropFirst() {
        let image = try decoder.decode(payload, maxPixels: 1 << 24)
        #expect(image.width > 0 && image.height > 0)
    }
    // The ordinary path decodes it, with the other tensors re-coded in their own codings.
    let dense = try MLP(tensors: ModelCodec.floatTensors(back, path: "tuned.wjpg"))
    for name in ["0.bias", "2.weight", "2.bias"] { #expect(back[name]!.coding == container[name]!.coding) }
    let snapped = tuner.snapped(tuner.shadow)
    #expect(zip(dense.layers[0].bias, snapped.layers[0].bias).allSatisfy { abs($0.0 - $0.1) <= 1e-3 * max(1, abs($0.1)) })
    // Decoded dense logits follow the trained DCT-domain model.
    let z = tuner.dctLogits(features: features, count: labels.count)
    let zd = try dense.logits(x, count: labels.count)
    var agree = 0
    for r in 0..<labels.count {
        let a = (0..<10).max { z[r * 10 + $0] < z[r * 10 + $1] }!, b = (0..<10).max { zd[r * 10 + $0] < zd[r * 10 + $1] }!
        if a == b { agree += 1 }
    }
    #expect(Double(agree) / Double(labels.count) >= 0.98)
}

/// Explicit tables (quality 0, as rate control writes them): the first layer keeps its table, and a
/// JPEG-coded output layer is re-coded with its own flat table.
@Test func finetuneKeepsExplicitTables() throws {
    let base = try FinetuneTestSupport.container(quality: 10)
    let tensors = try ModelCodec.floatTensors(base, path: "test")
    let codec = try JPEGTensorCodec()
    var container = base
    func jpegEntry(_ name: String, layout: TileLayout, table: [UInt16]) throws -> ContainerEntry {
        let t = tensors[name]!
        let p = JPEGTensorParameters(layout: layout, scale: .tensor, pack: .mosaic, quality: 0)
        let coded = try codec.encode(t.values, rows: t.shape[0], columns: t.shape[1], parameters: p, table: table)
        let coding = TensorCoding.jpeg(coded.parameters)
        return ContainerEntry(name: name, dtype: "F32", shape: t.shape, coding: coding, payloads: coded.payloads)
    }
    let firstTable = QuantizationTables.flat(step: 40), outputTable = QuantizationTables.flat(step: 6)
    container.entries[container.entries.firstIndex { $0.name == "0.weight" }!] = try jpegEntry("0.weight", layout: .rows(height: 28, width: 28), table: firstTable)
    container.entries[container.entries.firstIndex { $0.name == "2.weight" }!] = try jpegEntry("2.weight", layout: .matrix(tileHeight: 64, tileWidth: 64), table: outputTable)

    var config = FinetuneConfiguration()
    config.epochs = 1
    config.batchSize = 32
    config.learningRate = 1e-2
    config.selectBest = false
    let tuner = try CoefficientFinetuner(container: container, path: "test", configuration: config)
    #expect(tuner.original.table == firstTable)
    let (x, labels) = try FinetuneTestSupport.samples(128, container: container)
    tuner.train(features: tuner.features(x, count: labels.count), labels: labels, train: 0..<labels.count, validation: nil)
    let back = try Container(bytes: tuner.tunedContainer(container, path: "test").serialized(), path: "tuned.wjpg")
    let decoder = try JPEGDecoder()
    #expect(try decoder.readCoefficients(back["0.weight"]!.payloads[1], maxPixels: 1 << 24).quantizationTable == firstTable)
    #expect(try decoder.readCoefficients(back["2.weight"]!.payloads[1], maxPixels: 1 << 24).quantizationTable == outputTable)
    #expect(try CoefficientTensor(entry: back["0.weight"]!, path: "tuned.wjpg").table == firstTable)
    let dense = try MLP(tensors: ModelCodec.floatTensors(back, path: "tuned.wjpg"))
    #expect(dense.layers[1].weight.rows == 10)
}
