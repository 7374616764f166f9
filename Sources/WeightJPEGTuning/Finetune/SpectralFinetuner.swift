import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel

/// Which first-layer DCT coefficients may move during fine-tuning.
public enum ZeroPattern: String, Sendable, CaseIterable {
    /// Coefficients that are zero in the input file stay zero (their gradient is masked); nonzero
    /// ones may move, and may round to zero.
    case keep
    /// Every coefficient may move; rounding to the JPEG grid decides which are zero.
    case redecide
}

/// The settings of a fine-tuning run.
public struct FinetuneConfiguration: Equatable, Sendable {
    /// Passes over the training samples.
    public var epochs: Int = 3
    /// Samples per mini-batch.
    public var batchSize: Int = 64
    /// Adam learning rate (parameters are in weight units: `s_j · Q(k) · q_j(k)`, the DCT of the
    /// weight image, so the same rate means about the same as for ordinary weights).
    public var learningRate: Float = 1e-3
    /// Adam learning rate of the first layer's coefficients (nil: `learningRate`). The float
    /// tensors and the coefficients take different rates: one JPEG step `s·Q` is large in weight
    /// units at low quality, so the coefficients need larger steps to move at all, while the
    /// biases and the output layer are hurt by them.
    public var coefficientLearningRate: Float? = nil
    /// Learning rate over the epochs.
    public var schedule: LearningRateSchedule = .constant
    /// Keep or re-decide the zero pattern of the coefficients.
    public var zeroPattern: ZeroPattern = .keep
    /// Seeds the shuffling.
    public var seed: UInt64 = 0
    /// Keep the state (after any epoch, or the input itself as "epoch 0") with the lowest validation
    /// loss instead of the last one (loss, not accuracy: on 10,000 images it is the less noisy
    /// choice). Needs a validation set.
    public var selectBest: Bool = true
    /// The JPEG-coded `rows:H×W` tensor trained in the DCT domain.
    public var tensorName: String = "0.weight"

    /// The defaults: 3 epochs, batch 64, Adam 1e-3 for every tensor, constant rate, zero pattern kept, best epoch.
    public init() {}
}

/// Why fine-tuning cannot run on a file.
public struct FinetuneError: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Accuracy and mean cross-entropy on a labelled set.
public struct FinetuneScore: Equatable, Sendable {
    public var correct: Int
    public var samples: Int
    public var loss: Double
    public var accuracy: Double { samples == 0 ? 0 : Double(correct) / Double(samples) }
}

/// What happened in one epoch (epoch 0 = the input, before any update).
public struct FinetuneEpoch: Sendable {
    public var epoch: Int
    public var learningRate: Float
    /// Mean training loss over the epoch's batches (nil for epoch 0).
    public var trainLoss: Float?
    /// Validation score of the snapped (JPEG-grid) model after the epoch.
    public var validation: FinetuneScore?
    /// Nonzero quantized coefficients of the tensor after the epoch.
    public var nonzeros: Int
    public var seconds: Double
}

/// Fine-tunes a `.wjpg` MLP whose first layer is a JPEG-coded `rows:H×W` tensor, training that layer
/// as its dequantized DCT coefficients.
///
/// For neuron `j` with mapping `lo_j, s_j` and quantized coefficients `q_j` (table `Q`), the layer is
/// `y_j = (lo_j + 128 s_j)·Σx + Σ_p W_j(p) X(p) + b_j` with `X` the blockwise orthonormal DCT of the
/// zero-padded input and `W_j(p) = s_j · Q(k) · q_j(p)` (`p = 64·block + k`). So it is a dense layer
/// from the features `[X(p) for p in positions] ++ [Σx]` to the hidden units, trained with the
/// ordinary BLAS backpropagation. The weights `W` (a float shadow copy) are updated by Adam; the
/// forward pass always uses them snapped to the JPEG grid, `s_j Q(k) · round(W / (s_j Q(k)))`, clamped
/// to JPEG's coefficient range (straight-through estimator). The Σx column is fixed (the scale payload
/// is kept), the other tensors (biases, later layers) train as floats.
public final class SpectralFinetuner {
    /// The first layer's coefficients as read from the input file.
    public let original: SpectralTensor
    /// The coefficient positions (`64·block + k`) the layer trains; others are zero and stay zero.
    public let positions: [Int]
    /// The run's settings.
    public let configuration: FinetuneConfiguration
    /// Number of input pixels (`H · W`).
    public var inputSize: Int { original.height * original.width }
    /// Features per sample: the used DCT positions, then Σx.
    public var featureCount: Int { positions.count + 1 }

