import Foundation

/// Reading a binary structure from untrusted bytes: every read is bounds-checked and fails with
/// `ByteReader.Failure` instead of trapping. The one reader of the project's binary formats (the
/// `.wjpg` header, rANS tables, JPEG tile streams, the baselines of `compare`).
package struct ByteReader {
    /// A read that failed at `offset`: past the end, or a varint that is malformed or too large.
    package struct Failure: Error, Equatable, CustomStringConvertible {
        /// Offset of the read that failed.
        package let offset: Int
        /// What was wrong, e.g. "8 bytes wanted, 3 left".
        package let reason: String

        package var description: String { "\(reason) at byte \(offset)" }
    }

    let bytes: [UInt8]
    package private(set) var offset: Int

    package init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    package var remaining: Int { bytes.count - offset }
    package var atEnd: Bool { offset == bytes.count }

    package mutating func take(_ n: Int) throws(Failure) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw Failure(offset: offset, reason: "\(n) bytes wanted, \(remaining) left") }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    package mutating func u8() throws(Failure) -> UInt8 { try take(1).first! }

    package mutating func u16() throws(Failure) -> UInt16 {
        let s = try take(2)
        return UInt16(s[s.startIndex]) | UInt16(s[s.startIndex + 1]) << 8
    }

    package mutating func u32() throws(Failure) -> UInt32 {
        let s = try take(4)
        return s.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    package mutating func u64() throws(Failure) -> UInt64 {
        let s = try take(8)
        return s.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    package mutating func f32() throws(Failure) -> Float { Float(bitPattern: try u32()) }

    /// An IEEE half-precision value (little-endian) as a Float.
    package mutating func f16() throws(Failure) -> Float { HalfPrecision.float(fromHalfBits: try u16()) }

    /// `n` half-precision values, checked to fit before anything is allocated.
    package mutating func f16s(_ n: Int) throws(Failure) -> [Float] {
        guard n >= 0, 2 * n <= remaining else { throw Failure(offset: offset, reason: "\(n) float16 values do not fit in \(remaining) bytes") }
        return try (0..<n).map { _ throws(Failure) in try f16() }
    }

    /// A string stored as a u16 byte length and UTF-8 bytes; `nil` if the bytes are not UTF-8.
    package mutating func string16() throws(Failure) -> String? {
        let n = Int(try u16())
        return String(validating: try take(n), as: UTF8.self)
    }

    /// An unsigned LEB128 varint (7 bits per byte, low bits first, at most 9 bytes) of at most `limit`.
    package mutating func varint(limit: UInt64 = .max) throws(Failure) -> UInt64 {
        let start = offset
        var v: UInt64 = 0
        for shift in stride(from: 0, to: 63, by: 7) {
            guard offset < bytes.count else { throw Failure(offset: start, reason: "truncated varint") }
            let b = bytes[offset]
            offset += 1
            v |= UInt64(b & 0x7F) << UInt64(shift)
            if b & 0x80 == 0 {
                guard v <= limit else { throw Failure(offset: start, reason: "value \(v) exceeds \(limit)") }
                return v
            }
        }
        throw Failure(offset: start, reason: "varint longer than 9 bytes")
    }

    /// A byte string preceded by its length as a varint (`ByteWriter.lengthPrefixed`).
    package mutating func lengthPrefixed() throws(Failure) -> ArraySlice<UInt8> {
        try take(Int(try varint(limit: UInt64(remaining))))
    }
}

/// Building a little-endian binary structure.
package struct ByteWriter {
    package private(set) var bytes: [UInt8] = []

    package init() {}

    package mutating func u8(_ v: UInt8) { bytes.append(v) }
    package mutating func u16(_ v: UInt16) { bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8(v >> 8)) }
    package mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
    package mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
    package mutating func f32(_ v: Float) { u32(v.bitPattern) }
    package mutating func append<S: Sequence>(_ s: S) where S.Element == UInt8 { bytes.append(contentsOf: s) }

    /// IEEE half precision, little-endian, round to nearest even.
    package mutating func f16(_ v: Float) { u16(HalfPrecision.halfBits(from: v)) }
    package mutating func f16s(_ values: [Float]) { for v in values { f16(v) } }

    /// An unsigned LEB128 varint (`ByteReader.varint`).
    package mutating func varint(_ value: Int) {
        precondition(value >= 0, "varint of a negative number")
        LEB128.append(value, to: &bytes)
    }

    /// A byte string preceded by its length as a varint.
    package mutating func lengthPrefixed<C: Collection>(_ b: C) where C.Element == UInt8 {
        varint(b.count)
        bytes.append(contentsOf: b)
    }

    /// A string as a u16 byte length and UTF-8 bytes (at most 65,535 bytes).
    package mutating func string16(_ s: String) {
        let utf8 = Array(s.utf8)
        precondition(utf8.count <= Int(UInt16.max), "string longer than 65,535 bytes")
        u16(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}

/// Unsigned LEB128 varints: 7 bits per byte, low bits first, high bit set on all but the last byte
/// (read with `ByteReader.varint`).
package enum LEB128 {
    package static func append(_ value: Int, to bytes: inout [UInt8]) {
        var v = UInt64(value)
        repeat {
            let b = UInt8(v & 0x7F)
            v >>= 7
            bytes.append(v == 0 ? b : b | 0x80)
        } while v != 0
    }
}
