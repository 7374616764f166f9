import Foundation
import WeightJPEGCore
import WeightJPEGFormats

extension EntropyTrellis {
    // MARK: Decoding

    /// A decoder's prepared state: the parsed model and decode tables (scratch: 16 KiB per used
    /// class, at most 64 classes, so ≤ 1 MiB). Immutable once built; chunks may share it across threads.
    package final class Prepared: @unchecked Sendable {
        let step: Float
        let rows: Int, columns: Int, rowsPerChunk: Int
        let rowClass: [UInt8]
        let columnShift: [Int8]
        let classes: Int
        let quantizers: Int
        /// Per table (`classes × quantizers`, class-major): `M` slot → signed token bytes, and
        /// 256 `freq | start << 16` entries (unused classes stay zero and are never reached).
        let symbols: UnsafeMutablePointer<UInt8>
        let entries: UnsafeMutablePointer<UInt32>
        /// The number of chunk payloads expected.
        package let chunks: Int

        init(step: Float, rows: Int, columns: Int, rowsPerChunk: Int, rowClass: [UInt8], columnShift: [Int8], tables: [TrellisRANS.Table?],
             quantizers: Int) {
            self.step = step; self.rows = rows; self.columns = columns; self.rowsPerChunk = rowsPerChunk
            self.rowClass = rowClass; self.columnShift = columnShift; self.classes = tables.count / quantizers
            self.quantizers = quantizers
            chunks = (rows - 1) / rowsPerChunk + 1
            let m = Int(TrellisRANS.total)
            symbols = .allocate(capacity: tables.count * m)
            symbols.initialize(repeating: 0, count: tables.count * m)
            entries = .allocate(capacity: tables.count * 256)
            entries.initialize(repeating: 0, count: tables.count * 256)
            for (k, t) in tables.enumerated() { t?.fillDecoder(symbols: symbols + k * m, entries: entries + k * 256) }
        }
        deinit { symbols.deallocate(); entries.deallocate() }

        /// The rows chunk `index` covers.
        package func rowRange(chunk index: Int) -> Range<Int> {
            let r0 = index * rowsPerChunk
            return r0..<min(rows, r0 + rowsPerChunk)
        }
    }

