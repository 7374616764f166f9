import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel

/// Why the rate control cannot run: the model or the validation data do not fit it.
public struct RateControlError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Chooses the JPEG table and quality of a model's JPEG-coded tensors automatically: for a byte
/// budget (`largest(targetBytes:)`) or a validation-accuracy budget (`smallest(maxDrop:)`).
///
/// The model is built once with the base policy; each candidate re-codes only the JPEG-coded
/// entries (every tensor the policy JPEG-codes gets the same setting, with its own spectrum) and,
/// optionally, the `int8PerRow` entries (`OutputCoding`; with `.bounded`, the `float16` ones too),
/// then, with `refine`, is fine-tuned before it is measured. Accuracy is measured on the given
/// validation inputs, never on a test set, and a candidate passes an accuracy budget only when its
/// drop plus `marginSigmas` standard errors (`AccuracyDrop.upperBound`; `finetunedMarginSigmas`
/// for fine-tuned candidates) is within it.
public final class RateControl {
    /// The float model every candidate is coded from.
    public let file: SafetensorsFile
    /// The model coded once with the base policy; candidates re-code only its JPEG (and int8 and
    /// float16) entries.
    public let base: Container
    let policy: CompressionPolicy
    let codec: JPEGTensorCodec
    let validationInputs: [Float]?
    let validationLabels: [UInt8]
    /// Consecutive validation images that are copies of one image (`AccuracyDrop`'s `clusterSize`).
    let validationClusterSize: Int
    /// Float accuracy on the validation inputs (nil without data).
    public let floatAccuracy: Double?
    /// The float model's predictions on the validation inputs (empty without data).
    private let floatPredictions: [Int]
    /// Standard errors added to a candidate's validation drop before it is compared with a budget
    /// (0: the plain estimate; 1.645: the bound holds on unseen images with about 95 % confidence).
    /// Set it before a search: cached candidates keep their measurements, not their verdicts.
    public var marginSigmas: Double
    /// Standard errors added instead to the drop of a candidate that `refine` fine-tuned (nil:
    /// `marginSigmas`). Fine-tuning can fit the model to the images the drops are measured on,
    /// so its candidates may need a margin where plain ones do not. Set it before a search, as
    /// `marginSigmas`.
    public var finetunedMarginSigmas: Double?
    /// Applied to every coded candidate before it is measured (fine-tuning inside the search); its
    /// bytes are the refined container's.
    public let refine: ((Container) throws -> Container)?
    /// When set, every setting is also tried with the biases of the JPEG-coded layers corrected
    /// for the candidate's decoded weights (`BiasCorrection`) before they are coded: a family of
    /// its own beside the plain one, searched like the table kinds (not for fine-tuned candidates,
    /// whose fine-tuning trains the biases anyway).
    public let biasCorrection: BiasCorrection?
    /// Bytes the written file adds to every candidate's container (the records of removed dead
    /// units, `ZeroSlices`): counted in every candidate's `bytes`, so that a byte budget holds for
    /// the file written and the sizes reported are the file's.
    public let fileOverheadBytes: Int
    private var rmsCache: [String: [Double]] = [:]
    /// `.bounded` codings of single tensors, by `name|bound`: they do not depend on the first layer.
    private var boundedCache: [String: ContainerEntry] = [:]
    private var cache: [String: RateCandidate] = [:]
    /// Every candidate evaluated, in order.
    public private(set) var tried: [RateCandidate] = []

    /// - Parameters:
    ///   - file: the model (after dead-unit removal, if any).
    ///   - validationInputs: normalized inputs (`count × inputSize`), with `validationLabels`.
    ///   - validationClusterSize: how many consecutive validation images are copies of one
    ///     (`Dataset.shiftedCopies` makes 4); the standard error counts each group once.
    ///   - marginSigmas: see `marginSigmas`.
    ///   - refine: see `refine`.
    ///   - biasCorrection: see `biasCorrection`.
    ///   - fileOverheadBytes: see `fileOverheadBytes`.
    public init(file: SafetensorsFile, policy: CompressionPolicy, validationInputs: [Float]?, validationLabels: [UInt8],
                validationClusterSize: Int = 1, marginSigmas: Double = 0, refine: ((Container) throws -> Container)? = nil,
                biasCorrection: BiasCorrection? = nil, fileOverheadBytes: Int = 0) throws {
        self.fileOverheadBytes = fileOverheadBytes
        self.file = file
        self.marginSigmas = marginSigmas
        self.refine = refine
        self.biasCorrection = biasCorrection
        self.policy = policy
        self.codec = try JPEGTensorCodec()
        self.base = try ModelCodec.compress(file, policy: policy)
        self.validationInputs = validationInputs
        self.validationLabels = validationLabels
        self.validationClusterSize = validationClusterSize
        if let x = validationInputs {
            let model = try MLP.sequential(in: file)
            floatAccuracy = try model.evaluate(inputs: x, labels: validationLabels).accuracy
            floatPredictions = try model.predictions(x, count: validationLabels.count)
        } else {
            floatAccuracy = nil
            floatPredictions = []
        }
    }

