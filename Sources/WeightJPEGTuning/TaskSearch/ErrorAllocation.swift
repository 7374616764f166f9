import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec

/// The smallest file whose task metric stays within a bound: a relative-error bound per group of
/// alike tensors, allocated where the metric tolerates error, every candidate coded for real and
/// scored from its decoded bytes by a `TaskEvaluator`.
///
/// 1. The original model is scored.
/// 2. Sensitivity: each group (float tensors of rank ≥ 2 whose names differ only in their numbers
///    and whose shapes agree, e.g. every layer's query weight) alone is coded at `probeError`,
///    the others kept exact; its metric drop `d_g` gives a sensitivity `s_g = d_g / probeError²`
///    (a drop grows with the squared relative error of small perturbations). A group whose drop
///    stays below a tenth of the allowed one (`quietShare`) is probed again at `reprobeFactor`
///    times the error (at most `maximumError`), while the budget keeps `allocationReserve`
///    evaluations for step 3, and its sensitivity comes from its last probe: a metric that barely
///    moves at the first error (accuracy, which saturates; on the reference MLP both groups were
///    quiet at 0.05) would otherwise give every such group the same bound. A group whose last
///    probe did not move the metric at all gets a thousandth of the smallest sensitivity per weight.
/// 3. Allocation: with `n_g` weights per group and a bit cost of about `−log2 E` per weight at
///    relative error `E`, minimizing bits subject to `Σ s_g E_g² ≤ D` gives `E_g = √(λ n_g / s_g)`
///    (Lagrangian; clamped to `minimumError…maximumError`). The sensitivities predict the `λ` that
///    spends the whole drop; the real drop is then searched over `λ` (a secant step on the measured
///    drop, which grows about linearly in `λ`, kept inside the bracket, else a step by 1.5),
///    each probe a whole coded file scored by the evaluator.
/// 4. The smallest probe within the bound is the result: the file written is the one scored. When
///    the evaluator reports a standard error of the drop (`TaskMeasurement`), a probe passes only
///    if its drop plus `marginSigmas` standard errors is within the bound.
/// Other tensors (1-D, small, non-float) follow `basePolicy`.
public enum ErrorAllocation {
    /// What to search for.
    public struct Options: Sendable {
        /// Largest allowed drop of the metric, in its own units (accuracy points, cosine …).
        public var maxDrop: Double
        /// Most evaluations in all, the original's included.
        public var budget = 16
        /// Relative error each group is probed at for its sensitivity.
        public var probeError = 0.05
        /// A probe whose drop is below this share of `maxDrop` is repeated at a larger error.
        public var quietShare = 0.1
        /// How much larger the error of each repeated probe is.
        public var reprobeFactor = 4.0
        /// Evaluations the repeated probes leave for the allocation (besides the budget's first
        /// allocation, which `Failure.budgetTooSmall` already reserves).
        public var allocationReserve = 3
        /// Smallest bound a group gets (the documented default: the allocation only loosens).
        public var minimumError = CompressionPolicy.defaultMaxRelativeError
        /// Largest bound a group gets.
        public var maximumError = 0.5
        /// Standard errors added to a candidate's drop before it is compared with `maxDrop`, for
        /// evaluators that report one (`TaskMeasurement.standardError`; a command prints it after
        /// the metric); 1.645 is one-sided 95 %.
        public var marginSigmas = 1.645

        /// A search for `maxDrop` with the default budget and bounds.
        public init(maxDrop: Double) { self.maxDrop = maxDrop }
    }

    /// One group of alike tensors and what the search found for it.
    public struct Group: Codable, Sendable {
        /// Names with their numbers replaced by `#`, and the shape: `encoder.layer.#.attention.self.query.weight [384, 384]`.
        public var key: String
        public var tensors: [String]
        /// Weights in all its tensors.
        public var elements: Int
        /// Metric drop per squared relative error (from the probe), nil before the pass.
        public var sensitivity: Double?
        /// The chosen bound.
        public var bound: Double?
    }

    /// One scored model.
    public struct Evaluation: Codable, Sendable {
        /// `original`, `sensitivity`, or `allocation`.
        public var stage: String
        /// What was coded how: the group probed, or `λ` and the bounds' range.
        public var settings: String
        /// Size of the candidate `.wjpg` file (nil for the original).
        public var bytes: Int?
        /// The metric.
        public var metric: Double
        /// Drop from the original, in the metric's units (negative: better).
        public var drop: Double
        /// The drop's standard error, when the evaluator reported one.
        public var standardError: Double? = nil
        /// Whether this is the file written.
        public var chosen = false
    }

    /// Everything the search measured (the JSON of `compress --report`).
    public struct Report: Codable, Sendable {
        public var direction: MetricDirection
        public var maxDrop: Double
        public var originalMetric: Double
        public var groups: [Group]
        public var evaluations: [Evaluation]
    }

