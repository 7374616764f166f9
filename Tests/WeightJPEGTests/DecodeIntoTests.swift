import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

// The fast paths of the pipeline (decoding straight into the output buffer or in pieces written at
// their offsets, vectorized pixel→float placement, reused pixel buffers, the finiteness scan) must
// give exactly the bytes of the plain path (decode to floats, then convert to the dtype).

/// A deterministic noise-plus-wave matrix (fixed-seed LCG).
private func matrix(rows: Int, columns: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<(rows * columns)).map { i in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let noise = Float(Int64(bitPattern: state >> 11) % 2001) / 1000 - 1
        return 0.05 * noise + 0.1 * sinf(Float(i % columns) / 7 + Float(i / columns) / 5)
    }
}

/// The plain path's bytes: the entry decoded to floats, then converted to its dtype.
private func floatPathBytes(_ entry: ContainerEntry, codec: JPEGTensorCodec) throws -> Data {
    let dtype = SafetensorsDType(rawValue: entry.dtype)!
    if entry.coding == .exact { return Data(entry.payloads[0]) }
    return SafetensorsTensor(name: entry.name, shape: entry.shape,
                             floats: try ModelCodec.floats(of: entry, codec: codec, path: "test"), dtype: dtype).data
}

@Test(arguments: [SafetensorsDType.F32, .F16, .BF16])
func decodeIntoGivesTheFloatPathBytes(dtype: SafetensorsDType) throws {
    let codec = try JPEGTensorCodec()
    var policies: [CompressionPolicy] = []
    for pack in [PackMode.mosaic, .sharedTables] {
        for scale in [ScaleMode.tensor, .tile] {
            var p = CompressionPolicy()
            p.pack = pack
            p.scale = scale
            p.jpegMinimumElements = 16_384
            p.noiseLikeRelativeError = nil   // the constant matrix is JPEG-coded too
            policies.append(p)
        }
    }
    // Error-targeted: the rANS-coded and fixed-length codings through the same seam.
    var targeted = CompressionPolicy()
    targeted.maxRelativeError = 0.03
    policies.append(targeted)
    // 130×150: partial tiles; 40×40 and 1×300: float16 / exact / int8 paths; a constant matrix.
    let tensors = [
        SafetensorsTensor(name: "w", shape: [130, 150], floats: matrix(rows: 130, columns: 150, seed: 1), dtype: dtype),
        SafetensorsTensor(name: "conv", shape: [24, 3, 16, 16], floats: matrix(rows: 24, columns: 768, seed: 2), dtype: dtype),
        SafetensorsTensor(name: "const", shape: [128, 128], floats: [Float](repeating: 0.25, count: 128 * 128), dtype: dtype),
        SafetensorsTensor(name: "small", shape: [40, 40], floats: matrix(rows: 40, columns: 40, seed: 3), dtype: dtype),
        SafetensorsTensor(name: "bias", shape: [300], floats: matrix(rows: 1, columns: 300, seed: 4), dtype: dtype),
    ]
    var jpegCount = 0, trellisCount = 0
    for policy in policies {
        for tensor in tensors {
            let entry = try ModelCodec.encode(tensor, policy: policy, codec: codec)
            if case .jpeg = entry.coding, policy.maxRelativeError == nil { jpegCount += 1 }
            let expected = try floatPathBytes(entry, codec: codec)
            var out = [UInt8](repeating: 0xAB, count: expected.count)
            try out.withUnsafeMutableBytes { try ModelCodec.decode(entry, codec: codec, path: "test", into: $0) }
            #expect(Data(out) == expected, "\(tensor.name) \(dtype.rawValue) \(policy.pack) \(policy.scale)")
            // The decompressor's path: pieces written at their offsets.
            var streamed = [UInt8](repeating: 0xCD, count: expected.count)
            let scratch = LargeBuffer(byteCount: expected.count)
            try streamed.withUnsafeMutableBytes { out in
                nonisolated(unsafe) let out = out   // pieces are disjoint
                try ModelCodec.decode(entry, codec: codec, path: "test", buffer: { UnsafeMutableRawBufferPointer(rebasing: scratch.bytes[0..<$0]) }) { offset, piece in
                    UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + piece.count)]).copyMemory(from: piece)
                }
            }
            if case .entropyTrellis = entry.coding { trellisCount += 1 }
            #expect(Data(streamed) == expected, "streamed: \(tensor.name) \(dtype.rawValue) \(policy.pack) \(policy.scale)")
            #expect(try ModelCodec.decode(entry, codec: codec, path: "test").data == expected)
        }
    }
    #expect(jpegCount == 12)  // three JPEG tensors × four policies
    #expect(trellisCount > 0)  // the error-targeted policy's noise-like tensors
}

