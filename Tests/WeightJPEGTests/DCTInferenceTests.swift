import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGModel
@testable import WeightJPEGInference
@testable import WeightJPEGTools

/// Inference in the DCT domain: the first layer runs on the quantized JPEG coefficients.
enum DCTTestSupport {

    /// Orthonormal 2-D DCT-II of one 8×8 block straight from the definition (Double), natural order.
    static func directDCT(_ f: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: 64)
        for v in 0..<8 {
            for u in 0..<8 {
                let cu = u == 0 ? 1 / 2.0.squareRoot() : 1, cv = v == 0 ? 1 / 2.0.squareRoot() : 1
                var s = 0.0
                for y in 0..<8 {
                    for x in 0..<8 {
                        s += f[8 * y + x] * cos(Double(2 * x + 1) * Double(u) * .pi / 16) * cos(Double(2 * y + 1) * Double(v) * .pi / 16)
                    }
                }
                out[8 * v + u] = 0.25 * cu * cv * s
            }
        }
        return out
    }

    /// The founding model: the reference fixture when present, else a synthetic model whose
    /// first-layer neurons are smooth 28×28 images (a few low-frequency waves plus a little noise).
    static func model() throws -> (file: SafetensorsFile, name: String) {
        if FileManager.default.fileExists(atPath: TestPaths.referenceMLP) {
            return (try SafetensorsFile.read(path: TestPaths.referenceMLP), "mlp_seed0")
        }
        var rng = RandomSource(seed: 7)
        var mlp = MLP(sizes: [784, 512, 10], seed: 3)
        for j in 0..<512 {
            let (a, b, c, phase) = (rng.uniform(0.05), rng.uniform(0.04), Double(rng.uniform(0.4)) + 0.5, Double(rng.uniform(3)))
            for y in 0..<28 {
                for x in 0..<28 {
                    let w = Double(a) * sin(Double(x) * c / 3 + phase) + Double(b) * cos(Double(y) / 4 - phase)
                    mlp.layers[0].weight[j, y * 28 + x] = Float(w) + rng.uniform(0.005)
                }
            }
        }
        let tensors = mlp.namedTensors.map { SafetensorsTensor(name: $0.name, shape: $0.tensor.shape, floats: $0.tensor.values) }
        return (SafetensorsFile(tensors: tensors, metadata: nil), "synthetic")
    }

    /// Test inputs (normalized): real MNIST test images when present (a subset in debug builds),
    /// else random images with MNIST's value range.
    static func inputs() throws -> (x: [Float], count: Int) {
        #if DEBUG
        let wanted = 500
        #else
        let wanted = 10_000
        #endif
        if TestPaths.hasTestSet {
            let test = try Dataset.load(directory: TestPaths.mnist, split: .test)
            let n = min(wanted, test.count)
            return (test.subset(0..<n).normalized(), n)
        }
        var rng = RandomSource(seed: 11)
        let n = min(wanted, 1000)
        let x = (0..<(n * 784)).map { _ in Dataset.normalize(UInt8(truncatingIfNeeded: rng.next() >> 56)) }
        return (x, n)
    }
}