    /// The float shadow model: layer 0 has `positions.count + 1` inputs (last column: the fixed
    /// `lo_j + 128 s_j`), the rest is the MLP's other layers.
    public private(set) var shadow: MLP
    /// Grid step `s_j · Q(k)` per weight of layer 0 (`rows × positions.count`), 0 for frozen rows.
    private let grid: [Float]
    /// Legal quantized range per position (DC −1024…1023, AC −1023…1023).
    private let qLow: [Float], qHigh: [Float]
    /// 1 where a weight of layer 0 may move (`rows × featureCount`), 0 elsewhere (Σx column, masked zeros).
    private let mask: [Float]

    /// Reads the first-layer coefficients and the other tensors of `container`.
    public init(container: Container, path: String, configuration: FinetuneConfiguration) throws {
        self.configuration = configuration
        guard let entry = container[configuration.tensorName] else {
            throw FinetuneError("\(path): no tensor '\(configuration.tensorName)'")
        }
        guard case .jpeg(let p) = entry.coding, p.pack == .mosaic, case .rows = p.layout else {
            throw FinetuneError("\(path): '\(entry.name)' is not a JPEG rows:HxW mosaic tensor; fine-tuning needs one")
        }
        let spectral = try SpectralTensor(entry: entry, path: path)
        original = spectral
        let tensors = try ModelCodec.floatTensors(container, path: path)
        let decoded: MLP
        do { decoded = try MLP(tensors: tensors) } catch { throw FinetuneError("\(path): \(error)") }
        guard configuration.tensorName == MLP.parameterNames(layer: 0).weight,
              decoded.layers[0].outputs == spectral.rows, decoded.inputSize == spectral.height * spectral.width else {
            throw FinetuneError("\(path): '\(entry.name)' is not the first layer of the MLP")
        }

        let rows = spectral.rows, full = spectral.positionCount
        // Positions in use: all (re-decide), or those nonzero in some row (keep).
        var used = [Bool](repeating: configuration.zeroPattern == .redecide, count: full)
        var dense = [Int16](repeating: 0, count: rows * full)
        for j in 0..<rows {
            for e in Int(spectral.rowStart[j])..<Int(spectral.rowStart[j + 1]) {
                let pos = Int(spectral.positions[e])
                used[pos] = true
                dense[j * full + pos] = spectral.values[e]
            }
        }
        positions = (0..<full).filter { used[$0] }
        let np = positions.count, nf = np + 1
        qLow = positions.map { $0 % 64 == 0 ? -1024 : -1023 }
        qHigh = positions.map { _ in 1023 }

        var w0 = Matrix(rows: rows, columns: nf)
        var grid = [Float](repeating: 0, count: rows * np)
        var mask = [Float](repeating: 0, count: rows * nf)
        for j in 0..<rows {
            let m = spectral.mapping(j)
            let s = m.isConstant ? 0 : m.step
            w0[j, np] = m.isConstant ? m.lo : m.lo + 128 * s
            for (i, pos) in positions.enumerated() {
                let g = s * Float(spectral.table[pos % 64])
                grid[j * np + i] = g
                let q = dense[j * full + pos]
                w0[j, i] = g * Float(q)
                let movable = s > 0 && (configuration.zeroPattern == .redecide || q != 0)
                mask[j * nf + i] = movable ? 1 : 0
            }
        }
        self.grid = grid
        self.mask = mask
        var layers = decoded.layers
        layers[0] = DenseLayer(weight: w0, bias: decoded.layers[0].bias)
        shadow = MLP(layers: layers)
    }