@Test func decodeIntoRejectsDamagedPayloadsNamingTheTensor() throws {
    let codec = try JPEGTensorCodec()
    let tensor = SafetensorsTensor(name: "w", shape: [130, 150], floats: matrix(rows: 130, columns: 150, seed: 5))
    let entry = try ModelCodec.encode(tensor, policy: CompressionPolicy(), codec: codec)
    var payloads = entry.payloads
    payloads[1] = Array(payloads[1].prefix(payloads[1].count / 2))
    let damaged = ContainerEntry(name: entry.name, dtype: entry.dtype, shape: entry.shape, coding: entry.coding,
                                 payloads: payloads)
    var out = [UInt8](repeating: 0, count: 130 * 150 * 4)
    let error = #expect(throws: ContainerError.self) {
        try out.withUnsafeMutableBytes { try ModelCodec.decode(damaged, codec: codec, path: "damaged.wjpg", into: $0) }
    }
    #expect(error?.description.contains("damaged.wjpg") == true && error?.description.contains("'w'") == true)
    // The codec stays usable.
    try out.withUnsafeMutableBytes { try ModelCodec.decode(entry, codec: codec, path: "test", into: $0) }
    #expect(Data(out) == (try floatPathBytes(entry, codec: codec)))
}

@Test func pixelPlacementEqualsTheLookupTable() {
    let mappings = [PixelMapping(lo: -0.0731, hi: 0.0912), PixelMapping(lo: 1, hi: 1), PixelMapping(lo: -3e4, hi: 6e4),
                    PixelMapping(lo: 1e-7, hi: 3e-7), PixelMapping(lo: -1, hi: 1)]
    var pixels: [UInt8] = (0..<300).map { (i: Int) -> UInt8 in UInt8((i * 37 + 11) % 256) }
    pixels += (0...255).map { (i: Int) -> UInt8 in UInt8(i) }
    for m in mappings {
        let table = m.lookupTable
        var out = [Float](repeating: .nan, count: pixels.count)
        pixels.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { m.values(p.baseAddress!, count: pixels.count, into: $0.baseAddress!) } }
        let expected: [UInt32] = pixels.map { (p: UInt8) -> UInt32 in table[Int(p)].bitPattern }
        #expect(out.map { (v: Float) -> UInt32 in v.bitPattern } == expected, "\(m)")
    }
}

@Test func finitenessScanFindsTheFirstNaNOrInfinity() {
    var values = matrix(rows: 10, columns: 1000, seed: 6)
    #expect(FloatScan.firstNonFinite(values) == nil)
    #expect(FloatScan.firstNonFinite([Float.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0, -0.0, .leastNonzeroMagnitude]) == nil)
    for (i, bad) in [(9999, Float.infinity), (0, -Float.infinity), (4321, Float.nan), (17, -Float.nan)] {
        var v = values
        v[i] = bad
        v[9999 - i / 2] = .infinity
        #expect(FloatScan.firstNonFinite(v) == v.firstIndex { !$0.isFinite })
    }
    values = []
    #expect(FloatScan.firstNonFinite(values) == nil)
}

@Test func squaredNormSumsInFourLanes() {
    #expect(FloatScan.squaredNorm([]) == 0)
    #expect(FloatScan.squaredNorm([1, -2, 3, -4, 5, 6, 7]) == 140)   // a tail of three after one group of four
    // Element i in lane i mod 4, the lanes added as (s0 + s1) + (s2 + s3).
    let values = matrix(rows: 7, columns: 1001, seed: 8)
    var lanes = [0.0, 0.0, 0.0, 0.0]
    for (i, v) in values.enumerated() { lanes[i % 4] += Double(v) * Double(v) }
    #expect(FloatScan.squaredNorm(values) == (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
}