    /// Names of the JPEG-coded tensors under the base policy.
    public var jpegTensors: [String] {
        base.entries.filter { if case .jpeg = $0.coding { return true } else { return false } }.map(\.name)
    }

    /// The biases a corrected candidate stores corrected: those of the JPEG-coded layers (empty
    /// without `biasCorrection`).
    public var correctedBiases: [String] {
        jpegTensors.compactMap { biasCorrection?.biasName(forWeight: $0) }.filter { name in file.tensors.contains { $0.name == name } }
    }

    /// The container for `setting` and `output`: the JPEG-coded tensors first, then (when
    /// `corrected`, with `biasCorrection` set) their layers' biases corrected for the decoded
    /// weights, then the other lossy tensors.
    public func container(_ setting: RateSetting, output: OutputCoding = .int8PerRow, corrected correct: Bool = false) throws -> Container {
        var entries = base.entries
        var corrected: [String: SafetensorsTensor] = [:]
        for (i, entry) in entries.enumerated() {
            guard case .jpeg(var p) = entry.coding, let tensor = file.tensors.first(where: { $0.name == entry.name }),
                  let dtype = SafetensorsDType(rawValue: entry.dtype) else { continue }
            let rows = entry.shape.first ?? 0
            let values = try tensor.floats()
            let columns = values.count / rows
            if rmsCache[entry.name] == nil, case .spectrum = setting.kind {
                rmsCache[entry.name] = QuantizationTables.coefficientRMS(values, rows: rows, columns: columns, layout: p.layout)
            }
            let table = setting.table(values: values, rows: rows, columns: columns, layout: p.layout, rms: rmsCache[entry.name])
            p.quality = table == nil ? setting.level : 0
            // Nil (beyond DecodeLimits): keep the base coding.
            if let coded = try TensorCoding.jpeg(p).encode(values, shape: entry.shape, dtype: dtype, table: table, jpeg: codec) {
                entries[i] = ContainerEntry(name: entry.name, dtype: entry.dtype, shape: entry.shape, coding: coded.coding, payloads: coded.payloads)
            }
            if correct, let biasCorrection,
               let (name, bias) = biasCorrection.bias(forWeight: entry.name, decoded: try ModelCodec.decode(entries[i], codec: codec, path: "<candidate>").floats()),
               let original = file.tensors.first(where: { $0.name == name }) {
                corrected[name] = SafetensorsTensor(name: name, shape: original.shape, floats: bias, dtype: original.dtype)
            }
        }
        for (i, entry) in entries.enumerated() {
            guard let tensor = corrected[entry.name] ?? file.tensors.first(where: { $0.name == entry.name }) else { continue }
            let rows = entry.shape.first ?? 0
            guard let dtype = SafetensorsDType(rawValue: entry.dtype) else { continue }
            switch entry.coding {
            case .jpeg:
                continue
            case .int8PerRow, .float16:
                if case .bounded(let e) = output {
                    entries[i] = try bounded(entry, tensor: tensor, bound: entry.shape.count < 2 ? e * policy.oneDimensionalBoundFactor : e,
                                             cached: corrected[entry.name] == nil)
                    continue
                }
                if corrected[entry.name] != nil {
                    // The base policy's coding of the corrected values (float16 for a bias).
                    entries[i] = try ModelCodec.encode(tensor, policy: policy, codec: codec)
                }
                guard entry.coding == .int8PerRow, case .jpegFlat(let step) = output else { continue }
                let values = try tensor.floats()
                let columns = values.count / rows
                let p = JPEGTensorParameters(layout: .matrix(tileHeight: min(rows, 4096), tileWidth: min(columns, 4096)),
                                             scale: .tensor, pack: .mosaic, quality: 0,
                                             optimizeHuffman: policy.optimizeHuffman, arithmetic: policy.arithmetic)
                // Nil (beyond DecodeLimits): keep int8 per row.
                if let coded = try TensorCoding.jpeg(p).encode(values, shape: entry.shape, dtype: dtype,
                                                               table: QuantizationTables.flat(step: step), jpeg: codec) {
                    entries[i] = ContainerEntry(name: entry.name, dtype: entry.dtype, shape: entry.shape, coding: coded.coding, payloads: coded.payloads)
                }
            default:
                continue
            }
        }
        return Container(metadata: base.metadata, entries: entries)
    }

