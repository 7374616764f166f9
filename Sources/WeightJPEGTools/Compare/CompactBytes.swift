import WeightJPEG
/// The byte helpers every baseline coder of `compare` shares: LEB128 varints, float16 arrays, and a
/// bounds-checked reader that fails with `CompareError.corrupt` instead of trapping.
package struct CompactWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func append<S: Sequence>(_ s: S) where S.Element == UInt8 { bytes.append(contentsOf: s) }

    /// Unsigned LEB128: 7 bits per byte, low first.
    mutating func varint(_ v: Int) {
        precondition(v >= 0, "varint of a negative number")
        LEB128.append(v, to: &bytes)
    }

    /// A float16 (IEEE binary16, little-endian, round to nearest even).
    mutating func half(_ v: Float) {
        let h = HalfPrecision.halfBits(from: v)
        bytes.append(UInt8(h & 0xFF)); bytes.append(UInt8(h >> 8))
    }

    mutating func halves(_ values: [Float]) { bytes.append(contentsOf: ScalarCodecs.encodeFloat16(values)) }

    /// A byte string with its length as a varint.
    mutating func block(_ b: [UInt8]) { varint(b.count); bytes.append(contentsOf: b) }
}

/// Reading what `CompactWriter` wrote, from untrusted bytes.
package struct CompactReader {
    let bytes: [UInt8]
    private(set) var offset = 0
    /// What is being read (for errors).
    let what: String

    init(_ bytes: [UInt8], what: String) { self.bytes = bytes; self.what = what }

    var remaining: Int { bytes.count - offset }

    func corrupt(_ reason: String) -> CompareError { .corrupt(what: what, reason: "\(reason) at byte \(offset)") }

    mutating func u8() throws(CompareError) -> UInt8 {
        guard offset < bytes.count else { throw corrupt("truncated") }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A varint of at most `limit`.
    mutating func varint(limit: Int = 1 << 40) throws(CompareError) -> Int {
        var r = LEB128.Reader(bytes)
        r.offset = offset
        guard let x = r.next() else {
            offset = r.offset
            throw corrupt(r.offset >= bytes.count ? "truncated" : "varint too long")
        }
        offset = r.offset
        guard x <= UInt64(limit) else { throw corrupt("value \(x) exceeds \(limit)") }
        return Int(x)
    }

    mutating func half() throws(CompareError) -> Float {
        let lo = try u8(), hi = try u8()
        return HalfPrecision.float(fromHalfBits: UInt16(lo) | UInt16(hi) << 8)
    }

    mutating func halves(_ n: Int) throws(CompareError) -> [Float] {
        guard n >= 0, 2 * n <= remaining else { throw corrupt("\(n) float16 values do not fit in \(remaining) bytes") }
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n { out[i] = try half() }
        return out
    }

    mutating func take(_ n: Int) throws(CompareError) -> [UInt8] {
        guard n >= 0, n <= remaining else { throw corrupt("\(n) bytes wanted, \(remaining) left") }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func block() throws(CompareError) -> [UInt8] { try take(try varint(limit: remaining)) }
}

/// What went wrong in `compare` or one of its coders.
public enum CompareError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Bytes that do not decode (truncated, out of range, inconsistent).
    case corrupt(what: String, reason: String)
    /// The model or data cannot be compared (not an MLP, sizes do not fit).
    case unsupported(String)

    public var description: String {
        switch self {
        case .corrupt(let what, let reason): return "\(what): corrupt: \(reason)"
        case .unsupported(let reason): return reason
        }
    }
}
