import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGModel
@testable import WeightJPEG
@testable import WeightJPEGTools


private func reference() throws -> SafetensorsFile { try SafetensorsFile.read(path: TestPaths.referenceMLP) }

/// A fresh empty directory (`TestPaths.temporaryDirectory`) as a file URL, removed by the caller.
func temporaryDirectoryURL(_ label: String) throws -> URL {
    URL(fileURLWithPath: try TestPaths.temporaryDirectory(label), isDirectory: true)
}

private func coding(_ entry: ContainerEntry?) -> TensorCoding? {
    entry?.coding
}

/// Compresses, serializes, parses and decompresses: the whole path a file takes.
private func throughFile(_ file: SafetensorsFile, _ policy: CompressionPolicy) throws -> (container: Container, bytes: Int, back: SafetensorsFile) {
    let container = try ModelCodec.compress(file, policy: policy)
    let bytes = container.serialized()
    let parsed = try Container(bytes: bytes, path: "m.wjpg")
    #expect(parsed == container)
    return (container, bytes.count, try ModelCodec.decompress(parsed, path: "m.wjpg"))
}

// MARK: - The reference model

@Test func referenceFixtureIsIntact() throws {
    let file = try reference()
    #expect(file.tensors.map(\.name) == ["0.bias", "0.weight", "2.bias", "2.weight"])
    #expect(file.tensors.map(\.shape) == [[512], [512, 784], [10], [10, 512]])
    #expect(file.tensors.allSatisfy { $0.dtype == .F32 })
    #expect(file.metadata == nil)
}

