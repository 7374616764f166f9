import WeightJPEGCore
/// The entropy-coding layer of `EntropyTrellis`: a 32-bit rANS state with 16-bit renormalization and
/// 12-bit probabilities, symmetric per-class tables over *signed tokens*, and the token/extra-bit
/// binarisation of a quantized magnitude. Everything here is integer arithmetic, so encoder and
/// decoder agree bit for bit on every platform. docs/FORMAT.md §5.5 is the spec.
enum TrellisRANS {
    /// Probability precision: frequencies of a table sum to `1 << probBits`.
    static let probBits: UInt32 = 12
    /// `M`, the total of a table.
    static let total: UInt32 = 1 << probBits
    /// Lower bound `L` of the state; the state stays in `[L, 2³²)`.
    static let lowerBound: UInt32 = 1 << 16
    /// The largest frequency any symbol may have (`M − 6`): every symbol then costs at least
    /// 0.00198 bits, so a valid stream of `n` symbols has more than `n / 4040` bytes.
    static let maxFrequency: UInt32 = 4090
    /// Symbols a valid chunk can hold per payload byte (checked before decoding).
    static let maxSymbolsPerByte = 4040

    // MARK: Binarisation

    /// Magnitudes below this are their own token.
    static let exactTokens = 32
    /// Magnitude tokens (0…127); token 127 covers magnitudes up to `maxMagnitude`.
    static let magnitudeTokens = 128
    /// The largest quantized magnitude: `2¹⁷ − 1`.
    static let maxMagnitude: Int32 = (1 << 17) - 1

    /// Token, extra-bit count and extra bits of magnitude `m` (0 ≤ m ≤ maxMagnitude): `m < 32` is
    /// its own token; above, `e = ⌊log2 m⌋`, token `32 + 8(e − 5) + (3 bits below the leading one)`,
    /// and the `e − 3` low bits are sent as they are.
    @inline(__always)
    static func token(_ m: UInt32) -> (token: UInt32, bits: UInt32, extra: UInt32) {
        if m < 32 { return (m, 0, 0) }
        let e = UInt32(31 - m.leadingZeroBitCount)
        let nb = e - 3
        return (32 + (e - 5) * 8 + ((m >> nb) & 7), nb, m & ((1 << nb) - 1))
    }

    /// The signed token of `q`: 0 for 0, `2t − 1` for `+m`, `2t` for `−m` (t = token of m), ≤ 254.
    @inline(__always)
    static func signedToken(_ t: UInt32, negative: Bool) -> Int { t == 0 ? 0 : Int(2 * t) - (negative ? 0 : 1) }

    // MARK: Tables

    /// A symmetric table: `g[0]` slots for token 0, `g[t]` for each of `+t` and `−t` (t ≥ 1);
    /// `g[0] + 2·Σg[t≥1] = M`.
    struct Table: Equatable {
        /// Magnitude-token frequencies (count = T, 2…128).
        var g: [UInt32]

        /// Frequencies for the magnitude-token `counts` (both signs counted together); nil when
        /// every count is 0. Every present token gets a non-zero frequency, token 0 at most
        /// `maxFrequency`.
        init?(counts: [Int]) {
            let n = counts.reduce(0, +)
            guard n > 0, let last = counts.lastIndex(where: { $0 > 0 }) else { return nil }
            let m = Double(total)
            var g = [Int](repeating: 0, count: max(last + 1, 2))
            for t in 0...last where counts[t] > 0 {
                if t == 0 {
                    g[0] = max(2, 2 * Int((Double(counts[0]) * m / Double(2 * n)).rounded()))
                } else {
                    g[t] = max(1, Int((Double(counts[t]) * m / Double(2 * n)).rounded()))
                }
            }
            // Fix the total in units of 2 slots, largest entries first (smallest relative change).
            var sum = g[0] + 2 * g.dropFirst().reduce(0, +)
            let order = g.indices.filter { g[$0] > 0 }.sorted { g[$0] > g[$1] }
            var k = 0
            while sum != Int(total) && k < 64 * order.count + 8192 {
                let i = order[k % order.count]
                let unit = i == 0 ? 2 : 1, floor = i == 0 ? 2 : 1
                if sum < Int(total) { g[i] += unit; sum += 2 } else if g[i] - unit >= floor { g[i] -= unit; sum -= 2 }
                k += 1
            }
            precondition(sum == Int(total), "table normalization did not converge")
            if g[0] > Int(maxFrequency) {
                let excess = g[0] - Int(maxFrequency)   // even
                g[0] = Int(maxFrequency)
                // Give the slots to the most frequent non-zero token (token 1 when none is present).
                let j = (1..<g.count).max { g[$0] < g[$1] } ?? 1
                g[j] += excess / 2
            }
            while g.count > 2 && g[g.count - 1] == 0 { g.removeLast() }
            self.g = g.map { UInt32($0) }
        }

        init(validated g: [UInt32]) { self.g = g }

        /// Parses `T` and its frequencies (bytes as in the spec); nil when malformed.
        static func parse(_ r: inout ByteReader) -> Table?? {
            guard let t = try? r.u8() else { return nil }
            if t == 0 { return .some(nil) }
            guard t >= 2, Int(t) <= magnitudeTokens else { return nil }
            var g: [UInt32] = []
            g.reserveCapacity(Int(t))
            var sum: UInt32 = 0
            for i in 0..<Int(t) {
                guard let v = try? r.varint(limit: UInt64(i == 0 ? maxFrequency : total / 2)) else { return nil }
                g.append(UInt32(v))
                sum += i == 0 ? UInt32(v) : 2 * UInt32(v)
                guard sum <= total else { return nil }
            }
            guard sum == total else { return nil }
            return .some(Table(validated: g))
        }

        func serialize(into out: inout [UInt8]) {
            out.append(UInt8(g.count))
            for v in g { LEB128.append(Int(v), to: &out) }
        }

        /// Per signed token: frequency and start (encoder side), 255 entries.
        func encoderEntries() -> (freq: [UInt32], start: [UInt32]) {
            var f = [UInt32](repeating: 0, count: 256), s = [UInt32](repeating: 0, count: 256)
            var acc: UInt32 = 0
            f[0] = g[0]; s[0] = 0; acc = g[0]
            for t in 1..<g.count {
                f[2 * t - 1] = g[t]; s[2 * t - 1] = acc; acc += g[t]
                f[2 * t] = g[t]; s[2 * t] = acc; acc += g[t]
            }
            return (f, s)
        }

        /// The decoder's table, 1,280 words (5 KiB, so many classes stay in L1/L2): the signed token of
        /// each of the `M` slots as bytes, then per signed token `freq | start << 16` (256 entries).
        static let decoderWords = 1280

        func fillDecoder(_ table: UnsafeMutablePointer<UInt32>) {
            let symbols = UnsafeMutableRawPointer(table).assumingMemoryBound(to: UInt8.self)
            let entries = table + 1024
            var slot: UInt32 = 0
            func run(_ s: UInt32, _ f: UInt32) {
                entries[Int(s)] = f | (slot << 16)
                for k in 0..<f { symbols[Int(slot + k)] = UInt8(s) }
                slot += f
            }
            run(0, g[0])
            for t in 1..<g.count {
                run(UInt32(2 * t - 1), g[t])
                run(UInt32(2 * t), g[t])
            }
        }

        /// Estimated serialized size in bytes.
        var byteCount: Int { 1 + g.reduce(0) { $0 + ($1 < 128 ? 1 : 2) } }
    }
}
