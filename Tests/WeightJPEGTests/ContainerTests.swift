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
enum TestCRC32 {
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
struct Bytes {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { for i in 0..<2 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt16(i)))) } }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func string16(_ s: String) { let u = Array(s.utf8); u16(UInt16(u.count)); bytes += u }
    mutating func raw(_ b: [UInt8]) { bytes += b }
}

/// A payload descriptor in a hand-built header.
struct RawPayload {
    var offset: UInt64
    var length: UInt64
    var crc: UInt32
}

/// A tensor record in a hand-built header; every count can lie.
struct RawRecord {
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
func rawHeader(metadata: [(String, String)]? = nil, metadataCount: UInt32? = nil,
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
func rawFile(header: [UInt8], area: [UInt8] = [], version: UInt16 = 1, flags: UInt16 = 0,
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
func parseError(_ bytes: [UInt8], salvage: Bool = false) -> ContainerError? {
    do {
        _ = try Container(bytes: bytes, path: "test.wjpg", salvage: salvage)
        return nil
    } catch {
        return error
    }
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = RandomSource(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

/// A small container with metadata, three tensors (one with two payloads, one empty, one zero-size).
func smallContainer() -> Container {
    Container(metadata: ["format": "pt", "note": "ünïcödé"], entries: [
        ContainerEntry(name: "0.weight", dtype: "F32", shape: [2, 3], coding: .jpeg(JPEGTensorParameters(layout: .matrix(tileHeight: 2, tileWidth: 3), scale: .tensor, pack: .sharedTables, quality: 50)),
                       payloads: [randomBytes(6, seed: 1), randomBytes(11, seed: 2)]),
        ContainerEntry(name: "0.bias", dtype: "F16", shape: [3], coding: .float16, payloads: [randomBytes(6, seed: 3)]),
        ContainerEntry(name: "empty", dtype: "I64", shape: [0, 4], coding: .exact, payloads: [[]]),
        ContainerEntry(name: "2.weight", dtype: "F32", shape: [2, 2], coding: .int8PerRow, payloads: [randomBytes(12, seed: 4)]),
    ])
}

/// Offset where the payload area of `c`'s serialization starts.
func areaStart(_ c: Container) -> Int {
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
            ContainerEntry(name: "scalar", dtype: "F64", shape: [], coding: .exact, payloads: [randomBytes(8, seed: 9)]),
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
        let b = randomBytes(n, seed: UInt64(n))
        #expect(TestCRC32.checksum(b) == CRC32.checksum(b))
    }
    #expect(TestCRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
}
