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
public struct SpectralTensor: Sendable, Equatable {
    /// Neurons (rows of the tensor).
    public let rows: Int
    /// Neuron image height.
    public let height: Int
    /// Neuron image width.
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
    /// Stored nonzero coefficients.
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
                     && Int(rowStart[rows]) == values.count, "SpectralTensor: inconsistent parts")
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
        guard case .jpeg(let p)? = TensorCoding(code: entry.coding, parameters: entry.parameters) else {
            throw fail("not JPEG-coded (coding \(entry.coding)); the DCT engine needs a JPEG rows:HxW tensor")
        }
        guard entry.shape.count >= 2, entry.shape[0] > 0 else { throw fail("JPEG tensor must have rank ≥ 2") }
        let rows = entry.shape[0], columns = entry.shape.reduce(1, *) / rows
        do {
            try self.init(payloads: entry.payloads, rows: rows, columns: columns, parameters: p,
                          decoder: decoder ?? JPEGDecoder())
        } catch let e as CodecError {
            throw fail(e.reason)
        } catch let e as JPEGError {
            throw fail(e.description)
        }
    }

    /// Reads the coefficients of a tensor's payloads (see `JPEGTensorCodec` for the layouts).
    public init(payloads: [[UInt8]], rows: Int, columns: Int, parameters p: JPEGTensorParameters,
                decoder: JPEGDecoder) throws(CodecError) {
        guard case .rows(let h, let w) = p.layout else {
            throw CodecError(tensor: "", reason: "layout \(p.layout) is not rows:HxW; only neuron-image layouts run in the DCT domain")
        }
        guard p.layout.fits(rows: rows, columns: columns) else {
            throw CodecError(tensor: "", reason: "layout \(p.layout) does not fit shape [\(rows), \(columns)]")
        }
        let down = (h + 7) / 8, across = (w + 7) / 8
        guard down * across * 64 <= 65_536 else {
            throw CodecError(tensor: "", reason: "neuron images of \(h)×\(w) exceed the 1,024 blocks a 16-bit position can address")
        }
        let payloadBytes = payloads.reduce(0) { $0 + $1.count }
        guard DecodeLimits.allows(elements: rows * columns, payloadBytes: payloadBytes) else {
            throw CodecError(tensor: "", reason: DecodeLimits.reason(elements: rows * columns, payloadBytes: payloadBytes))
        }
        guard let scaleBytes = payloads.first else { throw CodecError(tensor: "", reason: "no scale payload") }
        let scales = try ScaleTable(bytes: scaleBytes, count: p.scale == .tensor ? 1 : rows)

        var table: [UInt16]? = nil
        var rowStart = [Int32](repeating: 0, count: rows + 1)
        var positions: [UInt16] = [], values: [Int16] = []
        positions.reserveCapacity(rows * 64)
        values.reserveCapacity(rows * 64)
        var filled = [Bool](repeating: false, count: rows)

        func useTable(_ t: [UInt16], _ what: String) throws(CodecError) {
            if let table, table != t {
                throw CodecError(tensor: "", reason: "\(what) has a different quantization table; one table per tensor is required")
            }
            table = t
        }
        /// Appends tile `t`'s blocks, which start at block (bx0, by0) of `c`.
        func append(tile t: Int, from c: DCTCoefficients, bx0: Int, by0: Int) {
            c.blocks.withUnsafeBufferPointer { blocks in
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
            }
            filled[t] = true
        }

        func jpegFailure(_ e: JPEGError, _ what: String) -> CodecError { CodecError(tensor: "", reason: "\(what): \(e.description)") }

        // Tiles are appended in tile order, which is row order in both packs.
        switch p.pack {
        case .mosaic:
            let mosaic = Mosaic(tileCount: rows, slotHeight: roundUpToBlock(h), slotWidth: roundUpToBlock(w),
                                columns: p.mosaicColumns, tilesPerImage: p.tilesPerImage)
            guard p.mosaicColumns > 0, p.tilesPerImage >= p.mosaicColumns else {
                throw CodecError(tensor: "", reason: "mosaic without columns")
            }
            guard payloads.count == 1 + mosaic.imageCount else {
                throw CodecError(tensor: "", reason: "\(payloads.count - 1) images, expected \(mosaic.imageCount)")
            }
            for k in 0..<mosaic.imageCount {
                let (width, height) = mosaic.size(ofImage: k)
                let c: DCTCoefficients
                do { c = try decoder.readCoefficients(payloads[1 + k], maxPixels: width * height) } catch { throw jpegFailure(error, "image \(k)") }
                guard c.width == width, c.height == height else {
                    throw CodecError(tensor: "", reason: "image \(k) is \(c.width)×\(c.height), expected \(width)×\(height)")
                }
                try useTable(c.quantizationTable, "image \(k)")
                for t in mosaic.tiles(inImage: k) {
                    let (ox, oy) = mosaic.origin(ofTile: t)
                    append(tile: t, from: c, bx0: ox / 8, by0: oy / 8)
                    rowStart[t + 1] = Int32(values.count)
                }
            }
        case .tables:
            guard payloads.count == 3 else { throw CodecError(tensor: "", reason: "\(payloads.count) payloads, expected 3 (scales, tables, streams)") }
            let tables = payloads[1]
            var reader = LEB128.Reader(payloads[2])
            for t in 0..<rows {
                guard let stream = reader.nextChunk() else { throw CodecError(tensor: "", reason: "tile \(t): stream length runs past the payload") }
                let c: DCTCoefficients
                do { c = try decoder.readCoefficients(Array(stream), tables: tables, maxPixels: h * w) } catch { throw jpegFailure(error, "tile \(t)") }
                guard c.width == w, c.height == h, c.widthInBlocks == across, c.heightInBlocks == down else {
                    throw CodecError(tensor: "", reason: "tile \(t) is \(c.width)×\(c.height), expected \(w)×\(h)")
                }
                try useTable(c.quantizationTable, "tile \(t)")
                append(tile: t, from: c, bx0: 0, by0: 0)
                rowStart[t + 1] = Int32(values.count)
            }
            guard reader.atEnd else { throw CodecError(tensor: "", reason: "unexpected bytes after the last tile stream") }
        }
        guard filled.allSatisfy({ $0 }), let table else { throw CodecError(tensor: "", reason: "some tiles have no image") }
        guard table.allSatisfy({ $0 > 0 }) else { throw CodecError(tensor: "", reason: "quantization table has a zero step") }
        // Copies with exact capacity (the working arrays were over-reserved).
        self.init(rows: rows, height: h, width: w, table: table, mappings: scales.mappings,
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
