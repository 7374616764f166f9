import WeightJPEG
/// A canonical Huffman coder whose code lengths are stored with the data (self-contained bytes).
///
/// Layout: `alphabetSize` varint, `count` varint, then when `count > 0`: one 4-bit code length per
/// symbol (0 = absent, 1…15; two per byte, low nibble first), then the codes, most significant
/// bit first, zero-padded to a byte.
public enum HuffmanCoder {
    static let maxLength = 15

    /// Codes `symbols` (each in `0..<alphabetSize`, `alphabetSize` ≤ 4,096).
    public static func encode(_ symbols: [Int], alphabetSize: Int) -> [UInt8] {
        precondition(alphabetSize > 0 && alphabetSize <= 4096, "Huffman alphabet must be 1…4,096 symbols")
        var w = ByteWriter()
        w.varint(alphabetSize)
        w.varint(symbols.count)
        guard !symbols.isEmpty else { return w.bytes }
        var counts = [Int](repeating: 0, count: alphabetSize)
        for s in symbols {
            precondition(s >= 0 && s < alphabetSize, "Huffman symbol \(s) outside 0..<\(alphabetSize)")
            counts[s] += 1
        }
        let lengths = codeLengths(counts)
        for i in stride(from: 0, to: alphabetSize, by: 2) {
            w.u8(UInt8(lengths[i]) | UInt8(i + 1 < alphabetSize ? lengths[i + 1] : 0) << 4)
        }
        let codes = canonicalCodes(lengths)
        var acc: UInt64 = 0, bits = 0
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count / 2)
        for s in symbols {
            acc = (acc << UInt64(lengths[s])) | UInt64(codes[s])
            bits += lengths[s]
            while bits >= 8 { bits -= 8; out.append(UInt8((acc >> UInt64(bits)) & 0xFF)) }
        }
        if bits > 0 { out.append(UInt8((acc << UInt64(8 - bits)) & 0xFF)) }
        w.append(out)
        return w.bytes
    }

    /// Decodes what `encode` wrote; `what` names the data in errors.
    public static func decode(_ bytes: [UInt8], what: String = "Huffman stream") throws(CompareError) -> [Int] {
        var r = CompactReader(bytes, what: what)
        return try decode(&r)
    }

    static func decode(_ r: inout CompactReader) throws(CompareError) -> [Int] {
        let alphabetSize = try r.varint(limit: 4096)
        guard alphabetSize > 0 else { throw r.corrupt("empty alphabet") }
        let count = try r.varint(limit: 1 << 31)
        guard count > 0 else { return [] }
        var lengths = [Int](repeating: 0, count: alphabetSize)
        for i in stride(from: 0, to: alphabetSize, by: 2) {
            let b = try r.u8()
            lengths[i] = Int(b & 0x0F)
            if i + 1 < alphabetSize { lengths[i + 1] = Int(b >> 4) } else if b >> 4 != 0 { throw r.corrupt("padding nibble set") }
        }
        // Kraft: a complete or under-full prefix code.
        var kraft = 0
        for l in lengths where l > 0 { kraft += 1 << (maxLength - l) }
        guard kraft > 0, kraft <= 1 << maxLength else { throw r.corrupt("code lengths are not a prefix code") }
        // Each symbol takes at least one bit.
        guard count <= r.remaining * 8 else { throw r.corrupt("\(count) symbols cannot fit in \(r.remaining) bytes") }
        var perLength = [Int](repeating: 0, count: maxLength + 1)
        for l in lengths where l > 0 { perLength[l] += 1 }
        let sorted = (0..<alphabetSize).filter { lengths[$0] > 0 }.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        var first = [Int](repeating: 0, count: maxLength + 2), offset = [Int](repeating: 0, count: maxLength + 2)
        var code = 0, index = 0
        for l in 1...maxLength {
            first[l] = code; offset[l] = index
            code = (code + perLength[l]) << 1
            index += perLength[l]
        }
        let data = try r.take(r.remaining)
        var out = [Int](repeating: 0, count: count)
        var bitPos = 0
        let totalBits = data.count * 8
        for i in 0..<count {
            var c = 0, l = 0
            while true {
                guard bitPos < totalBits else { throw r.corrupt("bit stream ends inside symbol \(i)") }
                c = (c << 1) | Int((data[bitPos >> 3] >> (7 - UInt8(bitPos & 7))) & 1)
                bitPos += 1; l += 1
                if c - first[l] < perLength[l] { out[i] = sorted[offset[l] + c - first[l]]; break }
                guard l < maxLength else { throw r.corrupt("invalid code in symbol \(i)") }
            }
        }
        return out
    }

    /// Huffman code lengths for `counts`, at most `maxLength` bits (counts are flattened and the
    /// code rebuilt until the limit holds). A single present symbol gets length 1.
    static func codeLengths(_ counts: [Int]) -> [Int] {
        var weights = counts
        while true {
            let present = weights.indices.filter { weights[$0] > 0 }
            var lengths = [Int](repeating: 0, count: counts.count)
            if present.count == 1 { lengths[present[0]] = 1; return lengths }
            // Nodes: leaves then internal; repeatedly merge the two lightest.
            var weight = present.map { weights[$0] }
            var parent = [Int](repeating: -1, count: present.count)
            var active = Array(0..<present.count)
            while active.count > 1 {
                active.sort { (weight[$0], $0) < (weight[$1], $1) }
                let a = active.removeFirst(), b = active.removeFirst()
                let node = weight.count
                weight.append(weight[a] + weight[b]); parent.append(-1)
                parent[a] = node; parent[b] = node
                active.append(node)
            }
            var longest = 0
            for (i, s) in present.enumerated() {
                var d = 0, n = i
                while parent[n] >= 0 { n = parent[n]; d += 1 }
                lengths[s] = d
                longest = max(longest, d)
            }
            if longest <= maxLength { return lengths }
            weights = weights.map { $0 == 0 ? 0 : $0 / 2 + 1 }
        }
    }

    /// Canonical codes for `lengths` (shorter codes first, ties by symbol).
    static func canonicalCodes(_ lengths: [Int]) -> [Int] {
        var codes = [Int](repeating: 0, count: lengths.count)
        let sorted = lengths.indices.filter { lengths[$0] > 0 }.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        var code = 0, previous = 0
        for s in sorted {
            code <<= (lengths[s] - previous)
            codes[s] = code
            code += 1
            previous = lengths[s]
        }
        return codes
    }
}
