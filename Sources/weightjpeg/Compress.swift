import ArgumentParser
import Foundation
import WeightJPEG

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a safetensors model into a .wjpg file whose payloads are standard JPEG.",
        discussion: """
        Large 2-D tensors become JPEG images (784-column layers: each row a 28×28 image); 1-D and tiny \
        tensors become float16; other 2-D tensors int8 per row; non-float tensors stay exact.

        Dead units: when the model is a Linear–ReLU MLP (torch.nn.Sequential names 0.weight, 0.bias, \
        2.weight, …) and the training set in --data loads, hidden units that never activate on any \
        training image (pre-activation ≤ 0 on all of them) are removed before coding: their row and \
        bias in one layer and their column in the next. Shapes change (e.g. 0.weight 512×784 becomes \
        485×784) and decompress yields the smaller model, which computes the same function on the \
        training set (up to float summation order); on other inputs a removed unit might have \
        activated. --keep-dead-units keeps the original shapes. Other models, or a missing training \
        set, are compressed without this step (one note on stderr).
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
    @OptionGroup var dataOptions: DataOptions
    @Flag(help: "Keep hidden units that never activate on the training set (default: remove them, see above).")
    var keepDeadUnits = false

    enum HuffmanChoice: String, ExpressibleByArgument { case optimized, standard }

    func validate() throws {
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1…100") }
        guard layout == "auto" || TileLayout(layout) != nil else { throw ValidationError("--layout must be auto, rows:HxW or matrix[:HxW]") }
        _ = try parsedOverrides()
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
        var source = try SafetensorsFile.read(path: input)
        if !keepDeadUnits { source = removeDeadUnits(source) }
        let container: Container
        do {
            container = try ModelCodec.compress(source, policy: policy)
        } catch let e as CodecError {
            throw ModelFileError(path: input, reason: e.description)
        }
        let bytes = container.serialized()
        try AtomicFile.write(Data(bytes), to: output)
        let inputSize = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
        print("wrote \(output): \(grouped(bytes.count)) bytes, \(fixed(Double(inputSize) / Double(bytes.count), 1))× smaller than \(input) (\(grouped(inputSize)) bytes)")
    }

    /// `file` without the hidden units that never activate on the training set, or `file` itself
    /// (after a note on stderr) when it is not an MLP or the training set is unavailable or does not fit.
    func removeDeadUnits(_ file: SafetensorsFile) -> SafetensorsFile {
        func skip(_ reason: String) -> SafetensorsFile {
            printError("note: not removing dead units: \(reason)")
            return file
        }
        let model: MLP
        do { model = try ModelCodec.sequentialMLP(in: file) } catch { return skip(error.description) }
        guard model.layers.count >= 2 else { return skip("the model has no hidden layer") }
        let train: Dataset
        do { train = try dataOptions.load(.train) } catch {
            return skip("no training set (\(error)); pass --data DIR, or --keep-dead-units to silence this")
        }
        guard train.pixelsPerImage == model.inputSize else {
            return skip("the model takes \(model.inputSize) inputs, \(dataOptions.data) has \(train.rows)×\(train.columns) images")
        }
        do {
            let (pruned, reports) = try ModelCodec.pruneDeadUnits(file, trainingInputs: train.normalized())
            let removed = reports.reduce(0) { $0 + $1.removed.count }
            print("removed \(grouped(removed)) dead hidden units (never active on the \(grouped(train.count)) training images)")
            return pruned
        } catch {
            return skip(error.description)
        }
    }
}

extension ScaleMode: ExpressibleByArgument {}
extension PackMode: ExpressibleByArgument {}
