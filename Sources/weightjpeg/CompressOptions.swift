import ArgumentParser
import WeightJPEG

/// `compress`'s JPEG options: how image-like tensors become JPEG and which tensors stay exact.
struct JPEGCodingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("JPEG quality, 1-100 (IJG scaling), for image-like tensors (DCT coding gain ≥ 1.25); every other float tensor stays within the default error bound. Without it (and without rate control) every tensor is error-bounded.", valueName: "q"))
    var quality: Int?
    @Option(help: ArgumentHelp("auto, rows:HxW (each row an HxW image) or matrix[:HxW] (tiles of at most HxW).", valueName: "layout"))
    var layout: String = "auto"
    @Option(help: "Float-to-pixel min/max per tensor or per tile: tensor or tile.")
    var scale: ScaleMode = .tensor
    @Option(help: "Tiles in one mosaic image, or abbreviated streams with shared tables: mosaic or tables.")
    var pack: PackMode = .mosaic
    @Option(help: "Huffman tables: optimized or standard.")
    var huffman: HuffmanChoice = .optimized
    @Flag(help: "Arithmetic coding instead of Huffman.")
    var arithmetic = false
    @Flag(help: "Progressive JPEG.")
    var progressive = false
    @Option(name: .customLong("exact"), help: ArgumentHelp("Keep tensors whose name matches this glob bit for bit (repeatable; must match a tensor).", valueName: "glob"))
    var exact: [String] = []
    @Option(name: .customLong("quality-for"), help: ArgumentHelp("Per-tensor quality, GLOB=Q (repeatable; must match a tensor).", valueName: "glob=q"))
    var qualityFor: [String] = []

    enum HuffmanChoice: String, ExpressibleByArgument { case optimized, standard }

    func validate() throws {
        if let quality, !(1...100).contains(quality) { throw ValidationError("--quality must be 1-100, got \(quality)") }
        guard layout == "auto" || TileLayout(layout) != nil else { throw ValidationError("--layout must be auto, rows:HxW or matrix[:HxW], got '\(layout)'") }
        _ = try parsedOverrides()
    }

    func parsedOverrides() throws -> [(pattern: String, quality: Int)] {
        try qualityFor.map { spec in
            guard let eq = spec.lastIndex(of: "="), let q = Int(spec[spec.index(after: eq)...]), (1...100).contains(q) else {
                throw ValidationError("--quality-for expects GLOB=Q with Q in 1-100, got '\(spec)'")
            }
            return (String(spec[..<eq]), q)
        }
    }

    func apply(to policy: inout CompressionPolicy) throws {
        policy.quality = quality ?? 20
        policy.layout = layout == "auto" ? nil : TileLayout(layout)
        policy.scale = scale
        policy.pack = pack
        policy.optimizeHuffman = huffman == .optimized
        policy.arithmetic = arithmetic
        policy.progressive = progressive
        policy.exactPatterns = exact
        policy.qualityOverrides = try parsedOverrides()
    }
}

/// `compress`'s error-targeted mode: every float tensor gets the cheapest coding within a
/// relative-error bound.
struct ErrorTargetOptions: ParsableArguments {
    @Option(name: .customLong("max-rel-error"), parsing: .unconditional, help: ArgumentHelp("Per float tensor, the cheapest coding whose relative RMS error ‖ΔW‖/‖W‖, measured by decoding, is at most E (E/10 for 1-D tensors); e.g. 0.01.", valueName: "e"))
    var maxRelError: Double?
    @Option(name: .customLong("max-rel-error-for"), help: ArgumentHelp("Per-tensor bound, GLOB=E (repeatable; the first match wins; must match a tensor).", valueName: "glob=e"))
    var maxRelErrorFor: [String] = []
    @Option(name: .customLong("jpeg-min-gain"), parsing: .unconditional, help: ArgumentHelp("Try JPEG only on tensors whose 8x8 DCT AC coding gain is at least G (0: everywhere).", valueName: "g"))
    var jpegMinGain: Double = 1.05
    @Option(name: .customLong("noise-like-error"), help: ArgumentHelp("With --quality or rate control: code a noise-like tensor (AC coding gain below 1.25) within this relative error instead of JPEG, or 'off' to JPEG-code it too (default: 0.002).", valueName: "e|off"))
    var noiseLikeError: String?

    func validate() throws {
        if let e = maxRelError, !(e > 0 && e < 1) { throw ValidationError("--max-rel-error must be between 0 and 1 (exclusive), e.g. 0.03, got \(e)") }
        if let n = noiseLikeError, n != "off", !(Double(n).map { $0 > 0 && $0 < 1 } ?? false) {
            throw ValidationError("--noise-like-error must be between 0 and 1 (exclusive) or 'off', got '\(n)'")
        }
        guard jpegMinGain >= 0 && jpegMinGain.isFinite else { throw ValidationError("--jpeg-min-gain must be 0 or more, got \(jpegMinGain)") }
        _ = try parsedErrorOverrides()
    }

    var isRequested: Bool { maxRelError != nil || !maxRelErrorFor.isEmpty }

