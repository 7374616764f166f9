import ArgumentParser
import Foundation
import WeightJPEG

/// Which engine runs a model.
enum Engine: String, ExpressibleByArgument, CaseIterable {
    /// Every weight decoded to float32 (JPEG → pixels → floats).
    case dense
    /// The first layer on the JPEG's quantized DCT coefficients (`.wjpg` only).
    case dct
}

extension DCTLinear.Kernel: ExpressibleByArgument {}

/// Loads `path` (safetensors or `.wjpg`) for `engine` as a `Classifier`; `dct` needs a `.wjpg` file.
func loadClassifier(path: String, engine: Engine, kernel: DCTLinear.Kernel) throws -> any Classifier {
    switch engine {
    case .dense:
        return try ModelFile.load(path)
    case .dct:
        guard ModelFile.isContainer(path) else {
            throw ModelFileError(path: path, reason: "--engine dct needs a .wjpg model (this is not one); use --engine dense")
        }
        return try DCTModel(path: path, kernel: kernel)
    }
}

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a model: IDX image files (every image in them), or 28×28 grayscale PGM (P5) / PNG images.",
        discussion: """
        PNG: 8-bit grayscale, non-interlaced only. Pixels are normalized as in training ((p/255 − 0.1307)/0.3081).

        Examples:
          weightjpeg infer model.wjpg digit.png
          weightjpeg infer model.wjpg data/mnist/t10k-images-idx3-ubyte.gz --engine dct --json
        """)

    @Argument(help: ArgumentHelp("The model (.wjpg or .safetensors).", valueName: "model"))
    var model: String
    @Argument(help: ArgumentHelp("Images: IDX (idx3-ubyte, gzipped or not), PGM (P5) or PNG.", valueName: "input"))
    var inputs: [String]
    @Option(help: "dense, or dct (.wjpg only; the first layer on the DCT coefficients).")
    var engine: Engine = .dense
    @Option(help: "With --engine dct, the first-layer kernel: compact (default), reduced or sparse.")
    var kernel: DCTLinear.Kernel?
    @OptionGroup var threadOptions: ThreadOptions
    @Flag(help: "Print a JSON array: one object per image with input, index, class and probabilities.")
    var json = false

    struct InputError: Error, CustomStringConvertible { let description: String }

    /// One classified image (`--json` prints an array of these).
    struct Classification: Codable {
        /// The file the image came from.
        var input: String
        /// The image's index in that file (0 for PNG and PGM).
        var index: Int
        /// The most probable class.
        var `class`: Int
        /// Softmax of the logits, rounded to 6 decimals.
        var probabilities: [Double]
    }

    func validate() throws {
        if let kernel, engine == .dense {
            throw ValidationError("--kernel \(kernel.rawValue) applies to --engine dct only (the dense engine has no first-layer kernel)")
        }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try loadClassifier(path: model, engine: engine, kernel: kernel ?? .compact)
        let side = Int(Double(loaded.inputSize).squareRoot())
        guard side * side == loaded.inputSize else {
            throw InputError(description: "\(model): the model takes \(loaded.inputSize) inputs, not a square image")
        }
        var images: [(name: String, index: Int, pixels: ArraySlice<UInt8>)] = []
        for path in inputs {
            let file = try ImageFile(bytes: [UInt8](FileInput.read(path)), path: path)
            guard file.width == side, file.height == side else {
                let found = file.format == .idx ? "IDX images are \(file.height)×\(file.width)" : "image is \(file.width)×\(file.height)"
                throw InputError(description: "\(path): \(found), the model needs \(side)×\(side)")
            }
            for i in 0..<file.count { images.append((path, i, file[i])) }
        }
        let x = images.flatMap { $0.pixels.map(Dataset.normalize) }
        let z = try loaded.logits(x, count: images.count)
        let classes = z.count / max(1, images.count)
        var results: [Classification] = []
        for (r, image) in images.enumerated() {
            let row = z[(r * classes)..<((r + 1) * classes)]
            let p = Softmax.probabilities(row)
            let best = p.indices.max { p[$0] < p[$1] } ?? 0
            if json {
                results.append(Classification(input: image.name, index: image.index, class: best, probabilities: p.map { ($0 * 1e6).rounded() / 1e6 }))
            } else {
                print("\(image.name)[\(image.index)]: class \(best)  p = \(p.map { fixed($0, 4) }.joined(separator: " "))")
            }
        }
        if json { try JSONOutput.print(results) }
    }
}
