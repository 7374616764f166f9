import Foundation
import WeightJPEGFormats

/// One coding's encoder and decoder: a tensor's floats ↔ the payloads of its `.wjpg` entry.
/// `TensorCoding.codec(table:)` gives each coding's conformer; `TensorCoding.encode` is the one
/// place that codes a tensor with a given coding. Shapes are row-major, `shape[0]` rows (rank-0
/// and rank-1 tensors count as one row where a coding has rows).
package protocol TensorCodec {
    /// The payloads coding `values` (a `dtype` tensor of `shape`), and the coding as it is to be
    /// written (JPEG fills in its mosaic geometry).
    func encode(_ values: [Float], shape: [Int], dtype: SafetensorsDType,
                jpeg: JPEGTensorCodec) throws(CodecError) -> (coding: TensorCoding, payloads: [[UInt8]])
    /// The `product(shape)` floats that `payloads` code.
    func decode(_ payloads: [[UInt8]], shape: [Int], dtype: SafetensorsDType, jpeg: JPEGTensorCodec) throws(CodecError) -> [Float]
}

extension TensorCodec {
    /// The only payload of a one-payload coding.
    fileprivate func single(_ payloads: [[UInt8]], _ name: String) throws(CodecError) -> [UInt8] {
        guard payloads.count == 1 else { throw CodecError(tensor: "", reason: "\(name) tensor has \(payloads.count) payloads, expected 1") }
        return payloads[0]
    }
}

/// The source bytes in their own dtype (re-coded from floats when a tensor is re-encoded).
package struct ExactCodec: TensorCodec {
    package func encode(_ values: [Float], shape: [Int], dtype: SafetensorsDType,
                        jpeg: JPEGTensorCodec) throws(CodecError) -> (coding: TensorCoding, payloads: [[UInt8]]) {
        (.exact, [[UInt8](SafetensorsTensor(name: "", shape: shape, floats: values, dtype: dtype).data)])
    }

    package func decode(_ payloads: [[UInt8]], shape: [Int], dtype: SafetensorsDType, jpeg: JPEGTensorCodec) throws(CodecError) -> [Float] {
        guard payloads.count == 1 else { throw CodecError(tensor: "", reason: "exact tensor has \(payloads.count) payloads") }
        let count = shape.reduce(1, *)
        guard payloads[0].count == count * dtype.byteSize else {
            throw CodecError(tensor: "", reason: "exact payload has \(payloads[0].count) bytes, shape \(shape) of \(dtype.rawValue) needs \(count * dtype.byteSize)")
        }
        do {
            return try SafetensorsTensor(name: "", dtype: dtype, shape: shape, data: Data(payloads[0])).floats()
        } catch {
            throw CodecError(tensor: "", reason: error.description)
        }
    }
}

/// IEEE half precision (`ScalarCodecs`).
package struct Float16Codec: TensorCodec {
    package func encode(_ values: [Float], shape: [Int], dtype: SafetensorsDType,
                        jpeg: JPEGTensorCodec) throws(CodecError) -> (coding: TensorCoding, payloads: [[UInt8]]) {
        (.float16, [ScalarCodecs.encodeFloat16(values)])
    }

    package func decode(_ payloads: [[UInt8]], shape: [Int], dtype: SafetensorsDType, jpeg: JPEGTensorCodec) throws(CodecError) -> [Float] {
        try ScalarCodecs.decodeFloat16(single(payloads, "float16"), count: shape.reduce(1, *))
    }
}

/// Symmetric int8 per row (`ScalarCodecs`); rank ≥ 2.
package struct Int8PerRowCodec: TensorCodec {
    package func encode(_ values: [Float], shape: [Int], dtype: SafetensorsDType,
                        jpeg: JPEGTensorCodec) throws(CodecError) -> (coding: TensorCoding, payloads: [[UInt8]]) {
        (.int8PerRow, [ScalarCodecs.encodeInt8PerRow(values, rows: shape[0])])
    }

    package func decode(_ payloads: [[UInt8]], shape: [Int], dtype: SafetensorsDType, jpeg: JPEGTensorCodec) throws(CodecError) -> [Float] {
        let payload = try single(payloads, "int8-row")
        guard shape.count >= 2 else { throw CodecError(tensor: "", reason: "malformed int8 tensor") }
        return try ScalarCodecs.decodeInt8PerRow(payload, rows: shape[0], count: shape.reduce(1, *))
    }
}

/// JPEG images of the tensor's tiles (`JPEGTensorCodec`); rank ≥ 2. An explicit quantization
/// `table` (natural order) overrides the parameters' quality when encoding.
package struct JPEGCodec: TensorCodec {
    package var parameters: JPEGTensorParameters
    package var table: [UInt16]?

    package func encode(_ values: [Float], shape: [Int], dtype: SafetensorsDType,
                        jpeg: JPEGTensorCodec) throws(CodecError) -> (coding: TensorCoding, payloads: [[UInt8]]) {
        let rows = shape[0]
        do throws(JPEGError) {
            let coded = try jpeg.encode(values, rows: rows, columns: values.count / rows, parameters: parameters, table: table)
            return (.jpeg(coded.parameters), coded.payloads)
        } catch {
            throw CodecError(tensor: "", reason: error.description)
        }
    }

    package func decode(_ payloads: [[UInt8]], shape: [Int], dtype: SafetensorsDType, jpeg: JPEGTensorCodec) throws(CodecError) -> [Float] {
        let count = shape.reduce(1, *)
        let rows = shape.count >= 2 ? shape[0] : 1
        guard shape.count >= 2, rows > 0 else { throw CodecError(tensor: "", reason: "JPEG tensor must have rank ≥ 2") }
        return try jpeg.decode(payloads, rows: rows, columns: count / rows, parameters: parameters)
    }
}