    // MARK: Features

    /// The layer's input features for `count` images (`count × H·W` normalized floats):
    /// `count × featureCount`, the used DCT coefficients then Σx.
    public func features(_ inputs: [Float], count: Int) -> [Float] {
        precondition(inputs.count == count * inputSize, "features: \(inputs.count) values for \(count) images")
        let dct = original.dct
        let full = dct.coefficientCount, nf = featureCount
        let identity = positions.count == full
        var out = [Float](repeating: 0, count: count * nf)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: full)
        defer { scratch.deallocate() }
        inputs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                positions.withUnsafeBufferPointer { pos in
                    for i in 0..<count {
                        let row = o.baseAddress! + i * nf
                        let sum: Float
                        if identity {
                            sum = dct.transform(x.baseAddress! + i * inputSize, into: row)
                        } else {
                            sum = dct.transform(x.baseAddress! + i * inputSize, into: scratch)
                            for (k, p) in pos.enumerated() { row[k] = scratch[p] }
                        }
                        row[nf - 1] = sum
                    }
                }
            }
        }
        return out
    }

    // MARK: The JPEG grid

    /// The quantized coefficient of shadow weight `i` of row `j` (`i` indexes `positions`).
    @inline(__always)
    private static func quantize(_ w: Float, grid g: Float, low: Float, high: Float) -> Float {
        g > 0 ? min(max((w / g).rounded(), low), high) : 0
    }

    /// `model` (a shadow) with layer 0 snapped to the JPEG grid: what the file will hold.
    public func snapped(_ model: MLP) -> MLP {
        var out = model
        snap(model, into: &out)
        return out
    }

    private func snap(_ model: MLP, into out: inout MLP) {
        let rows = original.rows, np = positions.count, nf = np + 1
        model.layers[0].weight.storage.withUnsafeBufferPointer { w in
            out.layers[0].weight.storage.withUnsafeMutableBufferPointer { o in
                grid.withUnsafeBufferPointer { g in
                    qLow.withUnsafeBufferPointer { lo in
                        qHigh.withUnsafeBufferPointer { hi in
                            for j in 0..<rows {
                                let wr = w.baseAddress! + j * nf, orow = o.baseAddress! + j * nf, gr = g.baseAddress! + j * np
                                for i in 0..<np {
                                    orow[i] = gr[i] * Self.quantize(wr[i], grid: gr[i], low: lo[i], high: hi[i])
                                }
                                orow[np] = wr[np]
                            }
                        }
                    }
                }
            }
        }
        out.layers[0].bias = model.layers[0].bias
        for l in 1..<model.layers.count { out.layers[l] = model.layers[l] }
    }

    /// The quantized coefficients of a shadow model's layer 0, `rows × positionCount` (the full
    /// `64·blocks` layout of `SpectralTensor`), row-major.
    public func quantizedCoefficients(_ model: MLP) -> [Int16] {
        let rows = original.rows, full = original.positionCount, np = positions.count, nf = np + 1
        var q = [Int16](repeating: 0, count: rows * full)
        let w = model.layers[0].weight.storage
        for j in 0..<rows {
            for (i, pos) in positions.enumerated() {
                q[j * full + pos] = Int16(Self.quantize(w[j * nf + i], grid: grid[j * np + i], low: qLow[i], high: qHigh[i]))
            }
        }
        return q
    }

    /// The input file's quantized coefficients in the same layout as `quantizedCoefficients`.
    public var originalCoefficients: [Int16] {
        let full = original.positionCount
        var q = [Int16](repeating: 0, count: original.rows * full)
        for j in 0..<original.rows {
            for e in Int(original.rowStart[j])..<Int(original.rowStart[j + 1]) {
                q[j * full + Int(original.positions[e])] = original.values[e]
            }
        }
        return q
    }

    // MARK: Training

    /// Accuracy and mean cross-entropy of `model` on `count` feature rows.
    public static func score(_ model: MLP, features: UnsafeBufferPointer<Float>, labels: ArraySlice<UInt8>) -> FinetuneScore {
        let n = labels.count, d = model.inputSize, c = model.outputSize
        let z = try! model.logits(Array(features[0..<(n * d)]), count: n)
        var correct = 0, loss = 0.0
        for (r, label) in labels.enumerated() {
            var m = z[r * c], arg = 0
            for k in 1..<c where z[r * c + k] > m { m = z[r * c + k]; arg = k }
            var sum = 0.0
            for k in 0..<c { sum += exp(Double(z[r * c + k] - m)) }
            loss += Double(m) + log(sum) - Double(z[r * c + Int(label)])
            if arg == Int(label) { correct += 1 }
        }
        return FinetuneScore(correct: correct, samples: n, loss: n == 0 ? 0 : loss / Double(n))
    }

    /// Trains on feature rows `train` and validates on rows `validation` of `features` (see
    /// `features(_:count:)`), updating `shadow`. Returns one record per epoch, epoch 0 first.
    @discardableResult
    public func train(features: [Float], labels: [UInt8], train: Range<Int>, validation: Range<Int>?,
                      progress: (FinetuneEpoch) -> Void = { _ in }) -> [FinetuneEpoch] {
        let c = configuration, nf = featureCount
        precondition(features.count == labels.count * nf)
        let batchSize = max(1, c.batchSize)
        let pass = Backpropagation(sizes: shadow.sizes, maxBatch: batchSize)
        // Two Adam states: one for the coefficients (layer-0 weights), one for every other tensor;
        // each sees only its own gradients (zero gradients leave Adam's moments and the weights at 0 change).
        var coefficientOptimizer = Optimizer(kind: .adam(), model: shadow)
        var floatOptimizer = Optimizer(kind: .adam(), model: shadow)
        var zeroWeight0 = pass.gradients[0].weight
        zeroWeight0.storage = [Float](repeating: 0, count: zeroWeight0.count)
        let zeroLayers = pass.gradients.map { DenseLayer(weight: Matrix(rows: $0.outputs, columns: $0.inputs), bias: [Float](repeating: 0, count: $0.outputs)) }
        var shuffler = RandomSource(seed: c.seed ^ 0x4649_4E45_5455_4E45)
        let xBatch = UnsafeMutablePointer<Float>.allocate(capacity: batchSize * nf)
        let yBatch = UnsafeMutablePointer<UInt8>.allocate(capacity: batchSize)
        defer { xBatch.deallocate(); yBatch.deallocate() }

        var forward = snapped(shadow)
        func validate(_ m: MLP) -> FinetuneScore? {
            guard let v = validation else { return nil }
            return features.withUnsafeBufferPointer { f in
                Self.score(m, features: UnsafeBufferPointer(rebasing: f[(v.lowerBound * nf)..<(v.upperBound * nf)]), labels: labels[v])
            }
        }
        func nonzeros(_ m: MLP) -> Int { quantizedCoefficients(m).reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }

        var history: [FinetuneEpoch] = []
        var best = shadow
        var bestScore = validate(forward)
        let first = FinetuneEpoch(epoch: 0, learningRate: 0, trainLoss: nil, validation: bestScore, nonzeros: nonzeros(shadow), seconds: 0)
        history.append(first)
        progress(first)

        let n = train.count
        let batches = (n + batchSize - 1) / batchSize
        for epoch in 1...max(1, c.epochs) where c.epochs > 0 {
            let started = Date()
            let lr = c.schedule.rate(base: c.learningRate, epoch: epoch - 1, of: c.epochs)
            let coefficientLR = c.schedule.rate(base: c.coefficientLearningRate ?? c.learningRate, epoch: epoch - 1, of: c.epochs)
            let order = shuffler.permutation(n)
            var lossSum = 0.0
            for b in 0..<batches {
                let lo = b * batchSize, count = min(batchSize, n - lo)
                features.withUnsafeBufferPointer { x in
                    for i in 0..<count {
                        let s = train.lowerBound + order[lo + i]
                        (xBatch + i * nf).update(from: x.baseAddress! + s * nf, count: nf)
                        yBatch[i] = labels[s]
                    }
                }
                lossSum += Double(pass.run(forward, x: xBatch, labels: yBatch, batch: count))
                // Straight-through: the gradient at the snapped weights updates the shadow; frozen
                // weights (Σx column, masked zeros, constant rows) get none.
                pass.gradients[0].weight.storage.withUnsafeMutableBufferPointer { g in
                    mask.withUnsafeBufferPointer { m in
                        for i in 0..<g.count { g[i] *= m[i] }
                    }
                }
                var coefficientGradients = zeroLayers
                coefficientGradients[0].weight = pass.gradients[0].weight
                coefficientOptimizer.update(&shadow, gradients: coefficientGradients, lr: coefficientLR)
                var floatGradients = pass.gradients
                floatGradients[0].weight = zeroWeight0
                floatOptimizer.update(&shadow, gradients: floatGradients, lr: lr)
                clampShadow()
                snap(shadow, into: &forward)
            }
            let score = validate(forward)
            let record = FinetuneEpoch(epoch: epoch, learningRate: lr, trainLoss: Float(lossSum / Double(max(batches, 1))),
                                       validation: score, nonzeros: nonzeros(shadow), seconds: Date().timeIntervalSince(started))
            history.append(record)
            progress(record)
            if let s = score, let b = bestScore {
                if s.loss < b.loss { best = shadow; bestScore = s }
            } else {
                best = shadow
            }
        }
        if c.selectBest && validation != nil { shadow = best }
        return history
    }

    /// Keeps shadow weights within half a grid step of JPEG's coefficient range.
    private func clampShadow() {
        let rows = original.rows, np = positions.count, nf = np + 1
        shadow.layers[0].weight.storage.withUnsafeMutableBufferPointer { w in
            for j in 0..<rows {
                for i in 0..<np {
                    let g = grid[j * np + i]
                    if g == 0 { continue }
                    let v = w[j * nf + i]
                    let lo = (qLow[i] - 0.49) * g, hi = (qHigh[i] + 0.49) * g
                    if v < lo { w[j * nf + i] = lo } else if v > hi { w[j * nf + i] = hi }
                }
            }
        }
    }

    // MARK: Writing

    /// `container` with the tuned tensors: the first layer's mosaic images rewritten from the snapped
    /// coefficients of `model` (a shadow) with `jpeg_write_coefficients` — same geometry, same table,
    /// same scale payload, unused slots unchanged — and the other trained tensors re-coded with
    /// their own codings.
    public func tunedContainer(_ container: Container, path: String, model: MLP? = nil) throws -> Container {
        let model = model ?? shadow
        let q = quantizedCoefficients(model)
        let tuned = snapped(model)
        var out = container
        let codec = try JPEGTensorCodec()
        let decoder = try JPEGDecoder(), encoder = try JPEGEncoder()
        for (index, entry) in container.entries.enumerated() {
            if entry.name == configuration.tensorName {
                out.entries[index].payloads = try rewriteFirstLayer(entry, coefficients: q, decoder: decoder, encoder: encoder, path: path)
                continue
            }
            guard let (layer, isBias) = Self.parameter(entry.name), layer < tuned.layers.count else { continue }
            guard layer > 0 || isBias else { continue }
            let values = isBias ? tuned.layers[layer].bias : tuned.layers[layer].weight.storage
            out.entries[index].payloads = try Self.recode(entry, values: values, codec: codec, path: path)
        }
        for entry in out.entries where !DecodeLimits.accepts(entry) {
            throw FinetuneError("\(path): '\(entry.name)' would code below the size a reader accepts (docs/LIMITS.md)")
        }
        return out
    }

    /// `(layer, isBias)` for a `torch.nn.Sequential` parameter name `"\(2l).weight"` / `".bias"`.
    private static func parameter(_ name: String) -> (Int, Bool)? {
        let parts = name.split(separator: ".")
        guard parts.count == 2, let i = Int(parts[0]), i % 2 == 0 else { return nil }
        switch parts[1] {
        case "weight": return (i / 2, false)
        case "bias": return (i / 2, true)
        default: return nil
        }
    }

    /// The payloads of `entry` coded again, with the entry's own coding, from `values`.
    static func recode(_ entry: ContainerEntry, values: [Float], codec: JPEGTensorCodec, path: String) throws -> [[UInt8]] {
        guard let dtype = SafetensorsDType(rawValue: entry.dtype) else {
            throw FinetuneError("\(path): '\(entry.name)' has an unknown dtype")
        }
        // An explicit table (quality 0, e.g. rate control's flat tables) is only in the JPEG
        // streams: take it from the first image so the re-coded tensor keeps it.
        var table: [UInt16]? = nil
        if case .jpeg(let p) = entry.coding, p.quality == 0 {
            guard p.pack == .mosaic, entry.payloads.count > 1 else {
                throw FinetuneError("\(path): '\(entry.name)' has an explicit table in a \(p.pack) pack; re-coding it is not supported")
            }
            table = try JPEGDecoder().readCoefficients(entry.payloads[1], maxPixels: Int(JPEG.maxDimension) * Int(JPEG.maxDimension)).quantizationTable
        }
        let coded: (coding: TensorCoding, payloads: [[UInt8]])
        do {
            guard let c = try entry.coding.encode(values, shape: entry.shape, dtype: dtype, table: table, jpeg: codec) else {
                throw FinetuneError("\(path): '\(entry.name)' would code below the size a reader accepts (docs/LIMITS.md)")
            }
            coded = c
        } catch let error as CodecError {
            throw FinetuneError("\(path): '\(entry.name)' cannot be re-coded: \(error.reason)")
        }
        guard coded.coding == entry.coding else { throw FinetuneError("\(path): '\(entry.name)' re-coded with other mosaic parameters") }
        return coded.payloads
    }

    /// The first layer's payloads with every tile's blocks replaced by `coefficients`
    /// (`rows × positionCount`).
    private func rewriteFirstLayer(_ entry: ContainerEntry, coefficients q: [Int16], decoder: JPEGDecoder,
                                   encoder: JPEGEncoder, path: String) throws -> [[UInt8]] {
        let payloads = try JPEGTensorPayloads(entry)
        guard case .rows(let h, let w) = payloads.parameters.layout, payloads.mosaic != nil else {
            throw FinetuneError("\(path): '\(entry.name)' is not a JPEG rows:HxW mosaic tensor")
        }
        let full = original.positionCount
        let down = (h + 7) / 8, across = (w + 7) / 8
        var out = [payloads.scalePayload]  // unchanged
        for (k, image) in payloads.images.enumerated() {
            var c = try decoder.readCoefficients(Array(image.stream), maxPixels: image.width * image.height)
            guard c.quantizationTable == original.table else { throw FinetuneError("\(path): image \(k) has another quantization table") }
            for t in image.tiles {
                let (ox, oy) = payloads.origin(ofTile: t)
                for by in 0..<down {
                    for bx in 0..<across {
                        let dst = 64 * ((oy / 8 + by) * c.widthInBlocks + ox / 8 + bx)
                        let src = t * full + 64 * (by * across + bx)
                        for kk in 0..<64 { c.blocks[dst + kk] = q[src + kk] }
                    }
                }
            }
            out.append(try encoder.write(c, options: payloads.parameters.jpegOptions(table: c.quantizationTable)))
        }
        guard DecodeLimits.refusal(coding: entry.coding, shape: entry.shape, payloadBytes: out.reduce(0) { $0 + $1.count }) == nil else {
            throw FinetuneError("\(path): '\(entry.name)' would code below the size a reader accepts (docs/LIMITS.md)")
        }
        return out
    }

    // MARK: Checks

    /// Logits of the snapped DCT-domain model of `model` (a shadow) on feature rows.
    public func dctLogits(_ model: MLP? = nil, features: [Float], count: Int) -> [Float] {
        try! snapped(model ?? shadow).logits(features, count: count)
    }
}