    func parsedErrorOverrides() throws -> [(pattern: String, bound: Double)] {
        try maxRelErrorFor.map { spec in
            guard let eq = spec.lastIndex(of: "="), let e = Double(spec[spec.index(after: eq)...]), e > 0, e < 1 else {
                throw ValidationError("--max-rel-error-for expects GLOB=E with E between 0 and 1 (exclusive), got '\(spec)'")
            }
            return (String(spec[..<eq]), e)
        }
    }

    /// Sets the error-targeted part of `policy`. Outside `jpegMode` (no quality, no rate control, no
    /// fine-tuning) every float tensor gets a bound: `--max-rel-error` or the documented default.
    func apply(to policy: inout CompressionPolicy, jpegMode: Bool) throws {
        policy.maxRelativeError = maxRelError ?? (jpegMode ? nil : CompressionPolicy.defaultMaxRelativeError)
        policy.jpegMinimumCodingGain = jpegMinGain
        if let n = noiseLikeError { policy.noiseLikeRelativeError = n == "off" ? nil : Double(n) }
        policy.maxRelativeErrorOverrides = try parsedErrorOverrides()
    }
}

/// `compress`'s rate control: the first layer's JPEG tables chosen on the validation split.
struct RateControlOptions: ParsableArguments {
    @Option(name: .customLong("target-bytes"), parsing: .unconditional, help: ArgumentHelp("Rate control: the finest setting whose whole file is at most N bytes.", valueName: "n"))
    var targetBytes: Int?
    @Option(name: .customLong("max-drop"), parsing: .unconditional, help: ArgumentHelp("Smallest file within P of the original's metric: a task search (--data alone: accuracy, pp).", valueName: "p"))
    var maxDrop: Double?
    @Option(name: .customLong("table-kinds"), help: ArgumentHelp("Rate control: table kinds to try: ijg, flat, spectrum[:EXPONENT], comma-separated.", valueName: "kinds"))
    var tableKinds: String = "ijg,flat,spectrum"
    /// `--tables`, a hidden second spelling of `--table-kinds` so that existing command lines keep working; wins when given.
    @Option(name: .customLong("tables"), help: .hidden)
    var tableKindsAlias: String?
    @Option(name: .customLong("margin"), parsing: .unconditional, help: ArgumentHelp("With --max-drop: standard errors added to each drop (default: 2.0; shifted copies 0; fine-tuned, --eval-cmd, agreement, kl 1.645).", valueName: "sigmas"))
    var margin: Double?
    @Flag(inversion: .prefixedNo, help: "Rate control: also try cheaper output layers.")
    var cheapOutput = true
    @Flag(inversion: .prefixedNo, help: "Rate control: also measure on shifted copies.")
    var shiftedCopies = true
    @Flag(inversion: .prefixedNo, help: "With --data: correct biases for the coded weights.")
    var biasCorrection = true
    @Option(name: .customLong("validation-count"), parsing: .unconditional, help: ArgumentHelp("Rate control: the first N (1-10000) validation images.", valueName: "n"))
    var validationCount: Int = DataSplit.heldOut
    @Flag(name: .customLong("report-test"), help: "With --data: also print test accuracies (never used to choose).")
    var reportTest = false
    @Option(name: .customLong("sweep-tables"), help: ArgumentHelp("Print rate-accuracy curves at these levels of every kind in --table-kinds (e.g. 1,5,10,20,40,60,80,100), then write as usual.", valueName: "levels"))
    var sweepTables: String?

    func validate() throws {
        guard targetBytes == nil || maxDrop == nil else { throw ValidationError("give --target-bytes or --max-drop, not both") }
        if let t = targetBytes, t <= 0 { throw ValidationError("--target-bytes must be positive, got \(t)") }
        if let p = maxDrop, !(p >= 0 && p <= 100) { throw ValidationError("--max-drop must be 0-100 percentage points, got \(p)") }
        if let margin, !(margin >= 0 && margin <= 10) { throw ValidationError("--margin must be 0-10 standard errors, got \(margin)") }
        guard (1...DataSplit.heldOut).contains(validationCount) else { throw ValidationError("--validation-count must be 1-10000, got \(validationCount)") }
        _ = try parsedKinds()
        _ = try parsedSweepLevels()
    }

    var isRequested: Bool { targetBytes != nil || maxDrop != nil || sweepTables != nil }

    /// Whether the table rate control runs: for --target-bytes or --sweep-tables (--max-drop alone
    /// is a task search, `Compress.searchMetric`).
    var runsTableSearch: Bool { targetBytes != nil || sweepTables != nil }

    /// The options given that only the table rate control reads (empty when all are at their defaults).
    var tableSearchOnlyOptions: [String] {
        (tableKindsAlias != nil || tableKinds != "ijg,flat,spectrum" ? ["--table-kinds"] : [])
            + (cheapOutput ? [] : ["--no-cheap-output"]) + (shiftedCopies ? [] : ["--no-shifted-copies"])
            + (validationCount != DataSplit.heldOut ? ["--validation-count"] : [])
    }