/// One uniform step, the integers rANS-coded (`UniformCodecs`).
package struct EntropyUniformCodec: TensorCodec {
    package var step: Float

    package func encode(_ values: [Float], shape: [Int], dtype: SafetensorsDType,
                        jpeg: JPEGTensorCodec) throws(CodecError) -> (coding: TensorCoding, payloads: [[UInt8]]) {
        guard let payloads = UniformCodecs.encodeEntropy(values, step: step) else {
            throw CodecError(tensor: "", reason: "cannot be coded with the entropy-uniform step \(step) (too many symbols, or fewer than two)")
        }
        return (.entropyUniform(step: step), payloads)
    }

    package func decode(_ payloads: [[UInt8]], shape: [Int], dtype: SafetensorsDType, jpeg: JPEGTensorCodec) throws(CodecError) -> [Float] {
        try UniformCodecs.decodeEntropy(payloads, count: shape.reduce(1, *), step: step)
    }
}

/// Per-row fixed-length codes of `bits` bits (`UniformCodecs`).
package struct FixedRowsCodec: TensorCodec {
    package var bits: Int

    package func encode(_ values: [Float], shape: [Int], dtype: SafetensorsDType,
                        jpeg: JPEGTensorCodec) throws(CodecError) -> (coding: TensorCoding, payloads: [[UInt8]]) {
        (.fixedRows(bits: bits), [UniformCodecs.encodeFixedRows(values, rows: shape.count >= 2 ? shape[0] : 1, bits: bits)])
    }

    package func decode(_ payloads: [[UInt8]], shape: [Int], dtype: SafetensorsDType, jpeg: JPEGTensorCodec) throws(CodecError) -> [Float] {
        let payload = try single(payloads, "fixed-row\(bits)")
        let rows = shape.count >= 2 ? shape[0] : 1
        guard rows > 0 else { throw CodecError(tensor: "", reason: "fixed-length tensor has no rows") }
        return try UniformCodecs.decodeFixedRows(payload, rows: rows, count: shape.reduce(1, *), bits: bits)
    }
}

/// One step, plain or trellis-coded quantization, per-class rANS in chunks of rows
/// (`EntropyTrellis`); any rank (rank 0 and 1 are one row).
package struct EntropyTrellisCodec: TensorCodec {
    package var parameters: EntropyTrellisParameters

    /// The matrix view of `shape`: `shape[0]` rows for rank ≥ 2, else one row.
    static func matrix(_ shape: [Int], count: Int) -> (rows: Int, columns: Int) {
        let rows = shape.count >= 2 ? shape[0] : 1
        return (rows, rows > 0 ? count / rows : 0)
    }

    package func encode(_ values: [Float], shape: [Int], dtype: SafetensorsDType,
                        jpeg: JPEGTensorCodec) throws(CodecError) -> (coding: TensorCoding, payloads: [[UInt8]]) {
        let (rows, columns) = Self.matrix(shape, count: values.count)
        guard rows >= 1, columns >= 1,
              let coded = EntropyTrellis.encode(values, rows: rows, columns: columns, parameters: parameters) else {
            throw CodecError(tensor: "", reason: "cannot be coded entropy-trellis (empty, or not finite)")
        }
        return (.entropyTrellis(coded.parameters), coded.payloads)
    }

    package func decode(_ payloads: [[UInt8]], shape: [Int], dtype: SafetensorsDType, jpeg: JPEGTensorCodec) throws(CodecError) -> [Float] {
        let count = shape.reduce(1, *)
        let (rows, columns) = Self.matrix(shape, count: count)
        guard rows >= 1, columns >= 1 else { throw CodecError(tensor: "", reason: "entropy-trellis tensor of shape \(shape) has no elements") }
        return try EntropyTrellis.decode(payloads, parameters: parameters, rows: rows, columns: columns)
    }
}

extension TensorCoding {
    /// This coding's encoder and decoder (`table`: JPEG's explicit quantization table, if any).
    package func codec(table: [UInt16]? = nil) -> any TensorCodec {
        switch self {
        case .exact: return ExactCodec()
        case .float16: return Float16Codec()
        case .int8PerRow: return Int8PerRowCodec()
        case .jpeg(let p): return JPEGCodec(parameters: p, table: table)
        case .entropyUniform(let step): return EntropyUniformCodec(step: step)
        case .fixedRows(let bits): return FixedRowsCodec(bits: bits)
        case .entropyTrellis(let p): return EntropyTrellisCodec(parameters: p)
        }
    }

    /// Codes `values` (a `dtype` tensor of `shape`) with this coding: the one place an entry's
    /// coding and payloads are made. Nil when a reader would refuse the result (`DecodeLimits`: a
    /// huge near-constant tensor compresses to too few bytes); the caller falls back.
    package func encode(_ values: [Float], shape: [Int], dtype: SafetensorsDType, table: [UInt16]? = nil,
                        jpeg: JPEGTensorCodec) throws(CodecError) -> (coding: TensorCoding, payloads: [[UInt8]])? {
        let coded = try codec(table: table).encode(values, shape: shape, dtype: dtype, jpeg: jpeg)
        let bytes = coded.payloads.reduce(0) { $0 + $1.count }
        return DecodeLimits.refusal(coding: coded.coding, shape: shape, payloadBytes: bytes) == nil ? coded : nil
    }
}