@Test func placedSafetensorsWriterWritesTheSerializedBytes() throws {
    let tensors = [
        SafetensorsTensor(name: "a", shape: [3, 5], floats: matrix(rows: 3, columns: 5, seed: 7), dtype: .F16),
        SafetensorsTensor(name: "b", shape: [1000, 9], floats: matrix(rows: 1000, columns: 9, seed: 8)),
        SafetensorsTensor(name: "c", shape: [0], floats: []),
        SafetensorsTensor(name: "d", shape: [7], floats: matrix(rows: 1, columns: 7, seed: 9), dtype: .BF16),
    ]
    let file = SafetensorsFile(tensors: tensors, metadata: ["k": "v"])
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wjpg-placed-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/out.safetensors"
    let writer = try SafetensorsWriter(path: path, tensors: tensors.map { ($0.name, $0.dtype, $0.shape) }, metadata: ["k": "v"])
    let slots = try #require(try writer.placeTensors())
    #expect(throws: AtomicFile.WriteError.self) { try writer.append(tensors[0]) }
    // Tensors written out of order and in pieces, back to front (as parallel workers do), taken in order.
    for i in [3, 1, 0, 2] {
        try tensors[i].data.withUnsafeBytes { raw in
            let half = raw.count / 2
            try slots.write(i, UnsafeRawBufferPointer(rebasing: raw[half...]), at: half)
            try slots.write(i, UnsafeRawBufferPointer(rebasing: raw[..<half]))
        }
    }
    // A piece that would overrun its tensor's place is refused.
    #expect(throws: AtomicFile.WriteError.self) {
        try tensors[1].data.withUnsafeBytes { try slots.write(0, $0) }
    }
    #expect(throws: AtomicFile.WriteError.self) { try writer.markWritten(1) }
    for i in 0..<4 { try writer.markWritten(i) }
    try writer.finish()
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(file.serialized()))
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.safetensors"])
}

@Test func positionalWritesLandAtTheirOffsetsAndAppendsAreRefused() throws {
    let dir = try scratchDirectory("positional")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/out.bin"
    let head = patternData(100, seed: 3), body = patternData(5000, seed: 4)
    let writer = try AtomicFileWriter(path: path)
    try writer.write(head)
    let positional = try #require(try writer.positionalWriter(size: head.count + body.count))
    #expect(writer.bytesWritten == head.count + body.count)
    #expect(throws: AtomicFile.WriteError.self) { try writer.write(head) }
    // Two halves, the second first; nothing is at the path until the commit.
    try body.withUnsafeBytes { raw in
        try positional.write(UnsafeRawBufferPointer(rebasing: raw[2500...]), at: head.count + 2500)
        try positional.write(UnsafeRawBufferPointer(rebasing: raw[..<2500]), at: head.count)
    }
    #expect(!FileManager.default.fileExists(atPath: path))
    try writer.commit()
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == head + body)
    #expect(directoryEntries(dir) == ["out.bin"])
    // Discarded: no file, no temporary file.
    let dropped = try AtomicFileWriter(path: dir + "/dropped.bin")
    _ = try dropped.positionalWriter(size: 1 << 20)
    dropped.discard()
    #expect(directoryEntries(dir) == ["out.bin"])
}

/// `decode(_:pieceValues:emit:)`'s pieces, checked to follow each other, concatenated.
private func streamedValues(_ payloads: JPEGTensorPayloads, codec: JPEGTensorCodec, pieceValues: Int) throws -> (values: [Float], pieces: Int) {
    var values: [Float] = []
    var pieces = 0
    try codec.decode(payloads, pieceValues: pieceValues) { first, floats in
        #expect(first == values.count)
        values += floats
        pieces += 1
    }
    return (values, pieces)
}

