import CTrellis
import Foundation
import WeightJPEGCore
import WeightJPEGFormats

extension EntropyTrellis {
    // MARK: Decoding

    /// A decoder's prepared state: the parsed model and decode tables (5 KiB per table, at most
    /// 64 classes × 2 quantizers, so ≤ 640 KiB). Immutable once built; chunks may share it across threads.
    package final class Prepared: @unchecked Sendable {
        let step: Float
        let rows: Int, columns: Int, rowsPerChunk: Int
        let rowClass: [UInt8]
        let columnShift: [Int8]
        let classes: Int
        let quantizers: Int
        /// Per table (`classes × quantizers`, class-major), `TrellisRANS.Table.decoderWords` words
        /// (unused classes stay zero and are never reached).
        let slots: UnsafeMutablePointer<UInt32>
        /// The number of chunk payloads expected.
        package let chunks: Int

        init(step: Float, rows: Int, columns: Int, rowsPerChunk: Int, rowClass: [UInt8], columnShift: [Int8], tables: [TrellisRANS.Table?],
             quantizers: Int) {
            self.step = step; self.rows = rows; self.columns = columns; self.rowsPerChunk = rowsPerChunk
            self.rowClass = rowClass; self.columnShift = columnShift; self.classes = tables.count / quantizers
            self.quantizers = quantizers
            chunks = (rows - 1) / rowsPerChunk + 1
            let words = TrellisRANS.Table.decoderWords
            slots = .allocate(capacity: tables.count * words)
            slots.initialize(repeating: 0, count: tables.count * words)
            for (k, t) in tables.enumerated() { t?.fillDecoder(slots + k * words) }
        }
        deinit { slots.deallocate() }

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
    /// `output`, which holds the tensor's rows from `firstRow` on (by default the whole tensor's
    /// buffer, `rows × columns`). Work is bounded: the chunk is rejected before decoding if it claims
    /// more than 4,040 elements per byte, and each element takes at most three rANS steps
    /// (`ctrellis_decode_chunk`, C).
    package static func decodeChunk(_ bytes: [UInt8], index: Int, prepared pr: Prepared,
                                   into output: UnsafeMutableBufferPointer<Float>, firstRow: Int = 0) throws(CodecError) {
        guard (0..<pr.chunks).contains(index) else { throw CodecError(tensor: "", reason: "chunk \(index) of \(pr.chunks)") }
        let range = pr.rowRange(chunk: index)
        try checkOutput(output, firstRow: firstRow, holds: range, prepared: pr)
        try checkChunkSize(bytes, index: index, elements: range.count * pr.columns)
        let status = bytes.withUnsafeBufferPointer { b in
            pr.rowClass.withUnsafeBufferPointer { rcs in
                pr.columnShift.withUnsafeBufferPointer { css in
                    ctrellis_decode_chunk(b.baseAddress!, Int64(b.count), Int64(range.count), Int64(pr.columns), rcs.baseAddress! + range.lowerBound,
                                          css.baseAddress!, Int32(pr.classes - 1), pr.quantizers == 2 ? 1 : 0, pr.slots, pr.step,
                                          output.baseAddress! + (range.lowerBound - firstRow) * pr.columns)
                }
            }
        }
        guard status == 0 else { throw corruptChunk(index) }
    }

    /// Decodes chunks `index` and `index + 1` (payloads `index + 1`, `index + 2`) into their rows of
    /// `output` in lockstep (`ctrellis_decode_chunk_pair`: their two serial rANS chains overlap in
    /// the CPU), with `decodeChunk`'s checks and verdicts; the lower index's error first.
    package static func decodeChunkPair(_ first: [UInt8], _ second: [UInt8], index: Int, prepared pr: Prepared,
                                        into output: UnsafeMutableBufferPointer<Float>, firstRow: Int = 0) throws(CodecError) {
        guard index >= 0, index + 1 < pr.chunks else { throw CodecError(tensor: "", reason: "chunks \(index) and \(index + 1) of \(pr.chunks)") }
        let a = pr.rowRange(chunk: index), b = pr.rowRange(chunk: index + 1)
        try checkOutput(output, firstRow: firstRow, holds: a.lowerBound..<b.upperBound, prepared: pr)
        try checkChunkSize(first, index: index, elements: a.count * pr.columns)
        try checkChunkSize(second, index: index + 1, elements: b.count * pr.columns)
        var status: [Int32] = [0, 0]
        first.withUnsafeBufferPointer { fa in
            second.withUnsafeBufferPointer { fb in
                pr.rowClass.withUnsafeBufferPointer { rcs in
                    pr.columnShift.withUnsafeBufferPointer { css in
                        status.withUnsafeMutableBufferPointer { st in
                            ctrellis_decode_chunk_pair(fa.baseAddress!, Int64(fa.count), Int64(a.count), rcs.baseAddress! + a.lowerBound,
                                                       output.baseAddress! + (a.lowerBound - firstRow) * pr.columns,
                                                       fb.baseAddress!, Int64(fb.count), Int64(b.count), rcs.baseAddress! + b.lowerBound,
                                                       output.baseAddress! + (b.lowerBound - firstRow) * pr.columns,
                                                       Int64(pr.columns), css.baseAddress!, Int32(pr.classes - 1), pr.quantizers == 2 ? 1 : 0,
                                                       pr.slots, pr.step, st.baseAddress!)
                        }
                    }
                }
            }
        }
        if status[0] != 0 { throw corruptChunk(index) }
        if status[1] != 0 { throw corruptChunk(index + 1) }
    }

    /// Checks that `output`, holding the tensor's rows from `firstRow` on, has room for `rows`.
    static func checkOutput(_ output: UnsafeMutableBufferPointer<Float>, firstRow: Int, holds rows: Range<Int>,
                            prepared pr: Prepared) throws(CodecError) {
        guard firstRow >= 0, rows.lowerBound >= firstRow, (rows.upperBound - firstRow) * pr.columns <= output.count else {
            throw CodecError(tensor: "", reason: "output of \(output.count) elements from row \(firstRow) cannot hold rows \(rows) of \(pr.columns) columns")
        }
    }

    /// Checks a chunk of `bytes` meant to hold `elements` elements: an even length of at least 4,
    /// and at most 4,040 elements per byte.
    static func checkChunkSize(_ bytes: [UInt8], index: Int, elements: Int) throws(CodecError) {
        guard bytes.count >= 4, bytes.count % 2 == 0 else { throw CodecError(tensor: "", reason: "chunk \(index) has \(bytes.count) bytes (even, ≥ 4 expected)") }
        let (cap, overflow) = bytes.count.multipliedReportingOverflow(by: TrellisRANS.maxSymbolsPerByte)
        guard overflow || elements <= cap else { throw CodecError(tensor: "", reason: "chunk \(index): \(elements) elements cannot come from \(bytes.count) bytes") }
    }

    /// The error of a chunk whose stream does not decode.
    static func corruptChunk(_ index: Int) -> CodecError {
        CodecError(tensor: "", reason: "chunk \(index) is corrupt (ends early, has bytes left, or ends in the wrong state)")
    }

    /// The size (elements) from which a tensor of more than two chunks is decoded on several threads.
    static let parallelElements = 1 << 20

    /// Decodes every chunk into `output` (`rows × columns`, row-major). Before the tables are
    /// built, the payload count and every chunk's size are checked (more than 4,040 elements per
    /// chunk byte is corrupt). Chunks are decoded two at a time (`decodeChunkPair`); a tensor of at
    /// least `parallelElements` (2²⁰) in more than two chunks is decoded on several threads (the chunks are
    /// independent streams writing disjoint rows).
    package static func decode(_ payloads: [[UInt8]], parameters p: EntropyTrellisParameters, rows: Int, columns: Int,
                               into output: UnsafeMutableBufferPointer<Float>) throws(CodecError) {
        let (n, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, rows >= 1, columns >= 1, output.count == n else {
            throw CodecError(tensor: "", reason: "output has \(output.count) elements for \(rows)×\(columns)")
        }
        let pr = try prepare(payloads, parameters: p, rows: rows, columns: columns)
        let pairs = (pr.chunks + 1) / 2
        guard pairs > 1, n >= parallelElements else {
            for k in 0..<pairs { try decodePair(k, payloads, prepared: pr, into: output, firstRow: 0) }
            return
        }
        let failures = ChunkFailures<CodecError>()
        // Each pair writes only its own rows of the buffer.
        nonisolated(unsafe) let shared = output
        DispatchQueue.concurrentPerform(iterations: pairs) { k in
            do throws(CodecError) {
                try decodePair(k, payloads, prepared: pr, into: shared, firstRow: 0)
            } catch {
                failures.record(index: k, error)
            }
        }
        if let first = failures.first { throw first }
    }

    /// Decodes like `decode(_:parameters:rows:columns:into:)` without a buffer of the whole tensor:
    /// each pair of chunks (about 256 KiB of floats) is decoded into a small reused buffer and handed
    /// to `emit(first, values)` (`values` are the tensor's elements `first ..< first + values.count`,
    /// valid during the call only). Pieces come in any order, from several threads at once where
    /// `decode(…into:)` would use several. The first error (a chunk's, or `emit`'s unchanged) is thrown.
    package static func decode(_ payloads: [[UInt8]], parameters p: EntropyTrellisParameters, rows: Int, columns: Int,
                               emit: @Sendable (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let (n, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, rows >= 1, columns >= 1 else { throw CodecError(tensor: "", reason: "shape \(rows)×\(columns) is not valid") }
        let pr = try prepare(payloads, parameters: p, rows: rows, columns: columns)
        let pairs = (pr.chunks + 1) / 2
        // Contiguous runs of pairs, one per thread, each with one buffer for two chunks.
        let runs = pairs > 1 && n >= parallelElements ? min(pairs, ProcessInfo.processInfo.activeProcessorCount) : 1
        let failures = ChunkFailures<any Error>()
        DispatchQueue.concurrentPerform(iterations: runs) { r in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: min(rows, 2 * pr.rowsPerChunk) * columns)
            defer { buffer.deallocate() }
            for k in (r * pairs / runs)..<((r + 1) * pairs / runs) {
                let first = pr.rowRange(chunk: 2 * k).lowerBound
                let end = pr.rowRange(chunk: min(2 * k + 1, pr.chunks - 1)).upperBound
                do {
                    try decodePair(k, payloads, prepared: pr, into: buffer, firstRow: first)
                    try emit(first * columns, UnsafeBufferPointer(rebasing: buffer[0..<((end - first) * columns)]))
                } catch {
                    failures.record(index: k, error)
                    return
                }
            }
        }
        if let first = failures.first { throw first }
    }

    /// Checks the payload count and every chunk's size, then builds the tables.
    private static func prepare(_ payloads: [[UInt8]], parameters p: EntropyTrellisParameters, rows: Int, columns: Int) throws(CodecError) -> Prepared {
        guard let model = payloads.first else { throw CodecError(tensor: "", reason: "entropy-trellis tensor has no payloads") }
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
        return try prepare(parameters: p, model: model, rows: rows, columns: columns)
    }

    /// Chunks `2k` and `2k + 1` in lockstep, or an odd last one alone, into `output` (rows from `firstRow` on).
    private static func decodePair(_ k: Int, _ payloads: [[UInt8]], prepared pr: Prepared,
                                   into output: UnsafeMutableBufferPointer<Float>, firstRow: Int) throws(CodecError) {
        let i = 2 * k
        if i + 1 < pr.chunks {
            try decodeChunkPair(payloads[i + 1], payloads[i + 2], index: i, prepared: pr, into: output, firstRow: firstRow)
        } else {
            try decodeChunk(payloads[i + 1], index: i, prepared: pr, into: output, firstRow: firstRow)
        }
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

/// The first (lowest-index) error of chunks decoded (and written) concurrently.
private final class ChunkFailures<Failure: Error>: @unchecked Sendable {
    private let lock = NSLock()
    private var lowest: (index: Int, error: Failure)? = nil

    func record(index: Int, _ error: Failure) {
        lock.lock()
        defer { lock.unlock() }
        if lowest == nil || index < lowest!.index { lowest = (index, error) }
    }

    var first: Failure? {
        lock.lock()
        defer { lock.unlock() }
        return lowest?.error
    }
}