@Test func referenceModelRoundTripsWithDefaults() throws {
    var file = try reference()
    file.metadata = ["format": "pt", "trained": "PyTorch 2.x, seed 0"]
    let (container, size, back) = try throughFile(file, CompressionPolicy())

    #expect(back.tensors.map(\.name) == file.tensors.map(\.name))
    #expect(back.tensors.map(\.shape) == file.tensors.map(\.shape))
    #expect(back.tensors.map(\.dtype) == file.tensors.map(\.dtype))
    #expect(back.metadata == file.metadata)
    #expect(container.entries.map(\.dtype) == ["F32", "F32", "F32", "F32"])

    // The default policy: JPEG for the 784-column layer, float16 biases, int8 rows for the small layer.
    guard case .jpeg(let p) = coding(container["0.weight"]) else {
        Issue.record("0.weight coded \(String(describing: coding(container["0.weight"])))"); return
    }
    #expect(p.layout == .rows(height: 28, width: 28))
    #expect(p.quality == 20 && p.scale == .tensor && p.pack == .mosaic)
    #expect(coding(container["0.bias"]) == .float16)
    #expect(coding(container["2.bias"]) == .float16)
    #expect(coding(container["2.weight"]) == .int8PerRow)

    // Whole file at quality 20.
    #expect(size <= 40_000, "compressed reference model is \(size) bytes")

    for t in file.tensors {
        let original = try t.floats()
        let decoded = try back[t.name]!.floats()
        let range = original.max()! - original.min()!
        var err2 = 0.0, ref2 = 0.0, maxAbs: Float = 0
        for (a, b) in zip(original, decoded) {
            err2 += Double((a - b) * (a - b)); ref2 += Double(a * a); maxAbs = max(maxAbs, abs(a - b))
        }
        let relativeRMS = (err2 / ref2).squareRoot()
        // The first layer's rows are mostly high-frequency noise left from initialization, which
        // quality 20 smooths away: measured 0.557 (per-tensor scale). The other codings are near exact.
        #expect(relativeRMS < (t.name == "0.weight" ? 0.65 : 0.01), "\(t.name): relative RMS error \(relativeRMS)")
        #expect(maxAbs <= range, "\(t.name): max error \(maxAbs), range \(range)")
        switch t.name {
        case "0.bias", "2.bias":
            // float16: relative error ≤ 2⁻¹¹ (normal range) or half the subnormal spacing.
            for (a, b) in zip(original, decoded) { #expect(abs(a - b) <= max(abs(a) / 2048, 3e-8)) }
        case "2.weight":
            // int8 per row: error ≤ half a quantization step of the row.
            for r in 0..<10 {
                let row = original[(r * 512)..<((r + 1) * 512)]
                let step = row.map(abs).max()! / 127
                for c in 0..<512 { #expect(abs(original[r * 512 + c] - decoded[r * 512 + c]) <= step * 0.5001) }
            }
        default:
            break
        }
    }
}

@Test func firstLayerErrorShrinksWithQuality() throws {
    // Quality against error on the real first layer (per-tensor scale): the error falls with quality
    // and at quality 100 stays within about 1.5 pixel steps (rounding plus the DCT's own rounding).
    let w = try reference()["0.weight"]!
    let original = try w.floats()
    let step = (original.max()! - original.min()!) / 255
    var previous = Double.infinity
    for q in [20, 100] {
        var policy = CompressionPolicy()
        policy.quality = q
        let file = SafetensorsFile(tensors: [w])
        let (_, _, back) = try throughFile(file, policy)
        let decoded = try back["0.weight"]!.floats()
        var err2 = 0.0, maxAbs: Float = 0
        for (a, b) in zip(original, decoded) { err2 += Double((a - b) * (a - b)); maxAbs = max(maxAbs, abs(a - b)) }
        let rms = (err2 / Double(original.count)).squareRoot()
        #expect(rms < previous, "q\(q): rms \(rms)")
        previous = rms
        if q == 100 { #expect(maxAbs <= 1.6 * step, "q100: max error \(maxAbs / step) steps") }
    }
}

@Test func exactPatternsKeepBiasesBitForBit() throws {
    let file = try reference()
    var policy = CompressionPolicy()
    policy.exactPatterns = ["*bias"]
    let (container, _, back) = try throughFile(file, policy)
    #expect(coding(container["0.bias"]) == .exact)
    #expect(coding(container["2.bias"]) == .exact)
    #expect(back["0.bias"] == file["0.bias"])
    #expect(back["2.bias"] == file["2.bias"])
    #expect(back["0.bias"]?.data == file["0.bias"]?.data)
    // The weights are still coded lossily.
    guard case .jpeg = coding(container["0.weight"]) else { Issue.record("0.weight not JPEG"); return }
    #expect(back["0.weight"] != file["0.weight"])
    // Glob semantics: whole-name match.
    #expect(CompressionPolicy.glob("*bias", matches: "0.bias"))
    #expect(!CompressionPolicy.glob("bias", matches: "0.bias"))
    #expect(CompressionPolicy.glob("?.weight", matches: "2.weight"))
    #expect(CompressionPolicy.glob("[02].weight", matches: "0.weight"))
}

@Test func policyOptionsReachTheStoredParameters() throws {
    let file = try reference()
    var policy = CompressionPolicy()
    policy.quality = 50
    policy.scale = .tile
    policy.pack = .sharedTables
    policy.qualityOverrides = [(pattern: "0.*", quality: 35)]
    policy.jpegMinimumElements = 1024
    policy.layout = .matrix(tileHeight: 64, tileWidth: 64)
    let (container, _, back) = try throughFile(file, policy)
    guard case .jpeg(let p0) = coding(container["0.weight"]), case .jpeg(let p2) = coding(container["2.weight"]) else {
        Issue.record("weights not JPEG-coded"); return
    }
    #expect(p0.quality == 35 && p2.quality == 50)
    #expect(p0.scale == .tile && p0.pack == .sharedTables && p0.layout == .matrix(tileHeight: 64, tileWidth: 64))
    #expect(back.tensors.map(\.shape) == file.tensors.map(\.shape))
}

// MARK: - Dtypes and bad values

@Test func nonFiniteValuesAreRejectedNamingTheTensor() throws {
    var rng = RandomSource(seed: 31)
    let big = (0..<(32 * 784)).map { _ in rng.uniform(0.1) }
    let small = (0..<(10 * 200)).map { _ in rng.uniform(0.1) }
    let cases: [(String, [Int], [Float], Int)] = [
        ("bias.nan", [16], Array(repeating: 0.5, count: 16), 3),           // float16 path
        ("big.inf", [32, 784], big, 1000),                                  // JPEG path
        ("small.ninf", [10, 200], small, 1999),                             // int8 path
    ]
    for (name, shape, values, bad) in cases {
        for poison: Float in [.nan, .infinity, -.infinity] {
            var v = values
            v[bad] = poison
            let file = SafetensorsFile(tensors: [
                SafetensorsTensor(name: "fine", shape: [4], floats: [1, 2, 3, 4]),
                SafetensorsTensor(name: name, shape: shape, floats: v),
            ])
            do {
                _ = try ModelCodec.compress(file, policy: CompressionPolicy())
                Issue.record("\(name) with \(poison) compressed")
            } catch let error as CodecError {
                #expect(error.tensor == name)
                #expect(error.description.contains(name))
            } catch {
                Issue.record("\(name): unexpected \(error)")
            }
            // Kept exact on request, it round-trips bit for bit.
            var policy = CompressionPolicy()
            policy.exactPatterns = [name]
            let (_, _, back) = try throughFile(file, policy)
            #expect(back[name]?.data == file[name]?.data)
        }
    }
}

@Test func halfAndBFloatTensorsKeepTheirDtype() throws {
    var rng = RandomSource(seed: 41)
    // Smooth (image-like) weights with a little noise.
    func smooth(_ rows: Int, _ columns: Int, _ period: Double) -> [Float] {
        (0..<(rows * columns)).map { (i: Int) -> Float in
            let phase: Double = Double(i % columns) / period + Double(i / columns) / 9
            return 0.05 * Float(sin(phase)) + rng.uniform(0.002)
        }
    }
    let w784 = smooth(64, 784, 40)
    let w512 = smooth(64, 512, 30)
    let bias = (0..<64).map { _ in rng.uniform(0.5) }
    let tiny = (0..<16).map { _ in rng.uniform(2) }
    let file = SafetensorsFile(tensors: [
        SafetensorsTensor(name: "h.weight", shape: [64, 784], floats: w784, dtype: .F16),
        SafetensorsTensor(name: "h.bias", shape: [64], floats: bias, dtype: .F16),
        SafetensorsTensor(name: "b.weight", shape: [64, 512], floats: w512, dtype: .BF16),
        SafetensorsTensor(name: "b.bias", shape: [64], floats: bias, dtype: .BF16),
        SafetensorsTensor(name: "b.small", shape: [4, 4], floats: tiny, dtype: .BF16),
        SafetensorsTensor(name: "h.mid", shape: [40, 100], floats: Array(w512.prefix(4000)), dtype: .F16),
    ], metadata: ["dtype": "mixed"])
    let (container, _, back) = try throughFile(file, CompressionPolicy())
    #expect(back.tensors.map(\.name) == file.tensors.map(\.name))
    #expect(back.tensors.map(\.dtype) == [.F16, .F16, .BF16, .BF16, .BF16, .F16])
    #expect(back.tensors.map(\.shape) == file.tensors.map(\.shape))
    #expect(back.metadata == ["dtype": "mixed"])
    // Two-byte sources are never widened: small ones are stored exactly.
    #expect(coding(container["h.bias"]) == .exact)
    #expect(coding(container["b.bias"]) == .exact)
    #expect(coding(container["b.small"]) == .exact)
    #expect(back["h.bias"] == file["h.bias"] && back["b.bias"] == file["b.bias"] && back["b.small"] == file["b.small"])
    #expect(coding(container["h.mid"]) == .int8PerRow)
    guard case .jpeg(let ph) = coding(container["h.weight"]), case .jpeg(let pb) = coding(container["b.weight"]) else {
        Issue.record("large F16/BF16 weights not JPEG-coded"); return
    }
    #expect(ph.layout == .rows(height: 28, width: 28))
    #expect(pb.layout == .defaultMatrix)
    for name in ["h.weight", "b.weight", "h.mid"] {
        let a = try file[name]!.floats(), b = try back[name]!.floats()
        let rms = (zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count)).squareRoot()
        let scale = (a.reduce(0.0) { $0 + Double($1 * $1) } / Double(a.count)).squareRoot()
        #expect(rms < 0.1 * scale, "\(name): rms error \(rms) vs rms \(scale)")
        #expect(back[name]!.data.count == file[name]!.data.count)
    }
}

@Test func integerAndOtherTensorsAreExact() throws {
    var i64 = Data()
    for v: Int64 in [-1, 0, 1, 1 << 40, .min, .max] { withUnsafeBytes(of: v.littleEndian) { i64.append(contentsOf: $0) } }
    let u8 = Data((0..<255).map { UInt8($0) })
    var f64 = Data()
    for v: Double in [.pi, -1e300, 0] { withUnsafeBytes(of: v.bitPattern.littleEndian) { f64.append(contentsOf: $0) } }
    let file = SafetensorsFile(tensors: [
        SafetensorsTensor(name: "steps", dtype: .I64, shape: [2, 3], data: i64),
        SafetensorsTensor(name: "mask", dtype: .U8, shape: [5, 51], data: u8),
        SafetensorsTensor(name: "double", dtype: .F64, shape: [3], data: f64),
        SafetensorsTensor(name: "empty", dtype: .I64, shape: [0, 3], data: Data()),
        SafetensorsTensor(name: "emptyf", dtype: .F32, shape: [0], data: Data()),
        SafetensorsTensor(name: "scalar", dtype: .F32, shape: [], data: Data([0, 0, 0x80, 0x3F])),
    ])
    let (container, _, back) = try throughFile(file, CompressionPolicy())
    #expect(coding(container["steps"]) == .exact)
    #expect(coding(container["mask"]) == .exact)
    #expect(coding(container["double"]) == .exact)
    for t in ["steps", "mask", "double", "empty"] { #expect(back[t] == file[t], "\(t)") }
    #expect(back["emptyf"]?.shape == [0] && back["emptyf"]?.dtype == .F32 && back["emptyf"]?.data.isEmpty == true)
    #expect(try back["scalar"]?.floats() == [1])
    #expect(back.tensors.map(\.name) == file.tensors.map(\.name))
}

@Test func corruptEntriesDecodeToContainerErrors() throws {
    let file = try reference()
    let container = try ModelCodec.compress(file, policy: CompressionPolicy())
    let codec = try JPEGTensorCodec()
    var mutations: [(String, ContainerEntry)] = []
    var e = container["0.weight"]!
    e.payloads.removeLast()
    mutations.append(("missing image", e))
    // Unknown coding bytes and bad parameter bytes are container parse errors (ContainerTests).
    e = container["0.weight"]!
    e.coding = .float16
    mutations.append(("coding that does not match the payloads", e))
    e = container["0.weight"]!
    guard case .jpeg(var p) = e.coding else { Issue.record("0.weight is not JPEG"); return }
    p.pack = .sharedTables
    e.coding = .jpeg(p)
    mutations.append(("parameters that do not match the payloads", e))
    e = container["0.weight"]!
    e.shape = [784, 512]
    mutations.append(("shape that does not fit the layout", e))
    e = container["0.weight"]!
    e.shape = [401_408]
    mutations.append(("rank 1 JPEG", e))
    e = container["0.bias"]!
    e.payloads[0].removeLast()
    mutations.append(("short float16", e))
    e = container["2.weight"]!
    e.shape = [20, 256]
    mutations.append(("int8 rows that do not match", e))
    e = container["2.weight"]!
    e.dtype = "F128"
    mutations.append(("unknown dtype", e))
    var exact = container["0.bias"]!
    exact.coding = .exact
    mutations.append(("exact with the wrong byte count", exact))
    for (label, entry) in mutations {
        do {
            _ = try ModelCodec.floats(of: entry, codec: codec, path: "c.wjpg")
            Issue.record("\(label): decoded")
        } catch let error as ContainerError {
            #expect(error.tensor == entry.name, "\(label)")
            #expect(error.path == "c.wjpg")
        } catch {
            Issue.record("\(label): \(error)")
        }
        var broken = container
        broken.entries[broken.entries.firstIndex { $0.name == entry.name }!] = entry
        #expect(throws: ContainerError.self, "\(label)") { _ = try ModelCodec.decompress(broken, path: "c.wjpg") }
    }
}

@Test(.enabled(if: TestPaths.hasTestSet, "MNIST not found in data/mnist"))
func decodedReferenceModelKeepsItsAccuracy() throws {
    let test = try Dataset.load(directory: TestPaths.mnist, split: .test)
    let inputs = test.normalized()
    let original = try ModelFile.load(TestPaths.referenceMLP)
    let originalAccuracy = try original.evaluate(inputs: inputs, labels: test.labels).accuracy
    #expect(abs(originalAccuracy - 0.9796) < 0.00005, "reference model: \(originalAccuracy)")

    let dir = try temporaryDirectoryURL("eval")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("mlp_seed0.wjpg").path
    try ModelCodec.compress(try reference(), policy: CompressionPolicy()).write(to: path)
    #expect(ModelFile.isContainer(path))
    let decoded = try ModelFile.load(path)
    let accuracy = try decoded.evaluate(inputs: inputs, labels: test.labels).accuracy
    #expect(abs(accuracy - 0.9796) <= 0.003, "decoded model at quality 20: \(accuracy * 100)%")
}
