import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEG
@testable import WeightJPEGTools

// MARK: - Independent helpers (the format rebuilt by hand, so that hostile headers can be crafted)

/// CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), reimplemented with the standard table so the
/// tests do not depend on the library's zlib wrapper.
private enum TestCRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<S: Sequence>(_ bytes: S) -> UInt32 where S.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

/// Little-endian byte builder, independent of the library's `ByteWriter`.
private struct Bytes {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { for i in 0..<2 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt16(i)))) } }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func string16(_ s: String) { let u = Array(s.utf8); u16(UInt16(u.count)); bytes += u }
    mutating func raw(_ b: [UInt8]) { bytes += b }
}

/// A payload descriptor in a hand-built header.
private struct RawPayload {
    var offset: UInt64
    var length: UInt64
    var crc: UInt32
}

/// A tensor record in a hand-built header; every count can lie.
private struct RawRecord {
    var name: String
    var dtype = "F32"
    var rank: UInt8? = nil            // nil: shape.count
    var shape: [UInt64] = []
    var coding: UInt8 = 0
    var parameterCount: UInt32? = nil // nil: parameters.count
    var parameters: [UInt8] = []
    var payloadCount: UInt32? = nil   // nil: payloads.count
    var payloads: [RawPayload] = []

    func write(into w: inout Bytes) {
        w.string16(name)
        w.string16(dtype)
        w.u8(rank ?? UInt8(shape.count))
        for d in shape { w.u64(d) }
        w.u8(coding)
        w.u32(parameterCount ?? UInt32(parameters.count))
        w.raw(parameters)
        w.u32(payloadCount ?? UInt32(payloads.count))
        for p in payloads { w.u64(p.offset); w.u64(p.length); w.u32(p.crc) }
    }
}

/// A hand-built header body (what the header CRC covers).
private func rawHeader(metadata: [(String, String)]? = nil, metadataCount: UInt32? = nil,
                       tensorCount: UInt32? = nil, records: [RawRecord], extra: [UInt8] = []) -> [UInt8] {
    var w = Bytes()
    w.u8(metadata == nil ? 0 : 1)
    w.u32(metadataCount ?? UInt32(metadata?.count ?? 0))
    for (k, v) in metadata ?? [] {
        w.string16(k)
        w.u32(UInt32(v.utf8.count))
        w.raw(Array(v.utf8))
    }
    w.u32(tensorCount ?? UInt32(records.count))
    for r in records { r.write(into: &w) }
    w.raw(extra)
    return w.bytes
}

/// A whole file: preamble (with a correct CRC unless `crc` is given), header, payload area.
private func rawFile(header: [UInt8], area: [UInt8] = [], version: UInt16 = 1, flags: UInt16 = 0,
                     headerLength: UInt32? = nil, crc: UInt32? = nil) -> [UInt8] {
    var w = Bytes()
    w.raw(Array("WJPG".utf8))
    w.u16(version)
    w.u16(flags)
    w.u32(headerLength ?? UInt32(header.count))
    w.u32(crc ?? TestCRC32.checksum(header))
    w.raw(header)
    w.raw(area)
    return w.bytes
}

/// The error parsing `bytes` throws, or nil when it parses.
private func parseError(_ bytes: [UInt8], salvage: Bool = false) -> ContainerError? {
    do {
        _ = try Container(bytes: bytes, path: "test.wjpg", salvage: salvage)
        return nil
    } catch {
        return error
    }
}

