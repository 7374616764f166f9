import Foundation

/// Reading a binary structure from untrusted bytes: every read is bounds-checked and fails with
/// `ByteReader.OutOfData` instead of trapping.
package struct ByteReader {
    /// A read ran past the end of the bytes.
    package struct OutOfData: Error {
        /// Offset of the read that failed.
        package let offset: Int
        let wanted: Int
    }

    let bytes: [UInt8]
    private(set) var offset: Int

    package init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    package var remaining: Int { bytes.count - offset }

    package mutating func take(_ n: Int) throws(OutOfData) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw OutOfData(offset: offset, wanted: n) }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    package mutating func u8() throws(OutOfData) -> UInt8 { try take(1).first! }

    package mutating func u16() throws(OutOfData) -> UInt16 {
        let s = try take(2)
        return UInt16(s[s.startIndex]) | UInt16(s[s.startIndex + 1]) << 8
    }

    package mutating func u32() throws(OutOfData) -> UInt32 {
        let s = try take(4)
        return s.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    package mutating func u64() throws(OutOfData) -> UInt64 {
        let s = try take(8)
        return s.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    package mutating func f32() throws(OutOfData) -> Float { Float(bitPattern: try u32()) }

    /// A string stored as a u16 byte length and UTF-8 bytes; `nil` if the bytes are not UTF-8.
    package mutating func string16() throws(OutOfData) -> String? {
        let n = Int(try u16())
        return String(validating: try take(n), as: UTF8.self)
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

    /// A string as a u16 byte length and UTF-8 bytes (at most 65,535 bytes).
    package mutating func string16(_ s: String) {
        let utf8 = Array(s.utf8)
        precondition(utf8.count <= Int(UInt16.max), "string longer than 65,535 bytes")
        u16(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}
