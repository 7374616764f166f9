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
/// 3. Allocation over measured rate curves: each group's bytes at the bounds of a ladder
///    (`minimumError` times powers of `ladderRatio` up to `maximumError`), every tensor coded for
///    real and nothing evaluated. For a Lagrange multiplier `λ`, each group takes the bound on its
///    curve that minimizes `s_g E² + λ · bytes_g(E)` (the predicted drop plus the bytes' price). The
///    sensitivities predict the `λ` that spends the whole drop; the real drop is then searched over
///    `λ` (a secant step on the measured drop, which grows about linearly in `λ`, kept inside the
///    bracket, else a step by 1.5), each probe a whole coded file scored by the evaluator; a `λ` that
///    gives the bounds of a probe already scored is not scored again. It stops when the bracket is
///    narrow in `λ`, or in bytes (`allocationByteGain`), or when every group at `maximumError`
///    passed. (Before the curves were measured, a cost of `−log2 E` bits per weight stood in for
///    them; it fits noise-like tensors but not an image-like layer's JPEG, whose bytes fall far
///    faster at large errors, so a layer that held most of the bytes got too little of the drop.)
/// 4. A probe passes when its drop is within the bound; when the evaluator reports a standard
///    error of the drop (`TaskMeasurement`), its drop plus `marginSigmas` standard errors must be.
/// 5. Refinement, with the evaluations left: each group in turn, the one with the most bytes in
///    the best passing file first, is loosened alone by bisection over its bound between the bound
///    it has (which passed) and `refinementCeiling` (geometric midpoints, until the bracket is
///    `refinementRatio` narrow or its failing end's file not `refinementByteGain` smaller than the
///    best; a midpoint whose file is not smaller is taken as passing without a measurement). The
///    others keep their bounds, except that a group holding more than `dominantShare` of the bytes
///    goes first with the others tightened to `dominantOthersShare` of the predicted drop. The allocation's cap stops short of the errors an image-like layer
///    tolerates (the reference MLP's first layer: about 40 KB at 0.5, 16 KB at 0.67), and the
///    sensitivity probes cannot see where its drop turns up steeply; the bisection finds it.
///    An image-like group (`jpegLayouts`: the policy's rules would JPEG-code its tensors and their
///    DCT coding gain reaches `imageLikeMinimumGain`) first walks its ladders of JPEG codings
///    instead: for each of `ladderKinds`, the coarsest level 1…100 whose file passes, by bisection
///    (`CompressionPolicy.tensorJPEGSettings`; a level whose file is not smaller than the best is
///    taken as passing without a measurement). At one RMS error the task cares which table made
///    it (on reference MLP 2 the first layer at bound 0.49 dropped 0.17 pp, at 0.50 0.42 pp, as
///    the cheapest coding within the bound changed), so a ladder of one table is what the MNIST
///    rate control bisects too. Its bound is loosened only when no ladder gave a smaller file.
/// The smallest passing file is written: the file written is the one scored.
/// Other tensors (1-D, small, non-float) follow `basePolicy`, the 1-D ones within
/// `Options.oneDimensionalShare` of the candidate's tightest group bound when it is set.
public enum ErrorAllocation {
    /// The margin when neither the options nor the evaluator set one: one-sided 95 %.
    public static let defaultMarginSigmas = 1.645

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
    /// `adjust`, when given, changes every coded candidate (given the policy it was coded with)
    /// before it is scored and kept, e.g. `BiasCorrection.corrected`, and says what it did (nil:
    /// nothing), which the candidate's evaluation records as its `adjustment`.
    public static func run(_ source: SafetensorsFile, basePolicy: CompressionPolicy, evaluator: some TaskEvaluator,
                           originalPath: String, options: Options,
                           adjust: ((Container, CompressionPolicy) throws -> (container: Container, adjustment: String?))? = nil,
                           events: (Evaluation, Int) -> Void = { _, _ in }) throws -> (Container, Report) {
        // Every candidate is coded here; what `adjust` did goes with the next evaluation recorded.
        var adjustment: String? = nil
        func code(_ policy: CompressionPolicy) throws -> Container {
            let container = try ModelCodec.compress(source, policy: policy)
            guard let adjust else { return container }
            let adjusted = try adjust(container, policy)
            adjustment = adjusted.adjustment
            return adjusted.container
        }
        var groups = groups(of: source)
        guard !groups.isEmpty else { throw Failure.nothingToAllocate }
        let needed = groups.count + 2
        guard options.budget >= needed else { throw Failure.budgetTooSmall(budget: options.budget, needed: needed) }
        let folder = try PrivateFolder.make()
        defer { PrivateFolder.remove(folder) }
        let direction = evaluator.direction
        var evaluations: [Evaluation] = []
        // The smallest passing file so far: its container, its evaluation, each group's bound and,
        // for a group whose JPEG ladder the refinement walked, its JPEG setting (which wins over the bound).
        var chosen: (container: Container, index: Int, bounds: [Double], settings: [RateSetting?])? = nil
        let noSettings = [RateSetting?](repeating: nil, count: groups.count)
        // The tile layout of each tensor whose group walks a JPEG ladder (`jpegLayouts(of:in:policy:)`).
        var jpegLayouts: [String: TileLayout] = [:]

        func record(_ e: Evaluation) {
            var e = e
            e.adjustment = adjustment
            adjustment = nil
            evaluations.append(e)
            events(e, options.budget)
        }
        func score(_ container: Container) throws -> TaskMeasurement {
            let candidate = folder + "/candidate.safetensors"
            let decoded = try ModelCodec.decompress(container, path: "<candidate>")
            try Data(decoded.serialized()).write(to: URL(fileURLWithPath: candidate))
            defer { try? FileManager.default.removeItem(atPath: candidate) }
            return try evaluator.measure(modelAt: candidate)
        }
        // What a candidate's drop is held to: the drop plus the margin's standard errors.
        let margin = options.marginSigmas ?? evaluator.defaultMarginSigmas ?? defaultMarginSigmas
        func judged(_ drop: Double, _ m: TaskMeasurement) -> Double { drop + margin * (m.standardError ?? 0) }

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
            let container = try code(policy)
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

        // Rate curves: each group's bytes at each bound of `ladder`, every tensor coded alone
        // (no evaluation). Each allocation gives every group the point on its curve that
        // minimizes `s_g E² + λ · bytes_g(E)`.
        let ladder = Self.ladder(options)
        let points = curvePoints(try rateCurves(source, groups: groups, ladder: ladder, basePolicy: basePolicy),
                                 ladder: ladder, subdivisions: options.ladderSubdivisions)
        func bounds(_ lambda: Double) -> [Double] {
            groups.indices.map { g in
                let s = groups[g].sensitivity ?? 0
                var best = ladder[0], bestCost = Double.infinity
                for p in points[g] {
                    let cost = s * p.error * p.error + lambda * p.bytes
                    if cost < bestCost { best = p.error; bestCost = cost }
                }
                return best
            }
        }
        // The 1-D float tensors and their base bounds (`Options.oneDimensionalShare`).
        let oneDimensional: [(name: String, bound: Double)] = options.oneDimensionalShare == nil ? [] :
            source.tensors.compactMap { t in
                guard t.dtype.convertsToFloat, t.shape.count < 2,
                      let bound = basePolicy.relativeErrorBound(name: t.name, rank: t.shape.count) else { return nil }
                return (t.name, bound)
            }
        // The base policy with each group's tensors at their bound, or at their JPEG setting, and
        // the 1-D tensors at their share of the tightest bound.
        func policy(_ bounds: [Double], _ settings: [RateSetting?]? = nil) -> CompressionPolicy {
            var policy = basePolicy
            for (g, e) in zip(groups, bounds) { for name in g.tensors { policy.tensorBounds[name] = e } }
            if let share = options.oneDimensionalShare, let tightest = bounds.min() {
                for t in oneDimensional { policy.tensorBounds[t.name] = max(t.bound, share * tightest) }
            }
            for (g, setting) in zip(groups, settings ?? noSettings) {
                guard let setting else { continue }
                for name in g.tensors { if let layout = jpegLayouts[name] { policy.tensorJPEGSettings[name] = JPEGLadderRung(layout: layout, setting: setting) } }
            }
            return policy
        }
        // The drop the sensitivities predict for `bounds`, over the groups `counted` (all by default).
        func predictedDrop(_ bounds: [Double], counted: (Int) -> Bool = { _ in true }) -> Double {
            groups.indices.filter(counted).reduce(0) { $0 + (groups[$1].sensitivity ?? 0) * bounds[$1] * bounds[$1] }
        }
        // λ range: wide enough to hold every group at the minimum and every group at the maximum.
        let lambdaRange = (lower: 1e-18, upper: 1e6)
        // The largest λ in that range whose bounds keep `predictedDrop(bounds, counted:)` within `drop`
        // (bisection in log λ).
        func largestLambda(predictedDropWithin drop: Double, counted: (Int) -> Bool = { _ in true }) -> Double {
            var a = lambdaRange.lower, z = lambdaRange.upper
            for _ in 0..<60 {
                let mid = (a * z).squareRoot()
                if predictedDrop(bounds(mid), counted: counted) <= drop { a = mid } else { z = mid }
            }
            return a
        }
        func candidate(_ lambda: Double) throws -> (Container, TaskMeasurement, [Double]) {
            let b = bounds(lambda)
            let container = try code(policy(b))
            return (container, try score(container), b)
        }

        var lo = lambdaRange.lower, hi = lambdaRange.upper
        // First probe: where the sensitivities predict the whole drop is spent.
        var lambda = largestLambda(predictedDropWithin: options.maxDrop)
        var bestBytes = Int.max
        // The bytes of the failing probe at `hi`: when they are within `allocationByteGain` of the
        // best passing file, no λ between them can gain more, and the evaluations left go to step 5.
        var failedBytes: Int? = nil
        // Verdicts by bounds: two λ that give every group the same bound give the same file.
        var verdicts: [[Double]: Bool] = [:]
        var steps = 0
        while evaluations.count < options.budget && steps < 200 {
            steps += 1
            if let passed = verdicts[bounds(lambda)] {
                // Already scored: move on as after that probe, without a measurement.
                if passed { lo = lambda } else { hi = lambda }
                if hi / lo < 1.05 { break }
                lambda = passed ? min(lambda * 1.5, (lambda * hi).squareRoot()) : max(lambda / 1.5, (lambda * lo).squareRoot())
                continue
            }
            let (container, m, b) = try candidate(lambda)
            let drop = direction.drop(from: original, to: m.value)
            let bytes = container.serialized().count
            record(Evaluation(stage: "allocation", settings: String(format: "λ %.3g: bounds %.4g…%.4g", lambda, b.min()!, b.max()!),
                              bytes: bytes, metric: m.value, drop: drop, standardError: m.standardError))
            let held = judged(drop, m)
            verdicts[b] = passes(held)
            if passes(held) {
                if bytes < bestBytes { bestBytes = bytes; chosen = (container, evaluations.count - 1, b, noSettings) }
                lo = lambda
            } else {
                hi = lambda
                failedBytes = bytes
            }
            // Every group at the largest bound passed: nothing looser to allocate.
            if hi / lo < 1.05 || (lo == lambda && b.allSatisfy { $0 >= options.maximumError }) { break }
            if let failedBytes, chosen != nil, Double(failedBytes) >= Double(bestBytes) * (1 - options.allocationByteGain) { break }
            // The drop grows about in proportion to λ (exactly, for `−log2 E` bits per weight and no bound clamped):
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
            let container = try code(policy(groups.map { _ in options.minimumError }))
            let m = try score(container)
            let drop = direction.drop(from: original, to: m.value)
            record(Evaluation(stage: "allocation", settings: "every group at \(options.minimumError)",
                              bytes: container.serialized().count, metric: m.value, drop: drop, standardError: m.standardError))
            guard passes(judged(drop, m)) else {
                throw Failure.unreachable(maxDrop: options.maxDrop, dropAtMinimum: judged(drop, m), minimumError: options.minimumError)
            }
            chosen = (container, evaluations.count - 1, groups.map { _ in options.minimumError }, noSettings)
            bestBytes = container.serialized().count
        }

        // One bisection of the refinement along a ladder of rungs (bounds, or JPEG levels) between
        // an end that passed (or counts as passing) and one that failed: `midpoint` gives the rung
        // between them (nil once the bracket is narrow enough), `assignment` every group's bound and
        // JPEG setting there. A rung whose file is not smaller than the best is taken as passing
        // without a measurement (its coding has not changed enough to be worth one); the bisection
        // stops when the budget is spent, or when the failing end's file is not `refinementByteGain`
        // smaller than the best (every passing rung is finer, so no smaller by more; an image-like
        // layer's bytes can halve between two bounds 10 % apart).
        func bisect<Rung>(passing: Rung, failing: Rung, midpoint: (Rung, Rung) -> Rung?,
                          assignment: (Rung) -> (bounds: [Double], settings: [RateSetting?]), label: (Rung) -> String) throws {
            var passing = passing, failing = failing
            var failedBytes: Int? = nil
            while evaluations.count < options.budget && Double(failedBytes ?? 0) < Double(bestBytes) * (1 - options.refinementByteGain),
                  let mid = midpoint(passing, failing) {
                let (b, settings) = assignment(mid)
                let candidate = try code(policy(b, settings))
                let bytes = candidate.serialized().count
                guard bytes < bestBytes else { passing = mid; continue }
                let m = try score(candidate)
                let drop = direction.drop(from: original, to: m.value)
                record(Evaluation(stage: "refinement", settings: label(mid), bytes: bytes, metric: m.value, drop: drop,
                                  standardError: m.standardError))
                if passes(judged(drop, m)) {
                    bestBytes = bytes
                    chosen = (candidate, evaluations.count - 1, b, settings)
                    passing = mid
                } else {
                    failing = mid
                    failedBytes = bytes
                }
            }
        }

        // Refinement: with the evaluations left, each group in turn (most bytes in the chosen file
        // first) is loosened alone, the others kept at their chosen bounds; a group that holds most
        // of the bytes is loosened first with the others tightened to `dominantOthersShare` of the
        // predicted drop, leaving it the rest.
        let container = chosen!.container
        let bytesOf = groups.map { g in container.entries.filter { g.tensors.contains($0.name) }.reduce(0) { $0 + $1.storedBytes } }
        for (rank, g) in groups.indices.sorted(by: { bytesOf[$0] > bytesOf[$1] }).enumerated() {
            var others = chosen!.bounds
            var words = "others as chosen"
            if rank == 0 && groups.count > 1 && Double(bytesOf[g]) > Double(bytesOf.reduce(0, +)) * options.dominantShare {
                let tight = bounds(largestLambda(predictedDropWithin: options.dominantOthersShare * options.maxDrop, counted: { $0 != g }))
                for h in groups.indices where h != g { others[h] = min(others[h], tight[h]) }
                if others != chosen!.bounds { words = "others tightened" }
            }
            // An image-like group walks its ladder of each JPEG table kind (`ladderKinds`) first,
            // for the coarsest passing level 1…100; when one of them gave the best file, its bound
            // no longer matters. Otherwise its bound is loosened, up to `refinementCeiling`.
            if let layouts = try Self.jpegLayouts(of: groups[g], in: source, policy: basePolicy) {
                jpegLayouts.merge(layouts) { $1 }
                for kind in options.ladderKinds {
                    try bisect(passing: 100, failing: 0, midpoint: { p, f in p - f > 1 ? (f + p + 1) / 2 : nil },
                               assignment: { level in
                                   var settings = chosen!.settings
                                   settings[g] = RateSetting(kind: kind, level: level)
                                   return (others, settings)
                               },
                               label: { "\(groups[g].key) as JPEG \(RateSetting(kind: kind, level: $0)), \(words)" })
                }
                if chosen!.settings[g] != nil { continue }
            }
            try bisect(passing: chosen!.bounds[g], failing: options.refinementCeiling,
                       midpoint: { p, f in f / p > options.refinementRatio ? (p * f).squareRoot() : nil },
                       assignment: { e in
                           var b = others
                           b[g] = e
                           return (b, chosen!.settings)
                       },
                       label: { String(format: "%@ at %.4g, %@", groups[g].key, $0, words) })
        }
        evaluations[chosen!.index].chosen = true
        for g in groups.indices {
            groups[g].bound = chosen!.bounds[g]
            groups[g].jpeg = chosen!.settings[g].map { "\($0)" }
        }
        return (chosen!.container, Report(direction: direction, maxDrop: options.maxDrop, marginSigmas: margin, originalMetric: original,
                                          groups: groups, evaluations: evaluations))
    }

    /// The tile layout of each of `group`'s tensors when every one of them is image-like: the
    /// policy's rules would JPEG-code it (`CompressionPolicy.coding`, e.g. `rows:28x28` for 784
    /// columns) and it is image-like on that layout (`CompressionPolicy.isImageLike`, the test of
    /// `noiseLikeBound` too); nil otherwise.
    static func jpegLayouts(of group: Group, in source: SafetensorsFile, policy: CompressionPolicy) throws -> [String: TileLayout]? {
        var layouts: [String: TileLayout] = [:]
        for name in group.tensors {
            guard let tensor = source.tensors.first(where: { $0.name == name }) else { return nil }
            let values = try tensor.floats()
            guard case .jpeg(let p) = policy.coding(name: name, dtype: tensor.dtype, shape: tensor.shape, values: values),
                  policy.isImageLike(values, rows: tensor.shape[0], layout: p.layout) else { return nil }
            layouts[name] = p.layout
        }
        return layouts
    }

    /// `name` as a glob that matches only itself.
    static func escapedGlob(_ name: String) -> String {
        var out = ""
        for c in name { if "*?[]\\".contains(c) { out.append("\\") }; out.append(c) }
        return out
    }
}