    func parsedKinds() throws -> [TableKind] {
        try (tableKindsAlias ?? tableKinds).split(separator: ",").map { spec in
            guard let k = TableKind(String(spec)) else {
                throw ValidationError("--table-kinds expects ijg, flat or spectrum[:E] (E in 0-4), got '\(spec)'")
            }
            return k
        }
    }

    func parsedSweepLevels() throws -> [Int]? {
        guard let sweepTables else { return nil }
        return try sweepTables.split(separator: ",").map { spec in
            guard let l = Int(spec), (1...100).contains(l) else { throw ValidationError("--sweep-tables expects levels 1-100, got '\(spec)'") }
            return l
        }
    }

    /// The request these options describe, or nil when no rate control was asked for.
    func request() throws -> RateControlRequest? {
        guard isRequested else { return nil }
        var request = RateControlRequest(goal: targetBytes.map { .targetBytes($0) } ?? maxDrop.map { .maxDrop($0) } ?? .none)
        request.kinds = try parsedKinds()
        request.cheapOutput = cheapOutput
        request.validationCount = validationCount
        request.marginSigmas = margin
        request.shiftTrainedOnValidation = shiftedCopies
        request.shiftedCopiesWithUnseenValidation = shiftedCopies
        request.biasCorrection = biasCorrection
        request.reportTest = reportTest
        request.sweepLevels = try parsedSweepLevels()
        return request
    }
}

/// `compress --eval-cmd`: the user's own task metric decides how much error each group of tensors
/// may take (`ErrorAllocation`); `--max-drop` is then in the metric's units.
struct TaskMetricOptions: ParsableArguments {
    @Option(name: .customLong("eval-cmd"), help: ArgumentHelp("A shell command scoring the model {} (safetensors): its last line is the metric [and its drop's standard error]; --max-drop is in its units.", valueName: "command"))
    var evalCommand: String?
    @Option(name: .customLong("eval-builtin"), help: ArgumentHelp("Built-in metric of a Linear-ReLU classifier on --data's validation images: accuracy, agreement (with the original, %) or kl (from the original, millinats).", valueName: "metric"))
    var builtIn: ClassifierEvaluator.Metric?
    @Flag(help: "Whether a larger metric is better (accuracy, cosine; the default) or a smaller one (loss, perplexity).")
    var direction: MetricDirection = .higherIsBetter
    @Option(name: .customLong("eval-budget"), parsing: .unconditional, help: ArgumentHelp("Most evaluations in all (default: 16; built-in metric 32).", valueName: "n"))
    var budget: Int?
    @Option(name: .customLong("eval-timeout"), parsing: .unconditional, help: ArgumentHelp("Seconds before one evaluation is stopped (an error).", valueName: "s"))
    var timeout = 600.0
    @Option(name: .customLong("report"), help: ArgumentHelp("Write every evaluation (settings, bytes, metric) and the groups' bounds as JSON.", valueName: "file.json"))
    var report: String?

    func validate() throws {
        if let c = evalCommand, !c.contains("{}") { throw ValidationError("--eval-cmd must contain {} where the model file goes, e.g. 'python3 score.py {}'") }
        if let budget, budget < 3 { throw ValidationError("--eval-budget must be 3 or more, got \(budget)") }
        guard timeout > 0 && timeout.isFinite else { throw ValidationError("--eval-timeout must be positive, got \(timeout)") }
        if evalCommand != nil && builtIn != nil { throw ValidationError("give --eval-cmd or --eval-builtin, not both") }
    }

    /// Whether a task-metric search was asked for.
    var isRequested: Bool { evalCommand != nil || builtIn != nil }

    /// The metric these options name (nil without --eval-cmd or --eval-builtin).
    var metric: TaskSearchRequest.Metric? {
        if let evalCommand { return .command(CommandEvaluator(command: evalCommand, direction: direction, timeout: timeout)) }
        return builtIn.map { .classifier($0) }
    }
}

extension MetricDirection: EnumerableFlag {}
extension ClassifierEvaluator.Metric: ExpressibleByArgument {}

/// `compress`'s data-dependent steps and the data they read: nothing runs unless asked for, and
/// nothing reads data unless `--data` names it.
struct CompressDataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder with the MNIST-style IDX training (and test) files that --remove-dead-units, --max-drop, --target-bytes, --sweep-tables and --finetune read; no default.", valueName: "dir"))
    var data: String?
    @Flag(name: .customLong("remove-dead-units"), help: "Remove the hidden units of a Linear-ReLU MLP that never activate on any training image in --data; the file records them and decompress restores them as zeros.")
    var removeDeadUnits = false
    /// The old opt-out, kept so existing command lines parse: keeping dead units is the default now.
    @Flag(name: .customLong("keep-dead-units"), help: .hidden)
    var keepDeadUnits = false

    func validate() throws {
        if removeDeadUnits && keepDeadUnits { throw ValidationError("give --remove-dead-units or --keep-dead-units, not both") }
    }
}

extension ScaleMode: ExpressibleByArgument {}
extension PackMode: ExpressibleByArgument {}