    /// `tensor` (whose base entry is `entry`) coded within relative error `bound`, as
    /// `ModelCodec.encode` codes a tensor with a bound of its own (`CompressionPolicy.tensorBounds`),
    /// or `entry` when that is smaller in the file (cached). With `cached` false (a corrected bias,
    /// which differs from candidate to candidate): not cached, and instead of `entry`, the base
    /// policy's coding of `tensor`.
    private func bounded(_ entry: ContainerEntry, tensor: SafetensorsTensor, bound: Double, cached: Bool = true) throws -> ContainerEntry {
        let key = "\(entry.name)|\(bound)"
        if cached, let e = boundedCache[key] { return e }
        var tensorPolicy = policy
        tensorPolicy.tensorBounds[entry.name] = bound
        let coded = try ModelCodec.encode(tensor, policy: tensorPolicy, codec: codec)
        if !cached { return coded.storedBytes < entry.storedBytes ? coded : try ModelCodec.encode(tensor, policy: policy, codec: codec) }
        let smaller = coded.storedBytes < entry.storedBytes ? coded : entry
        boundedCache[key] = smaller
        return smaller
    }

    /// Accuracy of `container`'s model on `inputs`.
    public static func accuracy(of container: Container, inputs: [Float], labels: [UInt8]) throws -> Double {
        let model = try MLP(tensors: ModelCodec.floatTensors(container, path: "<candidate>"))
        return try model.evaluate(inputs: inputs, labels: labels).accuracy
    }

    /// Codes (and, with data, evaluates) one candidate; cached. With `refined`, `refine` (when set)
    /// runs on the coded candidate before it is measured; with `corrected`, `biasCorrection` (when
    /// set) corrects the biases.
    @discardableResult
    public func evaluate(_ setting: RateSetting, output: OutputCoding = .int8PerRow, measure: Bool = true,
                         refined: Bool = false, corrected: Bool = false) throws -> RateCandidate {
        let refining = refined && refine != nil && measure
        let correcting = corrected && biasCorrection != nil
        let key = Self.cacheKey(setting, output: output, refined: refining, corrected: correcting)
        if let c = cache[key], c.accuracy != nil || !measure { return c }
        var container = try container(setting, output: output, corrected: correcting)
        var accuracy: Double? = nil
        var drop: AccuracyDrop? = nil
        if measure, let x = validationInputs {
            if refining, let refine { container = try refine(container) }
            let model = try MLP(tensors: ModelCodec.floatTensors(container, path: "<candidate>"))
            let predicted = try model.predictions(x, count: validationLabels.count)
            drop = AccuracyDrop(reference: floatPredictions, candidate: predicted, labels: validationLabels,
                                 clusterSize: validationClusterSize)
            accuracy = Double(zip(predicted, validationLabels).reduce(0) { $0 + ($1.0 == Int($1.1) ? 1 : 0) }) / Double(validationLabels.count)
        }
        let c = RateCandidate(setting: setting, output: output, bytes: container.serialized().count + fileOverheadBytes,
                              accuracy: accuracy, drop: drop, refined: refining, biasCorrected: correcting, container: container)
        cache[key] = c
        if let i = tried.firstIndex(where: { $0.isSameCandidate(as: c) }) {
            tried[i] = c
        } else {
            tried.append(c)
        }
        return c
    }

    /// Validation drop in percentage points (float − candidate).
    public func drop(_ c: RateCandidate) -> Double? {
        guard let f = floatAccuracy, let a = c.accuracy else { return nil }
        return (f - a) * 100
    }

