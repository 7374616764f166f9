import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEG
@testable import WeightJPEGTools

// `.wjpg` framing faults: short files, wrong magic or version, bad lengths and checksums, trailing
// bytes, flipped bits. Each names the fault (and the tensor when one is at fault).

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
    // docs/FORMAT.md §2: flags are written 0 unless a tensor has zero slices (bit 0), and a
    // version-1 reader rejects any other bit.
    let header = rawHeader(records: [])
    for flags: UInt16 in [2, 3, 0x8000, 0xFFFF] {
        #expect(parseError(rawFile(header: header, flags: flags))?.fault == .unsupportedFlags(flags), "flags \(flags) accepted")
    }
    #expect(Array(Container(metadata: nil, entries: []).serialized()[6...7]) == [0, 0])
}