private func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = RandomSource(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

/// A small container with metadata, three tensors (one with two payloads, one empty, one zero-size).
private func smallContainer() -> Container {
    Container(metadata: ["format": "pt", "note": "ünïcödé"], entries: [
        ContainerEntry(name: "0.weight", dtype: "F32", shape: [2, 3], coding: .jpeg(JPEGTensorParameters(layout: .matrix(tileHeight: 2, tileWidth: 3), scale: .tensor, pack: .sharedTables, quality: 50)),
                       payloads: [bytes(6, seed: 1), bytes(11, seed: 2)]),
        ContainerEntry(name: "0.bias", dtype: "F16", shape: [3], coding: .float16, payloads: [bytes(6, seed: 3)]),
        ContainerEntry(name: "empty", dtype: "I64", shape: [0, 4], coding: .exact, payloads: [[]]),
        ContainerEntry(name: "2.weight", dtype: "F32", shape: [2, 2], coding: .int8PerRow, payloads: [bytes(12, seed: 4)]),
    ])
}

/// Offset where the payload area of `c`'s serialization starts.
private func areaStart(_ c: Container) -> Int {
    let b = c.serialized()
    let headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
    return Container.preambleSize + headerLength
}

// MARK: - Round trips

@Test func containerRoundTripsWithAndWithoutMetadata() throws {
    let c = smallContainer()
    let back = try Container(bytes: c.serialized(), path: "x")
    #expect(back == c)
    #expect(back.entries.map(\.name) == ["0.weight", "0.bias", "empty", "2.weight"])
    #expect(back.entries.allSatisfy { $0.damage == nil })
    #expect(back["0.bias"]?.payloads == c["0.bias"]?.payloads)

    var noMeta = c
    noMeta.metadata = nil
    let backNoMeta = try Container(bytes: noMeta.serialized(), path: "x")
    #expect(backNoMeta.metadata == nil)
    #expect(backNoMeta == noMeta)

    // An empty metadata dictionary is distinct from no metadata.
    var emptyMeta = c
    emptyMeta.metadata = [:]
    let backEmpty = try Container(bytes: emptyMeta.serialized(), path: "x")
    #expect(backEmpty.metadata == [:])
}

@Test func containerRoundTripsEdgeEntries() throws {
    let cases: [Container] = [
        Container(metadata: nil, entries: []),
        Container(metadata: [:], entries: []),
        // Entries with no payload at all, an empty payload, a scalar (rank 0) and zero-size shapes.
        Container(metadata: ["k": ""], entries: [
            ContainerEntry(name: "none", dtype: "F32", shape: [0], coding: .exact, payloads: []),
            ContainerEntry(name: "emptyPayload", dtype: "F32", shape: [0, 0], coding: .exact, payloads: [[], []]),
            ContainerEntry(name: "scalar", dtype: "F64", shape: [], coding: .exact, payloads: [bytes(8, seed: 9)]),
            ContainerEntry(name: "zero-rows", dtype: "BF16", shape: [0, 784], coding: .float16, payloads: [[]]),
            ContainerEntry(name: "rank8", dtype: "U8", shape: [1, 1, 1, 1, 1, 1, 1, 2], coding: .exact,
                           payloads: [[7, 9]]),
            ContainerEntry(name: "", dtype: "U8", shape: [1], coding: .entropyUniform(step: 0.5),
                           payloads: [[42]]),
        ]),
    ]
    for c in cases {
        let back = try Container(bytes: c.serialized(), path: "x")
        #expect(back == c)
    }
}

@Test func containerRoundTripsThroughAFile() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wjpg-container-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("m.wjpg").path
    let c = smallContainer()
    try c.write(to: path)
    #expect(try Container.read(path: path) == c)
    #expect(ModelFile.isContainer(path))
}

@Test func serializedSizeIsTheSumOfItsParts() {
    for c in [smallContainer(), Container(metadata: nil, entries: [])] {
        let meta = (c.metadata ?? [:]).reduce(0) { $0 + 2 + $1.key.utf8.count + 4 + $1.value.utf8.count }
        let expected = Container.preambleSize + 1 + 4 + meta + 4 + c.entries.reduce(0) { $0 + $1.storedBytes }
        #expect(c.serialized().count == expected)
        // A record: name, dtype, rank, dims, coding, parameters, payload count, 20 bytes per payload.
        for e in c.entries {
            let record = 2 + e.name.utf8.count + 2 + e.dtype.utf8.count + 1 + 8 * e.shape.count + 1
                + 4 + e.coding.parameterBytes.count + 4 + 20 * e.payloads.count
            #expect(e.storedBytes == record + e.payloads.reduce(0) { $0 + $1.count })
        }
    }
}