@Test func streamedDecodeGivesTheWholeTensorInStorageOrder() throws {
    let codec = try JPEGTensorCodec()
    // 2200×2200 in 64×64 tiles: 35 tiles across, 1,024 per mosaic image, so a band of tiles is split
    // between the two images. 130×150 in rows of 10×15, mosaic and shared tables.
    let cases: [(rows: Int, columns: Int, layout: TileLayout, pack: PackMode, pieces: [Int])] = [
        (2200, 2200, .defaultMatrix, .mosaic, [1, 1 << 20]),
        (130, 150, .rows(height: 10, width: 15), .mosaic, [1, 151, 1000]),
        (130, 150, .rows(height: 10, width: 15), .sharedTables, [1, 1000]),
        (130, 150, .matrix(tileHeight: 16, tileWidth: 24), .sharedTables, [1, 2400, 5000]),
    ]
    for c in cases {
        let values = matrix(rows: c.rows, columns: c.columns, seed: 10)
        let coded = try codec.encode(values, rows: c.rows, columns: c.columns,
                                     parameters: JPEGTensorParameters(layout: c.layout, scale: .tile, pack: c.pack, quality: 30))
        let payloads = try JPEGTensorPayloads(coded.payloads, rows: c.rows, columns: c.columns, parameters: coded.parameters)
        if c.rows == 2200 { #expect(payloads.images.count == 2) }
        let whole = try codec.decode(payloads)
        var counts: [Int] = []
        for size in c.pieces {
            let (streamed, pieces) = try streamedValues(payloads, codec: codec, pieceValues: size)
            #expect(streamed.map(\.bitPattern) == whole.map(\.bitPattern), "\(c.layout) \(c.pack) pieces of \(size)")
            counts.append(pieces)
        }
        // Smaller pieces, more of them; never more than one per band of tiles.
        let bands = c.layout.grid(rows: c.rows, columns: c.columns).down
        #expect(counts.first == bands && counts == counts.sorted(by: >), "\(counts)")
    }
}

@Test func streamedDecodePassesTheWritersErrorOnUnchanged() throws {
    struct Full: Error {}
    let codec = try JPEGTensorCodec()
    let coded = try codec.encode(matrix(rows: 130, columns: 150, seed: 11), rows: 130, columns: 150,
                                 parameters: JPEGTensorParameters(layout: .rows(height: 10, width: 15), scale: .tensor, pack: .mosaic, quality: 30))
    let payloads = try JPEGTensorPayloads(coded.payloads, rows: 130, columns: 150, parameters: coded.parameters)
    var calls = 0
    #expect(throws: Full.self) {
        try codec.decode(payloads, pieceValues: 1000) { _, _ in
            calls += 1
            if calls == 2 { throw Full() }
        }
    }
    #expect(calls == 2)
    // The last piece's failure too.
    #expect(throws: Full.self) { try codec.decode(payloads, pieceValues: 1 << 20) { _, _ in throw Full() } }
}

@Test func reusedBuffersGiveTheSameEntriesAsFreshCodecs() throws {
    // Large, small, then large again: the float and pixel buffers of one codec are reused and
    // regrown; every entry must equal a fresh codec's.
    let shapes: [[Int]] = [[256, 300], [130, 150], [512, 200], [64, 64], [256, 300]]
    let tensors = shapes.enumerated().map { i, s in
        SafetensorsTensor(name: "t\(i)", shape: s, floats: matrix(rows: s[0], columns: s[1], seed: UInt64(10 + i)),
                          dtype: i == 3 ? .BF16 : .F32)
    }
    let shared = try JPEGTensorCodec()
    for t in tensors {
        let reused = try ModelCodec.encode(t, policy: CompressionPolicy(), codec: shared)
        let fresh = try ModelCodec.encode(t, policy: CompressionPolicy(), codec: JPEGTensorCodec())
        #expect(reused.payloads == fresh.payloads && reused.coding == fresh.coding, "\(t.name)")
        var buffer: [Float] = [1, 2, 3]
        try t.floats(into: &buffer)
        #expect(buffer == (try t.floats()))
    }
}
