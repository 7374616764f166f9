import ArgumentParser
import Foundation
import WeightJPEG

struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every JPEG payload of a .wjpg file as a standalone .jpg, and a PNG of the first layer's neurons.",
        discussion: """
        Mosaic images are written as they are stored; shared-tables tiles are made standalone by \
        splicing the tables (DQT, DHT) after SOI. Files are named <tensor>_<k>.jpg (characters other \
        than letters, digits, '.', '-' and '_' become '_'); each is checked to decode. The first \
        JPEG tensor with a rows:HxW layout is also drawn as <tensor>_neurons.png: its first 64 \
        neurons, 8×8, upscaled ×2, each normalized to its own min/max.

        Examples:
          weightjpeg extract model.wjpg images/
        """)

    @Argument(help: ArgumentHelp("The .wjpg file (- reads standard input).", valueName: "model.wjpg"))
    var input: String
    @Argument(help: ArgumentHelp("Output folder (created if missing).", valueName: "dir"))
    var directory: String

    /// `directory` with exactly one trailing slash.
    var folder: String { directory.hasSuffix("/") ? directory : directory + "/" }

    struct ExtractError: Error, CustomStringConvertible {
        let description: String
    }

    func run() throws {
        let source = try InputFile(input)
        let container = try source.naming { try Container.read(path: source.path) }
        try makeDirectory(directory)
        var usedNames = Set<String>()
        var jpegCount = 0, jpegBytes = 0
        var neuronSource: (entry: ContainerEntry, height: Int, width: Int)?

        for entry in container.entries {
            guard case .jpeg(let p) = entry.coding else { continue }
            guard entry.shape.count >= 2, entry.shape[0] > 0 else {
                throw ExtractError(description: "\(input): tensor '\(entry.name)': JPEG tensor of rank \(entry.shape.count)")
            }
            let stem = uniqueStem(safeFileName(entry.name), used: &usedNames)
            let images = try standaloneImages(entry)
            var paths: [String] = []
            for (k, image) in images.enumerated() {
                let path = folder + stem + "_\(k).jpg"
                // A fresh, strict decoder per file: the file must decode on its own.
                let decoded: GrayImage
                do {
                    decoded = try JPEGDecoder().decode(image.bytes, maxPixels: image.width * image.height)
                } catch {
                    throw ExtractError(description: "\(input): tensor '\(entry.name)': image \(k) does not decode as a standalone JPEG: \(error)")
                }
                guard decoded.width == image.width, decoded.height == image.height else {
                    throw ExtractError(description: "\(input): tensor '\(entry.name)': image \(k) is \(decoded.width)×\(decoded.height), expected \(image.width)×\(image.height)")
                }
                try OutputTarget.resolve(path, inputs: [input]).write(Data(image.bytes))
                paths.append(path)
                jpegBytes += image.bytes.count
            }
            jpegCount += paths.count
            let kind = p.pack == .mosaic ? "mosaic image" : "tile"
            let sizes = Set(images.map { "\($0.width)×\($0.height)" }).sorted().joined(separator: ", ")
            let listed = paths.count <= 4 ? paths.joined(separator: ", ") : "\(paths[0]) … \(paths[paths.count - 1])"
            print("\(entry.name): \(paths.count) \(kind)\(paths.count == 1 ? "" : "s") (\(sizes), \(p)) → \(listed)")
            if neuronSource == nil, case .rows(let h, let w) = p.layout { neuronSource = (entry, h, w) }
        }
        if jpegCount == 0 {
            print("\(input) has no JPEG-coded tensors: nothing extracted")
            return
        }
        print("wrote \(jpegCount) JPEG files (\(grouped(jpegBytes)) bytes) to \(directory); each decodes standalone")

        guard let (entry, h, w) = neuronSource else {
            print("no tensor with a rows:HxW layout: no neuron picture")
            return
        }
        let values = try ModelCodec.floats(of: entry, codec: try JPEGTensorCodec(), path: input)
        let grid = NeuronGrid.render(values, rows: entry.shape[0], height: h, width: w, count: 64, columns: 8,
                                     separator: 2, scale: 2)
        let png = PNGWriter.encode(grid)
        let path = folder + safeFileName(entry.name) + "_neurons.png"
        try OutputTarget.resolve(path, inputs: [input]).write(Data(png))
        print("wrote \(path): first \(min(64, entry.shape[0])) neurons of '\(entry.name)' as \(h)×\(w) images, \(grid.width)×\(grid.height) px")
    }

    /// One standalone JPEG stream with the pixel size it must decode to.
    struct StandaloneImage {
        let bytes: [UInt8]
        let width: Int
        let height: Int
    }

    /// The tensor's images as standalone streams, with the sizes the header implies.
    func standaloneImages(_ entry: ContainerEntry) throws -> [StandaloneImage] {
        do throws(CodecError) {
            let payloads = try JPEGTensorPayloads(entry)
            return zip(payloads.images, try payloads.standaloneStreams()).map {
                StandaloneImage(bytes: $1, width: $0.width, height: $0.height)
            }
        } catch {
            throw ExtractError(description: "\(input): tensor '\(entry.name)': \(error.reason)")
        }
    }

    /// Letters, digits, `.`, `-` and `_` kept; anything else becomes `_`; never empty or all dots.
    func safeFileName(_ name: String) -> String {
        let safe = String(name.unicodeScalars.map { s -> Character in
            s.isASCII && (CharacterSet.alphanumerics.contains(s) || s == "." || s == "-" || s == "_") ? Character(s) : "_"
        })
        return safe.isEmpty || safe.allSatisfy({ $0 == "." }) ? "tensor" + safe.map { _ in "_" }.joined() : safe
    }

    /// `stem`, or `stem~2`, `stem~3`, … when two tensor names map to the same file name.
    func uniqueStem(_ stem: String, used: inout Set<String>) -> String {
        var candidate = stem, n = 1
        while !used.insert(candidate).inserted {
            n += 1
            candidate = "\(stem)~\(n)"
        }
        return candidate
    }

    func makeDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ExtractError(description: "\(path): exists and is not a folder") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ExtractError(description: "\(path): cannot create the folder: \(error.localizedDescription)")
        }
    }
}
