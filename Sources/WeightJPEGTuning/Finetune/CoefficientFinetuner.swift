import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel

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
///
/// This file holds the state and the writing of the tuned container; the features are in
/// `CoefficientFinetuner+Features`, the JPEG grid (snapping, quantized coefficients) in `+Grid`, the
/// training loop in `+Training`.
public final class CoefficientFinetuner {
    /// The first layer's coefficients as read from the input file.
    public let original: CoefficientTensor
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
    public internal(set) var shadow: MLP
    /// Grid step `s_j · Q(k)` per weight of layer 0 (`rows × positions.count`), 0 for frozen rows.
    let grid: [Float]
    /// Legal quantized range per position (DC −1024…1023, AC −1023…1023).
    let qLow: [Float], qHigh: [Float]
    /// 1 where a weight of layer 0 may move (`rows × featureCount`), 0 elsewhere (Σx column, masked zeros).
    let mask: [Float]

    /// Reads the first-layer coefficients and the other tensors of `container`.
    public init(container: Container, path: String, configuration: FinetuneConfiguration) throws {
        self.configuration = configuration
        guard let entry = container[configuration.tensorName] else {
            throw FinetuneError("\(path): no tensor '\(configuration.tensorName)'")
        }
        guard case .jpeg(let p) = entry.coding, p.pack == .mosaic, case .rows = p.layout else {
            throw FinetuneError("\(path): '\(entry.name)' is not a JPEG rows:HxW mosaic tensor; fine-tuning needs one")
        }
        let coefficients = try CoefficientTensor(entry: entry, path: path)
        original = coefficients
        let tensors = try ModelCodec.floatTensors(container, path: path)
        let decoded: MLP
        do { decoded = try MLP(tensors: tensors) } catch { throw FinetuneError("\(path): \(error)") }
        guard configuration.tensorName == MLP.parameterNames(layer: 0).weight,
              decoded.layers[0].outputs == coefficients.rows, decoded.inputSize == coefficients.height * coefficients.width else {
            throw FinetuneError("\(path): '\(entry.name)' is not the first layer of the MLP")
        }

        let rows = coefficients.rows, full = coefficients.positionCount
        // Positions in use: all (re-decide), or those nonzero in some row (keep).
        var used = [Bool](repeating: configuration.zeroPattern == .redecide, count: full)
        var dense = [Int16](repeating: 0, count: rows * full)
        for j in 0..<rows {
            for e in Int(coefficients.rowStart[j])..<Int(coefficients.rowStart[j + 1]) {
                let pos = Int(coefficients.positions[e])
                used[pos] = true
                dense[j * full + pos] = coefficients.values[e]
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
            let m = coefficients.mapping(j)
            let s = m.isConstant ? 0 : m.step
            w0[j, np] = m.isConstant ? m.lo : m.lo + 128 * s
            for (i, pos) in positions.enumerated() {
                let g = s * Float(coefficients.table[pos % 64])
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
        return out
    }

    /// `(layer, isBias)` of a `torch.nn.Sequential` parameter name (`SequentialParameterName`).
    private static func parameter(_ name: String) -> (Int, Bool)? {
        SequentialParameterName(name).map { ($0.layer, $0.kind == .bias) }
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
                throw FinetuneError("\(path): '\(entry.name)' has an explicit table in a \(p.pack.rawValue) pack; re-coding it is not supported")
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
