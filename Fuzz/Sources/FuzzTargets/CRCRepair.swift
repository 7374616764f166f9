/// Rewrites the CRC-32s of a `.wjpg` (header, then every payload record it can walk) so mutated
/// inputs get past the checksums. Walks the header as docs/FORMAT.md lays it out; stops quietly at
/// the first thing that does not fit.
enum CRCRepair {
    static func repaired(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        guard bytes.count >= 16 else { return bytes }
        let headerLength = Int(le(bytes, 8, 4))
        guard headerLength <= bytes.count - 16 else { return bytes }
        let headerStart = 16, areaStart = 16 + headerLength
        var p = headerStart
        let end = areaStart
        func need(_ n: Int) -> Bool { p + n <= end }
        walk: do {
            guard need(5) else { break walk }
            p += 1
            let metaCount = Int(le(bytes, p, 4)); p += 4
            for _ in 0..<min(metaCount, 100_000) {
                guard need(2) else { break walk }
                p += 2 + Int(le(bytes, p, 2))
                guard need(4) else { break walk }
                p += 4 + Int(le(bytes, p, 4))
            }
            guard need(4) else { break walk }
            let count = Int(le(bytes, p, 4)); p += 4
            for _ in 0..<min(count, 100_000) {
                for _ in 0..<2 { guard need(2) else { break walk }; p += 2 + Int(le(bytes, p, 2)) }
                guard need(1) else { break walk }
                let rank = Int(bytes[p]); p += 1 + 8 * rank
                guard need(5) else { break walk }
                p += 1
                p += 4 + Int(le(bytes, p, 4))
                guard need(4) else { break walk }
                let payloads = Int(le(bytes, p, 4)); p += 4
                for _ in 0..<min(payloads, 100_000) {
                    guard need(20) else { break walk }
                    let offset = le(bytes, p, 8), length = le(bytes, p + 8, 8)
                    let area = UInt64(bytes.count - areaStart)
                    if length <= area, offset <= area - length {
                        let a = areaStart + Int(offset)
                        put(&bytes, p + 16, crc32(bytes[a..<(a + Int(length))]))
                    }
                    p += 20
                }
            }
        }
        put(&bytes, 12, crc32(bytes[headerStart..<areaStart]))
        return bytes
    }

    static func le(_ b: [UInt8], _ at: Int, _ n: Int) -> UInt64 {
        (0..<n).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(b[at + $1]) }
    }

    static func put(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { b[at + i] = UInt8((v >> (8 * UInt32(i))) & 0xFF) }
    }
}

/// CRC-32 (IEEE, reflected, as zlib), the container's checksum (the library's is internal).
let crcTable: [UInt32] = (0..<256).map { n in
    (0..<8).reduce(UInt32(n)) { c, _ in c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
}

func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    ~bytes.reduce(~UInt32(0)) { crcTable[Int(($0 ^ UInt32($1)) & 0xFF)] ^ ($0 >> 8) }
}