@Test func handBuiltBytesMatchTheWriter() throws {
    // The helpers used for hostile headers below describe the same format the writer produces.
    let c = smallContainer()
    var offset: UInt64 = 0
    let records = c.entries.map { e -> RawRecord in
        let payloads = e.payloads.map { p -> RawPayload in
            defer { offset += UInt64(p.count) }
            return RawPayload(offset: offset, length: UInt64(p.count), crc: TestCRC32.checksum(p))
        }
        return RawRecord(name: e.name, dtype: e.dtype, shape: e.shape.map(UInt64.init), coding: e.coding.code,
                         parameters: e.coding.parameterBytes, payloads: payloads)
    }
    let header = rawHeader(metadata: c.metadata!.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, records: records)
    let file = rawFile(header: header, area: c.entries.flatMap { $0.payloads.flatMap { $0 } })
    #expect(file == c.serialized())
    // The reimplemented CRC agrees with the library's zlib one.
    for n in [0, 1, 7, 100, 1000] {
        let b = bytes(n, seed: UInt64(n))
        #expect(TestCRC32.checksum(b) == CRC32.checksum(b))
    }
    #expect(TestCRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
}

// MARK: - Framing faults

@Test func emptyAndTinyFilesAreTooShort() {
    for n in 0..<Container.preambleSize {
        let e = parseError(Array(smallContainer().serialized().prefix(n)))
        #expect(e?.fault == .tooShort(size: n), "prefix \(n)")
        #expect(e?.path == "test.wjpg")
    }
}

@Test func everyTruncationThrowsTheRightFault() {
    let c = smallContainer()
    let full = c.serialized()
    let start = areaStart(c)
    // Payload area layout: which tensor owns each byte.
    var owner: [String] = []
    for e in c.entries { for p in e.payloads { owner += Array(repeating: e.name, count: p.count) } }
    #expect(start + owner.count == full.count)

    for n in 0..<full.count {
        let prefix = Array(full.prefix(n))
        guard let e = parseError(prefix) else {
            Issue.record("prefix of \(n) of \(full.count) bytes parsed")
            continue
        }
        if n < Container.preambleSize {
            #expect(e.fault == .tooShort(size: n))
        } else if n < start {
            guard case .headerLength(let declared, let available) = e.fault else {
                Issue.record("prefix \(n): \(e)"); continue
            }
            #expect(Int(declared) == start - Container.preambleSize)
            #expect(available == n - Container.preambleSize)
        } else {
            // Cut inside the payload area: the first payload that does not fit is out of bounds.
            guard case .payloadBounds = e.fault else { Issue.record("prefix \(n): \(e)"); continue }
            #expect(e.tensor == owner[n - start], "prefix \(n): \(e)")
        }
    }
    #expect(parseError(full) == nil)
}

@Test func wrongMagicAndVersion() {
    var b = smallContainer().serialized()
    b[0] = UInt8(ascii: "X")
    #expect(parseError(b)?.fault == .badMagic(found: Array("XJPG".utf8)))

    let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 16)
    #expect(parseError(png)?.fault == .badMagic(found: [0x89, 0x50, 0x4E, 0x47]))

    let header = rawHeader(records: [])
    #expect(parseError(rawFile(header: header, version: 2))?.fault == .unsupportedVersion(2))
    #expect(parseError(rawFile(header: header, version: 0))?.fault == .unsupportedVersion(0))
    #expect(parseError(rawFile(header: header, version: 0xFFFF))?.fault == .unsupportedVersion(0xFFFF))
    #expect(parseError(rawFile(header: header)) == nil)
}

