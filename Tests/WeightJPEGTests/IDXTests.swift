import Foundation
import Testing
@testable import WeightJPEGFormats

/// IDX bytes: magic `00 00 type rank`, big-endian dimensions, then `payload`.
private func idx(type: UInt8 = 0x08, dimensions: [UInt32], payload: [UInt8]) -> Data {
    var bytes: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
    for d in dimensions { bytes += [UInt8(d >> 24), UInt8((d >> 16) & 0xFF), UInt8((d >> 8) & 0xFF), UInt8(d & 0xFF)] }
    return Data(bytes + payload)
}

/// A fresh empty directory under the system temporary directory.
private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "idx-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The `IDXError` thrown by `body`, or nil.
private func idxError(_ body: () throws(IDXError) -> IDXFile) -> IDXError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

@Suite struct IDXTests {
    let payload = (0..<24).map { UInt8($0 * 10) }

    @Test func readsGoodFile() throws {
        let file = try IDXFile(data: idx(dimensions: [2, 3, 4], payload: payload), path: "x")
        #expect(file.dimensions == [2, 3, 4])
        #expect(file.bytes == payload)
        #expect(file.count == 24)
        let ranked = try IDXFile(data: idx(dimensions: [2, 3, 4], payload: payload), path: "x", rank: 3)
        #expect(ranked == file)
    }

