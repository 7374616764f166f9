import WeightJPEG

/// The project's `ByteReader` over a baseline's bytes, with every failure reported as
/// `CompareError.corrupt` naming what is being read (the writers use `ByteWriter` directly).
package struct CompactReader {
    private var reader: ByteReader
    /// What is being read (for errors).
    let what: String

    init<C: Collection>(_ bytes: C, what: String) where C.Element == UInt8 {
        reader = ByteReader(Array(bytes))
        self.what = what
    }

    var remaining: Int { reader.remaining }

    func corrupt(_ reason: String) -> CompareError { .corrupt(what: what, reason: "\(reason) at byte \(reader.offset)") }

    private mutating func read<T>(_ body: (inout ByteReader) throws(ByteReader.Failure) -> T) throws(CompareError) -> T {
        do { return try body(&reader) } catch { throw .corrupt(what: what, reason: error.description) }
    }

    mutating func u8() throws(CompareError) -> UInt8 { try read { r throws(ByteReader.Failure) in try r.u8() } }
    mutating func half() throws(CompareError) -> Float { try read { r throws(ByteReader.Failure) in try r.f16() } }
    mutating func halves(_ n: Int) throws(CompareError) -> [Float] { try read { r throws(ByteReader.Failure) in try r.f16s(n) } }
    mutating func take(_ n: Int) throws(CompareError) -> [UInt8] { try read { r throws(ByteReader.Failure) in Array(try r.take(n)) } }
    mutating func block() throws(CompareError) -> [UInt8] { try read { r throws(ByteReader.Failure) in Array(try r.lengthPrefixed()) } }

    /// A varint of at most `limit`.
    mutating func varint(limit: Int = 1 << 40) throws(CompareError) -> Int {
        try read { r throws(ByteReader.Failure) in Int(try r.varint(limit: UInt64(limit))) }
    }
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