@Suite struct DCTInferenceTests {
@Test func blockDCTMatchesTheDefinitionOnOneBlock() {
    var rng = RandomSource(seed: 1)
    let block = (0..<64).map { _ in rng.uniform(128) }
    let fast = BlockDCT(height: 8, width: 8).transform(block)
    let direct = DCTTestSupport.directDCT(block.map(Double.init))
    for k in 0..<64 { #expect(abs(Double(fast[k]) - direct[k]) < 1e-3, "k = \(k)") }
}

@Test func blockDCTZeroPadsA28x28Image() {
    var rng = RandomSource(seed: 2)
    let image = (0..<784).map { _ in rng.uniform(3) }
    let dct = BlockDCT(height: 28, width: 28)
    #expect(dct.blocksAcross == 4 && dct.blocksDown == 4 && dct.coefficientCount == 1024)
    var sum: Float = 0
    let fast = image.withUnsafeBufferPointer { x in
        [Float](unsafeUninitializedCapacity: 1024) { out, n in
            sum = dct.transform(x.baseAddress!, into: out.baseAddress!)
            n = 1024
        }
    }
    for by in 0..<4 {
        for bx in 0..<4 {
            var f = [Double](repeating: 0, count: 64)
            for y in 0..<8 {
                for x in 0..<8 where by * 8 + y < 28 && bx * 8 + x < 28 {
                    f[8 * y + x] = Double(image[(by * 8 + y) * 28 + bx * 8 + x])
                }
            }
            let direct = DCTTestSupport.directDCT(f)
            for k in 0..<64 {
                #expect(abs(Double(fast[64 * (by * 4 + bx) + k]) - direct[k]) < 1e-4, "block (\(bx), \(by)) k = \(k)")
            }
        }
    }
    #expect(abs(Double(sum) - image.reduce(0.0) { $0 + Double($1) }) < 1e-3)
}

/// libjpeg's coefficients × table are the orthonormal DCT-II of (pixel − 128), index k = 8v + u with
/// u horizontal: an image that varies only along x has energy only in row v = 0.
@Test func jpegCoefficientOrientationAndNormalization() throws {
    var pixels = [UInt8](repeating: 0, count: 16 * 8)
    for y in 0..<8 { for x in 0..<16 { pixels[y * 16 + x] = UInt8(128 + 100 * cos(Double(2 * x + 1) * 3 * .pi / 16)) } }
    let image = GrayImage(width: 16, height: 8, pixels: pixels)
    let jpeg = try JPEGEncoder().encode(image, options: JPEGOptions(quality: 100))
    let c = try JPEGDecoder().readCoefficients(jpeg, maxPixels: 128)
    #expect(c.quantizationTable.allSatisfy { $0 == 1 })
    let dct = BlockDCT(height: 8, width: 16).transform(pixels.map { Float($0) - 128 })
    for b in 0..<2 {
        for k in 0..<64 {
            let jpegValue = Double(c.blocks[64 * b + k]) * Double(c.quantizationTable[k])
            #expect(abs(jpegValue - Double(dct[64 * b + k])) <= 1.5, "block \(b) k = \(k)")
            if k >= 8 { #expect(abs(c.blocks[64 * b + k]) <= 1, "vertical frequency at k = \(k)") }
        }
        // The cosine of horizontal frequency 3 lands on u = 3, v = 0 (k = 3), not on k = 24.
        #expect(abs(c.blocks[64 * b + 3]) > 200 && abs(c.blocks[64 * b + 24]) <= 1)
    }
}

/// Runs the DCT-domain model against decode-then-dense on one container and checks the derived bound.
///
/// Derivation of the tolerance. The dense path uses the decoder's weights
/// `w_dec = lo + step · p_dec`, `p_dec = clamp₀²⁵⁵(round(IDCT_libjpeg(Q ⊙ q) + 128))`; the DCT path computes
/// exactly `w = lo + step · p`, `p = 128 + IDCT(Q ⊙ q)` (real IDCT, no rounding or clamping). Per pixel
/// `|p − p_dec| ≤ D_j`, where `D_j` is measured per neuron over its H×W pixels (rounding ≤ 0.5, plus
/// libjpeg's integer IDCT error, plus clamping where the exact IDCT leaves 0…255; the padding pixels
/// meet x = 0 and do not count). So for the first layer
///   `|h_dct_j − h_dense_j| ≤ step_j · D_j · Σ_i |x_i| =: B_j`,
/// ReLU is 1-Lipschitz, and through the (identical) second layer
///   `|z_dct_c − z_dense_c| ≤ Σ_j |W2_cj| · B_j`,
/// plus float32 rounding of both paths (≤ 1e-5 · (1 + Σ_j |W2_cj| |h_j|) is ample for 784- and
/// 512-term sums). Every sample and every logit is checked against its own bound.
private func checkAgainstDense(_ container: Container, inputs x: [Float], count n: Int, label: String)
    throws -> (maxDelta: Double, maxBound: Double, agreement: Double)
{
    let dense = try MLP(tensors: ModelCodec.floatTensors(container, path: label))
    let sparse = try DCTModel(container: container, path: label, kernel: .sparse)
    let reduced = try DCTModel(container: container, path: label, kernel: .reducedDense)
    let compact = try DCTModel(container: container, path: label, kernel: .compact)
    let coefficients = try CoefficientTensor(entry: container["0.weight"]!, path: label)
    let zDense = try dense.logits(x, count: n)
    let zSparse = try sparse.logits(x, count: n)
    let zReduced = try reduced.logits(x, count: n)
    let zCompact = try compact.logits(x, count: n)

    // D_j · step_j per neuron (measured pixel deviation of the decoder from the exact IDCT).
    let w0 = dense.layers[0].weight
    var slope = [Double](repeating: 0, count: coefficients.rows)
    for j in 0..<coefficients.rows {
        let m = coefficients.mapping(j)
        if m.isConstant { continue }
        let exact = coefficients.exactPixels(neuron: j)
        var d = 0.0
        for i in 0..<784 {
            let decodedPixel = (Double(w0[j, i]) - Double(m.lo)) / Double(m.step)
            d = max(d, abs(exact[i] - decodedPixel))
        }
        slope[j] = Double(m.step) * (d + 1e-3)  // 1e-3: float error in recovering the decoded pixel
    }
    let w2 = dense.layers[1]
    var maxDelta = 0.0, maxBound = 0.0, agree = 0
    let hidden = try MLP(layers: [dense.layers[0]]).logits(x, count: n)  // first-layer pre-activations
    for r in 0..<n {
        let l1 = x[(r * 784)..<((r + 1) * 784)].reduce(0.0) { $0 + Double(abs($1)) }
        let h = (0..<512).map { max(Double(hidden[r * 512 + $0]), 0) }
        var argDense = 0, argSparse = 0
        for c in 0..<10 {
            var bound = 0.0, slack = 1.0
            for j in 0..<512 {
                let a = Double(abs(w2.weight[c, j]))
                bound += a * slope[j] * l1
                slack += a * h[j]
            }
            bound += 1e-5 * slack
            let zd = Double(zDense[r * 10 + c]), zs = Double(zSparse[r * 10 + c]), zr = Double(zReduced[r * 10 + c])
            let zc = Double(zCompact[r * 10 + c])
            #expect(abs(zs - zd) <= bound, "\(label) sample \(r) logit \(c): |Δ| = \(abs(zs - zd)) > bound \(bound)")
            // Sparse and reduced dense compute the same thing in a different order.
            #expect(abs(zs - zr) <= 1e-4 * max(1, abs(zs)), "\(label) sample \(r) logit \(c): sparse \(zs) vs reduced \(zr)")
            #expect(abs(zs - zc) <= 1e-4 * max(1, abs(zs)), "\(label) sample \(r) logit \(c): sparse \(zs) vs compact \(zc)")
            #expect(abs(zr - zc) <= 1e-4 * max(1, abs(zr)), "\(label) sample \(r) logit \(c): reduced \(zr) vs compact \(zc)")
            maxDelta = max(maxDelta, abs(zs - zd))
            maxBound = max(maxBound, bound)
            if zDense[r * 10 + c] > zDense[r * 10 + argDense] { argDense = c }
            if zSparse[r * 10 + c] > zSparse[r * 10 + argSparse] { argSparse = c }
        }
        if argDense == argSparse { agree += 1 }
    }
    return (maxDelta, maxBound, Double(agree) / Double(n))
}

@Test(arguments: [5, 20, 50, 90])
func dctLogitsMatchDecodeThenDense(quality: Int) throws {
    let (file, name) = try DCTTestSupport.model()
    let (x, n) = try DCTTestSupport.inputs()
    var policy = CompressionPolicy()
    policy.quality = quality
    let container = try ModelCodec.compress(file, policy: policy)
    let result = try checkAgainstDense(container, inputs: x, count: n, label: "\(name) q\(quality)")
    print("DCT q\(quality) \(name): \(n) samples, max |Δlogit| \(result.maxDelta), largest bound \(result.maxBound), agreement \(result.agreement)")
    // At quality 5 the exact IDCT leaves 0…255 often and the decoder clamps, so the two paths
    // differ more (measured on the 10,000 test images, mlp_seed0: 99.80% agreement at q5,
    // ≥ 99.94% from q10 up); the DCT path is the one without the clamp.
    #expect(result.agreement >= (quality <= 5 ? 0.99 : 0.999))
}

@Test(arguments: [(PackMode.sharedTables, ScaleMode.tile), (.mosaic, .tile), (.sharedTables, .tensor)])
func dctEngineLoadsEveryPackAndScale(pack: PackMode, scale: ScaleMode) throws {
    let (file, name) = try DCTTestSupport.model()
    let (x, n) = try DCTTestSupport.inputs()
    var policy = CompressionPolicy()
    policy.pack = pack
    policy.scale = scale
    let container = try ModelCodec.compress(file, policy: policy)
    let coefficients = try CoefficientTensor(entry: container["0.weight"]!, path: "test")
    #expect(coefficients.rows == 512 && coefficients.mappings.count == (scale == .tile ? 512 : 1))
    let count = min(n, 200)
    let result = try checkAgainstDense(container, inputs: Array(x[0..<(count * 784)]), count: count,
                                       label: "\(name) \(pack.rawValue)/\(scale.rawValue)")
    #expect(result.agreement >= 0.99)
}

@Test func constantNeuronDecodesToItsLowEnd() throws {
    // A tensor with one constant row per tile scale: hi == lo, step 0 ⇒ y = lo · Σx + b.
    var values = [Float](repeating: 0, count: 4 * 784)
    for i in 0..<784 { values[i] = 0.25 }
    for j in 1..<4 { for i in 0..<784 { values[j * 784 + i] = Float(sin(Double(i + j))) * 0.1 } }
    let codec = try JPEGTensorCodec()
    let p = JPEGTensorParameters(layout: .rows(height: 28, width: 28), scale: .tile, pack: .sharedTables, quality: 50)
    let coded = try codec.encode(values, rows: 4, columns: 784, parameters: p)
    let coefficients = try CoefficientTensor(payloads: coded.payloads, rows: 4, columns: 784, parameters: coded.parameters,
                                      decoder: JPEGDecoder())
    #expect(coefficients.mapping(0).isConstant)
    var rng = RandomSource(seed: 4)
    let x = (0..<784).map { _ in rng.uniform(1) }
    let expected = 1 + 0.25 * x.reduce(0.0) { $0 + Double($1) }
    for kernel in DCTLinear.Kernel.allCases {
        let layer = DCTLinear(coefficients: coefficients, bias: [1, 0, 0, 0], kernel: kernel)
        let y = layer.forward(x, batch: 1)
        #expect(abs(Double(y[0]) - expected) < 1e-3, "\(kernel)")
    }
}

@Test func nonRowsLayoutIsRejected() throws {
    var policy = CompressionPolicy()
    policy.layout = .defaultMatrix
    let (file, _) = try DCTTestSupport.model()
    let container = try ModelCodec.compress(file, policy: policy)
    #expect(throws: (any Error).self) { try DCTModel(container: container, path: "m.wjpg", kernel: .sparse) }
}

/// The compact (Int8/Int16) kernel against the sparse and reduced-dense kernels on the first layer
/// alone, single samples (the SIMD panel path) and a batch (the convert-and-sgemm path); at
/// quality 90 some frequency rows need Int16 and the fixture exercises them; at quality 20 the
/// layer meets the ⅛-of-float32 memory target.
@Test(arguments: [5, 20, 50, 90])
func compactKernelAgreesWithSparseAndReduced(quality: Int) throws {
    let (file, name) = try DCTTestSupport.model()
    var policy = CompressionPolicy()
    policy.quality = quality
    let container = try ModelCodec.compress(file, policy: policy)
    let coefficients = try CoefficientTensor(entry: container["0.weight"]!, path: "test")
    let bias = (0..<coefficients.rows).map { Float($0 % 7) * 0.01 - 0.03 }
    let sparse = DCTLinear(coefficients: coefficients, bias: bias, kernel: .sparse)
    let reduced = DCTLinear(coefficients: coefficients, bias: bias, kernel: .reducedDense)
    let compact = DCTLinear(coefficients: coefficients, bias: bias, kernel: .compact)
    #expect(compact.reducedWidth == reduced.reducedWidth)
    let (x, n) = try DCTTestSupport.inputs()
    let count = min(n, 40)
    let xs = Array(x[0..<(count * 784)])
    let ys = sparse.forward(xs, batch: count), yr = reduced.forward(xs, batch: count)
    let yBatch = compact.forward(xs, batch: count)
    var yOne = [Float]()
    for r in 0..<count { yOne += compact.forward(Array(xs[(r * 784)..<((r + 1) * 784)]), batch: 1) }
    for i in 0..<ys.count {
        let scale = max(1, abs(ys[i]))
        #expect(abs(yOne[i] - ys[i]) <= 1e-4 * scale, "q\(quality) #\(i): compact (1) \(yOne[i]) vs sparse \(ys[i])")
        #expect(abs(yBatch[i] - ys[i]) <= 1e-4 * scale, "q\(quality) #\(i): compact (batch) \(yBatch[i]) vs sparse \(ys[i])")
        #expect(abs(yOne[i] - yr[i]) <= 1e-4 * max(1, abs(yr[i])), "q\(quality) #\(i): compact \(yOne[i]) vs reduced \(yr[i])")
    }
    if name == "mlp_seed0" {
        if quality == 90 { #expect(compact.compactByteRows < compact.reducedWidth, "q90 should need Int16 rows") }
        if quality == 20 { #expect(compact.residentBytes <= 784 * 512 * 4 / 8) }
    }
}

/// The batch-1 compact path runs C loops (`CKernels`): the portable version and, when the CPU has
/// them, AVX2+FMA — every available version against the sparse kernel (q90 has Int16 rows).
@Test(arguments: [5, 20, 90])
func compactBatchOneAgreesAtEveryKernelLevel(quality: Int) throws {
    let (file, _) = try DCTTestSupport.model()
    var policy = CompressionPolicy()
    policy.quality = quality
    let container = try ModelCodec.compress(file, policy: policy)
    let coefficients = try CoefficientTensor(entry: container["0.weight"]!, path: "test")
    let bias = (0..<coefficients.rows).map { Float($0 % 5) * 0.02 - 0.04 }
    let sparse = DCTLinear(coefficients: coefficients, bias: bias, kernel: .sparse)
    let compact = DCTLinear(coefficients: coefficients, bias: bias, kernel: .compact)
    let (x, n) = try DCTTestSupport.inputs()
    let count = min(n, 20)
    let xs = Array(x[0..<(count * 784)])
    let ys = sparse.forward(xs, batch: count)
    defer { CompactKernel.setLevel(nil) }
    for level in 0...CompactKernel.bestLevel {
        #expect(CompactKernel.setLevel(level) == level)
        for r in 0..<count {
            let y = compact.forward(Array(xs[(r * 784)..<((r + 1) * 784)]), batch: 1)
            for j in 0..<y.count {
                let e = ys[r * y.count + j]
                #expect(abs(y[j] - e) <= 1e-4 * max(1, abs(e)), "q\(quality) level \(level) sample \(r) neuron \(j): \(y[j]) vs \(e)")
            }
        }
    }
}
}