    @Test func readsFromDiskPlainAndGzipped() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes = idx(dimensions: [6, 4], payload: payload)
        try bytes.write(to: URL(fileURLWithPath: directory + "/plain-idx2-ubyte"))
        try Gzip.compress(bytes).write(to: URL(fileURLWithPath: directory + "/packed-idx2-ubyte.gz"))
        // Detection is by content, not by name.
        try Gzip.compress(bytes).write(to: URL(fileURLWithPath: directory + "/misnamed-idx2-ubyte"))
        let plain = try IDXFile.read(path: directory + "/plain-idx2-ubyte")
        #expect(plain.dimensions == [6, 4])
        #expect(plain.bytes == payload)
        #expect(try IDXFile.read(path: directory + "/packed-idx2-ubyte.gz") == plain)
        #expect(try IDXFile.read(path: directory + "/misnamed-idx2-ubyte") == plain)
    }

    @Test func acceptsZeroCount() throws {
        let file = try IDXFile(data: idx(dimensions: [0, 28, 28], payload: []), path: "empty")
        #expect(file.dimensions == [0, 28, 28])
        #expect(file.bytes.isEmpty)
    }

    @Test func missingFile() {
        let error = idxError { () throws(IDXError) in try IDXFile.read(path: "/nonexistent/train-images-idx3-ubyte") }
        #expect(error?.kind == .unreadable)
        #expect(error?.description == "/nonexistent/train-images-idx3-ubyte: no such file")
    }

    @Test func wrongMagic() {
        var bytes = idx(dimensions: [24], payload: payload)
        bytes[0] = 0x01
        let error = idxError { () throws(IDXError) in try IDXFile(data: bytes, path: "f") }
        #expect(error?.kind == .badMagic)
        #expect(error?.description == "f: magic is 0x01000801, expected 0x00000801 (unsigned byte data); not an IDX file")
    }

    @Test func wrongTypeCode() {
        let bytes = idx(type: 0x09, dimensions: [1, 2, 12], payload: payload)
        let error = idxError { () throws(IDXError) in try IDXFile(data: bytes, path: "data/mnist/train-images-idx3-ubyte", rank: 3) }
        #expect(error?.kind == .unsupportedType(0x09))
        #expect(error?.description == "data/mnist/train-images-idx3-ubyte: magic is 0x00000903, expected 0x00000803 (unsigned byte data); data type 0x09 (signed byte) is not supported")
    }

    @Test func wrongRank() {
        let bytes = idx(dimensions: [24], payload: payload)
        let error = idxError { () throws(IDXError) in try IDXFile(data: bytes, path: "f", rank: 3) }
        #expect(error?.kind == .wrongRank(1))
        #expect(error?.description == "f: magic is 0x00000801, expected 0x00000803 (unsigned byte data, rank 3); the file has rank 1")
        let rankZero = idxError { () throws(IDXError) in try IDXFile(data: idx(dimensions: [], payload: []), path: "f") }
        #expect(rankZero?.kind == .wrongRank(0))
    }

    @Test func truncatedHeader() {
        let tooShort = idxError { () throws(IDXError) in try IDXFile(data: Data([0, 0, 8]), path: "f") }
        #expect(tooShort?.kind == .truncatedHeader)
        // Rank 3 needs 16 header bytes; give 10.
        let bytes = idx(dimensions: [2, 3, 4], payload: []).prefix(10)
        let error = idxError { () throws(IDXError) in try IDXFile(data: bytes, path: "f") }
        #expect(error?.kind == .truncatedHeader)
        #expect(error?.description == "f: file is 10 bytes, too short for the 16-byte header of a rank-3 IDX file")
    }

    @Test func truncatedData() {
        let bytes = idx(dimensions: [2, 3, 4], payload: Array(payload.dropLast()))
        let error = idxError { () throws(IDXError) in try IDXFile(data: bytes, path: "f") }
        #expect(error?.kind == .truncatedData)
        #expect(error?.description == "f: data is 23 bytes, dimensions 2 × 3 × 4 need 24 bytes (file truncated)")
    }

    @Test func trailingData() {
        let bytes = idx(dimensions: [2, 3, 4], payload: payload + [1, 2])
        let error = idxError { () throws(IDXError) in try IDXFile(data: bytes, path: "f") }
        #expect(error?.kind == .trailingData)
        #expect(error?.description == "f: data is 26 bytes, dimensions 2 × 3 × 4 need 24 bytes (2 trailing bytes)")
    }

    @Test func dimensionOverflow() {
        let bytes = idx(dimensions: [.max, .max, .max], payload: [])
        let error = idxError { () throws(IDXError) in try IDXFile(data: bytes, path: "f") }
        #expect(error?.kind == .sizeOverflow)
        // Large but representable: a clean "truncated" error, no allocation attempted.
        let huge = idxError { () throws(IDXError) in try IDXFile(data: idx(dimensions: [.max, 0xFFFF], payload: []), path: "f") }
        #expect(huge?.kind == .truncatedData)
    }

    @Test func gzipTruncated() {
        let packed = Gzip.compress(idx(dimensions: [2, 3, 4], payload: payload))
        for cut in [1, 4, 9, packed.count - 12] {
            let error = idxError { () throws(IDXError) in try IDXFile(data: packed.dropLast(cut), path: "f.gz") }
            #expect(error?.kind == .gzip(.truncated(compressedBytes: packed.count - cut)), "cut \(cut)")
        }
        let error = idxError { () throws(IDXError) in try IDXFile(data: packed.dropLast(4), path: "f.gz") }
        #expect(error?.description == "f.gz: gzip stream is truncated (input ends after \(packed.count - 4) compressed bytes)")
    }

    @Test func gzipCorrupt() {
        var packed = Gzip.compress(idx(dimensions: [2, 3, 4], payload: payload))
        packed[packed.count - 6] ^= 0xFF  // inside the CRC-32 trailer
        let error = idxError { () throws(IDXError) in try IDXFile(data: packed, path: "f.gz") }
        guard case .gzip(.corrupt) = error?.kind else {
            Issue.record("expected a corrupt-gzip error, got \(String(describing: error))")
            return
        }
    }

    @Test func gzipMembersAndTrailingJunk() throws {
        let bytes = idx(dimensions: [2, 3, 4], payload: payload)
        // Two members concatenated decompress to the concatenation (as gunzip does).
        let twoMembers = Gzip.compress(bytes.prefix(10)) + Gzip.compress(bytes.dropFirst(10))
        #expect(try IDXFile(data: twoMembers, path: "f.gz").bytes == payload)
        let junk = Gzip.compress(bytes) + Data([0, 0, 0])
        let error = idxError { () throws(IDXError) in try IDXFile(data: junk, path: "f.gz") }
        #expect(error?.kind == .gzip(.trailingData(bytes: 3)))
    }

    @Test func gzipBombIsBounded() throws {
        // 64 MiB of zeros compresses to ~64 KB; a 1 MiB cap must stop it early.
        let bomb = Gzip.compress(Data(count: 64 << 20), level: 9)
        #expect(bomb.count < 100_000)
        #expect(throws: Gzip.Failure.tooLarge(limit: 1 << 20)) {
            try Gzip.decompress(bomb, maximumSize: 1 << 20)
        }
        let error = idxError { () throws(IDXError) in try IDXFile(data: bomb, path: "bomb.gz", maximumSize: 1 << 20) }
        #expect(error?.kind == .gzip(.tooLarge(limit: 1 << 20)))
        // Exactly at the limit is fine.
        let exact = Gzip.compress(Data(count: 5000))
        #expect(try Gzip.decompress(exact, maximumSize: 5000).count == 5000)
        #expect(throws: Gzip.Failure.tooLarge(limit: 4999)) { try Gzip.decompress(exact, maximumSize: 4999) }
    }

    @Test func gzipRoundTripAndLyingSizeTrailer() throws {
        let original = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        var packed = Gzip.compress(original)
        #expect(try Gzip.decompress(packed, maximumSize: 1 << 20) == original)
        #expect(throws: Gzip.Failure.notGzip) { try Gzip.decompress(original, maximumSize: 1 << 20) }
        // A trailer claiming 4 GiB only affects the initial capacity hint, and the CRC/length check
        // then reports corruption.
        packed.replaceSubrange((packed.count - 4)..<packed.count, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(packed, maximumSize: 1 << 20) }
    }
}