@Test func headerLengthBeyondTheFileOrTheCap() {
    let header = rawHeader(records: [])
    // One byte more than the file holds.
    let e1 = parseError(rawFile(header: header, headerLength: UInt32(header.count + 1)))
    #expect(e1?.fault == .headerLength(declared: UInt64(header.count + 1), available: header.count))
    // Over the 64 MiB cap, in a tiny file: rejected before anything is allocated.
    let e2 = parseError(rawFile(header: header, headerLength: UInt32(Container.maxHeaderBytes + 1)))
    #expect(e2?.fault == .headerLength(declared: UInt64(Container.maxHeaderBytes + 1), available: header.count))
    let e3 = parseError(rawFile(header: header, headerLength: .max))
    #expect(e3?.fault == .headerLength(declared: UInt64(UInt32.max), available: header.count))
    // Over the cap even though the file is larger than the cap: still refused by the cap.
    var big = rawFile(header: header, headerLength: UInt32(Container.maxHeaderBytes + 8))
    big += [UInt8](repeating: 0, count: Container.maxHeaderBytes + 8)
    let e4 = parseError(big)
    #expect(e4?.fault == .headerLength(declared: UInt64(Container.maxHeaderBytes + 8), available: Container.maxHeaderBytes))
}

@Test func headerChecksumMismatch() {
    let c = smallContainer()
    let good = c.serialized()
    let start = areaStart(c)
    for i in [Container.preambleSize, Container.preambleSize + 5, start - 1] {
        var b = good
        b[i] ^= 0x10
        guard case .headerChecksum(let declared, let computed) = parseError(b)?.fault else {
            Issue.record("byte \(i): no header checksum fault"); continue
        }
        #expect(declared != computed)
        #expect(computed == TestCRC32.checksum(b[Container.preambleSize..<start]))
    }
    // The stored CRC itself damaged.
    var b = good
    b[12] ^= 1
    guard case .headerChecksum = parseError(b)?.fault else { Issue.record("stored CRC flip not detected"); return }
}

@Test func payloadChecksumMismatchNamesTheTensor() {
    let c = smallContainer()
    let good = c.serialized()
    let start = areaStart(c)
    // (byte offset in the area, tensor, payload index within it)
    let cases: [(Int, String, Int)] = [(0, "0.weight", 0), (5, "0.weight", 0), (6, "0.weight", 1), (16, "0.weight", 1),
                                       (17, "0.bias", 0), (23, "2.weight", 0), (34, "2.weight", 0)]
    for (offset, tensor, index) in cases {
        var b = good
        b[start + offset] ^= 0x80
        let e = parseError(b)
        guard case .payloadChecksum(let i, let declared, let computed) = e?.fault else {
            Issue.record("area byte \(offset): \(String(describing: e))"); continue
        }
        #expect(e?.tensor == tensor)
        #expect(i == index)
        #expect(declared != computed)
        #expect(e?.description.contains(tensor) == true)
    }
}

@Test func trailingBytesAreRejected() {
    let good = smallContainer().serialized()
    #expect(parseError(good + [0])?.fault == .trailingBytes(count: 1))
    #expect(parseError(good + [UInt8](repeating: 9, count: 100))?.fault == .trailingBytes(count: 100))
    let empty = Container(metadata: nil, entries: []).serialized()
    #expect(parseError(empty + [1, 2, 3])?.fault == .trailingBytes(count: 3))
}

