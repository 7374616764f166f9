/// A static rANS entropy coder (Duda's range variant of asymmetric numeral systems, byte-wise
/// renormalisation as in Giesen's `rans_byte`) whose frequency model is stored with the data, so
/// the bytes are self-contained.
///
/// Layout: `alphabetSize` varint, `count` varint, then when `count > 0`: the number of present
/// symbols (varint), for each present symbol the gap to the previous present symbol (varint) and
/// its frequency out of 2^14 (varint), then the 32-bit final state (big-endian) and the
/// renormalisation bytes.
public enum RANSCoder {
    /// Frequencies are normalised to sum to `1 << scaleBits`.
    static let scaleBits: UInt32 = 14
    static let total = 1 << 14
    /// Lower bound of the coder state.
    static let lowerBound: UInt32 = 1 << 23

    /// Codes `symbols` (each in `0..<alphabetSize`, `alphabetSize` ≤ 4,096).
    public static func encode(_ symbols: [Int], alphabetSize: Int) -> [UInt8] {
        precondition(alphabetSize > 0 && alphabetSize <= 4096, "rANS alphabet must be 1…4,096 symbols")
        var w = CompactWriter()
        w.varint(alphabetSize)
        w.varint(symbols.count)
        guard !symbols.isEmpty else { return w.bytes }
        var counts = [Int](repeating: 0, count: alphabetSize)
        for s in symbols {
            precondition(s >= 0 && s < alphabetSize, "rANS symbol \(s) outside 0..<\(alphabetSize)")
            counts[s] += 1
        }
        let freq = normalized(counts)
        let present = (0..<alphabetSize).filter { freq[$0] > 0 }
        w.varint(present.count)
        var previous = -1
        for s in present {
            w.varint(s - previous - 1)
            w.varint(freq[s])
            previous = s
        }
        var start = [UInt32](repeating: 0, count: alphabetSize)
        var acc: UInt32 = 0
        for s in 0..<alphabetSize { start[s] = acc; acc += UInt32(freq[s]) }

        var out: [UInt8] = []
        out.reserveCapacity(symbols.count / 2 + 16)
        var x = lowerBound
        for s in symbols.reversed() {
            let f = UInt32(freq[s])
            let xMax = ((lowerBound >> scaleBits) << 8) * f
            while x >= xMax { out.append(UInt8(x & 0xFF)); x >>= 8 }
            x = ((x / f) << scaleBits) + (x % f) + start[s]
        }
        for i in 0..<4 { out.append(UInt8((x >> (8 * UInt32(i))) & 0xFF)) }
        w.append(out.reversed())
        return w.bytes
    }

    /// Decodes what `encode` wrote; `what` names the data in errors.
    public static func decode(_ bytes: [UInt8], what: String = "rANS stream") throws(CompareError) -> [Int] {
        var r = CompactReader(bytes, what: what)
        return try decode(&r)
    }

    static func decode(_ r: inout CompactReader) throws(CompareError) -> [Int] {
        let alphabetSize = try r.varint(limit: 4096)
        guard alphabetSize > 0 else { throw r.corrupt("empty alphabet") }
        let count = try r.varint(limit: 1 << 31)
        guard count > 0 else { return [] }
        let presentCount = try r.varint(limit: alphabetSize)
        guard presentCount > 0 else { throw r.corrupt("no symbol has a frequency") }
        var freq = [UInt32](repeating: 0, count: alphabetSize)
        var symbol = -1, sum = 0
        for _ in 0..<presentCount {
            symbol += try r.varint(limit: alphabetSize) + 1
            guard symbol < alphabetSize else { throw r.corrupt("symbol \(symbol) outside the alphabet of \(alphabetSize)") }
            let f = try r.varint(limit: total)
            guard f > 0 else { throw r.corrupt("zero frequency") }
            freq[symbol] = UInt32(f)
            sum += f
        }
        guard sum == total else { throw r.corrupt("frequencies sum to \(sum), not \(total)") }
        var start = [UInt32](repeating: 0, count: alphabetSize)
        var lookup = [UInt16](repeating: 0, count: total)
        var acc = 0
        for s in 0..<alphabetSize {
            start[s] = UInt32(acc)
            for slot in acc..<(acc + Int(freq[s])) { lookup[slot] = UInt16(s) }
            acc += Int(freq[s])
        }
        // Every symbol costs at least log2(total / maxFrequency) bits; a single symbol of
        // frequency `total` costs nothing, so bound corrupt counts only by a generous cap.
        guard count <= max(1 << 20, (r.remaining + 1) * total * 8) else { throw r.corrupt("count \(count) impossible for \(r.remaining) bytes") }
        var x: UInt32 = 0
        for _ in 0..<4 { x = (x << 8) | UInt32(try r.u8()) }
        guard x >= lowerBound, x < lowerBound << 8 else { throw r.corrupt("bad initial state") }
        var out = [Int](repeating: 0, count: count)
        let mask = UInt32(total - 1)
        for i in 0..<count {
            let slot = x & mask
            let s = Int(lookup[Int(slot)])
            out[i] = s
            x = freq[s] * (x >> scaleBits) + slot - start[s]
            while x < lowerBound { x = (x << 8) | UInt32(try r.u8()) }
        }
        return out
    }

    /// Counts scaled to sum to `total`, every present symbol at least 1.
    static func normalized(_ counts: [Int]) -> [Int] {
        let sum = counts.reduce(0, +)
        var f = counts.map { c -> Int in c == 0 ? 0 : max(1, Int((Double(c) * Double(total) / Double(sum)).rounded())) }
        var s = f.reduce(0, +)
        while s != total {
            // Adjust the largest frequency (the cheapest place to take or give a slot).
            var best = 0
            for i in f.indices where f[i] > f[best] { best = i }
            if s > total {
                let take = min(s - total, f[best] - 1)
                f[best] -= take; s -= take
                if take == 0 { break }
            } else {
                f[best] += total - s; s = total
            }
        }
        precondition(s == total, "rANS: more present symbols than frequency slots")
        return f
    }
}
