import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGModel
@testable import WeightJPEGTuning
@testable import WeightJPEGTools

/// The baseline codecs of `compare`, their entropy coders, and a small `compare` run.
enum CompareTestSupport {
    /// `n` symbols drawn from `probabilities` (fixed seed).
    static func draw(_ probabilities: [Double], _ n: Int, seed: UInt64) -> [Int] {
        var rng = RandomSource(seed: seed)
        var cumulative: [Double] = []
        var acc = 0.0
        for p in probabilities { acc += p; cumulative.append(acc) }
        return (0..<n).map { _ in
            let u = Double(rng.next() >> 11) / Double(1 << 53) * acc
            return cumulative.firstIndex { u < $0 } ?? probabilities.count - 1
        }
    }

    /// Shannon bound of `symbols` (empirical entropy), in bytes.
    static func entropyBytes(_ symbols: [Int]) -> Double {
        var counts: [Int: Int] = [:]
        for s in symbols { counts[s, default: 0] += 1 }
        let n = Double(symbols.count)
        return counts.values.reduce(0.0) { $0 - Double($1) * log2(Double($1) / n) } / 8
    }

    /// A small random MLP (sizes given), weights roughly PyTorch-like.
    static func model(_ sizes: [Int], seed: UInt64) -> MLP { MLP(sizes: sizes, seed: seed) }
}

@Test func ransRoundTripsKnownDistributionsNearTheEntropy() throws {
    let cases: [[Double]] = [[0.5, 0.25, 0.125, 0.125], [1], Array(repeating: 1, count: 15),
                             (0..<200).map { pow(0.9, Double($0)) }, [0.999, 0.001]]
    for (i, p) in cases.enumerated() {
        let symbols = CompareTestSupport.draw(p, 20_000, seed: UInt64(i))
        let bytes = RANSCoder.encode(symbols, alphabetSize: p.count)
        #expect(try RANSCoder.decode(bytes) == symbols)
        // Within 1% of the Shannon bound plus the stored model and state.
        let bound = CompareTestSupport.entropyBytes(symbols)
        #expect(Double(bytes.count) <= bound * 1.01 + 12 + 4 * Double(p.count), "case \(i): \(bytes.count) bytes, bound \(bound)")
    }
    #expect(try RANSCoder.decode(RANSCoder.encode([], alphabetSize: 3)) == [])
    // Every truncation fails cleanly (never a crash).
    let bytes = RANSCoder.encode(CompareTestSupport.draw([0.6, 0.3, 0.1], 2000, seed: 9), alphabetSize: 3)
    for n in 0..<bytes.count where n % 7 == 0 || n > bytes.count - 4 {
        #expect(throws: CompareError.self) { try RANSCoder.decode(Array(bytes.prefix(n))) }
    }
}

@Test func huffmanRoundTripsAndGivesDyadicCodesTheirExactLengths() throws {
    let dyadic = CompareTestSupport.draw([0.5, 0.25, 0.125, 0.125], 8000, seed: 3)
    #expect(HuffmanCoder.codeLengths([4000, 2000, 1000, 1000]) == [1, 2, 3, 3])
    let bytes = HuffmanCoder.encode(dyadic, alphabetSize: 4)
    #expect(try HuffmanCoder.decode(bytes) == dyadic)
    let bits = dyadic.reduce(0) { $0 + [1, 2, 3, 3][$1] }
    // alphabet, count (2-byte varint), two bytes of nibbles, then the codes.
    #expect(bytes.count == 1 + 2 + 2 + (bits + 7) / 8)
    // A single symbol, many symbols, and a skewed alphabet past the 15-bit length limit.
    #expect(try HuffmanCoder.decode(HuffmanCoder.encode([2, 2, 2], alphabetSize: 3)) == [2, 2, 2])
    let skewed = CompareTestSupport.draw((0..<40).map { pow(0.5, Double($0)) }, 30_000, seed: 4) + Array(0..<40)
    #expect(try HuffmanCoder.decode(HuffmanCoder.encode(skewed, alphabetSize: 40)) == skewed)
    #expect(HuffmanCoder.codeLengths((0..<40).map { 1 << min($0, 30) }).max()! <= 15)
    #expect(throws: CompareError.self) { try HuffmanCoder.decode(Array(bytes.dropLast(3))) }
}

