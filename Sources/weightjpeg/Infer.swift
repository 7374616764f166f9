import ArgumentParser
import CZlib
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

/// A model loaded for one engine.
enum LoadedModel {
    case dense(MLP)
    case dct(DCTModel)

    /// Loads `path` (safetensors or `.wjpg`) for `engine`; `dct` needs a `.wjpg` file.
    init(path: String, engine: Engine, kernel: DCTLinear.Kernel) throws {
        switch engine {
        case .dense:
            self = .dense(try ModelFile.load(path))
        case .dct:
            guard ModelFile.isContainer(path) else {
                throw ModelFileError(path: path, reason: "--engine dct needs a .wjpg model (this is not one); use --engine dense")
            }
            self = .dct(try DCTModel(path: path, kernel: kernel))
        }
    }

    var inputSize: Int {
        switch self { case .dense(let m): m.inputSize; case .dct(let m): m.inputSize }
    }

    /// Bytes of the weights held in memory (dense: 4 bytes per parameter).
    var residentWeightBytes: Int {
        switch self { case .dense(let m): 4 * m.parameterCount; case .dct(let m): m.residentWeightBytes }
    }

    func logits(_ x: [Float], count: Int) throws -> [Float] {
        switch self { case .dense(let m): try m.logits(x, count: count); case .dct(let m): try m.logits(x, count: count) }
    }

    func evaluate(inputs: [Float], labels: [UInt8]) throws -> Evaluation {
        switch self {
        case .dense(let m): try m.evaluate(inputs: inputs, labels: labels)
        case .dct(let m): try m.evaluate(inputs: inputs, labels: labels)
        }
    }
}

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a model: IDX image files (every image in them), or 28×28 grayscale PGM (P5) / PNG images.",
        discussion: "PNG: 8-bit grayscale, non-interlaced only. Pixels are normalized as in training ((p/255 − 0.1307)/0.3081).")

    @Argument(help: ArgumentHelp("The model (.wjpg or .safetensors).", valueName: "model"))
    var model: String
    @Argument(help: ArgumentHelp("Images: IDX (idx3-ubyte, gzipped or not), PGM (P5) or PNG.", valueName: "input"))
    var inputs: [String]
    @Option(help: "dense (default) or dct (.wjpg only; the first layer on the DCT coefficients).")
    var engine: Engine = .dense
    @Option(help: "The DCT engine's first-layer kernel: compact (default), reduced or sparse.")
    var kernel: DCTLinear.Kernel = .compact
    @OptionGroup var threadOptions: ThreadOptions
    @Flag(help: "Print a JSON array: one object per image with input, index, class and probabilities.")
    var json = false

    struct InputError: Error, CustomStringConvertible { let description: String }

    func run() throws {
        threadOptions.apply()
        let loaded = try LoadedModel(path: model, engine: engine, kernel: kernel)
        let side = Int(Double(loaded.inputSize).squareRoot())
        guard side * side == loaded.inputSize else {
            throw InputError(description: "\(model): the model takes \(loaded.inputSize) inputs, not a square image")
        }
        var images: [(name: String, index: Int?, pixels: ArraySlice<UInt8>)] = []
        for path in inputs {
            for (i, px) in try ImageInput.read(path, width: side, height: side).enumerated() {
                images.append((path, nil, px))
                if images.last!.pixels.count != side * side { throw InputError(description: "\(path): wrong size") }
                images[images.count - 1].index = i
            }
        }
        let x = images.flatMap { $0.pixels.map(Dataset.normalize) }
        let z = try loaded.logits(x, count: images.count)
        let classes = z.count / max(1, images.count)
        var objects: [String] = []
        for (r, image) in images.enumerated() {
            let row = z[(r * classes)..<((r + 1) * classes)]
            let m = row.max() ?? 0
            let e = row.map { Double(exp($0 - m)) }
            let total = e.reduce(0, +)
            let p = e.map { $0 / total }
            let best = p.indices.max { p[$0] < p[$1] } ?? 0
            if json {
                let name = image.name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                objects.append(#"{"input": "\#(name)", "index": \#(image.index ?? 0), "class": \#(best), "probabilities": [\#(p.map { String(format: "%.6f", $0) }.joined(separator: ", "))]}"#)
            } else {
                print("\(image.name)[\(image.index ?? 0)]: class \(best)  p = \(p.map { fixed($0, 4) }.joined(separator: " "))")
            }
        }
        if json { print("[" + objects.joined(separator: ",\n ") + "]") }
    }
}

