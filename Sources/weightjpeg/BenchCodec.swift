import ArgumentParser
import Foundation
import WeightJPEG
import WeightJPEGTools

struct BenchCodec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "JPEG tensor codec throughput (MB/s of float32) next to plain libjpeg-turbo on the same pixels.",
        discussion: """
        Two cases: the founding layer (512×784, rows:28x28 mosaic, q20; from --model when given, else \
        synthetic smooth 28×28 neurons) and a 4096×4096 matrix (smooth structure plus noise, \
        matrix:64x64 mosaic, q50). "ours" is JPEGTensorCodec.encode/decode of the floats (scales, \
        float→pixel mapping, mosaic, libjpeg); "raw" is a plain libjpeg loop encoding the very mosaic \
        pixels our encoder fed to libjpeg and decoding our streams. Both are counted as 4 bytes per \
        element; each figure is the median of --repeats runs.
        """)

    @Option(help: ArgumentHelp("Take the founding layer from this safetensors model (its first tensor with 784 columns).", valueName: "file"))
    var model: String?
    @Option(help: "Timed runs per measurement (the median is reported), after one warm-up run.")
    var repeats: Int = 7
    @Option(help: "Side of the square matrix case.")
    var matrixSize: Int = 4096

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard matrixSize >= 64 else { throw ValidationError("--matrix-size must be at least 64") }
    }

    struct Case {
        let name: String
        let values: [Float]
        let rows: Int
        let columns: Int
        let parameters: JPEGTensorParameters
    }

    func run() throws {
        #if DEBUG
        printError("warning: this is a debug build; benchmark with `swift build -c release`")
        #endif
        let founding = try foundingLayer()
        let n = matrixSize
        let matrix = Case(name: "matrix \(n)×\(n) (smooth + noise)", values: Self.syntheticMatrix(size: n), rows: n, columns: n,
                          parameters: JPEGTensorParameters(layout: .matrix(tileHeight: 64, tileWidth: 64), scale: .tensor,
                                                           pack: .mosaic, quality: 50))
        print("median of \(repeats) runs; MB/s = 4 bytes × elements / second; ratio = ours / raw (target ≥ 0.70)")
        for c in [founding, matrix] { try measure(c) }
    }

    // MARK: Cases

    func foundingLayer() throws -> Case {
        let parameters = JPEGTensorParameters(layout: .rows(height: 28, width: 28), scale: .tensor, pack: .mosaic, quality: 20)
        if let model {
            let file = try SafetensorsFile.read(path: model)
            guard let t = file.tensors.first(where: { $0.shape.count >= 2 && $0.shape[0] > 0
                                                       && $0.shape.reduce(1, *) / $0.shape[0] == 784 && $0.dtype.convertsToFloat }) else {
                throw ModelFileError(path: model, reason: "no float tensor with 784 columns")
            }
            let values = try t.floats()
            return Case(name: "'\(t.name)' \(t.shape[0])×784 of \(model)", values: values, rows: t.shape[0], columns: 784,
                        parameters: parameters)
        }
        return Case(name: "synthetic 512×784 (smooth 28×28 neurons)", values: Self.syntheticNeurons(count: 512), rows: 512,
                    columns: 784, parameters: parameters)
    }

    /// `count` smooth 28×28 images: a few Gaussian bumps of either sign each, plus faint noise,
    /// in the value range of a trained first layer (about ±0.1).
    static func syntheticNeurons(count: Int) -> [Float] {
        var rng = RandomSource(seed: 784)
        var values = [Float](repeating: 0, count: count * 784)
        for j in 0..<count {
            let bumps = (0..<4).map { _ in
                (x: 14 + rng.uniform(9), y: 14 + rng.uniform(9), r: 3 + abs(rng.uniform(4)), a: rng.uniform(0.08))
            }
            for y in 0..<28 {
                for x in 0..<28 {
                    var v = rng.uniform(0.004)
                    for b in bumps {
                        let dx = Float(x) - b.x, dy = Float(y) - b.y
                        v += b.a * expf(-(dx * dx + dy * dy) / (2 * b.r * b.r))
                    }
                    values[j * 784 + y * 28 + x] = v
                }
            }
        }
        return values
    }

    /// Low-frequency waves plus uniform noise, about ±0.05.
    static func syntheticMatrix(size n: Int) -> [Float] {
        var rng = RandomSource(seed: 4096)
        var values = [Float](repeating: 0, count: n * n)
        let rowWave = (0..<n).map { sinf(Float($0) / 37) }
        let columnWave = (0..<n).map { cosf(Float($0) / 53) }
        for i in 0..<n {
            for j in 0..<n {
                values[i * n + j] = 0.03 * rowWave[i] * columnWave[j] + 0.01 * sinf(Float(i + 2 * j) / 91) + rng.uniform(0.02)
            }
        }
        return values
    }

    // MARK: Measuring

    func measure(_ c: Case) throws {
        let codec = try JPEGTensorCodec()
        let megabytes = Double(4 * c.values.count) / 1e6

        var coded = try codec.encode(c.values, rows: c.rows, columns: c.columns, parameters: c.parameters)
        let encodeTime = try median {
            coded = try codec.encode(c.values, rows: c.rows, columns: c.columns, parameters: c.parameters)
        }
        var decoded: [Float] = []
        let decodeTime = try median {
            decoded = try codec.decode(coded.payloads, rows: c.rows, columns: c.columns, parameters: coded.parameters)
        }

        // The mosaic pixels our encoder gave libjpeg, rebuilt from the stored scales and geometry, and
        // checked by re-encoding them with the same options: the streams must be byte-identical.
        let images = try Self.mosaicPixels(c, coded: coded)
        let encoder = try JPEGEncoder()
        let options = JPEGOptions(quality: c.parameters.quality, optimizeHuffman: c.parameters.optimizeHuffman)
        var identical = true
        for (k, image) in images.enumerated() where try encoder.encode(image, options: options) != coded.payloads[1 + k] {
            identical = false
        }

        var rawStreams: [(bytes: [UInt8], offsets: [Int], sizes: [Int])] = []
        let rawEncodeTime = try median {
            rawStreams = try images.map { image throws(JPEGError) in
                try JPEGRawBenchmark.encode(tiles: image.pixels, width: image.width, height: image.height,
                                            quality: c.parameters.quality, optimize: c.parameters.optimizeHuffman)
            }
        }
        let rawDecodeTime = try median {
            for (k, image) in images.enumerated() {
                let stream = coded.payloads[1 + k]
                _ = try JPEGRawBenchmark.decode(bytes: stream, offsets: [0], sizes: [stream.count],
                                                width: image.width, height: image.height)
            }
        }

        // The Swift libjpeg wrapper alone on the same images, to locate any overhead.
        let decoder = try JPEGDecoder()
        let wrapperEncodeTime = try median {
            for image in images { _ = try encoder.encode(image, options: options) }
        }
        let wrapperDecodeTime = try median {
            for (k, image) in images.enumerated() { _ = try decoder.decode(coded.payloads[1 + k], maxPixels: image.width * image.height) }
        }

        var maxError: Float = 0
        for i in 0..<c.values.count { maxError = max(maxError, abs(c.values[i] - decoded[i])) }
        let ourBytes = coded.payloads.reduce(0) { $0 + $1.count }
        let rawBytes = rawStreams.reduce(0) { $0 + $1.bytes.count }
        let pixels = images.reduce(0) { $0 + $1.pixels.count }
        let sizes = images.map { "\($0.width)×\($0.height)" }.joined(separator: ", ")

        print("")
        print("\(c.name): \(c.parameters.layout) q\(c.parameters.quality) mosaic, \(images.count) image\(images.count == 1 ? "" : "s") (\(sizes), \(grouped(pixels)) px)")
        print("  coded: \(grouped(ourBytes)) bytes (\(fixed(Double(ourBytes * 8) / Double(c.values.count), 3)) bits/weight), raw libjpeg streams \(grouped(rawBytes)) bytes; max |error| \(maxError)")
        if !identical { print("  warning: re-encoding the rebuilt mosaic pixels did not reproduce the codec's streams") }
        func line(_ what: String, _ ours: Double, _ raw: Double) {
            let oursRate = megabytes / ours, rawRate = megabytes / raw
            let ratio = oursRate / rawRate
            print("  \(what)  ours \(TextTable.right(fixed(oursRate, 1), 7)) MB/s (\(TextTable.right(fixed(ours * 1000, 2), 7)) ms)   raw libjpeg \(TextTable.right(fixed(rawRate, 1), 7)) MB/s (\(TextTable.right(fixed(raw * 1000, 2), 7)) ms)   ratio \(fixed(ratio, 2))\(ratio < 0.7 ? "  (below 0.70)" : "")")
        }
        line("encode", encodeTime, rawEncodeTime)
        line("decode", decodeTime, rawDecodeTime)
        print("  (JPEGEncoder/JPEGDecoder alone on the same images: encode \(fixed(wrapperEncodeTime * 1000, 2)) ms, decode \(fixed(wrapperDecodeTime * 1000, 2)) ms;"
              + " the rest of \"ours\" is scales, float↔pixel mapping and mosaic placement)")
    }


    /// Median wall time of `repeats` runs of `body`, after one untimed warm-up run.
    func median(_ body: () throws -> Void) throws -> Double {
        try body()
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        return times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    }

    /// The mosaic images exactly as the encoder filled them (docs/FORMAT.md §5.5),
    /// rebuilt by the library from the stored scales and geometry.
    static func mosaicPixels(_ c: Case, coded: (parameters: JPEGTensorParameters, payloads: [[UInt8]])) throws -> [GrayImage] {
        let payloads = try JPEGTensorPayloads(coded.payloads, rows: c.rows, columns: c.columns, parameters: coded.parameters)
        guard coded.parameters.pack == .mosaic else { throw ValidationError("benchmark cases use a mosaic") }
        return JPEGTensorCodec.mosaicImages(of: c.values, payloads: payloads)
    }
}
