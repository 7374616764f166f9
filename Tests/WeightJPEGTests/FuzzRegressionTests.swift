import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGTools

// Inputs found by the fuzzers (Fuzz/, scripts/fuzz), kept as fixtures: Fixtures/fuzz/TARGET-WHAT.bin.
// Each is fed to the reader it broke, the way the fuzz harness does, and must now give a clear error
// (the listed text) instead of a crash, a hang or a huge allocation.


private func fixture(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("fuzz") + "/" + name)))
}

/// Every error the container harness meets while reading and decoding `bytes`.
private func containerErrors(_ bytes: [UInt8]) throws -> [String] {
    var errors: [String] = []
    let codec = try JPEGTensorCodec()
    for salvage in [false, true] {
        do {
            let container = try Container(bytes: bytes, path: "fuzz.wjpg", salvage: salvage)
            for entry in container.entries {
                do { _ = try ModelCodec.decode(entry, codec: codec, path: "fuzz.wjpg") } catch { errors.append("\(error)") }
                // The decompressor's path, into a buffer of at most 64 MiB (a larger request is the finding).
                let scratch = LargeBuffer(byteCount: 64 << 20)
                do {
                    try ModelCodec.decode(entry, codec: codec, path: "fuzz.wjpg", buffer: { count in
                        precondition(count <= scratch.bytes.count, "streamed decode asked for \(count) bytes")
                        return UnsafeMutableRawBufferPointer(rebasing: scratch.bytes[0..<count])
                    }, write: { _, _ in })
                } catch {
                    errors.append("streamed: \(error)")
                }
            }
        } catch {
            errors.append("\(error)")
        }
    }
    return errors
}

/// (fixture, text every error of it must contain... at least one error must contain).
private let containerFindings: [(String, String)] = [
    // A JPEG tensor of shape [65536+, ...] with a 3 KB payload: 660 MB were allocated before any
    // payload was checked. Now DecodeLimits rejects it from the header.
    ("container-oom-jpeg-shape.bin", "cannot come from"),
    // A float16/int8/JPEG-coded tensor whose dtype says I64: the decoded floats hit a precondition
    // (floats cannot be stored as integers). Now a lossy coding requires a floating-point dtype.
    ("container-crash-lossy-coding-integer-dtype.bin", "needs a floating-point dtype"),
    // The decompressor's streamed decode (pieces written at their offsets) allocated its buffer for
    // a damaged float64 tensor of a hostile shape (184 GB) before the checks of the plain path. Now
    // it runs them first, in the same order, and gives the same error.
    ("container-oom-streamed-decode.bin", "streamed: fuzz.wjpg: tensor 'r': coding 3"),
]

@Test(arguments: containerFindings)
func containerFuzzFindingsGiveClearErrors(_ name: String, _ text: String) throws {
    let errors = try containerErrors(try fixture(name))
    #expect(errors.contains { $0.contains(text) }, "\(name): \(errors)")
}

/// The JPEG harness's reading of an input: byte 0 is the mode (bit 0 coefficients, bit 1 a
/// tables stream whose length is in bytes 1–2), the rest the stream; decoded in strict mode with a
/// 2^20-pixel budget. Returns the error, or nil when the stream was accepted.
private func jpegError(_ bytes: [UInt8]) throws -> String? {
    guard let mode = bytes.first else { return "empty" }
    var rest = Array(bytes.dropFirst())
    var tables: [UInt8]?
    if mode & 2 != 0 {
        let n = min(Int(rest[0]) | Int(rest[1]) << 8, rest.count - 2)
        tables = Array(rest[2..<(2 + n)])
        rest = Array(rest[(2 + n)...])
    }
    let decoder = try JPEGDecoder()
    do {
        if mode & 1 != 0 { _ = try decoder.readCoefficients(rest, tables: tables, maxPixels: 1 << 20) }
        else { _ = try decoder.decode(rest, tables: tables, maxPixels: 1 << 20) }
        return nil
    } catch {
        return error.description
    }
}

private let jpegFindings: [(String, String)] = [
    // A DQT with zero steps: libjpeg accepts it and readCoefficients returned a table that
    // JPEGEncoder.write rejects (and that zeroes coefficients). Zero steps are invalid (T.81 B.2.4.1).
    ("jpeg-zero-quantization-step.bin", "zero step"),
]

@Test(arguments: jpegFindings)
func jpegFuzzFindingsGiveClearErrors(_ name: String, _ text: String) throws {
    let bytes = try fixture(name)
    // Both modes: coefficients (as found) and pixels.
    for mode: UInt8 in [bytes[0], bytes[0] ^ 1] {
        let error = try jpegError([mode] + bytes.dropFirst())
        #expect(error?.contains(text) == true, "\(name) mode \(mode): \(String(describing: error))")
    }
}

@Test func everyFuzzFixtureIsListed() throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: TestPaths.fixture("fuzz")).filter { $0.hasSuffix(".bin") }
    let listed = Set((containerFindings + jpegFindings).map(\.0))
    #expect(Set(files).subtracting(listed).isEmpty, "unlisted fixtures: \(Set(files).subtracting(listed).sorted())")
}

// Found by review after the merge of the rANS coding (coding 4), which the fuzzers had not seen: a
// rANS stream whose table gives one symbol almost all the probability costs ~2⁻¹⁵ bits per symbol,
// so a shape of billions of elements passed the stream-capacity check and was allocated. Now the
// JPEG rule of DecodeLimits applies to coding 4 as well.
@Test func anEntropyCodedTensorCannotClaimAHugeShape() throws {
    let values = [Float](repeating: 0, count: 4096) + [1]
    let coding = TensorCoding.entropyUniform(step: 1)
    let payloads = try #require(UniformCodecs.encodeEntropy(values, step: 1))
    let honest = ContainerEntry(name: "w", dtype: "F32", shape: [values.count], coding: coding,
                                payloads: payloads)
    let codec = try JPEGTensorCodec()
    #expect(try ModelCodec.floats(of: honest, codec: codec, path: "m.wjpg") == values)
    // A table giving symbol 0 probability 65535/65536 (2⁻¹⁵ bits per symbol) and a 100 KB stream:
    // the stream-capacity check alone allowed 3.6·10¹⁰ symbols, so 2^34 elements (64 GiB) passed it.
    var hostile = honest
    hostile.shape = [1 << 20, 1 << 14]
    var rng = RandomSource(seed: 3)
    hostile.payloads = [RANS.Table(minimum: 0, frequencies: [65_535, 1]).serialized(),
                        (0..<100_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }]
    #expect(!DecodeLimits.accepts(hostile))
    let bytes = Container(metadata: nil, entries: [hostile]).serialized()
    #expect(try containerErrors(bytes).contains { $0.contains("cannot come from") })
}
