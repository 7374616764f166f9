import Foundation
import Testing
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

// Every single-byte flip and every truncation of a small, real `.wjpg` (every coding) gives
// a clear error naming the damaged tensor, or a salvage whose intact tensors are exactly the
// original ones. Nothing is silently accepted with wrong weights.

/// Smooth deterministic values (so JPEG codes something realistic).
private func wave(_ count: Int, phase: Float) -> [Float] {
    (0..<count).map { i in 0.05 * sin(Float(i) * 0.37 + phase) + 0.01 * Float(i % 7) - 0.02 }
}

/// A small container with every coding: JPEG mosaic, JPEG shared tables, float16, int8 per row, exact.
private func realContainer() throws -> Container {
    let codec = try JPEGTensorCodec()
    var jpeg = CompressionPolicy()
    jpeg.jpegMinimumElements = 256
    jpeg.layout = .matrix(tileHeight: 8, tileWidth: 16)
    jpeg.quality = 50
    var tables = jpeg
    tables.pack = .sharedTables
    let scalar = CompressionPolicy()
    let entries = [
        try ModelCodec.encode(SafetensorsTensor(name: "mosaic.weight", shape: [32, 40], floats: wave(1280, phase: 0)), policy: jpeg, codec: codec),
        try ModelCodec.encode(SafetensorsTensor(name: "bias", shape: [12], floats: wave(12, phase: 1)), policy: scalar, codec: codec),
        try ModelCodec.encode(SafetensorsTensor(name: "tables.weight", shape: [16, 64], floats: wave(1024, phase: 2)), policy: tables, codec: codec),
        try ModelCodec.encode(SafetensorsTensor(name: "rows.weight", shape: [4, 300], floats: wave(1200, phase: 3)), policy: scalar, codec: codec),
        try ModelCodec.encode(SafetensorsTensor(name: "steps", dtype: .I64, shape: [1], data: Data([7, 0, 0, 0, 0, 0, 0, 0])), policy: scalar, codec: codec),
    ]
    let codings = entries.map { $0.coding.name }
    struct FixtureChanged: Error { let codings: [String] }
    guard codings == ["jpeg", "float16", "jpeg", "int8-row", "exact"] else { throw FixtureChanged(codings: codings) }
    return Container(metadata: ["format": "pt"], entries: entries)
}

/// Start of the payload area and, for each byte of it, the tensor that owns it.
private func payloadOwners(_ c: Container) -> (start: Int, owner: [String]) {
    let bytes = c.serialized()
    var owner: [String] = []
    for e in c.entries { for p in e.payloads { owner += Array(repeating: e.name, count: p.count) } }
    return (bytes.count - owner.count, owner)
}

/// Checks a salvaging read: exactly the tensors in `damaged` are marked, the others are bit-identical
/// to the original (same payload bytes, hence the same decoded weights), damaged ones do not decode.
private func expectSalvage(_ salvaged: Container, of original: Container, damaged: Set<String>, codec: JPEGTensorCodec,
                           _ label: String) {
    #expect(salvaged.metadata == original.metadata, "\(label)")
    #expect(salvaged.entries.map(\.name) == original.entries.map(\.name), "\(label)")
    for (got, want) in zip(salvaged.entries, original.entries) {
        if damaged.contains(got.name) {
            #expect(got.damage?.tensor == got.name, "\(label): \(got.name) not marked damaged")
            #expect(got.payloads.isEmpty, "\(label)")
            #expect((try? ModelCodec.decode(got, codec: codec, path: "x")) == nil, "\(label): damaged \(got.name) decoded")
        } else {
            #expect(got.damage == nil, "\(label): intact \(got.name) marked damaged: \(String(describing: got.damage))")
            #expect(got.payloads == want.payloads && got.shape == want.shape && got.dtype == want.dtype
                    && got.coding == want.coding, "\(label): \(got.name) changed")
        }
    }
}

@Test func realContainerDecodesCompletely() throws {
    let c = try realContainer()
    let file = try ModelCodec.decompress(try Container(bytes: c.serialized(), path: "x"), path: "x")
    #expect(file.tensors.map(\.name) == c.entries.map(\.name))
    let salvage = try ModelCodec.salvage(c, path: "x")
    #expect(salvage.isComplete && salvage.file == file)
}

@Test func everySingleByteFlipOfARealContainerIsCaughtAndNamesTheTensor() throws {
    let c = try realContainer()
    let good = c.serialized()
    let (start, owner) = payloadOwners(c)
    let codec = try JPEGTensorCodec()
    var checked = 0
    for i in 0..<good.count {
        for mask: UInt8 in [0x01, 0x80, 0xFF] {
            var b = good
            b[i] ^= mask
            let label = "byte \(i) ^ \(mask)"
            do {
                _ = try Container(bytes: b, path: "f.wjpg")
                Issue.record("\(label): accepted")
            } catch {
                if i >= start {
                    // In a payload: the error names the tensor that owns the byte.
                    guard case .payloadChecksum = error.fault else { Issue.record("\(label): \(error)"); continue }
                    #expect(error.tensor == owner[i - start], "\(label): \(error)")
                    #expect(error.description.contains(owner[i - start]))
                }
            }
            if i < start {
                // Preamble or header: nothing can be trusted, salvage refuses too.
                #expect(throws: ContainerError.self, "\(label)") { _ = try Container(bytes: b, path: "f.wjpg", salvage: true) }
            } else {
                let salvaged = try Container(bytes: b, path: "f.wjpg", salvage: true)
                expectSalvage(salvaged, of: c, damaged: [owner[i - start]], codec: codec, label)
            }
            checked += 1
        }
    }
    #expect(checked == 3 * good.count)
}

