import Foundation
import WeightJPEG

/// One rate point of one method: the whole coded model's size and the decoded model's accuracy.
public struct ComparePoint: Sendable, Codable, Equatable {
    /// The line (e.g. `k-means + Huffman`).
    public var method: String
    /// The setting on that line (e.g. `k 16`).
    public var setting: String
    /// Size of the coded model in bytes (every tensor, all side information).
    public var bytes: Int
    /// Test accuracy of the model decoded from those bytes.
    public var accuracy: Double
    /// Validation accuracy (training images 50,000…59,999) where the method used it (fine-tuning).
    public var validationAccuracy: Double?
    /// Seconds spent coding, decoding and evaluating (and fine-tuning).
    public var seconds: Double
}

/// Everything `compare` measured on one model.
public struct CompareResult: Sendable, Codable {
    /// The model's name as given to the runner.
    public var model: String
    /// Parameters of the model as given (before dead-unit removal): the denominator of bits per weight.
    public var parameters: Int
    /// Layer sizes of the model as given, inputs first.
    public var sizes: [Int]
    /// Test accuracy of the float32 model as given.
    public var floatAccuracy: Double
    /// Number of test images every point was evaluated on.
    public var testImages: Int
    /// Hidden units removed before coding (the same smaller model for every method).
    public var deadUnitsRemoved: Int
    /// One point per method and setting.
    public var points: [ComparePoint]
    /// Wall time of the whole comparison of this model, in seconds.
    public var seconds: Double

    /// `8 × bytes / parameters`.
    public func bitsPerWeight(_ p: ComparePoint) -> Double { 8 * Double(p.bytes) / Double(parameters) }
    /// Size of the float32 weights over the coded size.
    public func ratio(_ p: ComparePoint) -> Double { 4 * Double(parameters) / Double(p.bytes) }
    /// Percentage points below float accuracy.
    public func drop(_ p: ComparePoint) -> Double { (floatAccuracy - p.accuracy) * 100 }

    /// The families in order of first appearance.
    public var methods: [String] {
        var seen: [String] = []
        for p in points where !seen.contains(p.method) { seen.append(p.method) }
        return seen
    }

    /// The smallest point of `method` within `maxDrop` percentage points of float, if any.
    public func smallest(_ method: String, maxDrop: Double) -> ComparePoint? {
        points.filter { $0.method == method && drop($0) <= maxDrop + 1e-9 }.min { $0.bytes < $1.bytes }
    }
}

/// What `compare` runs.
public struct CompareOptions: Sendable {
    /// Classic methods measured alongside (default: every family at its usual rates).
    public var baselines: [BaselineMethod] = BaselineMethod.defaultSweep
    /// WeightJPEG post-training points (default policy, IJG quality).
    public var qualities: [Int] = [1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 25, 30, 40, 50, 75]
    /// WeightJPEG post-training points with other tables / output coding (`.tables`, and
    /// `.correctedTables` when there are training images).
    /// The spectrum levels with a flat-table JPEG output layer, again with the output layer and
    /// biases error-bounded (the rate control's `.bounded` candidates, at 0.1), and again with the
    /// first layer's bias corrected (as `compress --max-drop` codes every candidate).
    public var tableSettings: [WeightJPEGMethod] = {
        let levels = [5, 10, 15, 18, 20, 22, 25, 28, 30, 35, 40, 50].map { RateSetting(kind: .defaultSpectrum, level: $0) }
        return [OutputCoding.jpegFlat(step: 8), .bounded(relativeError: 0.1)].flatMap { output in levels.map { WeightJPEGMethod.tables($0, output: output) } }
            + levels.map { .correctedTables($0, output: .bounded(relativeError: 0.1)) }
    }()
    /// Fine-tuned points (`.finetuned` or `.finetunedTables`; empty: no fine-tuning).
    public var finetunes: [WeightJPEGMethod] = [2, 3, 4, 5, 6, 8, 10].map { WeightJPEGMethod.finetuned(quality: $0) }
        + [1, 5, 10, 15, 20].map { .finetunedTables(RateSetting(kind: .defaultSpectrum, level: $0), output: .jpegFlat(step: 8)) }
    /// Fine-tuning settings (default: 6 epochs, the epoch with the lowest validation loss written).
    public var finetune: FinetuneConfiguration = {
        var c = FinetuneConfiguration()
        c.epochs = 6
        return c
    }()
    /// Remove hidden units that never activate on the training images first (for every method alike).
    public var removeDeadUnits = true
    /// Every WeightJPEG point's JPEG payloads arithmetic-coded instead of Huffman-coded
    /// (`CompressionPolicy.arithmetic`, `compress --arithmetic`), for hand sizes comparable with
    /// an `--arithmetic` search. The classic methods are unchanged.
    public var arithmetic = false
    /// The default sweep: every baseline, quality and table setting, fine-tuning on.
    public init() {}
}

/// Runs every method of `CompareOptions` on one MLP: codes it to bytes, decodes those bytes,
/// evaluates the decoded model on the test images.
public struct CompareRunner {
    /// The model's name in the results.
    public let name: String
    /// The float model every method codes.
    public let source: SafetensorsFile
    /// Which methods and settings run.
    public let options: CompareOptions
    /// Training images (dead units, fine-tuning); nil skips both.
    public let train: Dataset?
    /// Test images: every decoded model is evaluated on them, never chosen on them.
    public let test: Dataset