    /// Why the search could not finish.
    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// The budget cannot cover the original, one probe per group and one allocation.
        case budgetTooSmall(budget: Int, needed: Int)
        /// Even every group at `minimumError` drops the metric by more than allowed.
        case unreachable(maxDrop: Double, dropAtMinimum: Double, minimumError: Double)
        /// No float tensor of rank ≥ 2 to allocate error to.
        case nothingToAllocate

        public var description: String {
            switch self {
            case .budgetTooSmall(let b, let n): "an evaluation budget of \(b) cannot cover the original, one sensitivity probe per group of alike tensors and one allocation: at least \(n) evaluations are needed"
            case .unreachable(let p, let d, let e): "even every tensor at relative error \(e) drops the metric by \(d), more than the allowed \(p)"
            case .nothingToAllocate: "the model has no floating-point tensor of rank 2 or more to allocate error to"
            }
        }
    }

    /// The groups of `file`: float tensors of rank ≥ 2 with at least 1,024 elements, keyed by
    /// name-without-numbers and shape, in file order of their first tensor.
    public static func groups(of file: SafetensorsFile) -> [Group] {
        var order: [String] = [], byKey: [String: Group] = [:]
        for t in file.tensors where t.dtype.convertsToFloat && t.shape.count >= 2 && t.shape.reduce(1, *) >= 1024 {
            let key = t.name.replacingOccurrences(of: "[0-9]+", with: "#", options: .regularExpression) + " \(t.shape)"
            if byKey[key] == nil { order.append(key); byKey[key] = Group(key: key, tensors: [], elements: 0) }
            byKey[key]!.tensors.append(t.name)
            byKey[key]!.elements += t.shape.reduce(1, *)
        }
        return order.map { byKey[$0]! }
    }

    /// Runs the search on `source` (read from `path`). `events` sees each evaluation as it is made.
    /// Returns the chosen container and the report.
    public static func run(_ source: SafetensorsFile, basePolicy: CompressionPolicy, evaluator: some TaskEvaluator,
                           originalPath: String, options: Options,
                           events: (Evaluation, Int) -> Void = { _, _ in }) throws -> (Container, Report) {
        var groups = groups(of: source)
        guard !groups.isEmpty else { throw Failure.nothingToAllocate }
        let needed = groups.count + 2
        guard options.budget >= needed else { throw Failure.budgetTooSmall(budget: options.budget, needed: needed) }
        let folder = try PrivateFolder.make()
        defer { PrivateFolder.remove(folder) }
        let direction = evaluator.direction
        var evaluations: [Evaluation] = []
        var chosen: (container: Container, index: Int, bounds: [Double])? = nil

        func record(_ e: Evaluation) { evaluations.append(e); events(e, options.budget) }
        func score(_ container: Container) throws -> TaskMeasurement {
            let candidate = folder + "/candidate.safetensors"
            let decoded = try ModelCodec.decompress(container, path: "<candidate>")
            try Data(decoded.serialized()).write(to: URL(fileURLWithPath: candidate))
            defer { try? FileManager.default.removeItem(atPath: candidate) }
            return try evaluator.measure(modelAt: candidate)
        }
        // What a candidate's drop is held to: the drop plus the margin's standard errors.
        func judged(_ drop: Double, _ m: TaskMeasurement) -> Double { drop + options.marginSigmas * (m.standardError ?? 0) }

        let original = try evaluator.evaluate(modelAt: originalPath)
        // A judged drop equal to the bound up to rounding (99.65 − 99.35 = 0.30000000000000426) passes.
        func passes(_ judgedDrop: Double) -> Bool { judgedDrop <= options.maxDrop + 1e-9 * max(1, abs(original)) }
        record(Evaluation(stage: "original", settings: "float model as given", bytes: nil, metric: original, drop: 0))

        // Sensitivity of each group alone: every group at `probeError`, then the quiet ones again
        // at larger errors while the budget allows.
        func probe(_ g: Int, at error: Double) throws -> Double {
            var policy = basePolicy
            policy.exactPatterns = groups.enumerated().filter { $0.offset != g }.flatMap(\.element.tensors).map(escapedGlob)
            for name in groups[g].tensors { policy.tensorBounds[name] = error }
            let container = try ModelCodec.compress(source, policy: policy)
            let m = try score(container)
            let drop = direction.drop(from: original, to: m.value)
            groups[g].sensitivity = max(drop, 0) / (error * error)
            record(Evaluation(stage: "sensitivity", settings: "\(groups[g].key) at \(error), others exact",
                              bytes: container.serialized().count, metric: m.value, drop: drop, standardError: m.standardError))
            return drop
        }
        var quiet: [(group: Int, error: Double)] = []
        for g in groups.indices where try probe(g, at: options.probeError) < options.quietShare * options.maxDrop {
            quiet.append((g, options.probeError))
        }
        quiet.removeAll { $0.error >= options.maximumError }
        while let (g, error) = quiet.first, evaluations.count + 1 + options.allocationReserve < options.budget {
            quiet.removeFirst()
            let larger = min(error * options.reprobeFactor, options.maximumError)
            if try probe(g, at: larger) < options.quietShare * options.maxDrop && larger < options.maximumError { quiet.append((g, larger)) }
        }

        // A group whose probe did not move the metric still gets a (small) sensitivity, so that a
        // failing allocation can tighten it too: a metric that saturates (accuracy on the images a
        // model was trained on) would otherwise leave it at the largest bound whatever λ is. With
        // no sensitive group at all, every group gets the same bound (s_g ∝ n_g).
        let perWeight = groups.compactMap { g in g.sensitivity.flatMap { $0 > 0 ? $0 / Double(g.elements) : nil } }
        let floor = (perWeight.min() ?? 1e3) * 1e-3
        for g in groups.indices where (groups[g].sensitivity ?? 0) <= 0 {
            groups[g].sensitivity = floor * Double(groups[g].elements)
        }

        func bounds(_ lambda: Double) -> [Double] {
            groups.map { g in
                let s = g.sensitivity ?? 0
                let e = s > 0 ? (lambda * Double(g.elements) / s).squareRoot() : options.maximumError
                return min(max(e, options.minimumError), options.maximumError)
            }
        }
        func predictedDrop(_ lambda: Double) -> Double {
            zip(groups, bounds(lambda)).reduce(0) { $0 + ($1.0.sensitivity ?? 0) * $1.1 * $1.1 }
        }
        func candidate(_ lambda: Double) throws -> (Container, TaskMeasurement, [Double]) {
            let b = bounds(lambda)
            var policy = basePolicy
            for (g, e) in zip(groups, b) { for name in g.tensors { policy.tensorBounds[name] = e } }
            let container = try ModelCodec.compress(source, policy: policy)
            return (container, try score(container), b)
        }

        // λ range: from every group at the minimum to every group at the maximum.
        var lo = groups.map { options.minimumError * options.minimumError * $0.sensitivity! / Double($0.elements) }.min()!
        var hi = groups.map { options.maximumError * options.maximumError * $0.sensitivity! / Double($0.elements) }.max()!
        // First probe: where the sensitivities predict the whole drop is spent.
        var a = lo, b = hi
        for _ in 0..<60 {
            let mid = (a * b).squareRoot()
            if predictedDrop(mid) <= options.maxDrop { a = mid } else { b = mid }
        }
        var lambda = a
        var bestBytes = Int.max
        while evaluations.count < options.budget {
            let (container, m, b) = try candidate(lambda)
            let drop = direction.drop(from: original, to: m.value)
            let bytes = container.serialized().count
            record(Evaluation(stage: "allocation", settings: String(format: "λ %.3g: bounds %.4g…%.4g", lambda, b.min()!, b.max()!),
                              bytes: bytes, metric: m.value, drop: drop, standardError: m.standardError))
            let held = judged(drop, m)
            if passes(held) {
                if bytes < bestBytes { bestBytes = bytes; chosen = (container, evaluations.count - 1, b) }
                lo = lambda
            } else {
                hi = lambda
            }
            if hi / lo < 1.05 { break }
            // The drop grows about in proportion to λ (Σ s_g E_g² = λ Σ n_g while no bound is clamped):
            // aim just inside the bound from the last probe, else halve the bracket geometrically.
            // Outside the bracket, or too close to its ends, move by a factor 1.5 instead: the far end
            // of the first bracket is every group at the largest bound, far from the answer.
            let passed = lo == lambda
            let secant = held > 0 ? lambda * (passed ? 1 : 0.97) * options.maxDrop / held : lambda * 1.5
            let step = passed ? min(lambda * 1.5, (lambda * hi).squareRoot()) : max(lambda / 1.5, (lambda * lo).squareRoot())
            lambda = secant > lo * 1.01 && secant < hi / 1.01 ? secant : step
        }
        if chosen == nil {
            // Every probe broke the bound: fall back to every group at the minimum.
            var policy = basePolicy
            for g in groups { for name in g.tensors { policy.tensorBounds[name] = options.minimumError } }
            let container = try ModelCodec.compress(source, policy: policy)
            let m = try score(container)
            let drop = direction.drop(from: original, to: m.value)
            record(Evaluation(stage: "allocation", settings: "every group at \(options.minimumError)",
                              bytes: container.serialized().count, metric: m.value, drop: drop, standardError: m.standardError))
            guard passes(judged(drop, m)) else {
                throw Failure.unreachable(maxDrop: options.maxDrop, dropAtMinimum: judged(drop, m), minimumError: options.minimumError)
            }
            chosen = (container, evaluations.count - 1, groups.map { _ in options.minimumError })
        }
        evaluations[chosen!.index].chosen = true
        for g in groups.indices { groups[g].bound = chosen!.bounds[g] }
        return (chosen!.container, Report(direction: direction, maxDrop: options.maxDrop, originalMetric: original,
                                          groups: groups, evaluations: evaluations))
    }

    /// `name` as a glob that matches only itself.
    static func escapedGlob(_ name: String) -> String {
        var out = ""
        for c in name { if "*?[]\\".contains(c) { out.append("\\") }; out.append(c) }
        return out
    }
}