@Test func everySingleByteFlipIsDetected() throws {
    let c = smallContainer()
    let good = c.serialized()
    // No byte is unchecked: the header and payloads have CRCs, and the preamble's magic, version,
    // flags (must be 0 in version 1), length and CRC fields are all validated.
    // A flip in a payload is reported with the tensor it hit.
    let start = areaStart(c)
    var owner: [String] = []
    for e in c.entries { for p in e.payloads { owner += Array(repeating: e.name, count: p.count) } }
    var silent = Set<Int>(), unnamed = Set<Int>()
    for i in 0..<good.count {
        for mask: UInt8 in [0x01, 0x80, 0xFF] {
            var b = good
            b[i] ^= mask
            guard let e = parseError(b) else { silent.insert(i); continue }
            if i >= start && (e.tensor != owner[i - start] || !e.description.contains(owner[i - start])) { unnamed.insert(i) }
        }
    }
    #expect(silent.isEmpty, "single-byte flips that parsed without error at offsets \(silent.sorted())")
    #expect(unnamed.isEmpty, "payload flips not naming their tensor at offsets \(unnamed.sorted())")
}

@Test func nonZeroFlagsAreRejected() throws {
    // docs/FORMAT.md §2: flags are written 0, and a version-1 reader rejects any other value.
    let header = rawHeader(records: [])
    for flags: UInt16 in [1, 0x8000, 0xFFFF] {
        #expect(parseError(rawFile(header: header, flags: flags))?.fault == .unsupportedFlags(flags), "flags \(flags) accepted")
    }
    #expect(Array(Container(metadata: nil, entries: []).serialized()[6...7]) == [0, 0])
}

// MARK: - Headers that lie (CRC correct)

