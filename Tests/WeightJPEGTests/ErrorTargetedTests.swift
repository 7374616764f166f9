import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGModel
@testable import WeightJPEG
@testable import WeightJPEGTools

/// Gaussian samples (Box–Muller over the seeded generator).
private func gaussian(_ n: Int, sigma: Float, seed: UInt64) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<n).map { _ in
        let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12), u2 = Double(rng.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)) * sigma
    }
}

private func floats(_ t: SafetensorsTensor) -> [Float] { try! t.floats() }

// MARK: - rANS

@Test func ransRoundTripsSkewedSymbols() throws {
    var rng = RandomSource(seed: 7)
    // Geometric-ish symbols around 0, with a few rare outliers and negative values.
    let symbols: [Int32] = (0..<20_000).map { _ in
        let r = rng.next() % 1000
        return r < 600 ? 0 : r < 800 ? 1 : r < 950 ? -1 : r < 999 ? Int32(r % 7) - 3 : 40
    }
    let table = try #require(RANS.Table(counting: symbols))
    #expect(table.frequencies.reduce(0, +) == UInt32(RANS.total))
    let stream = RANS.encode(symbols, table: table)
    #expect(try RANS.decode(stream, count: symbols.count, table: table) == symbols)
    // Near the entropy: these probabilities have about 1.6 bits/symbol; the coder must be within 2%.
    var counts: [Int32: Int] = [:]
    for s in symbols { counts[s, default: 0] += 1 }
    let entropy = counts.values.reduce(0.0) { let p = Double($1) / Double(symbols.count); return $0 - p * log2(p) }
    #expect(Double(stream.count * 8) <= entropy * Double(symbols.count) * 1.02 + 64)
    // The table survives serialization.
    #expect(RANS.Table(bytes: table.serialized()) == table)
}

@Test func ransRejectsCorruptStreamsAndTables() throws {
    let symbols: [Int32] = (0..<5000).map { Int32($0 % 5) - 2 }
    let table = try #require(RANS.Table(counting: symbols))
    let stream = RANS.encode(symbols, table: table)
    #expect(throws: CodecError.self) { try RANS.decode(Array(stream.dropLast()), count: symbols.count, table: table) }
    #expect(throws: CodecError.self) { try RANS.decode(stream + [0], count: symbols.count, table: table) }
    #expect(throws: CodecError.self) { try RANS.decode(stream, count: symbols.count + 1, table: table) }
    #expect(throws: CodecError.self) { try RANS.decode([1, 2], count: 1, table: table) }
    // Every single-byte flip either fails or decodes to something (never crashes); most are detected.
    var detected = 0
    for i in stride(from: 0, to: stream.count, by: max(1, stream.count / 200)) {
        var bad = stream
        bad[i] ^= 0x5A
        if (try? RANS.decode(bad, count: symbols.count, table: table)) != symbols { detected += 1 }
    }
    #expect(detected > 0)
    // Tables whose frequencies do not sum to M, or that span too many symbols, are rejected.
    var bytes = table.serialized()
    bytes[bytes.count - 1] &+= 1
    #expect(RANS.Table(bytes: bytes) == nil)
    #expect(RANS.Table(bytes: []) == nil)
    #expect(RANS.Table(counting: [0, Int32(RANS.maxAlphabet)]) == nil)
}

// MARK: - Scalar quantizers