    /// Parses the parameters and the model payload (payload 0) and builds the decode tables.
    /// Checks, before allocating anything of the tensor's size, that the model payload holds the
    /// row and column classes it claims.
    package static func prepare(parameters p: EntropyTrellisParameters, model: [UInt8], rows: Int, columns: Int) throws(CodecError) -> Prepared {
        guard rows >= 1, columns >= 1, rows <= Int(Int32.max), columns <= Int(Int32.max) else { throw CodecError(tensor: "", reason: "shape \(rows)×\(columns) is not valid") }
        let quantizers = p.dependent ? 2 : 1
        return try model.withUnsafeBufferPointer { (buf) throws(CodecError) -> Prepared in
            var r = ByteReader(model)
            guard let k8 = try? r.u8(), let rb8 = try? r.u8(), let cb8 = try? r.u8() else { throw CodecError(tensor: "", reason: "model payload is truncated") }
            let k = Int(k8), rowBits = Int(rb8), columnBits = Int(cb8)
            guard (1...maxClasses).contains(k) else { throw CodecError(tensor: "", reason: "\(k) classes (1…\(maxClasses) allowed)") }
            guard rowBits <= 6, columnBits <= 7 else { throw CodecError(tensor: "", reason: "row/column class widths \(rowBits)/\(columnBits) exceed 6/7 bits") }
            var tables: [TrellisRANS.Table?] = []
            for i in 0..<(k * quantizers) {
                guard let t = TrellisRANS.Table.parse(&r) else { throw CodecError(tensor: "", reason: "class table \(i) is malformed") }
                tables.append(t)
            }
            // Exact size of the packed classes, checked before the arrays are allocated.
            let (rowTotal, o1) = rows.multipliedReportingOverflow(by: rowBits)
            let (colTotal, o2) = columns.multipliedReportingOverflow(by: columnBits)
            guard !o1, !o2, (rowTotal + colTotal + 7) / 8 == r.remaining else {
                throw CodecError(tensor: "", reason: "model payload has \(r.remaining) bytes of classes, expected \((rowTotal + colTotal + 7) / 8)")
            }
            var unpacker = BitUnpacker(buf, offset: r.offset)
            var rowClass = [UInt8](repeating: 0, count: rows)
            if rowBits > 0 {
                for i in 0..<rows {
                    let v = unpacker.get(bits: rowBits)
                    guard v < UInt32(k) else { throw CodecError(tensor: "", reason: "row \(i) has class \(v) of \(k)") }
                    rowClass[i] = UInt8(v)
                }
            }
            var shift = [Int8](repeating: 0, count: columns)
            if columnBits > 0 {
                for i in 0..<columns {
                    let z = unpacker.get(bits: columnBits)
                    let s = z & 1 == 0 ? Int(z >> 1) : -Int((z + 1) >> 1)
                    guard abs(s) < k else { throw CodecError(tensor: "", reason: "column \(i) has shift \(s) with \(k) classes") }
                    shift[i] = Int8(s)
                }
            }
            guard unpacker.paddingIsZero() else { throw CodecError(tensor: "", reason: "model payload padding bits are not zero") }
            // Every class an element can reach must have a table.
            var rowSeen = [Bool](repeating: false, count: k), shiftSeen = [Bool](repeating: false, count: 2 * k)
            for c in rowClass { rowSeen[Int(c)] = true }
            for s in shift { shiftSeen[Int(s) + k] = true }
            for a in 0..<k where rowSeen[a] {
                for b in 0..<(2 * k) where shiftSeen[b] {
                    let cls = min(max(a + b - k, 0), k - 1)
                    for qz in 0..<quantizers {
                        guard tables[cls * quantizers + qz] != nil else { throw CodecError(tensor: "", reason: "class \(cls) is used but has no table") }
                    }
                }
            }
            return Prepared(step: p.step, rows: rows, columns: columns, rowsPerChunk: p.rowsPerChunk, rowClass: rowClass,
                            columnShift: shift, tables: tables, quantizers: quantizers)
        }
    }

    /// Decodes chunk `index` (payload `index + 1`) into the rows `prepared.rowRange(chunk:)` of
    /// `output` (the whole tensor's buffer, `rows × columns`). Work is bounded: the chunk is
    /// rejected before decoding if it claims more than 4,040 elements per byte, and each element
    /// takes at most three rANS steps.
    package static func decodeChunk(_ bytes: [UInt8], index: Int, prepared pr: Prepared,
                                   into output: UnsafeMutableBufferPointer<Float>) throws(CodecError) {
        guard output.count == pr.rows * pr.columns else { throw CodecError(tensor: "", reason: "output has \(output.count) elements, expected \(pr.rows * pr.columns)") }
        guard (0..<pr.chunks).contains(index) else { throw CodecError(tensor: "", reason: "chunk \(index) of \(pr.chunks)") }
        let range = pr.rowRange(chunk: index)
        let count = range.count * pr.columns
        guard bytes.count >= 4, bytes.count % 2 == 0 else { throw CodecError(tensor: "", reason: "chunk \(index) has \(bytes.count) bytes (even, ≥ 4 expected)") }
        let (cap, overflow) = bytes.count.multipliedReportingOverflow(by: TrellisRANS.maxSymbolsPerByte)
        guard overflow || count <= cap else { throw CodecError(tensor: "", reason: "chunk \(index): \(count) elements cannot come from \(bytes.count) bytes") }
        let ok: Bool = bytes.withUnsafeBufferPointer { b in
            pr.rowClass.withUnsafeBufferPointer { rcs in
                pr.columnShift.withUnsafeBufferPointer { css in
                    pr.quantizers == 2
                        ? decodeDependent(b, rows: range, columns: pr.columns, rowClass: rcs, shift: css, classes: pr.classes,
                                          symbols: pr.symbols, entries: pr.entries, step: pr.step, out: output.baseAddress!)
                        : decodePlain(b, rows: range, columns: pr.columns, rowClass: rcs, shift: css, classes: pr.classes,
                                      symbols: pr.symbols, entries: pr.entries, step: pr.step, out: output.baseAddress!)
                }
            }
        }
        guard ok else { throw CodecError(tensor: "", reason: "chunk \(index) is corrupt (ends early, has bytes left, or ends in the wrong state)") }
    }

