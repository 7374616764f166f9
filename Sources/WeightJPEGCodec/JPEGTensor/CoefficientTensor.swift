import WeightJPEGFormats
/// A JPEG-coded `rows:H×W` weight tensor held as its quantized DCT coefficients, exactly as they sit
/// in the JPEG streams (read with `jpeg_read_coefficients`, no inverse DCT), in compressed sparse
/// rows: neuron `j`'s nonzero coefficients are `positions[e], values[e]` for
/// `e in rowStart[j]..<rowStart[j+1]`, where a position is `64 · block + k` (block row-major in the
/// neuron's `⌈H/8⌉ × ⌈W/8⌉` grid, `k = 8v + u` natural order) — the layout of `BlockDCT`'s output.
///
/// The weight the decoder would produce (without its rounding and clamping) is
/// `w_j = lo_j + step_j · (128 + IDCT(Q ⊙ q_j))` on the neuron's `H × W` pixels, so for an input
/// image `x`: `⟨w_j, x⟩ = (lo_j + 128 step_j) Σx + step_j Σ_blocks Σ_k Q[k] q_j[k] X[k]`, `X = DCT(x)`.
/// The dense matrix is never built.
public struct CoefficientTensor: Sendable, Equatable {
    /// Neurons (rows of the tensor).
    public let rows: Int
    /// Neuron image height in pixels.
    public let height: Int
    /// Neuron image width in pixels.
    public let width: Int
    /// Quantization table, natural order.
    public let table: [UInt16]
    /// One mapping for the tensor, or one per neuron (`scale:tile`).
    public let mappings: [PixelMapping]
    /// `rows + 1` offsets into `positions` / `values`.
    public let rowStart: [Int32]
    /// Coefficient positions `64 · block + k`.
    public let positions: [UInt16]
    /// Quantized coefficients (nonzero).
    public let values: [Int16]

    /// The transform that matches the coefficient layout.
    public var dct: BlockDCT { BlockDCT(height: height, width: width) }
    /// `⌈H/8⌉ · ⌈W/8⌉ · 64`: positions per neuron.
    public var positionCount: Int { 64 * ((height + 7) / 8) * ((width + 7) / 8) }
    /// Number of stored (nonzero) quantized coefficients over all neurons.
    public var nonzeroCount: Int { values.count }

    /// The mapping of neuron `j`.
    @inline(__always)
    public func mapping(_ j: Int) -> PixelMapping { mappings.count == 1 ? mappings[0] : mappings[j] }

    /// Bytes of the arrays held (positions, values, row offsets, table, mappings).
    public var residentBytes: Int {
        positions.count * 2 + values.count * 2 + rowStart.count * 4 + table.count * 2 + mappings.count * 8
    }

    /// A tensor from its parts (checked).
    public init(rows: Int, height: Int, width: Int, table: [UInt16], mappings: [PixelMapping],
                rowStart: [Int32], positions: [UInt16], values: [Int16]) {
        precondition(table.count == 64 && (mappings.count == 1 || mappings.count == rows)
                     && rowStart.count == rows + 1 && positions.count == values.count
                     && Int(rowStart[rows]) == values.count, "CoefficientTensor: inconsistent parts")
        self.rows = rows
        self.height = height
        self.width = width
        self.table = table
        self.mappings = mappings
        self.rowStart = rowStart
        self.positions = positions
        self.values = values
    }

    /// Reads the coefficients of a container entry coded as JPEG with a `rows:H×W` layout (any pack,
    /// any scale mode).
    /// - Throws: `ContainerError` naming `path` and the tensor.
    public init(entry: ContainerEntry, path: String, decoder: JPEGDecoder? = nil) throws {
        func fail(_ reason: String) -> ContainerError {
            ContainerError(path: path, tensor: entry.name, fault: .corruptPayload(reason))
        }
        if let damage = entry.damage { throw damage }
        guard case .jpeg = entry.coding else {
            throw fail("not JPEG-coded (coding \(entry.coding.name)); the DCT engine needs a JPEG rows:HxW tensor")
        }
        do {
            try self.init(payloads: JPEGTensorPayloads(entry), decoder: decoder ?? JPEGDecoder())
        } catch let e as CodecError {
            throw fail(e.reason)
        } catch let e as JPEGError {
            throw fail(e.description)
        }
    }

    /// Reads the coefficients of a tensor's payloads (see `JPEGTensorCodec` for the layouts).
    public init(payloads: [[UInt8]], rows: Int, columns: Int, parameters p: JPEGTensorParameters,
                decoder: JPEGDecoder) throws(CodecError) {
        guard case .rows = p.layout else {
            throw CodecError(tensor: "", reason: "layout \(p.layout) is not rows:HxW; only neuron-image layouts run in the DCT domain")
        }
        try self.init(payloads: JPEGTensorPayloads(payloads, rows: rows, columns: columns, parameters: p), decoder: decoder)
    }

