import ArgumentParser
import Foundation
import WeightJPEG

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a safetensors model into a .wjpg file whose payloads are standard JPEG.",
        discussion: """
        Large 2-D tensors become JPEG images (784-column layers: each row a 28×28 image); 1-D and tiny \
        tensors become float16; other 2-D tensors int8 per row; non-float tensors stay exact.
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
        let source = try SafetensorsFile.read(path: input)
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
}

extension ScaleMode: ExpressibleByArgument {}
extension PackMode: ExpressibleByArgument {}
