import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEG
@testable import WeightJPEGTools

// Headers whose checksum is right but whose content lies (huge counts, overlapping payloads, bad
// codings), and salvage: what survives a damaged file and what never does.

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

@Test func salvageOfAPayloadLengthBeyondIntReportsTheDamage() throws {
    // A length above Int.max once trapped the salvaging reader (found by the container fuzzer).
    let payload: [UInt8] = [1, 2, 3, 4]
    let huge = RawRecord(name: "w", shape: [1], payloads: [RawPayload(offset: 0, length: .max - 7, crc: TestCRC32.checksum(payload))])
    let file = rawFile(header: rawHeader(records: [huge]), area: payload)
    guard case .payloadBounds = parseError(file)?.fault else { Issue.record("a normal read accepted the length"); return }
    let salvaged = try Container(bytes: file, path: "s", salvage: true)
    guard case .payloadBounds = salvaged["w"]?.damage?.fault else {
        Issue.record("w's damage is \(String(describing: salvaged["w"]?.damage))"); return
    }
}