    /// A runner for `source`; `train` nil skips dead-unit removal and fine-tuning.
    public init(name: String, source: SafetensorsFile, train: Dataset?, test: Dataset, options: CompareOptions) {
        self.name = name
        self.source = source
        self.train = train
        self.test = test
        self.options = options
    }

    /// Runs every method, calling `progress` after each point, and returns all points.
    public func run(progress: (ComparePoint) -> Void = { _ in }) throws -> CompareResult {
        let started = Date()
        let original = try MLP.sequential(in: source)
        guard original.inputSize == test.pixelsPerImage else {
            throw CompareError.unsupported("\(name): the model takes \(original.inputSize) inputs, the test images have \(test.pixelsPerImage) pixels")
        }
        let testInputs = test.normalized()
        let floatAccuracy = try original.evaluate(inputs: testInputs, labels: test.labels).accuracy
        var file = source
        var removed = 0
        var trainInputs: [Float]? = nil
        if let train {
            guard train.pixelsPerImage == original.inputSize else {
                throw CompareError.unsupported("\(name): the model takes \(original.inputSize) inputs, the training images have \(train.pixelsPerImage) pixels")
            }
            trainInputs = train.normalized()
            if options.removeDeadUnits, original.layers.count >= 2 {
                let (pruned, reports) = try DeadUnitPruning.prune(source, trainingInputs: trainInputs!)
                file = pruned
                removed = reports.reduce(0) { $0 + $1.removed.count }
            }
        }
        let model = try MLP.sequential(in: file)
        var points: [ComparePoint] = []
        func record(_ method: String, _ setting: String, _ bytes: Int, _ decoded: MLP, validation: Double? = nil, since: Date) throws {
            let accuracy = try decoded.evaluate(inputs: testInputs, labels: test.labels).accuracy
            let p = ComparePoint(method: method, setting: setting, bytes: bytes, accuracy: accuracy,
                                 validationAccuracy: validation, seconds: Date().timeIntervalSince(since))
            points.append(p)
            progress(p)
        }

        for method in options.baselines {
            let t = Date()
            let bytes = try BaselineCodec.encode(model, method: method)
            let decoded = try BaselineCodec.decode(bytes, what: "\(name) \(method)")
            try record(method.family, method.setting, bytes.count, decoded, since: t)
        }

        func decodeContainer(_ bytes: [UInt8], _ label: String) throws -> MLP {
            let c = try Container(bytes: bytes, path: label)
            return try MLP(tensors: ModelCodec.floatTensors(c, path: label))
        }
        // The policy every WeightJPEG point starts from.
        var weightJPEGPolicy = CompressionPolicy()
        weightJPEGPolicy.arithmetic = options.arithmetic
        for q in options.qualities {
            let t = Date()
            var policy = weightJPEGPolicy
            policy.quality = q
            let bytes = try ModelCodec.compress(file, policy: policy).serialized()
            let m = WeightJPEGMethod.postTraining(quality: q)
            try record(m.family, m.setting, bytes.count, try decodeContainer(bytes, "\(name) \(m)"), since: t)
        }
        if !options.tableSettings.isEmpty {
            // One rate control serves both: uncorrected, its containers are the plain ones.
            var correction: BiasCorrection? = nil
            if let train, options.tableSettings.contains(where: { if case .correctedTables = $0 { true } else { false } }) {
                correction = try BiasCorrection(model: model, trainingSet: train)
            }
            let rc = try RateControl(file: file, policy: weightJPEGPolicy, validationInputs: nil, validationLabels: [],
                                     biasCorrection: correction)
            for m in options.tableSettings {
                let t = Date()
                let bytes: [UInt8]
                switch m {
                case .tables(let setting, let output): bytes = try rc.container(setting, output: output).serialized()
                case .correctedTables(let setting, let output):
                    guard correction != nil else { continue }
                    bytes = try rc.container(setting, output: output, corrected: true).serialized()
                default: continue
                }
                try record(m.family, m.setting, bytes.count, try decodeContainer(bytes, "\(name) \(m)"), since: t)
            }
        }
        if let train, let trainInputs, !options.finetunes.isEmpty {
            let rc = try RateControl(file: file, policy: weightJPEGPolicy, validationInputs: nil, validationLabels: [])
            for m in options.finetunes {
                let t = Date()
                let container: Container
                switch m {
                case .finetuned(let q):
                    var policy = weightJPEGPolicy
                    policy.quality = q
                    container = try ModelCodec.compress(file, policy: policy)
                case .finetunedTables(let setting, let output):
                    container = try rc.container(setting, output: output)
                default:
                    continue
                }
                let run = try FinetuneRun(container: container, path: "\(name) \(m)", configuration: options.finetune,
                                          trainInputs: trainInputs, labels: train.labels)
                let bytes = run.container.serialized()
                let validation = run.history[run.chosenEpoch].validation?.accuracy
                try record(m.family, "\(m.setting), epoch \(run.chosenEpoch)/\(options.finetune.epochs)", bytes.count,
                           try decodeContainer(bytes, "\(name) \(m)"), validation: validation, since: t)
            }
        }
        return CompareResult(model: name, parameters: original.parameterCount, sizes: original.sizes,
                             floatAccuracy: floatAccuracy, testImages: test.count, deadUnitsRemoved: removed,
                             points: points, seconds: Date().timeIntervalSince(started))
    }
}