@Test func fixedRowCodesRoundTripWithinHalfAStep() throws {
    let rows = 7, columns = 33
    let values = gaussian(rows * columns, sigma: 0.1, seed: 3).enumerated().map { $0.element * Float(1 + $0.offset / columns) }
    for bits in [2, 3, 5, 8, 11, 16] {
        let payload = UniformCodecs.encodeFixedRows(values, rows: rows, bits: bits)
        #expect(payload.count == 4 * rows + (values.count * bits + 7) / 8)
        let back = try UniformCodecs.decodeFixedRows(payload, rows: rows, count: values.count, bits: bits)
        for r in 0..<rows {
            let row = values[(r * columns)..<((r + 1) * columns)]
            let step = row.map(abs).max()! / Float(UniformCodecs.levels(bits: bits))
            for c in 0..<columns { #expect(abs(back[r * columns + c] - values[r * columns + c]) <= step / 2 * 1.0001) }
        }
        #expect(throws: CodecError.self) { try UniformCodecs.decodeFixedRows(Array(payload.dropLast()), rows: rows, count: values.count, bits: bits) }
    }
    #expect((try? TensorCoding(code: 5, parameters: [1])) == nil)
    #expect((try? TensorCoding(code: 5, parameters: [17])) == nil)
    #expect((try? TensorCoding(code: 5, parameters: [8, 0])) == nil)
    #expect((try? TensorCoding(code: 5, parameters: [8])) == .fixedRows(bits: 8))
}

@Test func entropyUniformRoundTripsAndRejectsBadParameters() throws {
    let values = gaussian(4096, sigma: 0.05, seed: 5)
    let step: Float = 0.004
    let payloads = try #require(UniformCodecs.encodeEntropy(values, step: step))
    let back = try UniformCodecs.decodeEntropy(payloads, count: values.count, step: step)
    for (a, b) in zip(values, back) { #expect(abs(a - b) <= step / 2 * 1.0001) }
    // Coding 4's parameter is a positive finite float32 step.
    let coding = TensorCoding.entropyUniform(step: step)
    #expect(try TensorCoding(code: 4, parameters: coding.parameterBytes) == coding)
    for bad: Float in [0, -1, .nan, .infinity] {
        #expect((try? TensorCoding(code: 4, parameters: TensorCoding.entropyUniform(step: bad).parameterBytes)) == nil)
    }
    #expect((try? TensorCoding(code: 4, parameters: [0, 0, 128])) == nil)
    // A shape that asks for far more symbols than the stream can hold is refused before allocating.
    #expect(throws: CodecError.self) { try UniformCodecs.decodeEntropy(payloads, count: 1 << 40, step: step) }
    #expect(throws: CodecError.self) { try UniformCodecs.decodeEntropy([payloads[0]], count: values.count, step: step) }
    // A constant tensor has one symbol: not entropy-coded (the search uses another coding).
    #expect(UniformCodecs.encodeEntropy([Float](repeating: 0.5, count: 100), step: 0.1) == nil)
}

// MARK: - Error-targeted compression of a whole model

/// A model with every kind of tensor the issue names: F32/F16/BF16 of ranks 0…4, smooth,
/// noise-like, embedding-like and convolution weights, int64 and bool tensors, metadata.
private func mixedModel() -> SafetensorsFile {
    let smooth: [Float] = (0..<(64 * 784)).map { i in
        let r = i / 784, y = (i % 784) / 28, x = i % 28
        return 0.05 * sin(Float(x) / Float(3 + r % 5)) * cos(Float(y) / Float(4 + r % 3))
    }
    let ints = Data((0..<300).flatMap { (i: Int) -> [UInt8] in withUnsafeBytes(of: Int64(i * 7 - 1000).littleEndian, Array.init) })
    return SafetensorsFile(tensors: [
        SafetensorsTensor(name: "embed.weight", shape: [600, 48], floats: gaussian(600 * 48, sigma: 0.02, seed: 1)),
        SafetensorsTensor(name: "first.weight", shape: [64, 784], floats: smooth),
        SafetensorsTensor(name: "conv.weight", shape: [16, 8, 3, 3], floats: gaussian(16 * 8 * 9, sigma: 0.1, seed: 2)),
        SafetensorsTensor(name: "ffn.weight", shape: [128, 96], floats: gaussian(128 * 96, sigma: 0.04, seed: 3), dtype: .F16),
        SafetensorsTensor(name: "attn.weight", shape: [96, 96], floats: gaussian(96 * 96, sigma: 0.03, seed: 4), dtype: .BF16),
        SafetensorsTensor(name: "heads", shape: [2, 3, 8, 8], floats: gaussian(384, sigma: 0.1, seed: 5)),
        SafetensorsTensor(name: "ffn.bias", shape: [128], floats: gaussian(128, sigma: 0.01, seed: 6)),
        SafetensorsTensor(name: "norm.weight", shape: [96], floats: gaussian(96, sigma: 0.1, seed: 7).map { $0 + 1 }, dtype: .BF16),
        SafetensorsTensor(name: "scale", shape: [], floats: [0.7]),
        SafetensorsTensor(name: "keep.this", shape: [8, 8], floats: gaussian(64, sigma: 1, seed: 8)),
        SafetensorsTensor(name: "position_ids", dtype: .I64, shape: [1, 300], data: ints),
        SafetensorsTensor(name: "mask", dtype: .BOOL, shape: [4, 4], data: Data((0..<16).map { UInt8($0 % 3 == 0 ? 1 : 0) })),
    ], metadata: ["format": "pt", "note": "mixed"])
}

@Test(arguments: [0.03, 0.01, 0.002])
func everyBoundHoldsOnEveryTensor(bound: Double) throws {
    let file = mixedModel()
    var policy = CompressionPolicy()
    policy.maxRelativeError = bound
    policy.exactPatterns = ["keep.*"]
    let container = try ModelCodec.compress(file, policy: policy)
    let parsed = try Container(bytes: container.serialized(), path: "m.wjpg")
    let back = try ModelCodec.decompress(parsed, path: "m.wjpg")
    #expect(back.tensors.map(\.name) == file.tensors.map(\.name))
    #expect(back.tensors.map(\.shape) == file.tensors.map(\.shape))
    #expect(back.tensors.map(\.dtype) == file.tensors.map(\.dtype))
    #expect(back.metadata == file.metadata)
    for (a, b) in zip(file.tensors, back.tensors) {
        if !a.dtype.convertsToFloat || a.name.hasPrefix("keep.") {
            #expect(a.data == b.data, "\(a.name) must round-trip bit for bit")
            continue
        }
        let e = WeightDistortion(original: floats(a), decoded: floats(b))
        let own = a.shape.count < 2 ? bound * policy.oneDimensionalBoundFactor : bound
        #expect(e.within(own), "\(a.name): relative error \(String(describing: e.relative)) > \(own)")
    }
    // The floor: no float tensor takes more bytes than fixed-length per-row codes at the fewest bits
    // that reach the bound (computed here independently).
    for (t, entry) in zip(file.tensors, container.entries) where t.dtype.convertsToFloat && !t.name.hasPrefix("keep.") {
        let v = floats(t)
        let rows = t.shape.count >= 2 ? t.shape[0] : 1
        let own = t.shape.count < 2 ? bound * policy.oneDimensionalBoundFactor : bound
        let floor = (2...16).first { bits in
            let back = try! UniformCodecs.decodeFixedRows(UniformCodecs.encodeFixedRows(v, rows: rows, bits: bits), rows: rows, count: v.count, bits: bits)
            return WeightDistortion(original: v, decoded: WeightDistortion.rounded(back, to: t.dtype)).within(own)
        }.map { 4 * rows + (v.count * $0 + 7) / 8 + 1 } ?? Int.max
        let bytes = entry.payloads.reduce(0) { $0 + $1.count } + entry.coding.parameterBytes.count
        #expect(bytes <= floor, "\(t.name): \(bytes) bytes > fixed-length floor \(floor)")
    }
}

@Test func theSearchPicksJPEGForSmoothAndEntropyCodingForNoise() throws {
    var policy = CompressionPolicy()
    policy.maxRelativeError = 0.03
    let file = mixedModel()
    let container = try ModelCodec.compress(file, policy: policy)
    func coding(_ name: String) -> TensorCoding? { container[name]?.coding }
    guard case .jpeg? = coding("first.weight") else { Issue.record("smooth layer coded \(String(describing: coding("first.weight")))"); return }
    guard case .entropyTrellis? = coding("embed.weight") else { Issue.record("noise coded \(String(describing: coding("embed.weight")))"); return }
    // On Gaussian weights the entropy coder saves well over a bit per weight against fixed-length codes.
    let fixedBits = 7.0  // the fewest bits per weight reaching 0.03 on Gaussian rows of 48 (measured by the floor test above)
    let bits = Double(container["embed.weight"]!.payloads.reduce(0) { $0 + $1.count } * 8) / Double(600 * 48)
    #expect(bits < fixedBits - 1, "entropy-trellis took \(bits) bits/weight")
}

@Test func errorTargetedModeRejectsNonFiniteWeightsNamingTheTensor() throws {
    var policy = CompressionPolicy()
    policy.maxRelativeError = 0.03
    var values = gaussian(256, sigma: 1, seed: 9)
    values[17] = .nan
    let file = SafetensorsFile(tensors: [SafetensorsTensor(name: "bad.weight", shape: [16, 16], floats: values)], metadata: nil)
    #expect(throws: CodecError(tensor: "bad.weight", reason: "holds nan at index 17; only finite weights can be compressed (keep it exact with --exact 'bad.weight')")) {
        try ModelCodec.compress(file, policy: policy)
    }
    policy.exactPatterns = ["bad.*"]
    let back = try ModelCodec.decompress(ModelCodec.compress(file, policy: policy), path: "m")
    #expect(back.tensors[0].data == file.tensors[0].data)
}

@Test func inspectMeasuresErrorsAgainstTheOriginal() throws {
    var policy = CompressionPolicy()
    policy.maxRelativeError = 0.01
    let file = mixedModel()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wjpg-inspect-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("m.wjpg").path
    try AtomicFile.write(Data(ModelCodec.compress(file, policy: policy).serialized()), to: path)
    var report = try ContainerReport(path: path)
    try report.compare(with: file, originalPath: "orig.safetensors")
    for t in report.tensors {
        let e = try #require(t.error, "\(t.name) has no error stats")
        #expect(e.within(0.01))
        if let snr = e.snrDB { #expect(snr >= 40 - 1e-9) }  // 20·log10(1/0.01)
        if let r = e.relative, let snr = e.snrDB { #expect(abs(snr + 20 * log10(r)) < 1e-9) }
    }
    #expect(report.tensors.first { $0.name == "position_ids" }?.error?.relative == 0)
    // A different model is refused, naming the missing tensor.
    let other = SafetensorsFile(tensors: [file.tensors[0]], metadata: nil)
    #expect(throws: ModelFileError.self) { try report.compare(with: other, originalPath: "other.safetensors") }
}

@Test func largeConvolutionKernelsTryBothLayoutsAndKeepTheBound() throws {
    // Smooth 3×3 kernels (outer products) plus noise: 48 × 40 × 3 × 3 = 17,280 weights, enough for JPEG.
    var rng = RandomSource(seed: 11)
    let values: [Float] = (0..<(48 * 40)).flatMap { _ -> [Float] in
        let a = (0..<3).map { _ in rng.uniform(1) }, b = (0..<3).map { _ in rng.uniform(1) }
        return (0..<9).map { a[$0 / 3] * b[$0 % 3] * 0.05 + rng.uniform(0.005) }
    }
    let tensor = SafetensorsTensor(name: "conv.weight", shape: [48, 40, 3, 3], floats: values)
    var policy = CompressionPolicy()
    policy.maxRelativeError = 0.03
    let codec = try JPEGTensorCodec()
    let entry = try ModelCodec.encode(tensor, policy: policy, codec: codec)
    let back = try ModelCodec.decode(entry, codec: codec, path: "m")
    #expect(back.shape == [48, 40, 3, 3])
    #expect(WeightDistortion(original: values, decoded: try back.floats()).within(0.03))
}

@Test func perTensorErrorBoundsOverrideTheGlobalOne() throws {
    var policy = CompressionPolicy()
    #expect(policy.relativeErrorBound(name: "a", rank: 2) == nil)
    policy.maxRelativeError = 0.01
    policy.maxRelativeErrorOverrides = [("embed.*", 0.1)]
    #expect(policy.relativeErrorBound(name: "embed.weight", rank: 2) == 0.1)
    #expect(policy.relativeErrorBound(name: "ffn.weight", rank: 2) == 0.01)
    #expect(abs(policy.relativeErrorBound(name: "ffn.bias", rank: 1)! - 0.001) < 1e-15)
    let tensor = SafetensorsTensor(name: "embed.weight", shape: [600, 48], floats: gaussian(600 * 48, sigma: 0.02, seed: 1))
    let codec = try JPEGTensorCodec()
    let loose = try ModelCodec.encode(tensor, policy: policy, codec: codec)
    let e = WeightDistortion(original: try tensor.floats(), decoded: try ModelCodec.decode(loose, codec: codec, path: "m").floats())
    #expect(e.within(0.1) && !e.within(0.03))
    policy.maxRelativeErrorOverrides = []
    let tight = try ModelCodec.encode(tensor, policy: policy, codec: codec)
    // Ten times the error is log2(10) ≈ 3.3 bits per weight fewer at high rate (of about 8.7 here).
    #expect(loose.storedBytes * 10 < tight.storedBytes * 7)
}

@Test func allZeroTensorsAreCodedCheaplyAndExactly() throws {
    var policy = CompressionPolicy()
    policy.maxRelativeError = 0.03
    let codec = try JPEGTensorCodec()
    for shape in [[384], [64, 48]] {
        let tensor = SafetensorsTensor(name: "zeros", shape: shape, floats: [Float](repeating: 0, count: shape.reduce(1, *)))
        let entry = try ModelCodec.encode(tensor, policy: policy, codec: codec)
        #expect(entry.coding != .exact)
        #expect(entry.payloads.reduce(0) { $0 + $1.count } < tensor.data.count / 4)
        #expect(try ModelCodec.decode(entry, codec: codec, path: "m").data == tensor.data)
    }
}

@Test func theDefaultPolicyKeepsJPEGForImageLikeLayersAndBoundsNoiseLikeOnes() throws {
    // The founding MLP's first layer (rows of 28×28 images) stays JPEG at the default quality 20;
    // a noise-like matrix the classic rules would also JPEG-code goes error-targeted at 0.01 instead.
    let mlp = try SafetensorsFile.read(path: TestPaths.referenceMLP)
    let first = mlp.tensors.first { $0.name == "0.weight" }!
    // One outlier puts the noise's mean far from the middle of its min/max range: through the DC
    // coefficient alone it would look image-like.
    var noiseValues = gaussian(256 * 256, sigma: 0.05, seed: 11)
    noiseValues[5] = 2
    let noise = SafetensorsTensor(name: "attn.q.weight", shape: [256, 256], floats: noiseValues)
    let file = SafetensorsFile(tensors: [first, noise], metadata: nil)
    let container = try ModelCodec.compress(file, policy: CompressionPolicy())
    func coding(_ name: String) -> TensorCoding? { container[name]?.coding }
    guard case .jpeg(let p)? = coding("0.weight"), p.quality == 20 else { Issue.record("first layer coded \(String(describing: coding("0.weight")))"); return }
    if case .jpeg? = coding("attn.q.weight") { Issue.record("noise-like tensor was JPEG-coded by default") }
    let back = try ModelCodec.decompress(container, path: "m")
    let error = WeightDistortion(original: floats(noise), decoded: floats(back.tensors[1]))
    #expect(error.within(0.01))
    // With the bound off, the rules JPEG-code it, and quality 20 destroys it.
    var off = CompressionPolicy()
    off.noiseLikeRelativeError = nil
    let jpeg = try ModelCodec.decompress(ModelCodec.compress(SafetensorsFile(tensors: [noise], metadata: nil), policy: off), path: "m")
    #expect(!WeightDistortion(original: floats(noise), decoded: floats(jpeg.tensors[0])).within(0.3))
}

// MARK: - JPEG's pixel-grid floor

@Test func pixelGridFloorIsBelowEveryJPEGCodingAndStopsAtItsLimit() throws {
    let codec = try JPEGTensorCodec()
    let rows = 96, columns = 80
    // A smooth matrix (JPEG's kind) and white noise (never JPEG's kind at tight bounds).
    let smooth = (0..<(rows * columns)).map { i in Float(sin(Double(i / columns) * 0.11) * cos(Double(i % columns) * 0.07)) }
    let noise = gaussian(rows * columns, sigma: 0.02, seed: 11)
    for values in [smooth, noise] {
        for (layout, scale) in [(TileLayout.matrix(tileHeight: 32, tileWidth: 40), ScaleMode.tile), (.matrix(tileHeight: 96, tileWidth: 80), .tensor)] {
            let floor = JPEGTensorCodec.pixelGridSquaredError(values, rows: rows, columns: columns, layout: layout, scale: scale)
            #expect(floor > 0)
            for (quality, table) in [(100, nil), (60, nil), (0, [UInt16](repeating: 1, count: 64))] as [(Int, [UInt16]?)] {
                let p = JPEGTensorParameters(layout: layout, scale: scale, pack: .mosaic, quality: quality)
                let coded = try codec.encode(values, rows: rows, columns: columns, parameters: p, table: table)
                let back = try codec.decode(coded.payloads, rows: rows, columns: columns, parameters: coded.parameters)
                let error = zip(values, back).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
                #expect(error >= 0.999 * floor, "quality \(quality) \(layout): error \(error) below the floor \(floor)")
            }
            // With a limit: the exact sum when it is not exceeded, a value above the limit when it is.
            #expect(JPEGTensorCodec.pixelGridSquaredError(values, rows: rows, columns: columns, layout: layout, scale: scale, limit: floor * 2) == floor)
            #expect(JPEGTensorCodec.pixelGridSquaredError(values, rows: rows, columns: columns, layout: layout, scale: scale, limit: floor / 10) > floor / 10)
        }
    }
}

@Test func noiseAtATightBoundSkipsJPEGAndStillMeetsTheBound() throws {
    // White noise at 0.002: the 8-bit pixel grid alone leaves about 0.01, so no JPEG level can pass
    // and the search must not need one; the result is coding 6 within the bound.
    let values = gaussian(128 * 256, sigma: 0.05, seed: 12)
    let floor = JPEGTensorCodec.pixelGridSquaredError(values, rows: 128, columns: 256, layout: TileLayout.defaultMatrix, scale: .tile)
    let norm = values.reduce(0.0) { $0 + Double($1) * Double($1) }
    #expect((floor / norm).squareRoot() > 0.005)
    let tensor = SafetensorsTensor(name: "noise", shape: [128, 256], floats: values)
    let codec = try JPEGTensorCodec()
    var policy = CompressionPolicy()
    policy.maxRelativeError = 0.002
    let entry = try ModelCodec.encode(tensor, policy: policy, codec: codec)
    guard case .entropyTrellis = entry.coding else { Issue.record("coding \(entry.coding)"); return }
    #expect(WeightDistortion(original: values, decoded: try ModelCodec.decode(entry, codec: codec, path: "m").floats()).within(0.002))
}

/// The error-targeted search tries JPEG on a layout only when its AC frequencies have coding gain:
/// white noise whose one outlier puts its mean far from the middle of its min/max range looks
/// image-like through the DC coefficient alone (gain above 2) and is not searched; the founding
/// MLP's first layer (smooth 28×28 rows) is.
@Test func jpegIsSearchedForACStructureNotForTheMeansPlaceInTheRange() throws {
    var noise = gaussian(64 * 64, sigma: 0.05, seed: 12)
    noise[7] = 2
    let rms = QuantizationTables.coefficientRMS(noise, rows: 64, columns: 64, layout: TileLayout.defaultMatrix)
    #expect(ErrorTargetedSearch.codingGain(rms) > 2, "the DC offset alone")
    #expect(!ErrorTargetedSearch.jpegWorthSearching(rms, minimumGain: 1.05))
    let mlp = try SafetensorsFile.read(path: TestPaths.referenceMLP)
    let first = floats(mlp.tensors.first { $0.name == "0.weight" }!)
    let smooth = QuantizationTables.coefficientRMS(first, rows: 512, columns: 784, layout: .rows(height: 28, width: 28))
    #expect(ErrorTargetedSearch.jpegWorthSearching(smooth, minimumGain: 1.05))
}

/// The gate's first look at every 8th tile: on a tensor whose 64 tiles are one tile repeated, the
/// sample's coefficient RMS is the whole tensor's.
@Test func aSampleOfRepeatedTilesHasTheWholeTensorsCoefficientRMS() {
    let tile = gaussian(64 * 64, sigma: 0.05, seed: 13)
    var values = [Float](repeating: 0, count: 512 * 512)
    for r in 0..<512 { for c in 0..<512 { values[r * 512 + c] = tile[(r % 64) * 64 + c % 64] } }
    let full = QuantizationTables.coefficientRMS(values, rows: 512, columns: 512, layout: TileLayout.defaultMatrix)
    let sample = QuantizationTables.coefficientRMS(values, rows: 512, columns: 512, layout: TileLayout.defaultMatrix, tileStride: 8)
    for k in 0..<64 { #expect(abs(sample[k] - full[k]) <= 1e-9 * full[k], "frequency \(k)") }
}

@Test func theExactFallbackIsCopiedOnlyWhenNothingLossyPasses() throws {
    let codec = try JPEGTensorCodec()
    let values = gaussian(4096, sigma: 0.05, seed: 41)
    let tensor = SafetensorsTensor(name: "w", shape: [64, 64], floats: values)
    var copies = 0
    func search(_ bound: Double) throws -> ErrorTargetedSearch.Choice {
        try ErrorTargetedSearch.cheapest(values, shape: tensor.shape, dtype: .F32,
                                         exactBytes: { copies += 1; return [UInt8](tensor.data) }, exactByteCount: tensor.data.count,
                                         bound: bound, policy: CompressionPolicy(), codec: codec)
    }
    let loose = try search(0.03)
    #expect(loose.coding != .exact && copies == 0)
    // No lossy coding of noise comes within 1e-9: the raw bytes, made once.
    let tight = try search(1e-9)
    #expect(tight.coding == .exact && copies == 1)
    #expect(tight.payloads == [[UInt8](tensor.data)] && tight.bytes == tensor.data.count)
}

@Test(arguments: [SafetensorsDType.F32, .F16, .BF16, .F64])
func distortionOfTwoTensorsWalksThemInChunksWithTheArraysResult(dtype: SafetensorsDType) throws {
    // Over two 2^16-element chunks and a partial one, in every float dtype.
    let n = 2 * 65_536 + 1_234
    let values = gaussian(n, sigma: 0.1, seed: 42), noise = gaussian(n, sigma: 0.003, seed: 43)
    let original = SafetensorsTensor(name: "w", shape: [n], floats: values, dtype: dtype)
    let decoded = SafetensorsTensor(name: "w", shape: [n], floats: zip(values, noise).map { $0 + $1 }, dtype: dtype)
    let whole = WeightDistortion(original: try original.floats(), decoded: try decoded.floats())
    #expect(try WeightDistortion(original: original, decoded: decoded) == whole)
    #expect(whole.relative.map { $0 > 0.01 && $0 < 0.05 } == true)
    // A range across a chunk boundary converts as floats() does.
    let range = 65_000..<70_000
    var part = [Float](repeating: .nan, count: range.count)
    try part.withUnsafeMutableBufferPointer { (p) throws(SafetensorsError) in try original.floats(range, into: p) }
    #expect(part == Array(try original.floats()[range]))
    let ints = SafetensorsTensor(name: "i", dtype: .I32, shape: [2], data: Data(count: 8))
    #expect(throws: SafetensorsError.self) {
        try part.withUnsafeMutableBufferPointer { (p) throws(SafetensorsError) in try ints.floats(0..<2, into: p) }
    }
}

// MARK: - JPEG ladder rungs

/// A tensor with a JPEG setting of its own (`CompressionPolicy.tensorJPEGSettings`, set by the task
/// search's ladder refinement) is JPEG-coded at it, as the error-targeted search codes that probe,
/// whatever bound it also has; coarser levels give fewer bytes and more error; a layout that does
/// not fit the tensor falls back to the bound; an exact pattern still wins.
@Test func aTensorsJPEGSettingWinsOverItsBound() throws {
    var rng = RandomSource(seed: 3)
    // 64 smooth 28×28 images with a little noise: image-like rows, as the founding layer's.
    let values: [Float] = (0..<(64 * 784)).map { i in
        let r = i / 784, x = (i % 784) % 28, y = (i % 784) / 28
        return Float(sin(Double(x + r) / 5) * cos(Double(y) / 7)) * 0.1 + Float(rng.next() % 1000) * 1e-6
    }
    let tensor = SafetensorsTensor(name: "w", shape: [64, 784], floats: values, dtype: .F32)
    let codec = try JPEGTensorCodec()
    var policy = CompressionPolicy()
    policy.tensorBounds["w"] = 0.002
    func entry(level: Int, layout: TileLayout = .rows(height: 28, width: 28)) throws -> ContainerEntry {
        var p = policy
        p.tensorJPEGSettings["w"] = JPEGLadderRung(layout: layout, setting: RateSetting(kind: .defaultSpectrum, level: level))
        return try ModelCodec.encode(tensor, policy: p, codec: codec)
    }
    func error(_ e: ContainerEntry) throws -> Double {
        let decoded = try ModelCodec.floats(of: e, codec: codec, path: "<test>")
        return WeightDistortion(original: values, decoded: decoded).relative ?? 1
    }
    let fine = try entry(level: 90), coarse = try entry(level: 40)
    guard case .jpeg(let p) = coarse.coding else { Issue.record("\(coarse.coding)"); return }
    #expect(p.layout == .rows(height: 28, width: 28) && p.quality == 0)
    let direct = try #require(try ErrorTargetedSearch.jpeg(values, shape: [64, 784], dtype: .F32,
                                                           rung: JPEGLadderRung(layout: .rows(height: 28, width: 28),
                                                                                setting: RateSetting(kind: .defaultSpectrum, level: 40)),
                                                           policy: policy, codec: codec))
    #expect(direct.coding == coarse.coding && direct.payloads == coarse.payloads)
    let (coarseError, fineError) = (try error(coarse), try error(fine))
    #expect(coarse.storedBytes < fine.storedBytes && coarseError > fineError && coarseError > 0.002, "\(coarseError) \(fineError)")
    // 30×30 images do not fit 784 columns: the bound decides.
    let fallback = try entry(level: 40, layout: .rows(height: 30, width: 30))
    #expect(try error(fallback) <= 0.002)
    policy.exactPatterns = ["w"]
    #expect(try entry(level: 40).coding == .exact)
}