@Test func everyTruncationOfARealContainerIsCaughtOrSalvaged() throws {
    let c = try realContainer()
    let good = c.serialized()
    let (start, _) = payloadOwners(c)
    let codec = try JPEGTensorCodec()
    // End of each tensor's payloads within the area.
    var end: [String: Int] = [:]
    var offset = 0
    for e in c.entries { offset += e.payloads.reduce(0) { $0 + $1.count }; end[e.name] = offset }
    for n in 0..<good.count {
        let prefix = Array(good.prefix(n))
        #expect(throws: ContainerError.self, "prefix \(n)") { _ = try Container(bytes: prefix, path: "t.wjpg") }
        if n < start {
            #expect(throws: ContainerError.self, "prefix \(n)") { _ = try Container(bytes: prefix, path: "t.wjpg", salvage: true) }
        } else {
            let salvaged = try Container(bytes: prefix, path: "t.wjpg", salvage: true)
            let damaged = Set(c.entries.map(\.name).filter { end[$0]! > n - start })
            #expect(!damaged.isEmpty)
            expectSalvage(salvaged, of: c, damaged: damaged, codec: codec, "prefix \(n)")
        }
    }
}

@Test func salvageDecompressionKeepsEveryIntactTensor() throws {
    let c = try realContainer()
    var b = c.serialized()
    let (start, owner) = payloadOwners(c)
    let hit = owner.firstIndex(of: "tables.weight")! + 3
    b[start + hit] ^= 0x20
    let full = try ModelCodec.decompress(c, path: "x")
    let result = try ModelCodec.salvage(try Container(bytes: b, path: "s.wjpg", salvage: true), path: "s.wjpg")
    #expect(!result.isComplete)
    #expect(result.damaged.map(\.tensor) == ["tables.weight"])
    #expect(result.damaged.first?.path == "s.wjpg")
    #expect(result.file.metadata == c.metadata)
    #expect(result.file.tensors == full.tensors.filter { $0.name != "tables.weight" })
}

@Test func lossyTensorsClaimingHugeShapesAreRejectedBeforeAllocation() throws {
    // A valid JPEG payload relabelled with a shape of 2^21 × 2^19 elements (4 TiB of floats).
    let c = try realContainer()
    var entry = c["mosaic.weight"]!
    #expect(DecodeLimits.accepts(entry))
    entry.shape = [1 << 21, 1 << 19]
    #expect(!DecodeLimits.accepts(entry))
    do {
        _ = try ModelCodec.decode(entry, codec: try JPEGTensorCodec(), path: "h.wjpg")
        Issue.record("huge tensor decoded")
    } catch let e as ContainerError {
        #expect(e.tensor == "mosaic.weight")
        #expect(e.description.contains("cannot come from"), "\(e)")
    }
    // The same through a whole file read from bytes.
    let file = Container(metadata: nil, entries: [entry]).serialized()
    #expect(throws: ContainerError.self) { _ = try ModelCodec.decompress(try Container(bytes: file, path: "h.wjpg"), path: "h.wjpg") }
    // The limit itself: small tensors always pass; above it, at most maxElementsPerByte per byte.
    #expect(DecodeLimits.allows(elements: DecodeLimits.unconditionalElements, payloadBytes: 0))
    #expect(!DecodeLimits.allows(elements: DecodeLimits.unconditionalElements + 1, payloadBytes: 1))
    #expect(DecodeLimits.allows(elements: 4096 * 1000, payloadBytes: 1000))
    #expect(!DecodeLimits.allows(elements: 4096 * 1000 + 1, payloadBytes: 1000))
}

@Test func theEncoderNeverWritesWhatTheDecoderRefuses() throws {
    // A large constant tensor codes to a few bytes per thousand weights: the encoder must fall back
    // (int8 per row) rather than write a file its own reader rejects.
    let zeros = SafetensorsTensor(name: "zero.weight", shape: [1024, 2048], floats: [Float](repeating: 0, count: 1024 * 2048))
    var policy = CompressionPolicy()
    policy.arithmetic = true
    policy.noiseLikeRelativeError = nil   // JPEG-code it as the classic rules say (a constant has no AC energy)
    let entry = try ModelCodec.encode(zeros, policy: policy, codec: try JPEGTensorCodec())
    #expect(entry.coding == .int8PerRow)
    let back = try ModelCodec.decode(entry, codec: try JPEGTensorCodec(), path: "z")
    #expect(try back.floats().allSatisfy { $0 == 0 })
    // The default policy and error-targeted mode code it without JPEG; their entries are accepted too.
    for bound in [nil, 0.03] {
        var p = CompressionPolicy()
        p.maxRelativeError = bound
        let e = try ModelCodec.encode(zeros, policy: p, codec: try JPEGTensorCodec())
        #expect(DecodeLimits.accepts(e))
        #expect(try ModelCodec.decode(e, codec: try JPEGTensorCodec(), path: "z").floats().allSatisfy { $0 == 0 })
    }
}
