import Foundation
import WeightJPEG

/// Seed inputs for the five targets: small valid files covering every coding and option, written
/// by the library itself (deterministic: fixed values, no randomness).
public enum FuzzSeeds {
    /// The seeds of `target`, by file name.
    public static func seeds(for target: FuzzTarget) throws -> [(name: String, bytes: [UInt8])] {
        switch target {
        case .container: return try containers()
        case .jpeg: return try jpegs()
        case .safetensors: return safetensorsFiles().map { ($0.name, [UInt8]($0.file.serialized())) }
        case .idx: return idxFiles()
        case .image: return images()
        }
    }

    /// Writes every target's seeds under `directory/TARGET/`.
    public static func write(to directory: String) throws {
        for target in FuzzTarget.allCases {
            let dir = directory + "/" + target.rawValue
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for seed in try seeds(for: target) {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: dir + "/seed-" + seed.name))
            }
        }
    }

    /// Smooth deterministic values with some structure (so JPEG has something to code).
    static func values(_ count: Int, phase: Float) -> [Float] {
        (0..<count).map { i in 0.05 * sin(Float(i) * 0.37 + phase) + 0.01 * Float(i % 7) - 0.02 }
    }

    /// Deterministic noise-like values in about ±0.05 (a 64-bit LCG; sums of four uniforms).
    static func noiseValues(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func uniform() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) - 0.5
        }
        return (0..<count).map { _ in 0.05 * (uniform() + uniform() + uniform() + uniform()) }
    }

    static func safetensorsFiles() -> [(name: String, file: SafetensorsFile)] {
        let weight = SafetensorsTensor(name: "0.weight", shape: [12, 20], floats: values(240, phase: 0))
        let bias = SafetensorsTensor(name: "0.bias", shape: [12], floats: values(12, phase: 1))
        let half = SafetensorsTensor(name: "h", shape: [4, 4], floats: values(16, phase: 2), dtype: .F16)
        let bf = SafetensorsTensor(name: "b", shape: [2, 3], floats: values(6, phase: 3), dtype: .BF16)
        let ints = SafetensorsTensor(name: "steps", dtype: .I64, shape: [2], data: Data([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]))
        let empty = SafetensorsTensor(name: "empty", shape: [0, 3], floats: [])
        return [
            ("mlp.safetensors", SafetensorsFile(tensors: [weight, bias], metadata: ["format": "pt"])),
            ("dtypes.safetensors", SafetensorsFile(tensors: [half, bf, ints, empty])),
            ("empty.safetensors", SafetensorsFile(tensors: [])),
        ]
    }

    static func containers() throws -> [(name: String, bytes: [UInt8])] {
        let model = SafetensorsFile(tensors: [
            SafetensorsTensor(name: "w", shape: [32, 40], floats: values(1280, phase: 0)),
            SafetensorsTensor(name: "b", shape: [12], floats: values(12, phase: 1)),
            SafetensorsTensor(name: "r", shape: [8, 150], floats: values(1200, phase: 2)),
            SafetensorsTensor(name: "steps", dtype: .I64, shape: [1], data: Data([7, 0, 0, 0, 0, 0, 0, 0])),
        ], metadata: ["format": "pt"])
        var out: [(String, [UInt8])] = []
        let variants: [(String, (inout CompressionPolicy) -> Void)] = [
            ("mosaic", { _ in }),
            ("tile-scale", { $0.scale = .tile }),
            ("tables", { $0.pack = .sharedTables }),
            ("progressive", { $0.progressive = true }),
            ("arithmetic", { $0.arithmetic = true; $0.pack = .sharedTables }),
            ("plain-huffman", { $0.optimizeHuffman = false }),
            // Error-targeted mode: rANS-coded uniform (coding 4) and fixed-length per-row (coding 5).
            ("error-targeted", { $0.maxRelativeError = 0.03 }),
            ("error-targeted-coarse", { $0.maxRelativeError = 0.3; $0.jpegMinimumCodingGain = 0 }),
        ]
        for (name, change) in variants {
            var policy = CompressionPolicy()
            policy.jpegMinimumElements = 256
            policy.layout = .matrix(tileHeight: 8, tileWidth: 16)
            policy.quality = 50
            change(&policy)
            let container = try ModelCodec.compress(model, policy: policy)
            out.append(("\(name).wjpg", container.serialized()))
        }
        // Noise-like weights in error-targeted mode: coding 6 (entropy-trellis), with row classes
        // (rows of different scales) and without (a vector), at a fine and a coarse bound; a small
        // matrix in coding 4.
        let noise = SafetensorsFile(tensors: [
            SafetensorsTensor(name: "n", shape: [24, 64], floats: noiseValues(24 * 64, seed: 1).enumerated().map { $1 * Float(1 + $0 / 64 % 5) }),
            SafetensorsTensor(name: "v", shape: [1100], floats: noiseValues(1100, seed: 2)),
            // Below ErrorTargetedSearch.entropyTrellisMinimumElements: coding 4 keeps a seed.
            SafetensorsTensor(name: "s", shape: [30, 30], floats: noiseValues(900, seed: 3)),
        ])
        for (name, bound) in [("trellis-fine", 0.002), ("trellis-coarse", 0.05)] {
            var policy = CompressionPolicy()
            policy.maxRelativeError = bound
            policy.oneDimensionalBoundFactor = 1
            out.append(("\(name).wjpg", try ModelCodec.compress(noise, policy: policy).serialized()))
        }
        // A coding-6 tensor of two chunk streams (more than 32,768 elements), which a reader
        // decodes as a pair in lockstep; at a coarse bound, so that the seed stays a few KB.
        let pair = SafetensorsFile(tensors: [SafetensorsTensor(name: "p", shape: [64, 600], floats: noiseValues(64 * 600, seed: 4))])
        var pairPolicy = CompressionPolicy()
        pairPolicy.maxRelativeError = 0.3
        out.append(("trellis-pair.wjpg", try ModelCodec.compress(pair, policy: pairPolicy).serialized()))
        // int8 per row and exact codings only.
        var policy = CompressionPolicy()
        policy.exactPatterns = ["b"]
        out.append(("scalar.wjpg", try ModelCodec.compress(model, policy: policy).serialized()))
        out.append(("empty.wjpg", Container(metadata: nil, entries: []).serialized()))
        return out
    }

    static func jpegs() throws -> [(name: String, bytes: [UInt8])] {
        let encoder = try JPEGEncoder()
        var out: [(String, [UInt8])] = []
        let sizes = [(8, 8), (13, 21), (40, 24)]
        let optionSets: [(String, JPEGOptions)] = [
            ("q75", JPEGOptions()),
            ("q20-plain", JPEGOptions(quality: 20, optimizeHuffman: false)),
            ("q90-progressive", JPEGOptions(quality: 90, progressive: true)),
            ("q50-arithmetic", JPEGOptions(quality: 50, arithmetic: true)),
            ("q50-arith-progressive", JPEGOptions(quality: 50, arithmetic: true, progressive: true)),
            ("jfif", JPEGOptions(quality: 60, writeJFIF: true)),
        ]
        for (w, h) in sizes {
            let pixels = (0..<(w * h)).map { i in UInt8(truncatingIfNeeded: (i % w) * 9 + (i / w) * 5 + (i % 3) * 40) }
            let image = GrayImage(width: w, height: h, pixels: pixels)
            for (name, options) in optionSets {
                let full = try encoder.encode(image, options: options)
                // Mode 0: pixels; mode 1: coefficients.
                out.append(("\(w)x\(h)-\(name)-pixels.jpg", [0] + full))
                out.append(("\(w)x\(h)-\(name)-coefficients.jpg", [1] + full))
                let tables = try encoder.tablesOnly(options: options)
                let abbreviated = try encoder.encode(image, options: options, tables: .omitted)
                let framed = [UInt8(tables.count & 0xFF), UInt8(tables.count >> 8)] + tables + abbreviated
                out.append(("\(w)x\(h)-\(name)-tables-pixels.jpg", [2] + framed))
                out.append(("\(w)x\(h)-\(name)-tables-coefficients.jpg", [3] + framed))
            }
        }
        return out
    }

    static func idx(dimensions: [Int]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
        for d in dimensions { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        let count = dimensions.reduce(1, *)
        bytes += (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7) }
        return bytes
    }

    static func idxFiles() -> [(name: String, bytes: [UInt8])] {
        let labels = idx(dimensions: [10]), images = idx(dimensions: [2, 5, 6])
        return [
            ("labels.idx", labels),
            ("images.idx", images),
            ("labels.idx.gz", [UInt8](Gzip.compress(Data(labels)))),
            ("images.idx.gz", [UInt8](Gzip.compress(Data(images), level: 9))),
            ("stored.idx.gz", [UInt8](Gzip.compress(Data(images), level: 0))),
        ]
    }

    /// A PNG and a PGM digit-sized image and a two-image IDX file.
    static func images() -> [(name: String, bytes: [UInt8])] {
        let image = GrayImage(width: 28, height: 28, pixels: (0..<784).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) })
        let idx: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4] + (0..<24).map { UInt8($0 * 10) }
        return [
            ("digit.png", PNGWriter.encode(image)),
            ("digit.pgm", Array("P5\n# seed\n28 28\n255\n".utf8) + image.pixels),
            ("levels.pgm", Array("P5 4 2 15 ".utf8) + [0, 1, 2, 3, 12, 13, 14, 15]),
            ("two.idx", idx),
        ]
    }
}