    /// The hot loop of plain (mode 0) chunks: `decodeLoop` specialized.
    @inline(never)
    static func decodePlain(_ b: UnsafeBufferPointer<UInt8>, rows: Range<Int>, columns: Int, rowClass: UnsafeBufferPointer<UInt8>,
                            shift: UnsafeBufferPointer<Int8>, classes: Int, symbols: UnsafeMutablePointer<UInt8>, entries: UnsafeMutablePointer<UInt32>,
                            step: Float, out: UnsafeMutablePointer<Float>) -> Bool {
        decodeLoop(b, rows: rows, columns: columns, rowClass: rowClass, shift: shift, classes: classes, symbols: symbols, entries: entries,
                   step: step, out: out, dependent: false)
    }

    /// The hot loop of trellis (mode 1) chunks: `decodeLoop` specialized.
    @inline(never)
    static func decodeDependent(_ b: UnsafeBufferPointer<UInt8>, rows: Range<Int>, columns: Int, rowClass: UnsafeBufferPointer<UInt8>,
                                shift: UnsafeBufferPointer<Int8>, classes: Int, symbols: UnsafeMutablePointer<UInt8>, entries: UnsafeMutablePointer<UInt32>,
                                step: Float, out: UnsafeMutablePointer<Float>) -> Bool {
        decodeLoop(b, rows: rows, columns: columns, rowClass: rowClass, shift: shift, classes: classes, symbols: symbols, entries: entries,
                   step: step, out: out, dependent: true)
    }

    /// Decodes one chunk's rows; false on corrupt input (output for the chunk's rows may then be
    /// partly written). `dependent` selects the table by trellis state and maps indices to
    /// reconstructions `2m − (state ≥ 2)`; inlined into the two callers so each loop is specialized.
    @inline(__always)
    static func decodeLoop(_ b: UnsafeBufferPointer<UInt8>, rows: Range<Int>, columns: Int, rowClass: UnsafeBufferPointer<UInt8>,
                           shift: UnsafeBufferPointer<Int8>, classes: Int, symbols: UnsafeMutablePointer<UInt8>, entries: UnsafeMutablePointer<UInt32>,
                           step: Float, out: UnsafeMutablePointer<Float>, dependent: Bool) -> Bool {
        let p = b.baseAddress!
        let end = b.count
        var x = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
        guard x >= TrellisRANS.lowerBound else { return false }
        var pos = 4
        let mask: UInt32 = TrellisRANS.total - 1
        let lower = TrellisRANS.lowerBound
        let kMax = classes - 1
        let useShift = shift.contains { $0 != 0 }
        var state: UInt32 = 0
        for r in rows {
            let rc = Int(rowClass[r])
            let o = out + r * columns
            for c in 0..<columns {
                let cls = useShift ? min(max(rc + Int(shift[c]), 0), kMax) : rc
                let table = dependent ? 2 &* cls &+ Int(state >> 1) : cls
                let slot = x & mask
                let sym = symbols[table &<< 12 | Int(slot)]
                let e = entries[table &<< 8 | Int(sym)]
                x = (e & 0xFFFF) &* (x >> 12) &+ slot &- (e >> 16)
                if x < lower {
                    guard pos + 2 <= end else { return false }
                    x = (x << 16) | UInt32(p[pos]) | UInt32(p[pos + 1]) << 8
                    pos += 2
                }
                let s = UInt32(sym)
                if s == 0 {
                    o[c] = 0
                    if dependent { state = TrellisQuantizer.next(state, parity: 0) }
                    continue
                }
                let t = (s + 1) >> 1
                var m = t
                if t >= 32 {
                    guard let full = TrellisRANS.magnitude(token: t, x: &x, p: p, pos: &pos, end: end) else { return false }
                    m = full
                }
                let v = Float(dependent ? 2 * m - (state >> 1) : m) * step
                o[c] = s & 1 == 1 ? v : -v
                if dependent { state = TrellisQuantizer.next(state, parity: m & 1) }
            }
        }
        return pos == end && x == lower
    }

