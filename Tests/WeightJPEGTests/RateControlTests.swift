import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGModel
@testable import WeightJPEGTuning
@testable import WeightJPEGTools

@Suite struct RateControlTests {
    /// The reference MLP without the hidden units dead on training images 0…9,999, and MNIST's
    /// training set.
    static func prunedReference() throws -> (SafetensorsFile, Dataset) {
        let file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
        let train = try Dataset.load(directory: TestPaths.mnist, split: .train)
        return (try DeadUnitPruning.prune(file, trainingInputs: train.subset(0..<10_000).normalized()).0, train)
    }

    /// `--target-bytes`: the chosen whole file never exceeds the target, for every kind, with
    /// synthetic validation data (random inputs and labels) and without data.
    @Test func targetBytesNeverExceedsTarget() throws {
        let file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
        var rng = RandomSource(seed: 9)
        let inputs = (0..<(200 * 784)).map { _ in rng.uniform(2) }
        let labels = (0..<200).map { _ in UInt8(rng.next() % 10) }
        let rc = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: inputs, validationLabels: labels)
        #expect(rc.jpegTensors == ["0.weight"])
        for target in [20_000, 27_500, 40_000] {
            for kinds in [[TableKind.ijg], [.flat], [.defaultSpectrum], [.ijg, .flat, .defaultSpectrum]] {
                let c = try #require(try rc.largest(targetBytes: target, kinds: kinds))
                #expect(c.bytes <= target)
                #expect(c.container.serialized().count == c.bytes)
                #expect(c.accuracy != nil)
                // The next finer level of that kind does not fit (binary search found the largest).
                if c.setting.level < 100 {
                    let finer = try rc.evaluate(RateSetting(kind: c.setting.kind, level: c.setting.level + 1), measure: false)
                    #expect(finer.bytes > target)
                }
            }
        }
        // With the error-bounded output layers too: still within the target, and never less
        // accurate than int8 alone (its candidates are among them).
        for target in [20_000, 27_500] {
            let int8 = try #require(try rc.largest(targetBytes: target, kinds: [.ijg, .defaultSpectrum]))
            let any = try #require(try rc.largest(targetBytes: target, kinds: [.ijg, .defaultSpectrum], outputs: RateControl.targetBytesOutputs))
            #expect(any.bytes <= target && any.container.serialized().count == any.bytes)
            #expect(try #require(any.accuracy) >= int8.accuracy!)
        }
        // Too small a target: nothing fits.
        #expect(try rc.largest(targetBytes: 2_000, kinds: [.ijg, .flat]) == nil)
        // Without data, ijg only needs bytes.
        let blind = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: nil, validationLabels: [])
        let c = try #require(try blind.largest(targetBytes: 30_000, kinds: [.ijg]))
        #expect(c.bytes <= 30_000 && c.accuracy == nil)
        #expect(throws: RateControlError.self) { try blind.smallest(maxDrop: 0.3, kind: .ijg) }
    }

    /// Explicit tables end up in the file: quality 0 in the parameters, the table in the JPEG, and
    /// the file decodes (also the output layer coded as a flat-table JPEG).
    @Test func explicitTablesInTheContainer() throws {
        let file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
        let rc = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: nil, validationLabels: [])
        let setting = RateSetting(kind: .defaultSpectrum, level: 55)
        let container = try rc.container(setting, output: .jpegFlat(step: 8))
        let parsed = try Container(bytes: container.serialized(), path: "t")
        guard case .jpeg(let p) = parsed["0.weight"]!.coding,
              case .jpeg(let p2) = parsed["2.weight"]!.coding else {
            Issue.record("0.weight and 2.weight should be JPEG-coded"); return
        }
        #expect(p.quality == 0 && p2.quality == 0)
        let values = try file.tensors.first { $0.name == "0.weight" }!.floats()
        let expected = setting.table(values: values, rows: 512, columns: 784, layout: p.layout)
        let coefficients = try JPEGDecoder().readCoefficients(parsed["0.weight"]!.payloads[1], maxPixels: 1 << 24)
        #expect(coefficients.quantizationTable == expected)
        let out = try JPEGDecoder().readCoefficients(parsed["2.weight"]!.payloads[1], maxPixels: 1 << 24)
        #expect(out.quantizationTable == QuantizationTables.flat(step: 8))
        let tensors = try ModelCodec.floatTensors(parsed, path: "t")
        _ = try MLP(tensors: tensors)
    }

    /// `.bounded(E)`: the output layer within relative error E and the biases within E/10,
    /// measured on the decoded file; the first layer as without it; smaller than int8 per row and
    /// float16 biases.
    @Test func boundedOutputKeepsItsBounds() throws {
        let file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
        let rc = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: nil, validationLabels: [])
        let setting = RateSetting(kind: .ijg, level: 20)
        let int8 = try rc.container(setting, output: .int8PerRow)
        for e in [0.2, 0.05] {
            let bounded = try rc.container(setting, output: .bounded(relativeError: e))
            let parsed = try Container(bytes: bounded.serialized(), path: "t")
            let decoded = try ModelCodec.floatTensors(parsed, path: "t")
            for tensor in file.tensors {
                let original = try tensor.floats(), values = try #require(decoded[tensor.name]).values
                let error = try #require(WeightDistortion(original: original, decoded: values).relative)
                let entry = try #require(parsed[tensor.name])
                if tensor.name == "0.weight" {
                    #expect(entry.payloads == int8[tensor.name]!.payloads)
                } else {
                    #expect(error <= (tensor.shape.count < 2 ? e / 10 : e) + 1e-9, "\(tensor.name) at \(e): \(error)")
                    #expect(entry.coding != .float16 && entry.coding != .int8PerRow, "\(tensor.name) at \(e)")
                }
            }
            #expect(bounded.serialized().count < int8.serialized().count - 2_000)
        }
        // The coarser bound takes fewer bytes.
        #expect(try rc.container(setting, output: .bounded(relativeError: 0.2)).serialized().count
                < rc.container(setting, output: .bounded(relativeError: 0.05)).serialized().count)
    }

    /// `MLP.activeInputMeans` against a direct computation, and `BiasCorrection`'s defining
    /// property: over the samples on which a float unit is active, the corrected unit's mean
    /// pre-activation with the decoded weights equals the float one.
    @Test func biasCorrectionKeepsTheActiveUnitsMeanPreActivation() throws {
        var rng = RandomSource(seed: 5)
        let model = MLP(sizes: [12, 7, 3], seed: 11)
        let count = 300
        let inputs = (0..<(count * 12)).map { _ in Float(rng.next() % 1000) / 500 - 1 }
        let means = try model.activeInputMeans(inputs: inputs, count: count, batchSize: 64)
        let layer = model.layers[0]
        func pre(_ w: [Float], _ b: [Float], _ j: Int, _ r: Int) -> Double {
            (0..<12).reduce(Double(b[j])) { $0 + Double(w[j * 12 + $1]) * Double(inputs[r * 12 + $1]) }
        }
        for j in 0..<7 {
            let active = (0..<count).filter { pre(layer.weight.storage, layer.bias, j, $0) > 0 }
            for i in 0..<12 {
                let direct = active.isEmpty ? 0 : active.reduce(0.0) { $0 + Double(inputs[$1 * 12 + i]) } / Double(active.count)
                #expect(abs(Double(means[0].storage[j * 12 + i]) - direct) < 1e-4)
            }
        }
        // The last layer (no ReLU) averages over every sample.
        #expect(means[1].rows == 3 && means[1].columns == 7)

        let correction = try BiasCorrection(model: model, inputs: inputs, count: count)
        let decoded = layer.weight.storage.map { $0 + Float(rng.next() % 1000) / 5000 - 0.1 }
        let (name, bias) = try #require(correction.bias(forWeight: "0.weight", decoded: decoded))
        #expect(name == "0.bias" && bias != layer.bias)
        for j in 0..<7 {
            let active = (0..<count).filter { pre(layer.weight.storage, layer.bias, j, $0) > 0 }
            guard !active.isEmpty else { continue }
            let float = active.reduce(0.0) { $0 + pre(layer.weight.storage, layer.bias, j, $1) } / Double(active.count)
            let coded = active.reduce(0.0) { $0 + pre(decoded, bias, j, $1) } / Double(active.count)
            #expect(abs(float - coded) < 1e-4, "unit \(j): \(float) vs \(coded)")
        }
        #expect(correction.bias(forWeight: "0.bias", decoded: decoded) == nil)
        #expect(correction.bias(forWeight: "0.weight", decoded: [1, 2]) == nil)
    }

    /// With `biasCorrection`, a candidate's first-layer bias is the corrected one (stored as the
    /// base policy stores it, float16), its weights are the same bytes as without, and on real MNIST
    /// validation images a coarse JPEG step loses fewer of them.
    @Test(.enabled(if: TestPaths.hasTrainingSet, "data/mnist missing; run scripts/fetch-mnist"))
    func biasCorrectionIsStoredAndHelpsACoarseStep() throws {
        let (file, train) = try Self.prunedReference()
        let validation = train.subset(DataSplit.standard.validation.prefix(2_000))
        let fit = train.subset(0..<10_000)
        let correction = try BiasCorrection(model: MLP.sequential(in: file), inputs: fit.normalized(), count: fit.count)
        let x = validation.normalized()
        let plain = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: x, validationLabels: validation.labels)
        let corrected = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: x, validationLabels: validation.labels,
                                        biasCorrection: correction)
        let setting = RateSetting(kind: .ijg, level: 8)
        let a = try plain.evaluate(setting), b = try corrected.evaluate(setting, corrected: true)
        #expect(b.biasCorrected && !a.biasCorrected)
        // Uncorrected, the corrected rate control codes as the plain one.
        #expect(try corrected.container(setting).serialized() == a.container.serialized())
        #expect(a.container["0.weight"]!.payloads == b.container["0.weight"]!.payloads)
        #expect(b.container["0.bias"]!.coding == .float16 && a.container["0.bias"]!.payloads != b.container["0.bias"]!.payloads)
        let decoded = try ModelCodec.floatTensors(b.container, path: "t")
        let expected = try #require(correction.bias(forWeight: "0.weight", decoded: decoded["0.weight"]!.values)).values
        #expect(decoded["0.bias"]!.values == expected.map { HalfPrecision.float(fromHalfBits: HalfPrecision.halfBits(from: $0)) })
        let (da, db) = (try #require(plain.drop(a)), try #require(corrected.drop(b)))
        #expect(db < da - 0.3, "drop \(da) pp plain, \(db) pp corrected")
        // The error-bounded output codes the corrected bias within its bound.
        let bounded = try corrected.container(setting, output: .bounded(relativeError: 0.2), corrected: true)
        let values = try ModelCodec.floatTensors(bounded, path: "t")["0.bias"]!.values
        #expect(try #require(WeightDistortion(original: expected, decoded: values).relative) <= 0.02 + 1e-9)
    }

    /// `--max-drop`: the chosen model's validation drop is within the budget, recomputed from the
    /// written bytes. Uses the first 2,000 validation images (training images 50,000…51,999) to keep
    /// the debug build's run short.
    @Test(.enabled(if: TestPaths.hasTrainingSet, "data/mnist missing; run scripts/fetch-mnist"))
    func maxDropStaysWithinBudget() throws {
        let (file, train) = try Self.prunedReference()
        let validation = train.subset(DataSplit.standard.validation.prefix(2_000))
        let x = validation.normalized()
        let rc = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: x, validationLabels: validation.labels)
        let floatAccuracy = try MLP.sequential(in: file).evaluate(inputs: x, labels: validation.labels).accuracy
        for budget in [0.3, 1.0] {
            let c = try #require(try rc.smallest(maxDrop: budget, kinds: [.ijg, .flat], cheapOutput: true))
            let parsed = try Container(bytes: c.container.serialized(), path: "t")
            let accuracy = try RateControl.accuracy(of: parsed, inputs: x, labels: validation.labels)
            #expect((floatAccuracy - accuracy) * 100 <= budget + 1e-9)
            // It is the smallest among the passing candidates it tried.
            let passing = rc.tried.filter { ($0.accuracy.map { (floatAccuracy - $0) * 100 <= budget + 1e-9 }) ?? false }
            #expect(c.bytes == passing.map(\.bytes).min())
        }
    }

    /// With a margin, the chosen candidate's validation drop plus `marginSigmas` standard errors,
    /// recomputed from the written bytes, is within the budget, and the file is never smaller than
    /// the one the plain estimate chooses.
    @Test(.enabled(if: TestPaths.hasTrainingSet, "data/mnist missing; run scripts/fetch-mnist"))
    func aMarginChoosesOnTheUpperBound() throws {
        let (file, train) = try Self.prunedReference()
        let validation = train.subset(DataSplit.standard.validation.prefix(2_000))
        let x = validation.normalized()
        let plain = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: x, validationLabels: validation.labels)
        let careful = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: x, validationLabels: validation.labels,
                                      marginSigmas: 1.645)
        let model = try MLP.sequential(in: file)
        let reference = try model.predictions(x, count: validation.count)
        let a = try #require(try plain.smallest(maxDrop: 1.0, kind: .ijg))
        let b = try #require(try careful.smallest(maxDrop: 1.0, kind: .ijg))
        let parsed = try Container(bytes: b.container.serialized(), path: "t")
        let predicted = try MLP(tensors: ModelCodec.floatTensors(parsed, path: "t")).predictions(x, count: validation.count)
        let drop = AccuracyDrop(reference: reference, candidate: predicted, labels: validation.labels)
        #expect(drop == b.drop)
        #expect(drop.upperBound(sigmas: 1.645) <= 1.0)
        #expect(drop.standardErrorPoints > 0)
        #expect(b.bytes >= a.bytes)
        #expect(b.setting.level > a.setting.level)
    }

    /// A fine-tuned candidate is judged with `finetunedMarginSigmas`, a plain one with
    /// `marginSigmas`: a drop of one image in 200 (0.5 pp, standard error 0.5 pp) passes a 1 pp
    /// budget without a margin and fails it with 1.645 standard errors.
    @Test func fineTunedCandidatesHaveTheirOwnMargin() throws {
        let file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
        let rc = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: nil, validationLabels: [])
        let labels = [UInt8](repeating: 0, count: 200)
        var predicted = [Int](repeating: 0, count: 200)
        predicted[7] = 3
        let drop = AccuracyDrop(reference: [Int](repeating: 0, count: 200), candidate: predicted, labels: labels)
        #expect(abs(drop.points - 0.5) < 1e-12 && abs(drop.standardErrorPoints - 0.5) < 0.01)
        let plain = RateCandidate(setting: RateSetting(kind: .ijg, level: 20), output: .int8PerRow, bytes: 1, accuracy: 0.995,
                                  drop: drop, refined: false, container: rc.base)
        var tuned = plain
        tuned.refined = true
        // Unset, the fine-tuned margin is the plain one.
        #expect(rc.passes(plain, maxDrop: 1.0) && rc.passes(tuned, maxDrop: 1.0))
        rc.finetunedMarginSigmas = 1.645
        #expect(rc.margin(for: plain) == 0 && rc.margin(for: tuned) == 1.645)
        #expect(rc.passes(plain, maxDrop: 1.0) && !rc.passes(tuned, maxDrop: 1.0))
        rc.marginSigmas = 1.645
        rc.finetunedMarginSigmas = 0
        #expect(!rc.passes(plain, maxDrop: 1.0) && rc.passes(tuned, maxDrop: 1.0))
    }

    /// Fine-tuning inside the search: every probe of the binary search is refined before it is
    /// measured, its bytes are the refined container's, and the refined coefficients differ from
    /// the plain coding's; told the bytes of a passing plain file, a search skips the fine-tuning
    /// of levels that cannot beat it and finds the same file. A small split (1,200 training
    /// images, 400 of them validation) keeps it fast.
    @Test(.enabled(if: TestPaths.hasTrainingSet, "data/mnist missing; run scripts/fetch-mnist"))
    func finetuningRunsInsideTheSearch() throws {
        let (file, train) = try Self.prunedReference()
        let small = train.subset(0..<1_200)
        let validation = small.subset(800..<1_200)
        var configuration = FinetuneConfiguration()
        configuration.epochs = 1
        configuration.selectBest = false
        let inputs = small.normalized()
        // A search whose fine-tuning runs are counted in `runs[counter]`.
        var runs = [0, 0]
        func search(counter: Int) throws -> RateControl {
            try RateControl(file: file, policy: CompressionPolicy(), validationInputs: validation.normalized(),
                            validationLabels: validation.labels) { container in
                runs[counter] += 1
                return try FinetuneRun(container: container, path: "t", configuration: configuration, trainInputs: inputs,
                                       labels: small.labels, validationCount: 400).container
            }
        }
        let rc = try search(counter: 0)
        let c = try #require(try rc.smallest(maxDrop: 3.0, kind: .ijg))
        #expect(c.refined)
        #expect(c.bytes == c.container.serialized().count)
        let probes = rc.tried.filter(\.refined)
        #expect(probes.count == runs[0] && runs[0] >= 5)
        let plain = try rc.container(c.setting)
        #expect(plain.serialized() != c.container.serialized())
        // The unrefined level-100 check is the only probe that was not fine-tuned.
        #expect(rc.tried.filter { !$0.refined }.map(\.setting.level) == [100])
        // The plain search beside it fine-tunes nothing.
        let plainChoice = try #require(try rc.smallest(maxDrop: 3.0, kind: .ijg, refined: false))
        #expect(!plainChoice.refined && runs[0] == probes.count)

        // Told the plain file's size, a new search skips the probes whose files cannot beat it:
        // the same file, with fewer fine-tuning runs.
        let again = try search(counter: 1)
        let same = try #require(try again.smallest(maxDrop: 3.0, kind: .ijg, toBeat: plainChoice.bytes))
        #expect(same.setting == c.setting && same.container.serialized() == c.container.serialized())
        #expect(runs[1] < runs[0] && runs[1] >= 1)
        // Every skipped level's plain file was too large to be beaten by fine-tuning.
        let skipped = rc.tried.filter(\.refined).map(\.setting.level).filter { level in !again.tried.contains { $0.refined && $0.setting.level == level } }
        #expect(!skipped.isEmpty)
        for level in skipped {
            let bytes = try rc.evaluate(RateSetting(kind: .ijg, level: level), measure: false).bytes
            #expect(Double(bytes) * RateControl.refinedBytesFloor >= Double(plainChoice.bytes))
        }
    }
}