    /// Reads the coefficients of parsed payloads with a `rows:H×W` layout.
    public init(payloads: JPEGTensorPayloads, decoder: JPEGDecoder) throws(CodecError) {
        let p = payloads.parameters, rows = payloads.rows
        guard case .rows(let h, let w) = p.layout else {
            throw CodecError(tensor: "", reason: "layout \(p.layout) is not rows:HxW; only neuron-image layouts run in the DCT domain")
        }
        let down = (h + 7) / 8, across = (w + 7) / 8
        guard down * across * 64 <= 65_536 else {
            throw CodecError(tensor: "", reason: "neuron images of \(h)×\(w) exceed the 1,024 blocks a 16-bit position can address")
        }

        var table: [UInt16]? = nil
        var rowStart = [Int32](repeating: 0, count: rows + 1)
        var positions: [UInt16] = [], values: [Int16] = []
        positions.reserveCapacity(rows * 64)
        values.reserveCapacity(rows * 64)

        // Tiles are appended in tile order, which is image order and row order in both packs.
        let what = payloads.tables == nil ? "image" : "tile"
        for (k, image) in payloads.images.enumerated() {
            let c: DCTCoefficients
            do { c = try decoder.readCoefficients(Array(image.stream), tables: payloads.tables, maxPixels: image.width * image.height) } catch {
                throw CodecError(tensor: "", reason: "\(what) \(k): \(error.description)")
            }
            guard c.width == image.width, c.height == image.height else {
                throw CodecError(tensor: "", reason: "\(what) \(k) is \(c.width)×\(c.height), expected \(image.width)×\(image.height)")
            }
            if let table, table != c.quantizationTable {
                throw CodecError(tensor: "", reason: "\(what) \(k) has a different quantization table; one table per tensor is required")
            }
            table = c.quantizationTable
            c.blocks.withUnsafeBufferPointer { blocks in
                for t in image.tiles {
                    let (ox, oy) = payloads.origin(ofTile: t)
                    let (bx0, by0) = (ox / 8, oy / 8)
                    for by in 0..<down {
                        for bx in 0..<across {
                            let src = blocks.baseAddress! + 64 * ((by0 + by) * c.widthInBlocks + bx0 + bx)
                            let base = 64 * (by * across + bx)
                            for k in 0..<64 where src[k] != 0 {
                                positions.append(UInt16(base + k))
                                values.append(src[k])
                            }
                        }
                    }
                    rowStart[t + 1] = Int32(values.count)
                }
            }
        }
        guard let table else { throw CodecError(tensor: "", reason: "some tiles have no image") }
        guard table.allSatisfy({ $0 > 0 }) else { throw CodecError(tensor: "", reason: "quantization table has a zero step") }
        // Copies with exact capacity (the working arrays were over-reserved).
        self.init(rows: rows, height: h, width: w, table: table, mappings: payloads.scales.mappings,
                  rowStart: rowStart, positions: Array(positions[...]), values: Array(values[...]))
    }

    /// Neuron `j`'s weights as the exact (unrounded, unclamped) inverse DCT gives them,
    /// `lo + step · (128 + IDCT(Q ⊙ q))`, in Double, `H × W` row-major. For checks and tools only.
    public func exactWeights(neuron j: Int) -> [Double] {
        let pixels = exactPixels(neuron: j)
        let m = mapping(j)
        if m.isConstant { return [Double](repeating: Double(m.lo), count: height * width) }
        return pixels.map { Double(m.lo) + Double(m.step) * $0 }
    }

    /// Neuron `j`'s pixels before the decoder's rounding and clamping: `128 + IDCT(Q ⊙ q)`, Double,
    /// `H × W` row-major (one 8×8 basis image added per nonzero coefficient).
    public func exactPixels(neuron j: Int) -> [Double] {
        let across = (width + 7) / 8
        var c = [Double](repeating: 0, count: 64)
        for u in 0..<8 { for x in 0..<8 { c[8 * u + x] = BlockDCT.coefficient(u: u, x: x) } }
        var out = [Double](repeating: 128, count: height * width)
        for e in Int(rowStart[j])..<Int(rowStart[j + 1]) {
            let p = Int(positions[e])
            let (block, k) = (p / 64, p % 64)
            let (v, u) = (k / 8, k % 8)
            let (oy, ox) = (8 * (block / across), 8 * (block % across))
            let f = Double(values[e]) * Double(table[k])
            for iy in 0..<min(8, height - oy) {
                let fy = f * c[8 * v + iy]
                for ix in 0..<min(8, width - ox) {
                    out[(oy + iy) * width + ox + ix] += fy * c[8 * u + ix]
                }
            }
        }
        return out
    }
}
