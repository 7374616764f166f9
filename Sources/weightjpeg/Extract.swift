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
            guard case .jpeg(let p)? = TensorCoding(code: entry.coding, parameters: entry.parameters) else { continue }
            guard entry.shape.count >= 2, entry.shape[0] > 0 else {
                throw ExtractError(description: "\(input): tensor '\(entry.name)': JPEG tensor of rank \(entry.shape.count)")
            }
            let rows = entry.shape[0], columns = entry.shape.reduce(1, *) / rows
            let stem = uniqueStem(safeFileName(entry.name), used: &usedNames)
            let images = try standaloneImages(entry, parameters: p, rows: rows, columns: columns)
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
    func standaloneImages(_ entry: ContainerEntry, parameters p: JPEGTensorParameters,
                          rows: Int, columns: Int) throws -> [StandaloneImage] {
        func fail(_ why: String) -> ExtractError { ExtractError(description: "\(input): tensor '\(entry.name)': \(why)") }
        let layout = p.layout
        guard layout.fits(rows: rows, columns: columns) else { throw fail("layout \(layout) does not fit \(rows)×\(columns)") }
        let tileCount = layout.tileCount(rows: rows, columns: columns)
        switch p.pack {
        case .mosaic:
            let slotH = (layout.tileSize.height + 7) / 8 * 8, slotW = (layout.tileSize.width + 7) / 8 * 8
            let perImage = p.tilesPerImage, across = p.mosaicColumns
            guard perImage > 0, across > 0 else { throw fail("mosaic without columns") }
            let imageCount = (tileCount + perImage - 1) / perImage
            guard entry.payloads.count == 1 + imageCount else {
                throw fail("\(entry.payloads.count - 1) mosaic images, expected \(imageCount)")
            }
            return (0..<imageCount).map { k in
                let n = min(tileCount, (k + 1) * perImage) - k * perImage
                let gridRows = (n + across - 1) / across
                return StandaloneImage(bytes: entry.payloads[1 + k], width: min(n, across) * slotW, height: gridRows * slotH)
            }
        case .tables:
            guard entry.payloads.count == 3 else { throw fail("\(entry.payloads.count) payloads, expected 3 (scales, tables, streams)") }
            let tables = entry.payloads[1], streams = entry.payloads[2]
            // The tables-only stream is SOI, DQT/DHT segments, EOI: the segments go after each tile's SOI.
            guard tables.count >= 4, tables[0] == 0xFF, tables[1] == 0xD8,
                  tables[tables.count - 2] == 0xFF, tables[tables.count - 1] == 0xD9 else {
                throw fail("the tables payload is not a tables-only JPEG stream (SOI … EOI)")
            }
            let segments = tables[2..<(tables.count - 2)]
            var out: [StandaloneImage] = []
            out.reserveCapacity(tileCount)
            var reader = LEB128.Reader(streams)
            for t in 0..<tileCount {
                guard let stream = reader.nextChunk() else { throw fail("stream of tile \(t) is missing or truncated") }
                guard stream.count >= 2, stream[stream.startIndex] == 0xFF, stream[stream.startIndex + 1] == 0xD8 else {
                    throw fail("stream of tile \(t) does not start with SOI")
                }
                let (h, w) = layout.size(ofTile: t, rows: rows, columns: columns)
                out.append(StandaloneImage(bytes: [0xFF, 0xD8] + segments + stream.dropFirst(2), width: w, height: h))
            }
            guard reader.atEnd else { throw fail("unexpected bytes after the last tile stream") }
            return out
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
