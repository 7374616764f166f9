import ArgumentParser
import Foundation
import WeightJPEG
import WeightJPEGTools

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rate–accuracy curves of WeightJPEG and the classic weight codecs on the same MLP and test set.",
        discussion: """
        For each method and rate point the whole model is coded to bytes, decoded from those bytes and \
        evaluated on the test images; bytes count everything needed to rebuild it. Methods: float16, \
        int8 per row, uniform 2–8-bit per row + rANS, magnitude pruning + rANS-coded gaps and values, \
        low-rank SVD (float16 factors), k-means weight sharing + Huffman, WeightJPEG post-training \
        (real .wjpg files: IJG quality sweep, spectrum tables with a JPEG or an error-bounded output layer) and WeightJPEG \
        fine-tuned (compress at a quality, then `finetune`: trains on training images 0..<50,000, picks \
        the epoch on 50,000..<60,000; never the test set). Biases are float16 in every baseline. \
        Hidden units never active on the training images are removed first, for every method alike \
        (--keep-dead-units to skip). Bits per weight = 8 × bytes / parameters of the model as given.

        Several models: each is compared, then the summary gives, per method, the smallest whole \
        model within 0.1/0.3/0.5/1 pp of float test accuracy, averaged over the models.

        Examples:
          weightjpeg compare mlp.safetensors --quick
          weightjpeg compare mlp_seed0.safetensors mlp_seed1.safetensors --out out/compare
        """)

    @Argument(help: ArgumentHelp("The models (.safetensors, torch.nn.Sequential Linear/ReLU MLPs).", valueName: "model"))
    var inputs: [String]
    @Flag(help: "Print the results as JSON instead of tables.")
    var json = false
    @Option(help: ArgumentHelp("Write compare.csv, compare.json and one SVG chart per model into this folder.", valueName: "dir"))
    var out: String?
    @Flag(help: "Skip the fine-tuned WeightJPEG points (the slow part).")
    var noFinetune = false
    @Flag(help: "Few rate points per method and no fine-tuning (for smoke tests).")
    var quick = false
    @Option(help: ArgumentHelp("Fine-tuned IJG qualities, comma-separated.", valueName: "list"))
    var finetuneQualities: String = "2,3,4,5,6,8,10"
    @Option(help: ArgumentHelp("Fine-tuned spectrum-table levels (output layer JPEG flat 8), comma-separated.", valueName: "list"))
    var finetuneLevels: String = "1,5,10,15,20"
    @Option(help: "Fine-tuning epochs (the epoch written is the one with the lowest validation loss).")
    var epochs: Int = 6
    @Option(name: .customLong("test-count"), help: ArgumentHelp("Evaluate on the first N test images only (default: all).", valueName: "n"))
    var testCount: Int?
    @Flag(help: "Keep hidden units that never activate on the training set.")
    var keepDeadUnits = false
    @Flag(help: "Arithmetic-code every WeightJPEG point's JPEGs (as compress --arithmetic).")
    var arithmetic = false
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one model") }
        guard epochs >= 0 else { throw ValidationError("--epochs must be ≥ 0") }
        if let n = testCount, n <= 0 { throw ValidationError("--test-count must be positive") }
        _ = try parsed(finetuneQualities, "--finetune-qualities")
        _ = try parsed(finetuneLevels, "--finetune-levels")
    }

    func parsed(_ list: String, _ option: String) throws -> [Int] {
        try list.split(separator: ",").map { spec in
            guard let q = Int(spec), (1...100).contains(q) else { throw ValidationError("\(option) expects numbers 1…100, got '\(spec)'") }
            return q
        }
    }

    func run() throws {
        threadOptions.apply()
        var options = CompareOptions()
        options.finetunes = try parsed(finetuneQualities, "--finetune-qualities").map { WeightJPEGMethod.finetuned(quality: $0) }
            + parsed(finetuneLevels, "--finetune-levels").map { .finetunedTables(RateSetting(kind: .defaultSpectrum, level: $0), output: .jpegFlat(step: 8)) }
        options.finetune.epochs = epochs
        options.removeDeadUnits = !keepDeadUnits
        options.arithmetic = arithmetic
        if noFinetune || quick { options.finetunes = [] }
        if quick {
            options.baselines = [.float16, .int8PerRow, .uniformRow(bits: 4), .uniformRow(bits: 3), .entropyUniform(step: 1), .entropyTrellis(step: 0.6), .pruning(sparsity: 0.8, bits: 8),
                                 .lowRank(rank: 64), .kmeans(k: 16)]
            options.qualities = [5, 20]
            options.tableSettings = [.tables(RateSetting(kind: .defaultSpectrum, level: 30), output: .jpegFlat(step: 8))]
        }
        var test = try dataOptions.load(.test)
        if let n = testCount { test = test.subset(0..<min(n, test.count)) }
        let needsTrain = options.removeDeadUnits || !options.finetunes.isEmpty
        var train: Dataset? = nil
        if needsTrain {
            do { train = try dataOptions.load(.train) } catch {
                throw ValidationError("dead-unit removal and fine-tuning need the training set: \(error); pass --data DIR, or --keep-dead-units --no-finetune")
            }
            if !options.finetunes.isEmpty && train!.count <= DataSplit.heldOut {
                throw ValidationError("fine-tuning holds out the last 10,000 training images for validation; \(dataOptions.data) has \(train!.count)")
            }
        }
        var results: [CompareResult] = []
        for input in inputs {
            let source = try SafetensorsFile.read(path: input)
            let runner = CompareRunner(name: input, source: source, train: train, test: test, options: options)
            let result: CompareResult
            do {
                result = try runner.run { p in
                    printError("\(input): \(p.method), \(p.setting): \(grouped(p.bytes)) bytes, \(fixed(100 * p.accuracy, 2))% (\(fixed(p.seconds, 1)) s)")
                }
            } catch let e as CompareError {
                throw ModelFileError(path: input, reason: e.description)
            }
            printError("\(input): \(fixed(result.seconds, 1)) s")
            if !json { print(CompareReport.table(result)) }
            results.append(result)
        }
        if json { print(try CompareReport.json(results), terminator: "") } else { print(CompareReport.summaryTable(results)) }
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try AtomicFile.write(Data(CompareReport.csv(results).utf8), to: out + "/compare.csv")
            try AtomicFile.write(Data(CompareReport.json(results).utf8), to: out + "/compare.json")
            var text = results.map(CompareReport.table).joined(separator: "\n") + "\n" + CompareReport.summaryTable(results)
            text += "\n"
            try AtomicFile.write(Data(text.utf8), to: out + "/compare.txt")
            for r in results {
                let base = URL(fileURLWithPath: r.model).deletingPathExtension().lastPathComponent
                try AtomicFile.write(Data(CompareReport.chart(r).utf8), to: out + "/\(base).svg")
            }
            printError("wrote \(out)/compare.csv, compare.json, compare.txt and \(results.count) SVG chart\(results.count == 1 ? "" : "s")")
        }
    }
}