@Test func hostileHeadersAreRejectedQuicklyWithoutAllocating() {
    let payload: [UInt8] = [1, 2, 3, 4]
    let good = RawRecord(name: "w", shape: [1], payloads: [RawPayload(offset: 0, length: 4, crc: TestCRC32.checksum(payload))])

    func check(_ label: String, _ file: [UInt8], tensor: String? = nil,
               sourceLocation: SourceLocation = #_sourceLocation, _ match: (ContainerError.Fault) -> Bool) {
        let clock = ContinuousClock()
        let start = clock.now
        let e = parseError(file)
        let elapsed = clock.now - start
        guard let e else { Issue.record("\(label): parsed", sourceLocation: sourceLocation); return }
        #expect(match(e.fault), "\(label): \(e)", sourceLocation: sourceLocation)
        #expect(e.tensor == tensor, "\(label): \(e)", sourceLocation: sourceLocation)
        #expect(elapsed < .milliseconds(200), "\(label) took \(elapsed)", sourceLocation: sourceLocation)
    }
    func invalid(_ f: ContainerError.Fault) -> Bool { if case .invalidHeader = f { return true }; return false }
    func truncated(_ f: ContainerError.Fault) -> Bool { if case .truncatedHeader = f { return true }; return false }
    func bounds(_ f: ContainerError.Fault) -> Bool { if case .payloadBounds = f { return true }; return false }

    // Sanity: the honest file parses.
    #expect(parseError(rawFile(header: rawHeader(records: [good]), area: payload)) == nil)

    check("tensor count 0xFFFFFFFF", rawFile(header: rawHeader(tensorCount: .max, records: [good]), area: payload), invalid)
    check("tensor count one too many", rawFile(header: rawHeader(tensorCount: 2, records: [good]), area: payload), truncated)
    check("tensor count one too few", rawFile(header: rawHeader(tensorCount: 0, records: [good]), area: payload), invalid)
    check("metadata count 0xFFFFFFFF",
          rawFile(header: rawHeader(metadata: [("a", "b")], metadataCount: .max, records: [good]), area: payload), invalid)
    check("metadata flag 2", rawFile(header: { var h = rawHeader(records: [good]); h[0] = 2; return h }(), area: payload), invalid)
    check("duplicate metadata key",
          rawFile(header: rawHeader(metadata: [("a", "1"), ("a", "2")], records: [good]), area: payload), invalid)
    check("metadata value length 0xFFFFFFFF", rawFile(header: {
        var w = Bytes(); w.u8(1); w.u32(1); w.string16("k"); w.u32(.max); w.u32(0); return w.bytes
    }()), truncated)

    var r = good
    r.payloadCount = .max
    check("payload count 0xFFFFFFFF", rawFile(header: rawHeader(records: [r]), area: payload), tensor: "w", invalid)
    r = good
    r.parameterCount = .max
    check("parameter count 0xFFFFFFFF", rawFile(header: rawHeader(records: [r]), area: payload), truncated)
    r = good
    r.rank = 9
    r.shape = Array(repeating: 1, count: 9)
    check("rank 9", rawFile(header: rawHeader(records: [r]), area: payload), tensor: "w", invalid)
    r = good
    r.rank = 255
    r.shape = []
    check("rank 255, no dims", rawFile(header: rawHeader(records: [r]), area: payload), tensor: "w", invalid)
    r = good
    r.shape = [UInt64(Int32.max), UInt64(Int32.max), UInt64(Int32.max)]
    check("dims whose product overflows", rawFile(header: rawHeader(records: [r]), area: payload), tensor: "w", invalid)
    r = good
    r.shape = [1 << 21, 1 << 21]  // 2^42 elements: over the 2^40 cap without overflowing
    check("2^42 elements", rawFile(header: rawHeader(records: [r]), area: payload), tensor: "w", invalid)
    r = good
    r.shape = [UInt64.max]
    check("dimension 2^64-1", rawFile(header: rawHeader(records: [r]), area: payload), tensor: "w", invalid)
    r = good
    r.dtype = ""
    check("empty dtype", rawFile(header: rawHeader(records: [r]), area: payload), tensor: "w", invalid)
    check("duplicate tensor name", rawFile(header: rawHeader(records: [good, RawRecord(name: "w", shape: [0])]), area: payload),
          tensor: "w", invalid)
    check("non-UTF-8 name", rawFile(header: {
        var h = rawHeader(records: [good]); h[1 + 4 + 4 + 2] = 0xFF; return h
    }(), area: payload), invalid)
    check("unused bytes after the records", rawFile(header: rawHeader(records: [good], extra: [0]), area: payload), invalid)

    // Payload descriptors out of bounds, with gaps, overlapping, or huge.
    let crc = TestCRC32.checksum(payload)
    for (label, p) in [("offset past the end", RawPayload(offset: 5, length: 0, crc: crc)),
                       ("length past the end", RawPayload(offset: 0, length: 5, crc: crc)),
                       ("gap before the payload", RawPayload(offset: 1, length: 3, crc: crc)),
                       ("length 2^64-1", RawPayload(offset: 0, length: .max, crc: crc)),
                       ("offset 2^64-1", RawPayload(offset: .max, length: 4, crc: crc)),
                       ("offset and length that wrap", RawPayload(offset: .max - 1, length: 6, crc: crc))] {
        var r = good
        r.payloads = [p]
        check(label, rawFile(header: rawHeader(records: [r]), area: payload), tensor: "w", bounds)
    }
    var overlap = good
    overlap.payloads = [RawPayload(offset: 0, length: 4, crc: crc), RawPayload(offset: 0, length: 4, crc: crc)]
    check("overlapping payloads", rawFile(header: rawHeader(records: [overlap]), area: payload), tensor: "w", bounds)
}

// MARK: - Salvage

@Test func salvageMarksOnlyTheDamagedTensor() throws {
    let c = smallContainer()
    var b = c.serialized()
    let start = areaStart(c)
    b[start + 17] ^= 0x55  // first byte of 0.bias's payload

    #expect(parseError(b)?.tensor == "0.bias")
    let salvaged = try Container(bytes: b, path: "s.wjpg", salvage: true)
    #expect(salvaged.entries.map(\.name) == c.entries.map(\.name))
    for (got, want) in zip(salvaged.entries, c.entries) {
        #expect(got.shape == want.shape && got.dtype == want.dtype && got.coding == want.coding)
        if got.name == "0.bias" {
            guard case .payloadChecksum(let index, _, _) = got.damage?.fault else {
                Issue.record("0.bias damage is \(String(describing: got.damage))"); continue
            }
            #expect(index == 0)
            #expect(got.damage?.tensor == "0.bias")
            #expect(got.damage?.path == "s.wjpg")
            #expect(got.payloads.isEmpty)
        } else {
            #expect(got.damage == nil)
            #expect(got.payloads == want.payloads)
        }
    }
    // Decoding the damaged tensor reports the damage; the others decode.
    #expect(throws: ContainerError.self) {
        _ = try ModelCodec.floats(of: salvaged["0.bias"]!, codec: try JPEGTensorCodec(), path: "s.wjpg")
    }

    // A salvaging read of an undamaged file equals a normal read.
    #expect(try Container(bytes: c.serialized(), path: "s", salvage: true) == c)
}

