import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

private func gaussian(_ n: Int, sigma: Float, seed: UInt64) -> [Float] { entropyTrellisGaussian(n, sigma: sigma, seed: seed) }

@Test func entropyTrellisParametersRoundTripAndInvalidOnesAreRefused() throws {
    let p = EntropyTrellisParameters(dependent: true, step: 0.003, rowsPerChunk: 682)
    let coding = TensorCoding.entropyTrellis(p)
    #expect(coding.code == 6 && coding.name == "entropy-trellis")
    #expect(coding.parameterBytes.count == 10)
    #expect(try TensorCoding(code: 6, parameters: coding.parameterBytes) == coding)
    let plain = TensorCoding.entropyTrellis(EntropyTrellisParameters(dependent: false, step: 1e-30, rowsPerChunk: 1))
    #expect(try TensorCoding(code: 6, parameters: plain.parameterBytes) == plain)
    var bad: [[UInt8]] = [[], Array(coding.parameterBytes.prefix(9)), coding.parameterBytes + [0]]
    for (offset, value) in [(0, 2), (1, 2), (5, 0x7F), (5, 0xFF)] {   // version, mode, step NaN / negative NaN
        var b = coding.parameterBytes
        b[offset] = UInt8(value)
        if offset == 5 { b[2] = 0xFF; b[3] = 0xFF; b[4] = 0xFF }
        bad.append(b)
    }
    var zeroStep = coding.parameterBytes
    zeroStep[2...5] = [0, 0, 0, 0]
    var negative = coding.parameterBytes
    negative[5] |= 0x80
    var noRows = coding.parameterBytes
    noRows[6...9] = [0, 0, 0, 0]
    bad += [zeroStep, negative, noRows]
    for b in bad {
        #expect(throws: TensorCoding.InvalidCoding.self) { try TensorCoding(code: 6, parameters: b) }
    }
}

@Test func entropyTrellisEncodesAtAGivenStepInBothModes() throws {
    let values = gaussian(48 * 70, sigma: 0.05, seed: 21)
    let codec = try JPEGTensorCodec()
    for dependent in [false, true] {
        let coding = TensorCoding.entropyTrellis(EntropyTrellisParameters(dependent: dependent, step: 0.004, rowsPerChunk: 10))
        let coded = try #require(try coding.encode(values, shape: [48, 70], dtype: .F32, jpeg: codec))
        guard case .entropyTrellis(let p) = coded.coding else { Issue.record("coded as \(coded.coding)"); continue }
        #expect(p.dependent == dependent && p.step == 0.004 && p.rowsPerChunk == 10)
        #expect(coded.payloads.count == 1 + 5)
        let back = try coded.coding.codec().decode(coded.payloads, shape: [48, 70], dtype: .F32, jpeg: codec)
        // Plain: within half a step. Trellis: one of the two reconstructions that bracket the weight
        // in its quantizer (2Δ apart), so within 2Δ, and its mean squared error is near Δ²/4.
        let worst = zip(values, back).map { abs($0 - $1) }.max()!
        #expect(worst <= (dependent ? 2.0 : 0.5) * 0.004 * 1.0001, "max error \(worst)")
        let meanSquare = zip(values, back).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(values.count)
        #expect(meanSquare / (0.004 * 0.004) < (dependent ? 0.4 : 1.0 / 12 + 0.01), "mean squared error \(meanSquare / (0.004 * 0.004)) step²")
    }
    // Rank 1 and rank 3 tensors are one row / shape[0] rows.
    let vector = gaussian(3000, sigma: 1, seed: 22)
    let coding = TensorCoding.entropyTrellis(EntropyTrellisParameters(dependent: true, step: 0.05, rowsPerChunk: 1))
    let coded = try #require(try coding.encode(vector, shape: [3000], dtype: .F32, jpeg: codec))
    #expect(coded.payloads.count == 2)
    #expect(try coded.coding.codec().decode(coded.payloads, shape: [3000], dtype: .F32, jpeg: codec).count == 3000)
    let cube = try #require(try coding.encode(vector, shape: [10, 15, 20], dtype: .F32, jpeg: codec))
    #expect(cube.payloads.count == 11)
}

