import Foundation
import WeightJPEG

/// A deterministic synthetic transformer checkpoint (float32 safetensors) with the statistics of
/// real weights, for benchmarks of whole-model compression:
///
/// * `stem.weight` `[d, 3, 16, 16]` — a smooth image-like first layer (patch embedding): each
///   output channel is a sum of three Gaussian bumps of either sign per color plane, plus faint noise;
/// * `tok_embeddings.weight` `[vocabulary, d]` — Gaussian rows whose norms follow a Zipf-like law,
///   row `i` scaled by `(i + 1)^(−zipfExponent)` (token ids sorted by frequency);
/// * per layer `l` (`layers.l.`): `attention.{q,k,v,o}.weight` `[d, d]` and `ffn.up.weight`
///   `[4d, d]`, `ffn.down.weight` `[d, 4d]` — noise-like: `s_r · (σ·g + U_r·Vᵀ)` with Gaussian
///   `g`, σ = `0.02`, a rank-`lowRank` term carrying `lowRankShare` of the variance, and per-row
///   scales `s_r = exp(0.3·n_r)` (log-normal); biases for each (1-D, σ 0.01); `norm1`, `norm2`
///   weights `1 + 0.05·n` and biases `0.02·n` (1-D);
/// * `norm.weight`, `norm.bias` `[d]`, and `position_ids` `[1, 2048]` int64 `0…2047`.
///
/// Every tensor has its own generator seeded from (seed, tensor index), so the file is the same on
/// every run and platform. Written streamed (one tensor in memory at a time).
public struct SyntheticCheckpoint: Sendable {
    /// Model width `d`: the size of the hidden vectors.
    public var width: Int
    /// Number of transformer blocks.
    public var layers: Int
    /// Rows of the embedding matrix (vocabulary size).
    public var vocabulary: Int
    /// Seed of every tensor's values: the same seed gives the same file.
    public var seed: UInt64 = 1
    /// Zipf exponent of the embedding row norms.
    public static let zipfExponent: Float = 0.25
    /// Standard deviation of the linear layers' noise before row scaling.
    public static let linearSigma: Float = 0.02
    /// Rank of the low-rank structure of the linear layers.
    public static let lowRank = 8
    /// Share of a linear layer's variance in the low-rank term.
    public static let lowRankShare: Float = 0.1

    /// A checkpoint of `layers` blocks of width `width` and a `vocabulary × width` embedding.
    public init(width: Int, layers: Int, vocabulary: Int, seed: UInt64 = 1) {
        precondition(width >= 8 && layers >= 1 && vocabulary >= 1)
        self.width = width
        self.layers = layers
        self.vocabulary = vocabulary
        self.seed = seed
    }

    /// A checkpoint of about `parameters` parameters: width 768 (smaller for small sizes, a multiple
    /// of 64), a vocabulary of about a quarter of the parameters (at most 32,000), and as many layers
    /// as make up the rest. 100,000,000 gives width 768, 11 layers, vocabulary 32,000 (103.1M).
    public init(parameters: Int, seed: UInt64 = 1) {
        let f = Double(max(parameters, 1)) / 1e8
        let width = max(64, min(768, Int((12 * f.squareRoot()).rounded()) * 64))
        let vocabulary = max(256, min(32_000, parameters / 4 / width))
        let perLayer = 12 * width * width + 13 * width
        let rest = parameters - vocabulary * width - 768 * width
        let layers = max(1, Int((Double(rest) / Double(perLayer)).rounded()))
        self.init(width: width, layers: layers, vocabulary: vocabulary, seed: seed)
    }

    /// What a tensor holds (decides how it is generated).
    public enum Kind: String, Sendable, CaseIterable {
        case stem, embedding, linear, bias, normWeight, normBias, positions
    }

    /// One tensor of the checkpoint.
    public struct Spec: Sendable {
        /// Tensor name as written in the safetensors header.
        public let name: String
        /// Its dtype (F32, or I64 for positions).
        public let dtype: SafetensorsDType
        /// Tensor shape (row-major).
        public let shape: [Int]
        /// What the tensor holds, which decides how its values are generated.
        public let kind: Kind
        /// Number of elements (product of `shape`).
        public var count: Int { shape.reduce(1, *) }
    }

    /// The tensors, in file order.
    public var specs: [Spec] {
        let d = width
        var s: [Spec] = [
            Spec(name: "stem.weight", dtype: .F32, shape: [d, 3, 16, 16], kind: .stem),
            Spec(name: "stem.bias", dtype: .F32, shape: [d], kind: .bias),
            Spec(name: "tok_embeddings.weight", dtype: .F32, shape: [vocabulary, d], kind: .embedding),
        ]
        for l in 0..<layers {
            let p = "layers.\(l)."
            s.append(Spec(name: p + "norm1.weight", dtype: .F32, shape: [d], kind: .normWeight))
            s.append(Spec(name: p + "norm1.bias", dtype: .F32, shape: [d], kind: .normBias))
            for m in ["q", "k", "v", "o"] {
                s.append(Spec(name: p + "attention.\(m).weight", dtype: .F32, shape: [d, d], kind: .linear))
                s.append(Spec(name: p + "attention.\(m).bias", dtype: .F32, shape: [d], kind: .bias))
            }
            s.append(Spec(name: p + "norm2.weight", dtype: .F32, shape: [d], kind: .normWeight))
            s.append(Spec(name: p + "norm2.bias", dtype: .F32, shape: [d], kind: .normBias))
            s.append(Spec(name: p + "ffn.up.weight", dtype: .F32, shape: [4 * d, d], kind: .linear))
            s.append(Spec(name: p + "ffn.up.bias", dtype: .F32, shape: [4 * d], kind: .bias))
            s.append(Spec(name: p + "ffn.down.weight", dtype: .F32, shape: [d, 4 * d], kind: .linear))
            s.append(Spec(name: p + "ffn.down.bias", dtype: .F32, shape: [d], kind: .bias))
        }
        s.append(Spec(name: "norm.weight", dtype: .F32, shape: [d], kind: .normWeight))
        s.append(Spec(name: "norm.bias", dtype: .F32, shape: [d], kind: .normBias))
        s.append(Spec(name: "position_ids", dtype: .I64, shape: [1, 2048], kind: .positions))
        return s
    }