/// Reads grayscale images: IDX rank-3 files (all images), PGM P5, or 8-bit grayscale PNG.
enum ImageInput {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The images of `path`, each `width × height` pixels.
    static func read(_ path: String, width: Int, height: Int) throws -> [ArraySlice<UInt8>] {
        let data = [UInt8](try FileInput.read(path))
        func fail(_ why: String) -> Failure { Failure(description: "\(path): \(why)") }
        let pixels: [UInt8], w: Int, h: Int
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            (pixels, w, h) = try png(data, fail)
        } else if data.starts(with: Array("P5".utf8)) {
            (pixels, w, h) = try pgm(data, fail)
        } else if (data.count >= 4 && data[0] == 0 && data[1] == 0) || data.starts(with: [0x1F, 0x8B]) {
            let idx: IDXFile
            do { idx = try IDXFile(data: Data(data), path: path, rank: 3) } catch { throw Failure(description: error.description) }
            guard idx.dimensions[1] == height, idx.dimensions[2] == width else {
                throw fail("IDX images are \(idx.dimensions[1])×\(idx.dimensions[2]), the model needs \(height)×\(width)")
            }
            let size = width * height
            return (0..<idx.dimensions[0]).map { idx.bytes[($0 * size)..<(($0 + 1) * size)] }
        } else {
            throw fail("not an IDX, PGM (P5) or PNG file")
        }
        guard w == width, h == height else { throw fail("image is \(w)×\(h), the model needs \(width)×\(height)") }
        return [pixels[...]]
    }

    /// Binary PGM: `P5`, width, height, maxval (1…255) separated by whitespace (with `#` comments),
    /// one whitespace byte, then the pixels; values are rescaled to 0…255.
    static func pgm(_ d: [UInt8], _ fail: (String) -> Failure) throws -> ([UInt8], Int, Int) {
        var i = 2
        func number() throws -> Int {
            while i < d.count {
                if d[i] == UInt8(ascii: "#") { while i < d.count && d[i] != 10 && d[i] != 13 { i += 1 } }
                else if [9, 10, 13, 32].contains(d[i]) { i += 1 } else { break }
            }
            var v = 0, digits = 0
            while i < d.count, (48...57).contains(d[i]), digits < 6 { v = v * 10 + Int(d[i] - 48); i += 1; digits += 1 }
            guard digits > 0 else { throw fail("malformed PGM header") }
            return v
        }
        let w = try number(), h = try number(), maxval = try number()
        guard w > 0, h > 0, w * h <= 1 << 20 else { throw fail("PGM size \(w)×\(h) out of range") }
        guard (1...255).contains(maxval) else { throw fail("PGM maxval \(maxval): only 8-bit images are supported") }
        guard i < d.count, [9, 10, 13, 32].contains(d[i]) else { throw fail("malformed PGM header") }
        i += 1
        guard d.count - i == w * h else { throw fail("PGM has \(d.count - i) pixel bytes, expected \(w * h)") }
        let px = d[i...].map { maxval == 255 ? $0 : UInt8((Int($0) * 255 + maxval / 2) / maxval) }
        return (px, w, h)
    }

    /// PNG, 8-bit grayscale (color type 0), non-interlaced; chunk CRCs checked; IDAT inflated with
    /// zlib into a buffer of exactly `height · (width + 1)` bytes.
    static func png(_ d: [UInt8], _ fail: (String) -> Failure) throws -> ([UInt8], Int, Int) {
        func u32(_ o: Int) -> Int { Int(d[o]) << 24 | Int(d[o + 1]) << 16 | Int(d[o + 2]) << 8 | Int(d[o + 3]) }
        var o = 8, w = 0, h = 0, sawHeader = false, ended = false
        var idat: [UInt8] = []
        while o + 12 <= d.count {
            let length = u32(o)
            guard length <= d.count - o - 12 else { throw fail("truncated PNG chunk") }
            let type = String(decoding: d[(o + 4)..<(o + 8)], as: UTF8.self)
            let body = Array(d[(o + 8)..<(o + 8 + length)])
            let crc = d[(o + 4)..<(o + 8 + length)].withContiguousStorageIfAvailable { b in
                UInt32(crc32(0, b.baseAddress, UInt32(b.count)))
            } ?? 0
            guard crc == UInt32(u32(o + 8 + length)) else { throw fail("PNG chunk \(type) fails its CRC") }
            switch type {
            case "IHDR":
                guard length == 13 else { throw fail("bad IHDR") }
                w = u32(o + 8); h = u32(o + 12)
                let (depth, color, interlace) = (body[8], body[9], body[12])
                guard depth == 8, color == 0 else { throw fail("PNG is not 8-bit grayscale (bit depth \(depth), color type \(color))") }
                guard interlace == 0 else { throw fail("interlaced PNG is not supported") }
                guard w > 0, h > 0, w * h <= 1 << 20 else { throw fail("PNG size \(w)×\(h) out of range") }
                sawHeader = true
            case "IDAT":
                guard idat.count + length <= 8 << 20 else { throw fail("PNG data too large") }
                idat += body
            case "IEND":
                ended = true
            default:
                break
            }
            o += 12 + length
            if ended { break }
        }
        guard sawHeader, ended, !idat.isEmpty else { throw fail("PNG lacks IHDR, IDAT or IEND") }
        let stride = w + 1
        var raw = [UInt8](repeating: 0, count: h * stride)
        var produced = UInt(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { out in
            idat.withUnsafeBufferPointer { src in uncompress(out.baseAddress, &produced, src.baseAddress, UInt(src.count)) }
        }
        guard status == Z_OK, produced == UInt(raw.count) else { throw fail("PNG image data does not inflate to \(w)×\(h) pixels (zlib status \(status))") }
        // Undo the per-row filters (1 byte per pixel).
        var px = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            let filter = raw[y * stride]
            for x in 0..<w {
                let v = raw[y * stride + 1 + x]
                let a = x > 0 ? Int(px[y * w + x - 1]) : 0
                let b = y > 0 ? Int(px[(y - 1) * w + x]) : 0
                let c = x > 0 && y > 0 ? Int(px[(y - 1) * w + x - 1]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c
                    let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: throw fail("bad PNG filter type \(filter)")
                }
                px[y * w + x] = UInt8(truncatingIfNeeded: Int(v) + predictor)
            }
        }
        return (px, w, h)
    }
}