    /// The standard errors added to `c`'s drop before it is compared with a budget:
    /// `finetunedMarginSigmas` (when set) for a fine-tuned candidate, else `marginSigmas`.
    public func margin(for c: RateCandidate) -> Double {
        c.refined ? finetunedMarginSigmas ?? marginSigmas : marginSigmas
    }

    /// Whether a measured candidate is within `maxDrop` percentage points once `margin(for:)`
    /// standard errors are added to its drop.
    public func passes(_ c: RateCandidate, maxDrop: Double) -> Bool {
        guard let d = c.drop else { return false }
        return d.upperBound(sigmas: margin(for: c)) <= maxDrop
    }

    /// The largest level of each kind, with each of `outputs`, whose whole file is at most
    /// `targetBytes` (binary search over levels 1…100, assuming bytes grow with the level; only
    /// candidates actually coded at ≤ target are returned). Among kinds and outputs, the best
    /// validation accuracy wins (ties: fewer bytes); without validation data, the first kind that
    /// fits with the first output. With `biasCorrection`, each is also tried corrected.
    public func largest(targetBytes: Int, kinds: [TableKind], outputs: [OutputCoding] = [.int8PerRow]) throws -> RateCandidate? {
        var best: RateCandidate? = nil
        for corrected in corrections(refined: false) {
            for output in outputs {
                for kind in kinds {
                    let first = try evaluate(RateSetting(kind: kind, level: 1), output: output, measure: false, corrected: corrected)
                    guard first.bytes <= targetBytes else { continue }
                    var f = try Bisection.highestPassing(in: 2..<101) { level in
                        let c = try evaluate(RateSetting(kind: kind, level: level), output: output, measure: false, corrected: corrected)
                        return c.bytes <= targetBytes ? c : nil
                    } ?? first
                    guard validationInputs != nil else { return f }
                    f = try evaluate(f.setting, output: output, measure: true, corrected: corrected)
                    if let b = best {
                        let better = (f.accuracy ?? 0) > (b.accuracy ?? 0) || ((f.accuracy ?? 0) == (b.accuracy ?? 0) && f.bytes < b.bytes)
                        if better { best = f }
                    } else {
                        best = f
                    }
                }
            }
        }
        return best
    }

    /// The bias-correction families searched: plain, and corrected too when `biasCorrection` is
    /// set and the candidates are not fine-tuned.
    private func corrections(refined: Bool) -> [Bool] {
        biasCorrection != nil && !(refined && refine != nil) ? [false, true] : [false]
    }

    /// The output layers `largest(targetBytes:)` tries with a cheap output: int8 per row, and
    /// error-bounded at 0.2 and 0.1 (on the reference models 1.7 and 2.3 KB for the output layer,
    /// against 5.0 KB, so the first layer gets the rest of the budget).
    public static let targetBytesOutputs: [OutputCoding] = [.int8PerRow, .bounded(relativeError: 0.2), .bounded(relativeError: 0.1)]

    /// The coarsest level of `kind` that `passes` `maxDrop` percentage points (binary search over
    /// 1…100, assuming accuracy grows with the level), or nil when even level 100 does not. The
    /// probes of the binary search are `refined` (unless `refined` is false); level 100, which only
    /// checks that the budget can be met, is not.
    ///
    /// With `toBeat` (the bytes of a passing file found already), a probe that would be fine-tuned
    /// is skipped when its level's plain coding is so large that the fine-tuned file cannot be
    /// smaller than `toBeat` (`refinedBytesFloor`); the skipped level counts as passing, so the
    /// search goes on among coarser levels. When that level would have passed, the search takes
    /// the same path; when not, the search would have gone on among finer, larger levels, which
    /// cannot win either. So as long as bytes grow with the level and no fine-tuned file is below
    /// `refinedBytesFloor` of its plain coding, the smallest file is the same, with fewer
    /// fine-tuning runs. The result is `top` when no probe passed.
    public func smallest(maxDrop: Double, kind: TableKind, output: OutputCoding = .int8PerRow,
                         refined: Bool = true, toBeat: Int? = nil, corrected: Bool = false) throws -> RateCandidate? {
        guard floatAccuracy != nil else { throw RateControlError("--max-drop needs validation data") }
        let top = try evaluate(RateSetting(kind: kind, level: 100), output: output, corrected: corrected)
        guard passes(top, maxDrop: maxDrop) else { return nil }
        let refining = refined && refine != nil
        // Midpoints rounded up: the probe order is part of the result (`tried` lists the levels probed).
        return try Bisection.lowestPassing(in: 1..<100, midpoint: .up) { level in
            let setting = RateSetting(kind: kind, level: level)
            if refining, let toBeat, Double(try plainBytes(setting, output: output)) * Self.refinedBytesFloor >= Double(toBeat) {
                return top
            }
            let c = try evaluate(setting, output: output, refined: refined, corrected: corrected)
            return passes(c, maxDrop: maxDrop) ? c : nil
        } ?? top
    }

