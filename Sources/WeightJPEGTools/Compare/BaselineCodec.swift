import WeightJPEG
/// Codes a whole MLP with a `BaselineMethod` into self-describing bytes, and back. Everything needed
/// to rebuild the model is in the bytes, and `compare` counts all of them:
///
/// - header: the method's tag byte, the number of layers and every layer size (varints) — about
///   8 bytes for a 784-512-10 model (the per-method header allowance);
/// - per layer: the weight matrix in the method's code (scales, codebooks, indices, entropy-coder
///   models included), then the biases in float16 (biases are coded alike in every method).
public enum BaselineCodec {
    /// `model` coded with `method` into self-describing bytes (the method's tag byte first).
    public static func encode(_ model: MLP, method: BaselineMethod) throws(CompareError) -> [UInt8] {
        var w = ByteWriter()
        w.u8(method.tag)
        w.varint(model.layers.count)
        for s in model.sizes { w.varint(s) }
        if case .uniformRow(let b) = method { guard (2...8).contains(b) else { throw .unsupported("uniform per row needs 2…8 bits, got \(b)") }; w.u8(UInt8(b)) }
        if case .pruning(let s, let b) = method {
            guard (2...8).contains(b), s >= 0, s < 1 else { throw .unsupported("pruning needs sparsity 0…<1 and 2…8 bits, got \(s), \(b)") }
        }
        for layer in model.layers {
            let m = layer.weight
            switch method {
            case .float16: w.f16s(m.storage)
            case .int8PerRow: UniformRowQuantizer.encodeRaw(m, into: &w)
            case .uniformRow(let b): UniformRowQuantizer.encode(m, bits: b, into: &w)
            case .entropyUniform(let f), .entropyTrellis(let f):
                guard f > 0, f.isFinite else { throw .unsupported("\(method.family) needs a positive step, got \(f)") }
                try ProductCodingBaseline.encode(m, code: method.tag == 7 ? 4 : 6, stepOverRMS: f, into: &w)
            case .pruning(let s, let b): MagnitudePruning.encode(m, sparsity: s, bits: b, into: &w)
            case .lowRank(let r):
                guard r > 0 else { throw .unsupported("low rank needs rank ≥ 1") }
                try LowRankFactorization.encode(m, rank: r, into: &w)
            case .kmeans(let k):
                guard (1...4096).contains(k) else { throw .unsupported("k-means needs 1…4096 clusters, got \(k)") }
                KMeansSharing.encode(m, k: k, into: &w)
            }
            w.f16s(layer.bias)
        }
        return w.bytes
    }

    /// The model coded in `bytes`; `what` names it in errors.
    public static func decode(_ bytes: [UInt8], what: String = "coded model") throws(CompareError) -> MLP {
        var r = CompactReader(bytes, what: what)
        let tag = try r.u8()
        guard (1...8).contains(tag) else { throw r.corrupt("unknown method tag \(tag)") }
        let count = try r.varint(limit: 64)
        guard count > 0 else { throw r.corrupt("no layers") }
        var sizes: [Int] = []
        for _ in 0...count { sizes.append(try r.varint(limit: 1 << 24)) }
        guard sizes.allSatisfy({ $0 > 0 }) else { throw r.corrupt("a layer size is 0") }
        var bits = 0
        if tag == 3 { bits = Int(try r.u8()); guard (2...8).contains(bits) else { throw r.corrupt("\(bits) bits") } }
        var layers: [DenseLayer] = []
        for i in 0..<count {
            let rows = sizes[i + 1], columns = sizes[i]
            guard rows * columns <= 1 << 28 else { throw r.corrupt("layer \(i) of \(rows)×\(columns) is too large") }
            let weight: Matrix
            switch tag {
            case 1: weight = Matrix(rows: rows, columns: columns, storage: try r.halves(rows * columns))
            case 2: weight = try UniformRowQuantizer.decodeRaw(&r, rows: rows, columns: columns)
            case 3: weight = try UniformRowQuantizer.decode(&r, rows: rows, columns: columns, bits: bits)
            case 4: weight = try MagnitudePruning.decode(&r, rows: rows, columns: columns)
            case 5: weight = try LowRankFactorization.decode(&r, rows: rows, columns: columns)
            case 7, 8: weight = try ProductCodingBaseline.decode(&r, code: tag == 7 ? 4 : 6, rows: rows, columns: columns)
            default: weight = try KMeansSharing.decode(&r, rows: rows, columns: columns)
            }
            layers.append(DenseLayer(weight: weight, bias: try r.halves(rows)))
        }
        guard r.remaining == 0 else { throw r.corrupt("\(r.remaining) bytes left over") }
        return MLP(layers: layers)
    }
}
