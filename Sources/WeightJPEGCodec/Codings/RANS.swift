import WeightJPEGCore
/// A static range-asymmetric-numeral-system (rANS) coder over a small integer alphabet.
///
/// Byte-wise rANS after Duda and Giesen: a 32-bit state kept in `[L, 256·L)` with `L = 2²³`,
/// frequencies normalized to sum to `M = 2¹⁶`. The encoder codes symbols in reverse and emits bytes
/// that the decoder reads forwards. Stream layout (what `encode` returns): the final encoder state as
/// 4 bytes, most significant first, then the renormalization bytes in the order the decoder consumes
/// them. A decoder that ends in any state other than `L`, or runs out of bytes, or has bytes left,
/// reports a corrupt stream.
public enum RANS {
    /// Probability precision: frequencies sum to `1 << scaleBits`.
    public static let scaleBits = 16
    /// The total of a normalized frequency table.
    public static let total = 1 << scaleBits
    /// Lower bound of the normalized state.
    static let lowerBound: UInt32 = 1 << 23
    /// The largest alphabet a table may span (checked before anything is allocated).
    public static let maxAlphabet = 1 << 14

    /// A normalized frequency table over the symbols `minimum ..< minimum + frequencies.count`.
    public struct Table: Equatable, Sendable {
        /// The smallest symbol with a frequency; symbol `s` has frequency `frequencies[s − minimum]`.
        public let minimum: Int
        /// Frequency of each symbol (0 for absent ones); they sum to `RANS.total`.
        public let frequencies: [UInt32]
        /// Cumulative frequencies: `starts[i] = Σ frequencies[..<i]`.
        let starts: [UInt32]

        init(minimum: Int, frequencies: [UInt32]) {
            self.minimum = minimum
            self.frequencies = frequencies
            var s: [UInt32] = []
            s.reserveCapacity(frequencies.count)
            var acc: UInt32 = 0
            for f in frequencies { s.append(acc); acc += f }
            starts = s
        }

        /// The table for `symbols`: counts scaled to sum to `RANS.total`, every present symbol at
        /// least 1. Nil when the symbols span more than `maxAlphabet` values or `symbols` is empty.
        public init?(counting symbols: [Int32]) {
            guard let lo = symbols.min(), let hi = symbols.max(), Int(hi) - Int(lo) < RANS.maxAlphabet else { return nil }
            var counts = [Int](repeating: 0, count: Int(hi) - Int(lo) + 1)
            for s in symbols { counts[Int(s) - Int(lo)] += 1 }
            self.init(minimum: Int(lo), frequencies: Self.normalize(counts))
        }

        /// Scales counts to sum exactly to `RANS.total` keeping every non-zero count ≥ 1.
        static func normalize(_ counts: [Int]) -> [UInt32] {
            let n = counts.reduce(0, +)
            let m = RANS.total
            var f = counts.map { c -> Int in c == 0 ? 0 : max(1, Int((Double(c) * Double(m) / Double(n)).rounded())) }
            var sum = f.reduce(0, +)
            // Give the surplus or deficit to the most frequent symbols (their relative change is smallest).
            let order = f.indices.sorted { f[$0] > f[$1] }
            var k = 0
            while sum != m {
                let i = order[k % order.count]
                if sum < m { f[i] += 1; sum += 1 } else if f[i] > 1 { f[i] -= 1; sum -= 1 }
                k += 1
                if k > 64 * order.count + 4 * m { break }  // cannot happen for ≤ maxAlphabet symbols
            }
            return f.map { UInt32($0) }
        }

        /// Serialized: zigzag LEB128 minimum, LEB128 symbol count, then each frequency as LEB128.
        public func serialized() -> [UInt8] {
            var out: [UInt8] = []
            LEB128.append(minimum >= 0 ? 2 * minimum : -2 * minimum - 1, to: &out)
            LEB128.append(frequencies.count, to: &out)
            for f in frequencies { LEB128.append(Int(f), to: &out) }
            return out
        }

        /// Parses a serialized table; nil when it is malformed, spans more than `maxAlphabet`
        /// symbols, or its frequencies do not sum to `RANS.total`.
        public init?(bytes: [UInt8]) {
            var r = ByteReader(bytes)
            guard let z = try? r.varint(limit: UInt64(1) << 40 - 1), let n = try? r.varint(limit: UInt64(RANS.maxAlphabet)), n >= 1
            else { return nil }
            let minimum = z & 1 == 0 ? Int(z >> 1) : -Int(z >> 1) - 1
            var f: [UInt32] = []
            var sum: UInt64 = 0
            for _ in 0..<Int(n) {
                guard let v = try? r.varint(limit: UInt64(RANS.total)) else { return nil }
                f.append(UInt32(v))
                sum += v
            }
            guard r.atEnd, sum == UInt64(RANS.total) else { return nil }
            self.init(minimum: minimum, frequencies: f)
        }
    }

    /// Codes `symbols` (each must have a non-zero frequency in `table`).
    public static func encode(_ symbols: [Int32], table: Table) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count / 2 + 16)
        var x = lowerBound
        let shift = UInt32(scaleBits)
        for s in symbols.reversed() {
            let i = Int(s) - table.minimum
            let freq = table.frequencies[i], start = table.starts[i]
            precondition(freq > 0, "symbol \(s) has no frequency")
            let xMax = UInt64((lowerBound >> shift) << 8) * UInt64(freq)
            while UInt64(x) >= xMax {
                out.append(UInt8(x & 0xFF))
                x >>= 8
            }
            x = ((x / freq) << shift) + (x % freq) + start
        }
        for k in 0..<4 { out.append(UInt8((x >> (8 * UInt32(k))) & 0xFF)) }
        out.reverse()
        return out
    }

    /// Decodes `count` symbols of a stream made by `encode` with the same table.
    public static func decode(_ bytes: [UInt8], count: Int, table: Table) throws(CodecError) -> [Int32] {
        func corrupt(_ why: String) -> CodecError { CodecError(tensor: "", reason: "rANS stream \(why)") }
        guard bytes.count >= 4 else { throw corrupt("is shorter than its 4-byte state") }
        let mask = UInt32(total - 1), shift = UInt32(scaleBits)
        // Slot → symbol index.
        var slots = [UInt16](repeating: 0, count: total)
        for (i, f) in table.frequencies.enumerated() where f > 0 {
            let s = Int(table.starts[i])
            for k in s..<(s + Int(f)) { slots[k] = UInt16(i) }
        }
        var x = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        var pos = 4
        var out = [Int32](repeating: 0, count: count)
        let minimum = Int32(table.minimum)
        try table.frequencies.withUnsafeBufferPointer { (freqs: UnsafeBufferPointer<UInt32>) throws(CodecError) in
            try table.starts.withUnsafeBufferPointer { (starts: UnsafeBufferPointer<UInt32>) throws(CodecError) in
                for n in 0..<count {
                    guard x >= lowerBound else { throw corrupt("state fell below its bound at symbol \(n)") }
                    let i = Int(slots[Int(x & mask)])
                    out[n] = Int32(i) + minimum
                    x = freqs[i] &* (x >> shift) &+ (x & mask) &- starts[i]
                    while x < lowerBound {
                        guard pos < bytes.count else { throw corrupt("ends early at symbol \(n) of \(count)") }
                        x = (x << 8) | UInt32(bytes[pos])
                        pos += 1
                    }
                }
            }
        }
        guard pos == bytes.count else { throw corrupt("has \(bytes.count - pos) bytes after the last symbol") }
        guard x == lowerBound else { throw corrupt("does not end in the initial state (corrupt or wrong table)") }
        return out
    }
}
