import WeightJPEG
/// The product's own codings for noise-like tensors as `compare` baselines: coding 4
/// (`entropy-uniform`: one step, static rANS) and coding 6 (`entropy-trellis`: one step, trellis
/// quantization, per-class rANS), each at one step per matrix of `stepOverRMS` × the matrix's RMS,
/// coded and decoded by the very `TensorCodec` that `compress` and `decompress` use, so the
/// baseline and the product are one implementation.
///
/// Layout per matrix: the coding's parameter bytes as a block (varint length + bytes), the payload
/// count (varint), then each payload as a block. The coding byte is the method's tag.
package enum ProductCodingBaseline {
    /// The coding at `step` (float32, > 0): 4 or 6.
    static func coding(_ code: UInt8, step: Float, rows: Int) -> TensorCoding {
        code == 4 ? .entropyUniform(step: step)
            : .entropyTrellis(EntropyTrellisParameters(dependent: true, step: step, rowsPerChunk: max(rows, 1)))
    }

    static func encode(_ m: Matrix, code: UInt8, stepOverRMS f: Double, into w: inout ByteWriter) throws(CompareError) {
        let rms = (m.storage.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(m.count, 1))).squareRoot()
        let step = Float(f * rms)
        guard step.isFinite, step > 0 else { throw .unsupported("coding \(code) needs a matrix with a non-zero RMS and a positive step") }
        let coded: (coding: TensorCoding, payloads: [[UInt8]])?
        do {
            coded = try coding(code, step: step, rows: m.rows).encode(m.storage, shape: [m.rows, m.columns], dtype: .F32, jpeg: JPEGTensorCodec())
        } catch {
            throw .unsupported("coding \(code) at step \(step): \(error)")
        }
        guard let coded else { throw .unsupported("coding \(code) at step \(step) is beyond the decode limits for a \(m.rows)×\(m.columns) matrix") }
        w.lengthPrefixed(coded.coding.parameterBytes)
        w.varint(coded.payloads.count)
        for p in coded.payloads { w.lengthPrefixed(p) }
    }

    static func decode(_ r: inout CompactReader, code: UInt8, rows: Int, columns: Int) throws(CompareError) -> Matrix {
        let parameters = try r.block()
        let count = try r.varint(limit: r.remaining)
        var payloads: [[UInt8]] = []
        for _ in 0..<count { payloads.append(try r.block()) }
        do {
            let coding = try TensorCoding(code: code, parameters: parameters)
            guard coding.code == 4 || coding.code == 6 else { throw r.corrupt("coding \(code) is not a baseline coding") }
            if let refusal = DecodeLimits.refusal(coding: coding, shape: [rows, columns], payloadBytes: payloads.reduce(0) { $0 + $1.count }) {
                throw r.corrupt(refusal)
            }
            let values = try coding.codec().decode(payloads, shape: [rows, columns], dtype: .F32, jpeg: JPEGTensorCodec())
            return Matrix(rows: rows, columns: columns, storage: values)
        } catch let error as CompareError {
            throw error
        } catch {
            throw r.corrupt("coding \(code): \(error)")
        }
    }
}