    /// Decodes every chunk into `output` (`rows × columns`, row-major). Before the tables are
    /// built, the payload count and every chunk's size are checked (more than 4,040 elements per
    /// chunk byte is corrupt). A tensor of at least 2²⁰ elements in several chunks is decoded on
    /// several threads (the chunks are independent streams writing disjoint rows).
    package static func decode(_ payloads: [[UInt8]], parameters p: EntropyTrellisParameters, rows: Int, columns: Int,
                               into output: UnsafeMutableBufferPointer<Float>) throws(CodecError) {
        guard let model = payloads.first else { throw CodecError(tensor: "", reason: "entropy-trellis tensor has no payloads") }
        let (n, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, rows >= 1, columns >= 1, output.count == n else {
            throw CodecError(tensor: "", reason: "output has \(output.count) elements for \(rows)×\(columns)")
        }
        let chunks = p.chunkCount(rows: rows)
        guard payloads.count == chunks + 1 else {
            throw CodecError(tensor: "", reason: "entropy-trellis tensor has \(payloads.count) payloads, expected \(chunks + 1) (model + \(chunks) chunks)")
        }
        for i in 0..<chunks {
            let rowsIn = min(rows, (i + 1) * p.rowsPerChunk) - i * p.rowsPerChunk
            let (cap, o) = payloads[i + 1].count.multipliedReportingOverflow(by: TrellisRANS.maxSymbolsPerByte)
            guard o || rowsIn * columns <= cap else {
                throw CodecError(tensor: "", reason: "chunk \(i): \(rowsIn * columns) elements cannot come from \(payloads[i + 1].count) bytes")
            }
        }
        let prepared = try prepare(parameters: p, model: model, rows: rows, columns: columns)
        guard chunks > 1, n >= 1 << 20 else {
            for i in 0..<chunks { try decodeChunk(payloads[i + 1], index: i, prepared: prepared, into: output) }
            return
        }
        let failures = ChunkFailures()
        // Each chunk writes only its own rows of the buffer.
        nonisolated(unsafe) let shared = output
        DispatchQueue.concurrentPerform(iterations: chunks) { i in
            do throws(CodecError) {
                try decodeChunk(payloads[i + 1], index: i, prepared: prepared, into: shared)
            } catch {
                failures.record(index: i, error)
            }
        }
        if let first = failures.first { throw first }
    }

    /// `decode` into a new array. Refuses, before allocating, more than 4,040 elements per byte of
    /// the chunk payloads.
    package static func decode(_ payloads: [[UInt8]], parameters: EntropyTrellisParameters, rows: Int, columns: Int) throws(CodecError) -> [Float] {
        let (n, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, rows >= 1, columns >= 1 else { throw CodecError(tensor: "", reason: "shape \(rows)×\(columns) is not valid") }
        let bytes = payloads.dropFirst().reduce(0) { $0 + $1.count }
        guard n <= bytes * TrellisRANS.maxSymbolsPerByte else {
            throw CodecError(tensor: "", reason: "\(n) elements cannot come from \(bytes) bytes of chunk streams")
        }
        var out = [Float](repeating: 0, count: n)
        try out.withUnsafeMutableBufferPointer { (o) throws(CodecError) in
            try decode(payloads, parameters: parameters, rows: rows, columns: columns, into: o)
        }
        return out
    }
}

/// The first (lowest-index) error of chunks decoded concurrently.
private final class ChunkFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var lowest: (index: Int, error: CodecError)? = nil

    func record(index: Int, _ error: CodecError) {
        lock.lock()
        defer { lock.unlock() }
        if lowest == nil || index < lowest!.index { lowest = (index, error) }
    }

    var first: CodecError? {
        lock.lock()
        defer { lock.unlock() }
        return lowest?.error
    }
}
