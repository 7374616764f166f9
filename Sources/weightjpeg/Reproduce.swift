import ArgumentParser
import Foundation
import WeightJPEG
import WeightJPEGTools

struct Reproduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The founding experiment end to end: data, training, JPEG-coding the first layer, evaluation.",
        discussion: """
        For each model: float32 accuracy; the founding post's coding (512 standalone JPEGs, per-tile \
        min/max, standard Huffman, other layers float32); and WeightJPEG at the same quality (one mosaic JPEG, \
        per-tensor min/max, optimized Huffman, biases float16, output layer int8). Bytes count every byte \
        needed to rebuild the model.

        Examples:
          weightjpeg reproduce
          weightjpeg reproduce --quality 10 --seeds 0 --sweep --out out/q10
        """)

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var threadOptions: ThreadOptions
    @Option(parsing: .unconditional, help: "JPEG quality, 1-100.")
    var quality: Int = 20
    @Option(help: ArgumentHelp("Seeds of the models to train, comma-separated.", valueName: "list"))
    var seeds: String = "0,1,2"
    @Option(name: .customLong("model"), help: ArgumentHelp("Use these trained models (safetensors) instead of training (repeatable).", valueName: "path"))
    var models: [String] = []
    @Option(help: "Training epochs for each seed.")
    var epochs: Int = 10
    @Flag(help: "Retrain even when OUT already holds a model for a seed.")
    var retrain = false
    @Flag(help: "Also run qualities 1-100: CSV, JSON and an SVG chart of accuracy against bits per weight.")
    var sweep = false
    @Option(help: ArgumentHelp("Folder for models, tables and charts.", valueName: "dir"))
    var out: String = "out/reproduce"

    func validate() throws {
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1-100, got \(quality)") }
        guard !parsedSeeds().isEmpty else { throw ValidationError("--seeds must be integers separated by commas") }
    }

    func parsedSeeds() -> [UInt64] {
        let parts = seeds.split(separator: ",")
        let values = parts.compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        return values.count == parts.count ? values : []
    }

    func run() throws {
        threadOptions.apply()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try fetchDataIfMissing()
        let test = try dataOptions.load(.test)
        let testInputs = test.normalized()

        // Models: given, cached in OUT, or trained now.
        var named: [(label: String, model: MLP)] = []
        if !models.isEmpty {
            for path in models { named.append((URL(fileURLWithPath: path).lastPathComponent, try ModelFile.load(path))) }
        } else {
            var train: Dataset?
            for seed in parsedSeeds() {
                let path = "\(out)/mlp_seed\(seed).safetensors"
                if !retrain, FileManager.default.fileExists(atPath: path), let model = try? ModelFile.load(path), model.sizes == [784, 512, 10] {
                    print("seed \(seed): using \(path) (trained earlier; --retrain to train again)")
                    named.append(("seed \(seed)", model))
                    continue
                }
                if train == nil { train = try dataOptions.load(.train) }
                var config = TrainingConfiguration()
                config.seed = seed
                config.epochs = epochs
                printError("seed \(seed): training 784-512-10 for \(epochs) epochs …")
                let started = Date()
                let model = try Trainer(configuration: config).train(inputs: train!.normalized(), labels: train!.labels, inputSize: 784) { event in
                    if case .epoch(let s) = event {
                        printError("  epoch \(s.epoch + 1)/\(epochs) loss \(fixed(Double(s.loss), 4))")
                    }
                }
                try ModelFile.save(model, to: path)
                print("seed \(seed): trained in \(fixed(Date().timeIntervalSince(started), 1)) s, saved \(path)")
                named.append(("seed \(seed)", model))
            }
        }

        var rows: [ResultRow] = []
        for (label, model) in named {
            let experiment = try FoundingExperiment(model: model, testInputs: testInputs, testLabels: test.labels)
            var policy = CompressionPolicy()
            policy.quality = quality
            let standalone = try experiment.runStandalone(quality: quality)
            let ours = try experiment.run(policy: policy, setting: "weightjpeg")
            rows.append(ResultRow(model: label, floatAccuracy: experiment.floatAccuracy, standalone: standalone, weightjpeg: ours))
        }
        printTable(rows)
        try write(JSONOutput.encoder().encode(rows), "results.json")
        if let first = named.first {
            try writeNeuronPictures(first.model, testInputs: testInputs, labels: test.labels)
        }

        if sweep { try runSweep(named, testInputs: testInputs, labels: test.labels) }
    }

    struct ResultRow: Codable {
        let model: String
        let floatAccuracy: Double
        let standalone: FoundingExperiment.Outcome
        let weightjpeg: FoundingExperiment.Outcome
    }

    func printTable(_ rows: [ResultRow]) {
        let float32 = 1_628_200.0, layer32 = 1_605_632.0
        func pct(_ x: Double) -> String { fixed(x * 100, 2) }
        func pp(_ x: Double) -> String { (x >= 0 ? "+" : "") + fixed(x * 100, 2) }
        print("")
        print("Founding experiment, quality \(quality): first layer's 512 rows as 28×28 JPEG images; accuracy on the 10,000 test images.")
        print("float32 model: \(grouped(Int(float32))) bytes; first layer \(grouped(Int(layer32))) bytes.\n")
        print(TextTable.right("model", 10), TextTable.right("float32", 8), "|", TextTable.right("512 standalone JPEGs (the post)", 32), "|", TextTable.right("WeightJPEG .wjpg (--quality 20)", 46))
        print(TextTable.right("", 10), TextTable.right("acc %", 8), "|", TextTable.right("acc %", 6), TextTable.right("drop", 6), TextTable.right("layer-1 B", 9), TextTable.right("ratio", 7), "|",
              TextTable.right("acc %", 6), TextTable.right("drop", 6), TextTable.right("file B", 8), TextTable.right("ratio", 7), TextTable.right("layer-1 B", 9), TextTable.right("ratio", 7))
        for r in rows {
            print(TextTable.right(r.model, 10), TextTable.right(pct(r.floatAccuracy), 8), "|",
                  TextTable.right(pct(r.standalone.accuracy), 6), TextTable.right(pp(r.standalone.accuracy - r.floatAccuracy), 6),
                  TextTable.right(grouped(r.standalone.layerBytes), 9), TextTable.right(fixed(layer32 / Double(r.standalone.layerBytes), 1) + "×", 7), "|",
                  TextTable.right(pct(r.weightjpeg.accuracy), 6), TextTable.right(pp(r.weightjpeg.accuracy - r.floatAccuracy), 6),
                  TextTable.right(grouped(r.weightjpeg.fileBytes), 8), TextTable.right(fixed(float32 / Double(r.weightjpeg.fileBytes), 1) + "×", 7),
                  TextTable.right(grouped(r.weightjpeg.layerBytes), 9), TextTable.right(fixed(layer32 / Double(r.weightjpeg.layerBytes), 1) + "×", 7))
        }
        if rows.count > 1 {
            func mean(_ f: (ResultRow) -> Double) -> Double { rows.map(f).reduce(0, +) / Double(rows.count) }
            let fa = mean(\.floatAccuracy), sa = mean(\.standalone.accuracy), wa = mean(\.weightjpeg.accuracy)
            let sb = mean { Double($0.standalone.layerBytes) }, wb = mean { Double($0.weightjpeg.fileBytes) }, wl = mean { Double($0.weightjpeg.layerBytes) }
            print(TextTable.right("mean", 10), TextTable.right(pct(fa), 8), "|", TextTable.right(pct(sa), 6), TextTable.right(pp(sa - fa), 6), TextTable.right(grouped(Int(sb)), 9),
                  TextTable.right(fixed(layer32 / sb, 1) + "×", 7), "|", TextTable.right(pct(wa), 6), TextTable.right(pp(wa - fa), 6), TextTable.right(grouped(Int(wb)), 8),
                  TextTable.right(fixed(float32 / wb, 1) + "×", 7), TextTable.right(grouped(Int(wl)), 9), TextTable.right(fixed(layer32 / wl, 1) + "×", 7))
        }
        print("\nStandalone bytes are 512 complete JPEG files without JFIF markers (header ≈ \(312) B each); the .wjpg file size counts every byte of the file.")
        print("Wrote \(out)/results.json")
    }

    func runSweep(_ named: [(label: String, model: MLP)], testInputs: [Float], labels: [UInt8]) throws {
        var csv = "model,setting,quality,accuracy,float_accuracy,file_bytes,layer1_bytes,layer1_bits_per_weight,file_bits_per_weight\n"
        var all: [String: [FoundingExperiment.Outcome]] = [:]
        var series: [SVGChart.Series] = []
        for (label, model) in named {
            let experiment = try FoundingExperiment(model: model, testInputs: testInputs, testLabels: labels)
            var ours: [FoundingExperiment.Outcome] = [], post: [FoundingExperiment.Outcome] = []
            for q in 1...100 {
                var policy = CompressionPolicy()
                policy.quality = q
                ours.append(try experiment.run(policy: policy, setting: "weightjpeg"))
                post.append(try experiment.runStandalone(quality: q))
                if standardErrorIsTerminal { printError("\rsweep \(label): quality \(q)/100", terminator: "") }
            }
            if standardErrorIsTerminal { printError("\r\u{1B}[K", terminator: "") }
            for o in ours + post {
                csv += "\(label),\(o.setting),\(o.quality),\(o.accuracy),\(experiment.floatAccuracy),\(o.fileBytes),\(o.layerBytes),\(o.layerBitsPerWeight),\(o.fileBitsPerWeight)\n"
            }
            all["\(label) weightjpeg"] = ours
            all["\(label) standalone"] = post
            series.append(.init(label: "\(label) .wjpg", points: ours.map { ($0.layerBitsPerWeight, $0.accuracy * 100) }))
            series.append(.init(label: "\(label) standalone", points: post.map { ($0.layerBitsPerWeight, $0.accuracy * 100) }))
            print("sweep \(label): done (float32 \(fixed(experiment.floatAccuracy * 100, 2))%)")
        }
        try write(Data(csv.utf8), "sweep.csv")
        try write(JSONOutput.encoder().encode(all), "sweep.json")
        let chart = SVGChart(title: "First layer as JPEG: test accuracy vs bits per weight (qualities 1–100)",
                             xLabel: "bits per weight of the first layer (all bytes counted)", yLabel: "test accuracy %",
                             series: series, yRange: 90...99)
        try write(Data(chart.render().utf8), "sweep.svg")
        print("Wrote \(out)/sweep.csv, \(out)/sweep.json, \(out)/sweep.svg")
    }

    /// 16 neuron images of the first model, originals above and decoded below, for both codings.
    func writeNeuronPictures(_ model: MLP, testInputs: [Float], labels: [UInt8]) throws {
        let experiment = try FoundingExperiment(model: model, testInputs: testInputs, testLabels: labels)
        let original = model.layers[0].weight.storage
        var ours = CompressionPolicy()
        ours.quality = quality
        for (name, policy) in [("standalone", FoundingExperiment.standalonePolicy(quality: quality)), ("wjpg", ours)] {
            let decoded = try experiment.decodedFirstLayer(policy: policy)
            let image = NeuronGrid.render(original, rows: model.layers[0].outputs, height: 28, width: 28, below: decoded,
                                          count: 16, columns: 8, separator: 2, scale: 3)
            try write(Data(PNGWriter.encode(image)), "neurons_q\(quality)_\(name).png")
        }
        print("Wrote \(out)/neurons_q\(quality)_standalone.png and neurons_q\(quality)_wjpg.png (16 neurons: float32 above, decoded below)")
    }

    func write(_ data: Data, _ name: String) throws {
        try AtomicFile.write(data, to: "\(out)/\(name)")
    }

    /// Runs scripts/fetch-mnist when the default data folder is missing and the script is at hand.
    func fetchDataIfMissing() throws {
        guard (try? Dataset.load(directory: dataOptions.data, split: .test)) == nil else { return }
        let script = "scripts/fetch-mnist"
        guard dataOptions.data == "data/mnist", FileManager.default.isExecutableFile(atPath: script) else { return }
        printError("\(dataOptions.data) has no MNIST yet: running \(script)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("\(script) failed (exit \(process.terminationStatus))") }
    }
}