    /// Total parameters (elements of every tensor).
    public var parameterCount: Int { specs.reduce(0) { $0 + $1.count } }

    /// The metadata written to the file.
    public var metadata: [String: String] {
        ["format": "pt", "generator": "weightjpeg synthetic checkpoint", "seed": String(seed),
         "width": String(width), "layers": String(layers), "vocabulary": String(vocabulary)]
    }

    /// Tensor `index` of `specs`.
    public func tensor(_ index: Int) -> SafetensorsTensor {
        let spec = specs[index]
        var rng = RandomSource(seed: seed &* 0x1000_0000_01B3 &+ UInt64(index))
        if spec.kind == .positions {
            var data = Data(count: spec.count * 8)
            data.withUnsafeMutableBytes { raw in
                for i in 0..<spec.count { raw.storeBytes(of: Int64(i % spec.shape.last!).littleEndian, toByteOffset: 8 * i, as: Int64.self) }
            }
            return SafetensorsTensor(name: spec.name, dtype: .I64, shape: spec.shape, data: data)
        }
        let values: [Float]
        switch spec.kind {
        case .stem: values = Self.stem(channels: spec.shape[0], rng: &rng)
        case .embedding: values = Self.embedding(rows: spec.shape[0], columns: spec.shape[1], rng: &rng)
        case .linear: values = Self.linear(rows: spec.shape[0], columns: spec.shape[1], rng: &rng)
        case .bias: values = (0..<spec.count).map { _ in 0.01 * rng.gaussian() }
        case .normWeight: values = (0..<spec.count).map { _ in 1 + 0.05 * rng.gaussian() }
        case .normBias: values = (0..<spec.count).map { _ in 0.02 * rng.gaussian() }
        case .positions: values = []
        }
        return SafetensorsTensor(name: spec.name, shape: spec.shape, floats: values, dtype: spec.dtype)
    }

    /// Writes the checkpoint to `path`, one tensor at a time, atomically.
    public func write(to path: String) throws {
        let specs = self.specs
        let writer = try SafetensorsWriter(path: path, tensors: specs.map { ($0.name, $0.dtype, $0.shape) }, metadata: metadata)
        for i in specs.indices { try writer.append(tensor(i)) }
        try writer.finish()
    }

    // MARK: Generators

    static func stem(channels: Int, rng: inout RandomSource) -> [Float] {
        var v = [Float](repeating: 0, count: channels * 3 * 256)
        for c in 0..<channels {
            for plane in 0..<3 {
                let bumps = (0..<3).map { _ in
                    (x: 7.5 + rng.uniform(6), y: 7.5 + rng.uniform(6), r: 2 + abs(rng.uniform(3)), a: rng.uniform(0.1))
                }
                for y in 0..<16 {
                    for x in 0..<16 {
                        var s = 0.002 * rng.gaussian()
                        for b in bumps {
                            let dx = Float(x) - b.x, dy = Float(y) - b.y
                            s += b.a * expf(-(dx * dx + dy * dy) / (2 * b.r * b.r))
                        }
                        v[((c * 3 + plane) * 16 + y) * 16 + x] = s
                    }
                }
            }
        }
        return v
    }

    static func embedding(rows: Int, columns: Int, rng: inout RandomSource) -> [Float] {
        var v = [Float](repeating: 0, count: rows * columns)
        v.withUnsafeMutableBufferPointer { out in
            for r in 0..<rows {
                let scale = 0.05 * powf(Float(r + 1), -zipfExponent)
                for c in 0..<columns { out[r * columns + c] = scale * rng.gaussian() }
            }
        }
        return v
    }

    static func linear(rows: Int, columns: Int, rng: inout RandomSource) -> [Float] {
        let k = lowRank
        // Each term u·v has variance 1 per pair: scale so the rank-k sum has lowRankShare of σ².
        let lowSigma = linearSigma * (lowRankShare / Float(k)).squareRoot()
        let noiseSigma = linearSigma * (1 - lowRankShare).squareRoot()
        let vt = (0..<(k * columns)).map { _ in rng.gaussian() }
        var v = [Float](repeating: 0, count: rows * columns)
        v.withUnsafeMutableBufferPointer { out in
            vt.withUnsafeBufferPointer { vt in
                var u = [Float](repeating: 0, count: k)
                for r in 0..<rows {
                    for j in 0..<k { u[j] = lowSigma * rng.gaussian() }
                    let rowScale = expf(0.3 * rng.gaussian())
                    let row = out.baseAddress! + r * columns
                    for c in 0..<columns { row[c] = noiseSigma * rng.gaussian() }
                    for j in 0..<k {
                        let uj = u[j], vrow = vt.baseAddress! + j * columns
                        for c in 0..<columns { row[c] += uj * vrow[c] }
                    }
                    for c in 0..<columns { row[c] *= rowScale }
                }
            }
        }
        return v
    }
}

extension RandomSource {
    /// A standard normal `Float` (Box–Muller on two 24-bit uniforms).
    mutating func gaussian() -> Float {
        let u1 = (Float(next() >> 40) + 0.5) * (1.0 / 16_777_216.0)
        let u2 = Float(next() >> 40) * (1.0 / 16_777_216.0)
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }
}
