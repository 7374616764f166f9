import WeightJPEG
/// Self-describing rANS-coded symbol arrays for the baselines: the codec's `RANS` coder with its
/// frequency table stored next to the data, so the bytes stand alone.
///
/// Layout: `alphabetSize` varint, `count` varint, then when `count > 0`: the serialized
/// `RANS.Table` as a block (varint length + bytes), then the rANS stream up to the end.
public enum RANSCoder {
    /// Codes `symbols` (each in `0..<alphabetSize`, `alphabetSize` ≤ `RANS.maxAlphabet`).
    public static func encode(_ symbols: [Int], alphabetSize: Int) -> [UInt8] {
        precondition(alphabetSize > 0 && alphabetSize <= RANS.maxAlphabet, "rANS alphabet must be 1…\(RANS.maxAlphabet) symbols")
        var w = ByteWriter()
        w.varint(alphabetSize)
        w.varint(symbols.count)
        guard !symbols.isEmpty else { return w.bytes }
        precondition(symbols.allSatisfy { $0 >= 0 && $0 < alphabetSize }, "rANS symbol outside 0..<\(alphabetSize)")
        let s32 = symbols.map { Int32($0) }
        let table = RANS.Table(counting: s32)!
        w.lengthPrefixed(table.serialized())
        w.append(RANS.encode(s32, table: table))
        return w.bytes
    }

    /// Decodes what `encode` wrote; `what` names the data in errors.
    public static func decode(_ bytes: [UInt8], what: String = "rANS stream") throws(CompareError) -> [Int] {
        var r = CompactReader(bytes, what: what)
        return try decode(&r)
    }

    static func decode(_ r: inout CompactReader) throws(CompareError) -> [Int] {
        let alphabetSize = try r.varint(limit: RANS.maxAlphabet)
        guard alphabetSize > 0 else { throw r.corrupt("empty alphabet") }
        let count = try r.varint(limit: 1 << 31)
        guard count > 0 else { return [] }
        guard let table = RANS.Table(bytes: try r.block()) else { throw r.corrupt("malformed frequency table") }
        guard table.minimum >= 0, table.minimum + table.frequencies.count <= alphabetSize else {
            throw r.corrupt("frequency table outside the alphabet of \(alphabetSize)")
        }
        // A symbol of frequency `total` costs nothing, so bound corrupt counts by a generous cap
        // before allocating the output.
        guard count <= max(1 << 20, (r.remaining + 1) * RANS.total * 8) else {
            throw r.corrupt("count \(count) impossible for \(r.remaining) bytes")
        }
        let stream = try r.take(r.remaining)
        do {
            return try RANS.decode(stream, count: count, table: table).map { Int($0) }
        } catch {
            throw r.corrupt(error.reason)
        }
    }
}
