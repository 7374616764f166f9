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
        chooses the first layer's quantization table (--tables: ijg quality, flat step, or a table \
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
    @Option(help: ArgumentHelp("Table kinds the rate control tries: ijg, flat, spectrum[:EXPONENT], comma-separated.", valueName: "kinds"))
    var tables: String = "ijg,flat,spectrum"
    @Flag(inversion: .prefixedNo, help: "With --max-drop, also try the int8 output layer as a flat-table JPEG when the budget allows.")
    var cheapOutput = true
    @Option(name: .customLong("validation-count"), help: ArgumentHelp("Validation images used by the rate control (the first N of training images 50,000…59,999).", valueName: "n"))
    var validationCount: Int = 10_000
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
        guard (1...10_000).contains(validationCount) else { throw ValidationError("--validation-count must be 1…10000") }
        _ = try parsedKinds()
        _ = try parsedSweepLevels()
    }

    func parsedKinds() throws -> [TableKind] {
        try tables.split(separator: ",").map { spec in
            guard let k = TableKind(String(spec)) else {
                throw ValidationError("--tables expects ijg, flat or spectrum[:E] (E in 0…4), got '\(spec)'")
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

    func run() throws {
        var policy = CompressionPolicy()
        policy.quality = quality
        policy.layout = layout == "auto" ? nil : TileLayout(layout)
        policy.scale = scale
        policy.pack = pack
        policy.optimizeHuffman = huffman == .optimized
        policy.arithmetic = arithmetic
        policy.progressive = progressive
        policy.exactPatterns = exact
        policy.qualityOverrides = try parsedOverrides()
        policy.maxRelativeError = maxRelError
        policy.jpegMinimumCodingGain = jpegMinGain
        policy.noiseLikeRelativeError = noiseLikeError == "off" ? nil : Double(noiseLikeError)
        policy.maxRelativeErrorOverrides = try parsedErrorOverrides()
        if !rateControlled && finetune == nil {
            // Streamed and parallel, unless dead units are removed (small MLPs: in memory, below).
            let reader = try SafetensorsReader(path: input)
            let view = reader.asFile()
            let pruned = keepDeadUnits ? view : removeDeadUnits(view)
            if pruned.tensors.map(\.shape) == view.tensors.map(\.shape) {
                let summary = try ModelPipeline.compress(input: input, output: output, policy: policy, options: pipeline.options)
                report(bytes: summary.outputBytes, inputSize: summary.inputBytes)
                return
            }
            try write(ModelCodec.compress(pruned, policy: policy))
            return
        }
        var source = try SafetensorsFile.read(path: input)
        var train: Dataset? = nil
        if finetune != nil {
            do { train = try dataOptions.load(.train) } catch {
                throw ValidationError("--finetune needs the training set: \(error); pass --data DIR")
            }
        }
        if rateControlled {
            do { _ = try MLP.sequential(in: source) } catch {
                throw ValidationError("--target-bytes, --max-drop and --sweep-tables need an MLP model (torch.nn.Sequential Linear/ReLU names): \(error)")
            }
            do { train = try train ?? dataOptions.load(.train) } catch {
                throw ValidationError("--target-bytes, --max-drop and --sweep-tables need the training set for its validation images (last 10,000): \(error); pass --data DIR")
            }
            guard train!.count >= 60_000 else {
                throw ValidationError("the training set in \(dataOptions.data) has \(train!.count) images; the validation split is images 50,000…59,999")
            }
        }
        if !keepDeadUnits { source = removeDeadUnits(source, train: train) }
        var container: Container
        do {
            if let train, rateControlled {
                container = try rateControl(source, policy: policy, train: train)
            } else {
                container = try ModelCodec.compress(source, policy: policy)
            }
        } catch let e as CodecError {
            throw ModelFileError(path: input, reason: e.description)
        }
        if let epochs = finetune, let train {
            container = try finetuned(container, epochs: epochs, train: train)
        }
        try write(container)
    }

    /// Writes an in-memory container (MLP paths) and reports its size.
    func write(_ make: @autoclosure () throws -> Container) throws {
        let container: Container
        do { container = try make() } catch let e as CodecError {
            throw ModelFileError(path: input, reason: e.description)
        }
        let bytes = container.serialized()
        try AtomicFile.write(Data(bytes), to: output)
        let inputSize = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
        report(bytes: bytes.count, inputSize: inputSize)
    }

    func report(bytes: Int, inputSize: Int) {
        print("wrote \(output): \(grouped(bytes)) bytes, \(fixed(Double(inputSize) / Double(bytes), 1))× smaller than \(input) (\(grouped(inputSize)) bytes)")
        ChildProcess.reportPeakIfRequested()
    }

    /// `file` without the hidden units that never activate on the training set, or `file` itself
    /// (after a note on stderr) when it is not an MLP or the training set is unavailable or does not fit.
    func removeDeadUnits(_ file: SafetensorsFile, train loaded: Dataset? = nil) -> SafetensorsFile {
        func skip(_ reason: String) -> SafetensorsFile {
            printError("note: not removing dead units: \(reason)")
            return file
        }
        let model: MLP
        do { model = try MLP.sequential(in: file) } catch { return skip(error.description) }
        guard model.layers.count >= 2 else { return skip("the model has no hidden layer") }
        let train: Dataset
        do { train = try loaded ?? dataOptions.load(.train) } catch {
            return skip("no training set (\(error)); pass --data DIR, or --keep-dead-units to silence this")
        }
        guard train.pixelsPerImage == model.inputSize else {
            return skip("the model takes \(model.inputSize) inputs, \(dataOptions.data) has \(train.rows)×\(train.columns) images")
        }
        do {
            let (pruned, reports) = try DeadUnitPruning.prune(file, trainingInputs: train.normalized())
            let removed = reports.reduce(0) { $0 + $1.removed.count }
            print("removed \(grouped(removed)) dead hidden units (never active on the \(grouped(train.count)) training images)")
            return pruned
        } catch {
            return skip(error.description)
        }
    }
}

extension Compress {
    /// `container` fine-tuned for `epochs` epochs with the library's `FinetuneRun` (what `finetune` runs).
    func finetuned(_ container: Container, epochs: Int, train: Dataset) throws -> Container {
        var config = FinetuneConfiguration()
        config.epochs = epochs
        let before = container.serialized().count
        printError("fine-tuning \(epochs) epoch\(epochs == 1 ? "" : "s") on training images 0..<\(grouped(train.count - 10_000)), validating on \(grouped(train.count - 10_000))..<\(grouped(train.count))")
        let run: FinetuneRun
        do {
            run = try FinetuneRun(container: container, path: output, configuration: config, trainInputs: train.normalized(), labels: train.labels) { e in
                let v = e.validation.map { "val \(fixed(100 * $0.accuracy, 2))% loss \(fixed($0.loss, 4))" } ?? ""
                printError("epoch \(e.epoch): \(v), nonzeros \(grouped(e.nonzeros)), \(fixed(e.seconds, 1)) s")
            }
        } catch let e as FinetuneError {
            throw ValidationError("--finetune: \(e.description) (fine-tuning needs the first layer as a JPEG rows:HxW mosaic: the default layout and --pack mosaic)")
        }
        print("fine-tuned: wrote epoch \(run.chosenEpoch) of \(epochs) (lowest validation loss), \(grouped(before)) → \(grouped(run.container.serialized().count)) bytes")
        return run.container
    }

    /// Chooses the table kind and level (and the output layer's coding) on the validation split,
    /// prints the candidates tried, and returns the chosen container.
    func rateControl(_ source: SafetensorsFile, policy: CompressionPolicy, train: Dataset) throws -> Container {
        let validation = train.subset(50_000..<(50_000 + validationCount))
        let rc = try RateControl(file: source, policy: policy, validationInputs: validation.normalized(), validationLabels: validation.labels)
        guard !rc.jpegTensors.isEmpty else { throw ValidationError("no tensor of \(input) is JPEG-coded; nothing for the rate control to choose") }
        let kinds = try parsedKinds()
        let floatAcc = rc.floatAccuracy!
        var test: Dataset? = nil
        if reportTest || sweepTables != nil { test = try dataOptions.load(.test) }
        func pct(_ a: Double?) -> String { a.map { fixed($0 * 100, 2) } ?? "—" }

        if let levels = try parsedSweepLevels() {
            print("sweep: kind,level,setting,output,bytes,val_acc,val_drop_pp,test_acc,test_drop_pp (float val \(pct(floatAcc)), test \(pct(try floatTestAccuracy(source, test!))))")
            let floatTest = try floatTestAccuracy(source, test!)
            var outputs: [OutputCoding] = [.int8]
            if cheapOutput { outputs += [.jpegFlat(step: 4), .jpegFlat(step: 8)] }
            for output in outputs {
                for kind in kinds {
                    for level in levels {
                        let c = try rc.evaluate(RateSetting(kind: kind, level: level), output: output)
                        let t = try RateControl.accuracy(of: c.container, inputs: test!.normalized(), labels: test!.labels)
                        print("sweep: \(kind),\(level),\(c.setting),\(output),\(c.bytes),\(pct(c.accuracy)),\(fixed(rc.drop(c)!, 2)),\(pct(t)),\(fixed((floatTest - t) * 100, 2))")
                    }
                }
            }
        }

        let chosen: RateCandidate?
        let why: String
        if let targetBytes {
            chosen = try rc.largest(targetBytes: targetBytes, kinds: kinds, output: .int8)
            why = "finest setting of each kind with the whole file ≤ \(grouped(targetBytes)) bytes; best validation accuracy among kinds"
            if chosen == nil {
                let smallest = rc.tried.map(\.bytes).min() ?? 0
                throw ValidationError("no setting fits \(grouped(targetBytes)) bytes: the coarsest tried takes \(grouped(smallest)) bytes")
            }
        } else if let maxDrop {
            chosen = try rc.smallest(maxDrop: maxDrop, kinds: kinds, cheapOutput: cheapOutput)
            why = "smallest whole file with validation accuracy ≥ float − \(maxDrop) pp"
            if chosen == nil {
                throw ValidationError("no setting keeps the validation drop within \(maxDrop) pp (even level 100 loses more)")
            }
        } else {
            return try ModelCodec.compress(source, policy: policy)
        }
        let c = chosen!
        print("rate control on \(grouped(validation.count)) validation images (training images 50,000…\(grouped(50_000 + validation.count - 1))); float accuracy \(pct(floatAcc))%")
        print("  setting                         output           bytes   val acc %  drop pp")
        for t in rc.tried.sorted(by: { $0.bytes < $1.bytes }) {
            let mark = t.setting == c.setting && t.output == c.output ? " ← chosen" : ""
            let s = t.setting.description.padding(toLength: 30, withPad: " ", startingAt: 0)
            let o = t.output.description.padding(toLength: 14, withPad: " ", startingAt: 0)
            let b = grouped(t.bytes), bPad = String(repeating: " ", count: max(0, 9 - b.count))
            let a = t.accuracy.map { fixed($0 * 100, 2) } ?? "—"
            let d = rc.drop(t).map { fixed($0, 2) } ?? "—"
            print("  \(s)  \(o)\(bPad)\(b)   \(String(repeating: " ", count: max(0, 8 - a.count)))\(a)  \(String(repeating: " ", count: max(0, 7 - d.count)))\(d)\(mark)")
        }
        print("chose \(c.setting), output layer \(c.output): \(grouped(c.bytes)) bytes, validation \(pct(c.accuracy))% (\(why))")
        if reportTest, let test {
            let floatTest = try floatTestAccuracy(source, test)
            let t = try RateControl.accuracy(of: c.container, inputs: test.normalized(), labels: test.labels)
            print("test (reporting only): float \(pct(floatTest))%, chosen \(pct(t))%, drop \(fixed((floatTest - t) * 100, 2)) pp")
        }
        return c.container
    }

    func floatTestAccuracy(_ source: SafetensorsFile, _ test: Dataset) throws -> Double {
        try MLP.sequential(in: source).evaluate(inputs: test.normalized(), labels: test.labels).accuracy
    }
}

extension ScaleMode: ExpressibleByArgument {}
extension PackMode: ExpressibleByArgument {}