/// The error-targeted search chooses coding 6 on noise-like weights when it is smaller than coding
/// 4, and the bound holds after the container round trip, in every dtype.
@Test(arguments: [0.002, 0.01, 0.03])
func theSearchPicksEntropyTrellisOnNoiseWithinTheBound(bound: Double) throws {
    var policy = CompressionPolicy()
    policy.maxRelativeError = bound
    var rowScaled = gaussian(300 * 64, sigma: 1, seed: 23)
    for r in 0..<300 { for c in 0..<64 { rowScaled[r * 64 + c] *= Float(pow(10.0, -2.0 * Double(r % 30) / 30)) } }
    let file = SafetensorsFile(tensors: [
        SafetensorsTensor(name: "q.weight", shape: [128, 128], floats: gaussian(128 * 128, sigma: 0.04, seed: 24)),
        SafetensorsTensor(name: "embed.weight", shape: [300, 64], floats: rowScaled),
        SafetensorsTensor(name: "half.weight", shape: [64, 96], floats: gaussian(64 * 96, sigma: 0.02, seed: 25), dtype: .F16),
        SafetensorsTensor(name: "brain.weight", shape: [64, 96], floats: gaussian(64 * 96, sigma: 0.02, seed: 26), dtype: .BF16),
    ], metadata: nil)
    let container = try ModelCodec.compress(file, policy: policy)
    let parsed = try Container(bytes: container.serialized(), path: "m.wjpg")
    let back = try ModelCodec.decompress(parsed, path: "m.wjpg")
    let codec = try JPEGTensorCodec()
    for (a, b) in zip(file.tensors, back.tensors) {
        let e = WeightDistortion(original: try a.floats(), decoded: try b.floats())
        #expect(e.within(bound), "\(a.name): relative error \(String(describing: e.relative)) > \(bound)")
        guard a.dtype == .F32 else { continue }
        let entry = try #require(parsed[a.name])
        guard case .entropyTrellis = entry.coding else { Issue.record("\(a.name) coded \(entry.coding)"); continue }
        // Smaller than coding 4 at the same bound, as the search measured it.
        let values = try a.floats()
        var norm = 0.0
        for v in values { norm += Double(v) * Double(v) }
        let c4 = try #require(ErrorTargetedSearch.entropyUniform(values, norm: norm, bound: bound) { (coding: TensorCoding, _: [UInt16]?) throws(CodecError) -> ErrorTargetedSearch.Choice? in
            guard let coded = try coding.encode(values, shape: a.shape, dtype: .F32, jpeg: codec),
                  let decoded = try? ModelCodec.decodeValues(coding: coded.coding, payloads: coded.payloads, shape: a.shape, codec: codec) else { return nil }
            return ErrorTargetedSearch.Choice(coding: coded.coding, payloads: coded.payloads, error: WeightDistortion(original: values, decoded: decoded))
        })
        let bytes = entry.payloads.reduce(0) { $0 + $1.count } + entry.coding.parameterBytes.count
        #expect(bytes < c4.bytes, "\(a.name): coding 6 \(bytes) B, coding 4 \(c4.bytes) B")
    }
}

/// A container entry of coding 6 whose shape claims far more elements than its bytes can hold is
/// refused when the header is read (DecodeLimits), before anything of the tensor's size is allocated;
/// a wrong payload count or a damaged chunk is a typed error naming the tensor.
@Test func hostileEntropyTrellisEntriesAreRefusedWithTypedErrors() throws {
    let values = gaussian(64 * 64, sigma: 0.1, seed: 27)
    let codec = try JPEGTensorCodec()
    let coding = TensorCoding.entropyTrellis(EntropyTrellisParameters(dependent: true, step: 0.01, rowsPerChunk: 16))
    let coded = try #require(try coding.encode(values, shape: [64, 64], dtype: .F32, jpeg: codec))
    func entry(shape: [Int], payloads: [[UInt8]]) -> ContainerEntry {
        ContainerEntry(name: "w", dtype: "F32", shape: shape, coding: coded.coding, payloads: payloads)
    }
    let good = Container(metadata: nil, entries: [entry(shape: [64, 64], payloads: coded.payloads)])
    let decoded = try ModelCodec.decompress(Container(bytes: good.serialized(), path: "g.wjpg"), path: "g.wjpg")
    #expect(try decoded.tensors[0].floats().count == 4096)
    // 2^40 elements from a few kilobytes: refused by the header reader.
    let huge = Container(metadata: nil, entries: [entry(shape: [1 << 20, 1 << 20], payloads: coded.payloads)])
    #expect(throws: ContainerError.self) { try Container(bytes: huge.serialized(), path: "h.wjpg") }
    // Missing chunk, extra payload, truncated chunk, flipped model byte: typed errors.
    var cases: [[[UInt8]]] = [Array(coded.payloads.dropLast()), coded.payloads + [[1, 2, 3, 4]]]
    var cut = coded.payloads
    cut[2] = Array(cut[2].dropLast(2))
    cases.append(cut)
    var flipped = coded.payloads
    flipped[0][0] = 200
    cases.append(flipped)
    for payloads in cases {
        let c = Container(metadata: nil, entries: [entry(shape: [64, 64], payloads: payloads)])
        let parsed = try Container(bytes: c.serialized(), path: "b.wjpg")
        #expect(throws: ContainerError.self) { try ModelCodec.decompress(parsed, path: "b.wjpg") }
    }
}

/// A tensor of several chunks above 2²⁰ elements decodes on several threads to the same values as
/// one chunk at a time.
@Test func largeTensorsDecodeTheirChunksInParallelToTheSameValues() throws {
    let rows = 1100, columns = 1000
    let values = gaussian(rows * columns, sigma: 0.02, seed: 28)
    let enc = try #require(EntropyTrellis.encode(values, rows: rows, columns: columns, maxRelativeError: 0.03))
    #expect(enc.payloads.count > 2)
    let parallel = try EntropyTrellis.decode(enc.payloads, parameters: enc.parameters, rows: rows, columns: columns)
    let prepared = try EntropyTrellis.prepare(parameters: enc.parameters, model: enc.payloads[0], rows: rows, columns: columns)
    var serial = [Float](repeating: .nan, count: values.count)
    try serial.withUnsafeMutableBufferPointer { o in
        for i in 0..<prepared.chunks { try EntropyTrellis.decodeChunk(enc.payloads[i + 1], index: i, prepared: prepared, into: o) }
    }
    #expect(parallel == serial)
    #expect(WeightDistortion(original: values, decoded: parallel).within(0.03))
}