@Test func float16AndInt8BaselinesKeepKnownValues() throws {
    // Weights that float16 holds exactly; int8 rows whose max is 127 (scale exactly 1).
    let w0 = Matrix(rows: 2, columns: 3, storage: [0.5, -0.25, 1, 127, -64, 3])
    let w1 = Matrix(rows: 1, columns: 2, storage: [127, -1])
    let model = MLP(layers: [DenseLayer(weight: w0, bias: [0.125, -2]), DenseLayer(weight: w1, bias: [4])])
    let f16 = try BaselineCodec.decode(BaselineCodec.encode(model, method: .float16))
    #expect(f16 == model)
    let i8 = try BaselineCodec.decode(BaselineCodec.encode(model, method: .int8PerRow))
    #expect(i8.layers[1].weight.storage == [127, -1])
    #expect(i8.layers[0].weight.storage[3...] == [127, -64, 3])
    // Row 0: scale 1/127 in float16; values within half a step.
    for (a, b) in zip(i8.layers[0].weight.storage[0..<3], w0.storage[0..<3]) { #expect(abs(a - b) <= 0.5 / 127 + 1e-3) }
    #expect(i8.layers[0].bias == [0.125, -2])
}

@Test func lowRankReconstructsAnExactlyLowRankMatrix() throws {
    // W = U·V with rank 3 (40×60).
    var rng = RandomSource(seed: 11)
    let u = Matrix(rows: 40, columns: 3, storage: (0..<120).map { _ in rng.uniform(1) })
    let v = Matrix(rows: 3, columns: 60, storage: (0..<180).map { _ in rng.uniform(1) })
    var w = Matrix(rows: 40, columns: 60)
    BLAS.gemm(u, v, into: &w)
    let maxAbs = w.storage.reduce(Float(0)) { max($0, abs($1)) }
    let model = MLP(layers: [DenseLayer(weight: w, bias: [Float](repeating: 0, count: 40))])
    let bytes = try BaselineCodec.encode(model, method: .lowRank(rank: 3))
    let decoded = try BaselineCodec.decode(bytes)
    let err = zip(decoded.layers[0].weight.storage, w.storage).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    #expect(err <= 2e-3 * maxAbs, "max error \(err) of \(maxAbs)")
    // 3·(40+60) float16 factors, not 40·60.
    #expect(bytes.count < 2 * 3 * 100 + 2 * 40 + 16)
    // Rank 2 of a rank-3 matrix cannot be exact.
    let r2 = try BaselineCodec.decode(BaselineCodec.encode(model, method: .lowRank(rank: 2)))
    #expect(zip(r2.layers[0].weight.storage, w.storage).contains { abs($0.0 - $0.1) > 0.01 * maxAbs })
    // A rank too large to save anything stores the matrix in float16.
    let full = try BaselineCodec.decode(BaselineCodec.encode(model, method: .lowRank(rank: 39)))
    #expect(full == (try BaselineCodec.decode(BaselineCodec.encode(model, method: .float16))))
}

@Test func pruningIndexRoundTripsIncludingLongGaps() throws {
    var rng = RandomSource(seed: 12)
    let w = Matrix(rows: 100, columns: 100, storage: (0..<10_000).map { _ in rng.uniform(1) - 0.5 })
    for sparsity in [0.5, 0.9, 0.995] {
        let model = MLP(layers: [DenseLayer(weight: w, bias: [Float](repeating: 0, count: 100))])
        let decoded = try BaselineCodec.decode(BaselineCodec.encode(model, method: .pruning(sparsity: sparsity, bits: 8)))
        let keep = 10_000 - Int(sparsity * 10_000)
        let expected = Set((0..<10_000).sorted { abs(w.storage[$0]) > abs(w.storage[$1]) }.prefix(keep))
        let got = Set((0..<10_000).filter { decoded.layers[0].weight.storage[$0] != 0 })
        #expect(got == expected, "sparsity \(sparsity)")
        let step = w.storage.reduce(Float(0)) { max($0, abs($1)) } / 127
        for i in expected { #expect(abs(decoded.layers[0].weight.storage[i] - w.storage[i]) <= step * 0.51 + 1e-3) }
    }
}

@Test func kmeansWithEnoughClustersIsExact() throws {
    let values: [Float] = [-0.5, -0.125, 0, 0.25, 0.75]
    var rng = RandomSource(seed: 13)
    let w = Matrix(rows: 20, columns: 30, storage: (0..<600).map { _ in values[Int(rng.next() % 5)] })
    let model = MLP(layers: [DenseLayer(weight: w, bias: [Float](repeating: 1, count: 20))])
    for k in [5, 8, 64] {
        let decoded = try BaselineCodec.decode(BaselineCodec.encode(model, method: .kmeans(k: k)))
        #expect(decoded == model, "k \(k)")
    }
    // Fewer clusters than values: k distinct reconstruction values, error below the value range.
    let k2 = try BaselineCodec.decode(BaselineCodec.encode(model, method: .kmeans(k: 2)))
    #expect(Set(k2.layers[0].weight.storage).count == 2)
}

@Test func baselineBytesCoverTheWholeModel() throws {
    let model = CompareTestSupport.model([64, 32, 10], seed: 14)
    let methods: [BaselineMethod] = [.float16, .int8PerRow, .uniformRow(bits: 4), .uniformRow(bits: 3), .entropyUniform(step: 0.5), .entropyTrellis(step: 0.3),
                                     .pruning(sparsity: 0.7, bits: 5), .lowRank(rank: 8), .kmeans(k: 8)]
    for method in methods {
        let bytes = try BaselineCodec.encode(model, method: method)
        let decoded = try BaselineCodec.decode(bytes)
        #expect(decoded.sizes == model.sizes, "\(method)")
        // Every layer's biases are there (float16).
        for (a, b) in zip(decoded.layers, model.layers) {
            #expect(a.bias == b.bias.map { HalfPrecision.float(fromHalfBits: HalfPrecision.halfBits(from: $0)) })
        }
        // Every byte is needed and nothing else is: one byte less or more does not decode.
        #expect(throws: CompareError.self) { try BaselineCodec.decode(Array(bytes.dropLast())) }
        #expect(throws: CompareError.self) { try BaselineCodec.decode(bytes + [0]) }
        // Close to the original (3-bit is the coarsest here).
        let err = zip(decoded.layers[0].weight.storage, model.layers[0].weight.storage).map { abs($0 - $1) }.max()!
        let range = model.layers[0].weight.storage.map(abs).max()!
        if case .pruning = method {} else if case .lowRank = method {} else { #expect(err <= range / 2, "\(method)") }
    }
}

@Test func compareRunsOnASmallModelAndCountsRealBytes() throws {
    // A tiny 784-24-10 model and 300 synthetic images labelled by the model itself.
    let model = CompareTestSupport.model([784, 24, 10], seed: 15)
    var rng = RandomSource(seed: 16)
    let n = 300
    let images = (0..<(n * 784)).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
    let x = images.map(Dataset.normalize)
    let labels = try model.predictions(x, count: n).map(UInt8.init)
    let test = Dataset(images: images, labels: labels, rows: 28, columns: 28)
    let file = SafetensorsFile(tensors: model.namedTensors.map { SafetensorsTensor(name: $0.name, tensor: $0.tensor) })
    var options = CompareOptions()
    options.baselines = [.float16, .uniformRow(bits: 4), .kmeans(k: 16), .lowRank(rank: 8), .pruning(sparsity: 0.5, bits: 6)]
    options.qualities = [50]
    options.tableSettings = [.tables(RateSetting(kind: .defaultSpectrum, level: 50), output: .jpegFlat(step: 8))]
    options.finetunes = []
    let result = try CompareRunner(name: "tiny", source: file, train: nil, test: test, options: options).run()
    #expect(result.floatAccuracy == 1)
    #expect(result.parameters == model.parameterCount)
    #expect(result.points.count == 7)
    // float16 keeps every prediction of a model labelled by itself (nearly), and its bytes are the
    // whole model in float16 plus the header: tag, layer count, sizes 784 (2 varint bytes), 24, 10.
    let f16 = result.points[0]
    #expect(f16.bytes == 2 * model.parameterCount + 1 + 1 + 2 + 1 + 1)
    #expect(f16.accuracy >= 0.97)
    // The WeightJPEG point is a real .wjpg file of the model.
    var policy = CompressionPolicy()
    policy.quality = 50
    #expect(result.points[5].bytes == (try ModelCodec.compress(file, policy: policy).serialized().count))
    for p in result.points { #expect((0...1).contains(p.accuracy) && p.bytes > 0) }
    // Reports carry every point.
    #expect(CompareReport.csv([result]).split(separator: "\n").count == 1 + result.points.count)
    #expect(CompareReport.chart(result).contains("<polyline"))
    let summary = CompareReport.summary([result])
    #expect(summary.first { $0.method == "float16" && $0.maxDropPP == 1 }?.meanBytes == Double(f16.bytes))
}

/// `CompareOptions.arithmetic` (`compare --arithmetic`): the WeightJPEG points are the files
/// `compress --arithmetic` writes, smaller than the Huffman-coded ones on the reference MLP.
@Test func compareArithmeticPointsAreTheFilesCompressArithmeticWrites() throws {
    let file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
    let model = try MLP.sequential(in: file)
    var rng = RandomSource(seed: 17)
    let n = 200
    let images = (0..<(n * 784)).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
    let labels = try model.predictions(images.map(Dataset.normalize), count: n).map(UInt8.init)
    let test = Dataset(images: images, labels: labels, rows: 28, columns: 28)
    var options = CompareOptions()
    options.baselines = []
    options.qualities = [20]
    options.tableSettings = []
    options.finetunes = []
    let huffman = try CompareRunner(name: "reference", source: file, train: nil, test: test, options: options).run()
    options.arithmetic = true
    let arithmetic = try CompareRunner(name: "reference", source: file, train: nil, test: test, options: options).run()
    var policy = CompressionPolicy()
    policy.quality = 20
    policy.arithmetic = true
    #expect(arithmetic.points.count == 1 && huffman.points.count == 1)
    #expect(arithmetic.points[0].bytes == (try ModelCodec.compress(file, policy: policy).serialized().count))
    #expect(arithmetic.points[0].bytes < huffman.points[0].bytes, "\(arithmetic.points[0].bytes) vs \(huffman.points[0].bytes)")
}

@Test func finetuneRunWritesTheChosenEpochAsStandardJPEG() throws {
    // What `compress --finetune N` and `finetune` run: a small model, 1,200 images, 200 held out.
    let container = try FinetuneTestSupport.container(quality: 10, hidden: 48)
    let (x, labels) = try FinetuneTestSupport.samples(1200, container: container)
    var config = FinetuneConfiguration()
    config.epochs = 2
    let run = try FinetuneRun(container: container, path: "test", configuration: config, trainInputs: x, labels: labels, validationCount: 200)
    #expect(run.split == 1000 && run.history.count == 3)
    let best = run.history.map { $0.validation!.loss }.min()!
    #expect(run.history[run.chosenEpoch].validation!.loss == best)
    // The written file decodes through the ordinary path, and its first layer holds the snapped
    // trained coefficients.
    let reread = try Container(bytes: run.container.serialized(), path: "tuned")
    let coefficients = try CoefficientTensor(entry: reread["0.weight"]!, path: "tuned")
    var inFile = [Int16](repeating: 0, count: coefficients.rows * coefficients.positionCount)
    for j in 0..<coefficients.rows {
        for e in Int(coefficients.rowStart[j])..<Int(coefficients.rowStart[j + 1]) { inFile[j * coefficients.positionCount + Int(coefficients.positions[e])] = coefficients.values[e] }
    }
    #expect(inFile == run.tuner.quantizedCoefficients(run.tuner.shadow))
    _ = try MLP(tensors: ModelCodec.floatTensors(reread, path: "tuned"))
    #expect(throws: FinetuneError.self) {
        try FinetuneRun(container: container, path: "test", configuration: config, trainInputs: x, labels: labels, validationCount: 1200)
    }
    // No validation images (a model trained on every image): every image trains, no epoch can be
    // chosen on validation, so only the last epoch may be kept.
    #expect(throws: FinetuneError.self) {
        try FinetuneRun(container: container, path: "test", configuration: config, trainInputs: x, labels: labels, validationCount: 0)
    }
    config.selectBest = false
    let all = try FinetuneRun(container: container, path: "test", configuration: config, trainInputs: x, labels: labels, validationCount: 0)
    #expect(all.split == 1200 && all.chosenEpoch == 2 && all.history.allSatisfy { $0.validation == nil })
    #expect(all.history.last!.trainLoss != nil)
}
