import Foundation
import Testing
@testable import WeightJPEG

// Inputs found by the fuzzers (Fuzz/, scripts/fuzz), kept as fixtures: Fixtures/fuzz/TARGET-WHAT.bin.
// Each is fed to the reader it broke, the way the fuzz harness does, and must now give a clear error
// (the listed text) instead of a crash, a hang or a huge allocation.

private let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz").path

private func fixture(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: fuzzDirectory + "/" + name)))
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
]

@Test(arguments: containerFindings)
func containerFuzzFindingsGiveClearErrors(_ name: String, _ text: String) throws {
    let errors = try containerErrors(try fixture(name))
    #expect(errors.contains { $0.contains(text) }, "\(name): \(errors)")
}

@Test func everyFuzzFixtureIsListed() throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: fuzzDirectory).filter { $0.hasSuffix(".bin") }
    let listed = Set(containerFindings.map(\.0))
    #expect(Set(files).subtracting(listed).isEmpty, "unlisted fixtures: \(Set(files).subtracting(listed).sorted())")
}
