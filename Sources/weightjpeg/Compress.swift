import ArgumentParser
import Foundation
import WeightJPEG

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a safetensors model into a .wjpg file whose payloads are standard JPEG.",
        discussion: """
        Large 2-D tensors become JPEG images (784-column layers: each row a 28×28 image); 1-D and tiny \
        tensors become float16; other 2-D tensors int8 per row; non-float tensors stay exact. (These \
        defaults suit image-like MNIST layers; for other models use --max-rel-error.)

        Error-targeted mode (any model): --max-rel-error E codes every float tensor, of any rank and \
        dtype (F32/F16/BF16/F64), with the cheapest candidate whose relative RMS error ‖ΔW‖/‖W‖, \
        measured by decoding it and rounding to the tensor's dtype, is ≤ E: JPEG with IJG, flat or \
        spectrum tables (bisection on the level), a rANS-coded uniform quantiser (bisection on the \
        step), fixed-length per-row codes (2–16 bits), float16, or exact. `inspect --original` shows \
        the per-tensor errors. Integer and bool tensors stay exact.

        Dead units: when the model is a Linear–ReLU MLP (torch.nn.Sequential names 0.weight, 0.bias, \
        2.weight, …) and the training set in --data loads, hidden units that never activate on any \
        training image (pre-activation ≤ 0 on all of them) are removed before coding: their row and \
        bias in one layer and their column in the next. Shapes change (e.g. 0.weight 512×784 becomes \
        485×784) and decompress yields the smaller model, which computes the same function on the \
        training set (up to float summation order); on other inputs a removed unit might have \
        activated. --keep-dead-units keeps the original shapes. Other models, or a missing training \
        set, are compressed without this step (one note on stderr).

        Rate control (MLP models with the training set in --data): --target-bytes N or --max-drop P \
        chooses the first layer's quantization table (--table-kinds: ijg quality, flat step, or a table \
        from the weights' own DCT spectrum) by binary search over levels 1…100, measuring accuracy on \
        the validation split (training images 50,000…59,999, never the test set), and prints the \
        candidates tried. With --max-drop the int8 output layer may become a flat-table JPEG \
        (--no-cheap-output keeps int8). --report-test prints the chosen file's test accuracy.
        """)

    @Argument(help: ArgumentHelp("The model (.safetensors).", valueName: "model"))
    var input: String
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the .wjpg file.", valueName: "file"))
    var output: String
    @Option(help: "JPEG quality 1–100 (IJG scaling).")
    var quality: Int = 20
    @Option(help: ArgumentHelp("auto, rows:HxW (each row an H×W image) or matrix[:HxW] (tiles of at most H×W).", valueName: "layout"))
    var layout: String = "auto"
    @Option(help: "Float→pixel min/max per tensor or per tile: tensor|tile.")
    var scale: ScaleMode = .tensor
    @Option(help: "Pack tiles in one mosaic image or as abbreviated streams with shared tables: mosaic|tables.")
    var pack: PackMode = .mosaic
    @Option(help: "Huffman tables: optimized|standard.")
    var huffman: HuffmanChoice = .optimized
    @Flag(help: "Arithmetic coding instead of Huffman.")
    var arithmetic = false
    @Flag(help: "Progressive JPEG.")
    var progressive = false
    @Option(name: .customLong("exact"), help: ArgumentHelp("Keep tensors whose name matches this glob bit for bit (repeatable).", valueName: "glob"))
    var exact: [String] = []
    @Option(name: .customLong("quality-for"), help: ArgumentHelp("Per-tensor quality, GLOB=Q (repeatable).", valueName: "glob=q"))
    var qualityFor: [String] = []
    @Option(name: .customLong("max-rel-error"), help: ArgumentHelp("Error-targeted mode: per float tensor, the cheapest coding (JPEG with IJG/flat/spectrum tables, rANS-coded uniform quantiser, fixed-length per-row codes, float16, exact) whose relative RMS weight error ‖ΔW‖/‖W‖, measured by decoding, is at most E (E/10 for 1-D tensors and scalars: biases and norms are cheap and sensitive). Tensors matching --exact or --quality-for keep those rules.", valueName: "e"))
    var maxRelError: Double?
    @Option(name: .customLong("max-rel-error-for"), help: ArgumentHelp("Per-tensor error bound, GLOB=E (repeatable; the first match wins; also works without --max-rel-error, for the matching tensors only).", valueName: "glob=e"))
    var maxRelErrorFor: [String] = []
    @Option(name: .customLong("jpeg-min-gain"), help: ArgumentHelp("With --max-rel-error: try JPEG only on tensors whose 8×8 DCT coding gain (arithmetic/geometric mean of coefficient variances) is at least G; 0 tries it everywhere.", valueName: "g"))
    var jpegMinGain: Double = 1.05
    @Option(name: .customLong("noise-like-error"), help: ArgumentHelp("Without --max-rel-error: a tensor the rules would JPEG-code whose 8×8 DCT coding gain over the AC frequencies is below 1.25 (noise-like, e.g. a transformer's linear layers) is coded error-targeted with this relative-error bound instead (default 0.01, about int8's error at fewer bits); 'off' JPEG-codes it anyway.", valueName: "e|off"))
    var noiseLikeError: String = "0.01"
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var pipeline: PipelineOptions
    @Flag(help: "Keep hidden units that never activate on the training set (default: remove them, see above).")
    var keepDeadUnits = false
    @Option(name: .customLong("target-bytes"), help: ArgumentHelp("Rate control: the finest setting (table kind and level 1…100, binary search) whose whole file is at most N bytes; among table kinds the best validation accuracy wins. MLP models with --data only.", valueName: "n"))
    var targetBytes: Int?
    @Option(name: .customLong("max-drop"), help: ArgumentHelp("Rate control: the smallest file whose validation accuracy (the last 10,000 training images, never the test set) is at most P percentage points below the float model's. MLP models with --data only.", valueName: "p"))
    var maxDrop: Double?
    @Option(name: .customLong("table-kinds"), help: ArgumentHelp("Table kinds the rate control tries: ijg, flat, spectrum[:EXPONENT], comma-separated.", valueName: "kinds"))
    var tableKinds: String = "ijg,flat,spectrum"
    /// `--tables`, a hidden second spelling of `--table-kinds` so that existing command lines keep working; wins when given.
    @Option(name: .customLong("tables"), help: .hidden)
    var tableKindsAlias: String?
    @Flag(inversion: .prefixedNo, help: "With --max-drop, also try the int8 output layer as a flat-table JPEG when the budget allows.")
    var cheapOutput = true
    @Option(name: .customLong("validation-count"), help: ArgumentHelp("Validation images used by the rate control (the first N of training images 50,000…59,999).", valueName: "n"))
    var validationCount: Int = DataSplit.heldOut
    @Flag(name: .customLong("report-test"), help: "After the rate control has chosen, also print the chosen file's test accuracy (reporting only; never used for choosing).")
    var reportTest = false
    @Option(help: ArgumentHelp("Then fine-tune N epochs as the finetune command does (first layer as its JPEG DCT coefficients; trains on training images 0..<50,000, writes the epoch with the lowest loss on 50,000..<60,000). Needs the default rows mosaic layout.", valueName: "n"))
    var finetune: Int?
    @Option(name: .customLong("sweep-tables"), help: ArgumentHelp("Print rate–accuracy curves (validation and test) for these levels of every kind in --tables, e.g. 1,5,10,20,40,60,80,100, and write the --max-drop/--target-bytes choice (or the plain policy) as usual.", valueName: "levels"))
    var sweepTables: String?

    enum HuffmanChoice: String, ExpressibleByArgument { case optimized, standard }

    func validate() throws {
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1…100") }
        guard layout == "auto" || TileLayout(layout) != nil else { throw ValidationError("--layout must be auto, rows:HxW or matrix[:HxW]") }
        _ = try parsedOverrides()
        if let e = maxRelError, !(e > 0 && e < 1) { throw ValidationError("--max-rel-error must be in (0, 1), e.g. 0.03") }
        if noiseLikeError != "off", !(Double(noiseLikeError).map { $0 > 0 && $0 < 1 } ?? false) {
            throw ValidationError("--noise-like-error must be in (0, 1) or 'off', got '\(noiseLikeError)'")
        }
        guard jpegMinGain >= 0 && jpegMinGain.isFinite else { throw ValidationError("--jpeg-min-gain must be ≥ 0") }
        _ = try parsedErrorOverrides()
        if (maxRelError != nil || !maxRelErrorFor.isEmpty) && rateControlled { throw ValidationError("--max-rel-error cannot be combined with --target-bytes, --max-drop or --sweep-tables") }
        guard targetBytes == nil || maxDrop == nil else { throw ValidationError("give --target-bytes or --max-drop, not both") }
        if let t = targetBytes, t <= 0 { throw ValidationError("--target-bytes must be positive") }
        if let p = maxDrop, !(p >= 0 && p <= 100) { throw ValidationError("--max-drop must be 0…100 percentage points") }
        if let n = finetune, n < 0 { throw ValidationError("--finetune must be ≥ 0 epochs") }
        guard (1...DataSplit.heldOut).contains(validationCount) else { throw ValidationError("--validation-count must be 1…10000") }
        _ = try parsedKinds()
        _ = try parsedSweepLevels()
    }

    func parsedKinds() throws -> [TableKind] {
        try (tableKindsAlias ?? tableKinds).split(separator: ",").map { spec in
            guard let k = TableKind(String(spec)) else {
                throw ValidationError("--table-kinds expects ijg, flat or spectrum[:E] (E in 0…4), got '\(spec)'")
            }
            return k
        }
    }

    func parsedSweepLevels() throws -> [Int]? {
        guard let sweepTables else { return nil }
        return try sweepTables.split(separator: ",").map { spec in
            guard let l = Int(spec), (1...100).contains(l) else { throw ValidationError("--sweep-tables expects levels 1…100, got '\(spec)'") }
            return l
        }
    }

    var rateControlled: Bool { targetBytes != nil || maxDrop != nil || sweepTables != nil }

    func parsedErrorOverrides() throws -> [(pattern: String, bound: Double)] {
        try maxRelErrorFor.map { spec in
            guard let eq = spec.lastIndex(of: "="), let e = Double(spec[spec.index(after: eq)...]), e > 0, e < 1 else {
                throw ValidationError("--max-rel-error-for expects GLOB=E with E in (0, 1), got '\(spec)'")
            }
            return (String(spec[..<eq]), e)
        }
    }

    func parsedOverrides() throws -> [(pattern: String, quality: Int)] {
        try qualityFor.map { spec in
            guard let eq = spec.lastIndex(of: "="), let q = Int(spec[spec.index(after: eq)...]), (1...100).contains(q) else {
                throw ValidationError("--quality-for expects GLOB=Q with Q in 1…100, got '\(spec)'")
            }
            return (String(spec[..<eq]), q)
        }
    }

    /// The plan these options describe.
    func plan() throws -> CompressionPlan {
        var plan = CompressionPlan(input: input, output: output)
        plan.policy.quality = quality
        plan.policy.layout = layout == "auto" ? nil : TileLayout(layout)
        plan.policy.scale = scale
        plan.policy.pack = pack
        plan.policy.optimizeHuffman = huffman == .optimized
        plan.policy.arithmetic = arithmetic
        plan.policy.progressive = progressive
        plan.policy.exactPatterns = exact
        plan.policy.qualityOverrides = try parsedOverrides()
        plan.policy.maxRelativeError = maxRelError
        plan.policy.jpegMinimumCodingGain = jpegMinGain
        plan.policy.noiseLikeRelativeError = noiseLikeError == "off" ? nil : Double(noiseLikeError)
        plan.policy.maxRelativeErrorOverrides = try parsedErrorOverrides()
        plan.pipeline = pipeline.options
        plan.removeDeadUnits = !keepDeadUnits
        plan.dataDirectory = dataOptions.data
        plan.finetuneEpochs = finetune
        if rateControlled {
            var request = RateControlRequest(goal: targetBytes.map { .targetBytes($0) } ?? maxDrop.map { .maxDrop($0) } ?? .none)
            request.kinds = try parsedKinds()
            request.cheapOutput = cheapOutput
            request.validationCount = validationCount
            request.reportTest = reportTest
            request.sweepLevels = try parsedSweepLevels()
            plan.rateControl = request
        }
        return plan
    }

    func run() throws {
        let report: CompressionReport
        do {
            report = try plan().run(events: CompressOutput.print)
        } catch let e as CompressionPlanError {
            throw ValidationError(CompressOutput.message(e, dataDirectory: dataOptions.data))
        }
        print("wrote \(output): \(grouped(report.outputBytes)) bytes, \(fixed(Double(report.inputBytes) / Double(report.outputBytes), 1))× smaller than \(input) (\(grouped(report.inputBytes)) bytes)")
        ChildProcess.reportPeakIfRequested()
    }
}

extension ScaleMode: ExpressibleByArgument {}
extension PackMode: ExpressibleByArgument {}