    /// The smallest ratio of a fine-tuned candidate's bytes to its plain coding's that `smallest`
    /// allows for when it skips probes. In 40 pairs from three fine-tuned searches on
    /// docs/results/rate-promise.txt's models the ratio was 1.001–1.074 (fine-tuned files were
    /// never smaller); 0.9 leaves room.
    public static let refinedBytesFloor = 0.9

    /// The whole-file bytes of `setting` coded without fine-tuning (from the cache when it was
    /// evaluated; else coded now and not listed in `tried`).
    private func plainBytes(_ setting: RateSetting, output: OutputCoding) throws -> Int {
        if let c = cache[Self.cacheKey(setting, output: output, refined: false, corrected: false)] { return c.bytes }
        return try container(setting, output: output).serialized().count + fileOverheadBytes
    }

    /// The key of one candidate in `cache`.
    private static func cacheKey(_ setting: RateSetting, output: OutputCoding, refined: Bool, corrected: Bool) -> String {
        "\(setting.kind)|\(setting.level)|\(output)|\(refined)|\(corrected)"
    }

    /// The flat-table JPEG output layers tried by `smallest(maxDrop:kinds:)`, coarsest first.
    public static let outputSteps = [24, 16, 12, 8, 6, 4, 3, 2]

    /// The relative errors of the `.bounded` output layers tried by `smallest(maxDrop:kinds:)`,
    /// coarsest first (steps of about √2).
    public static let outputBounds = [0.4, 0.28, 0.2, 0.14, 0.1, 0.07, 0.05, 0.035, 0.025]

    /// The smallest file over `kinds` whose validation drop is at most `maxDrop`. With
    /// `cheapOutput`, the int8 output layer is also tried in two cheaper families, flat-table JPEG
    /// steps (`outputSteps`) and `.bounded` errors (`outputBounds`): in each, the coarsest setting
    /// whose drop alone (first layer kept at IJG quality 100), margin included, stays within a third
    /// of the budget, and the next finer one, which leaves the first layer more of the budget for a
    /// few more output bytes. All are searched: neither the fewest bytes at that point nor the
    /// largest share of the budget wins everywhere (on the ten holdout models of
    /// docs/results/rate-promise.txt, the finer ones gave a 2 % smaller mean file for about 1.6
    /// times the candidates).
    /// `toBeat`: the bytes of a passing file found already (see `smallest(maxDrop:kind:output:refined:toBeat:)`;
    /// the smallest passing file found so far is used too).
    public func smallest(maxDrop: Double, kinds: [TableKind], cheapOutput: Bool, refined: Bool = true,
                         toBeat: Int? = nil) throws -> RateCandidate? {
        var outputs: [OutputCoding] = [.int8PerRow]
        if cheapOutput && base.entries.contains(where: { $0.coding == .int8PerRow }) {
            let families: [[OutputCoding]] = [Self.outputSteps.map { .jpegFlat(step: $0) }, Self.outputBounds.map { .bounded(relativeError: $0) }]
            for family in families {
                for (i, output) in family.enumerated() where passes(try evaluate(RateSetting(kind: .ijg, level: 100), output: output), maxDrop: maxDrop / 3) {
                    outputs.append(output)
                    if i + 1 < family.count { outputs.append(family[i + 1]) }
                    break
                }
            }
        }
        var best: RateCandidate? = nil
        for corrected in corrections(refined: refined) {
            for output in outputs {
                for kind in kinds {
                    let bound = [toBeat, best?.bytes].compactMap { $0 }.min()
                    guard let c = try smallest(maxDrop: maxDrop, kind: kind, output: output, refined: refined, toBeat: bound,
                                               corrected: corrected) else { continue }
                    if best == nil || c.bytes < best!.bytes { best = c }
                }
            }
        }
        return best
    }
}