@Test func salvageOfATruncatedFileKeepsTheIntactTensors() throws {
    let c = smallContainer()
    let b = Array(c.serialized().dropLast(3))  // cuts into 2.weight, the last payload
    let salvaged = try Container(bytes: b, path: "s", salvage: true)
    #expect(salvaged.entries.count == 4)
    #expect(salvaged.entries.filter { $0.damage != nil }.map(\.name) == ["2.weight"])
    guard case .payloadBounds = salvaged["2.weight"]?.damage?.fault else {
        Issue.record("2.weight damage is \(String(describing: salvaged["2.weight"]?.damage))"); return
    }
    #expect(salvaged["0.weight"]?.payloads == c["0.weight"]?.payloads)
}

@Test func salvageNeverForgivesAHeaderFault() {
    let c = smallContainer()
    var b = c.serialized()
    b[Container.preambleSize + 3] ^= 1
    guard case .headerChecksum = parseError(b, salvage: true)?.fault else {
        Issue.record("salvage accepted a damaged header"); return
    }
    #expect(parseError(Array(b.prefix(20)), salvage: true) != nil)
}

@Test func anInvalidCodingIsAParseErrorNamingTheTensor() throws {
    // Two one-payload tensors; the second's coding is varied.
    func file(coding: UInt8, parameters: [UInt8]) -> [UInt8] {
        let good = RawRecord(name: "good", dtype: "F32", shape: [1], coding: 0, payloads: [RawPayload(offset: 0, length: 4, crc: TestCRC32.checksum([1, 2, 3, 4]))])
        let bad = RawRecord(name: "bad", dtype: "F32", shape: [1], coding: coding, parameters: parameters,
                            payloads: [RawPayload(offset: 4, length: 2, crc: TestCRC32.checksum([5, 6]))])
        return rawFile(header: rawHeader(records: [good, bad]), area: [1, 2, 3, 4, 5, 6])
    }
    let cases: [(UInt8, [UInt8], String)] = [
        (9, [], "coding 9: unknown coding"),
        (1, [7], "coding 1: float16 takes no parameters"),
        (3, [1, 2, 3, 4], "coding 3: jpeg parameters are invalid"),
        (4, [0, 0, 0, 0], "coding 4: entropy-uniform step 0.0"),
        (5, [17], "coding 5: fixed-row takes one byte"),
    ]
    for (code, parameters, text) in cases {
        let bytes = file(coding: code, parameters: parameters)
        let error = try #require(parseError(bytes))
        #expect(error.tensor == "bad" && error.path == "test.wjpg")
        #expect(error.description.contains(text), "\(error)")
        guard case .invalidCoding(let what) = error.fault, what.code == code else { Issue.record("\(error.fault)"); continue }
        // A salvaging read keeps the other tensor and marks only this one.
        let salvaged = try Container(bytes: bytes, path: "test.wjpg", salvage: true)
        #expect(salvaged["good"]?.damage == nil && salvaged["good"]?.payloads == [[1, 2, 3, 4]])
        #expect(salvaged["bad"]?.damage == error && salvaged["bad"]?.payloads == [])
    }
    #expect(parseError(file(coding: 1, parameters: [])) == nil)
}
