import WeightJPEGCore
/// The cheap codes for tensors not worth JPEG-coding.
package enum ScalarCodecs {
    /// IEEE half precision, little-endian, round to nearest even.
    package static func encodeFloat16(_ values: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * 2)
        for (i, v) in values.enumerated() {
            let h = HalfPrecision.halfBits(from: v)
            out[2 * i] = UInt8(h & 0xFF)
            out[2 * i + 1] = UInt8(h >> 8)
        }
        return out
    }

    static func decodeFloat16(_ bytes: [UInt8], count: Int) throws(CodecError) -> [Float] {
        guard bytes.count == 2 * count else {
            throw CodecError(tensor: "", reason: "float16 payload has \(bytes.count) bytes, expected \(2 * count)")
        }
        return (0..<count).map { HalfPrecision.float(fromHalfBits: UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8) }
    }

    /// Symmetric int8 per row: `rows` float32 scales `s = max|w| / 127`, then `q = round(w / s)` as
    /// int8 for every element, row-major.
    package static func encodeInt8PerRow(_ values: [Float], rows: Int) -> [UInt8] {
        let columns = rows == 0 ? 0 : values.count / rows
        var w = ByteWriter()
        var scales: [Float] = []
        for r in 0..<rows {
            let row = values[(r * columns)..<((r + 1) * columns)]
            let s = SymmetricQuantizer.maxMagnitude(row) / 127
            scales.append(s)
            w.f32(s)
        }
        var body = [UInt8](repeating: 0, count: values.count)
        for r in 0..<rows where scales[r] > 0 {
            let inv = 1 / scales[r]
            for c in 0..<columns {
                body[r * columns + c] = UInt8(bitPattern: Int8(SymmetricQuantizer.level(values[r * columns + c], inverseScale: inv, maxLevel: 127)))
            }
        }
        w.append(body)
        return w.bytes
    }

    static func decodeInt8PerRow(_ bytes: [UInt8], rows: Int, count: Int) throws(CodecError) -> [Float] {
        guard rows > 0, count % rows == 0, bytes.count == 4 * rows + count else {
            throw CodecError(tensor: "", reason: "int8 payload has \(bytes.count) bytes, expected \(4 * rows + count)")
        }
        let columns = count / rows
        var r = ByteReader(bytes)
        let scales = (0..<rows).map { _ in try! r.f32() }
        guard scales.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw CodecError(tensor: "", reason: "int8 row scale is negative or not finite")
        }
        var out = [Float](repeating: 0, count: count)
        for row in 0..<rows {
            for c in 0..<columns {
                out[row * columns + c] = Float(Int8(bitPattern: bytes[4 * rows + row * columns + c])) * scales[row]
            }
        }
        return out
    }
}
