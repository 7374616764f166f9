import WeightJPEGCore
import WeightJPEGFormats
/// Codes a 2-D float tensor as JPEG images of its tiles, and back.
///
/// Payloads: `[scales, image…]` for a mosaic (each image a standard JPEG stream), or
/// `[scales, tables-only stream, abbreviated streams]` with shared tables, where the last payload
/// concatenates one abbreviated stream per tile, each preceded by its length as a LEB128 varint.
/// Not thread-safe (it owns a libjpeg compressor and decompressor): one per thread.
public final class JPEGTensorCodec {
    private let encoder: JPEGEncoder
    private let decoder: JPEGDecoder
    /// Pixel buffer reused from image to image and from tensor to tensor (fresh buffers cost a page
    /// fault per 4 KiB); kept between calls only up to `keptScratchBytes`.
    private var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private static let keptScratchBytes = 4 << 20
    /// Float copy of the tensor being compressed, reused from tensor to tensor
    /// (`ModelCodec.encode`); kept between calls only up to `keptFloatBytes`.
    private var floatScratch: [Float] = []
    private static let keptFloatBytes = 32 << 20

    /// The reusable float buffer (moved out, so that it is uniquely referenced while filled).
    func takeFloatScratch() -> [Float] {
        defer { floatScratch = [] }
        return floatScratch
    }

    /// Returns a float buffer for reuse (dropped when larger than `keptFloatBytes`).
    func keepFloatScratch(_ values: [Float]) {
        if values.capacity * MemoryLayout<Float>.stride <= Self.keptFloatBytes { floatScratch = values }
    }

    /// A codec with its own libjpeg objects.
    public init() throws(JPEGError) {
        encoder = try JPEGEncoder()
        decoder = try JPEGDecoder()
    }

    deinit { scratch.deallocate() }

    /// The first `count` bytes of the scratch buffer (grown as needed; contents undefined).
    private func scratchPixels(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if scratch.count < count {
            scratch.deallocate()
            scratch = .allocate(byteCount: max(count, 1), alignment: 64)
        }
        return UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count])
    }

    /// Frees a scratch buffer larger than `keptScratchBytes` (one of a huge tensor's images).
    private func trimScratch() {
        if scratch.count > Self.keptScratchBytes {
            scratch.deallocate()
            scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        }
    }

    /// Codes `values` (`rows × columns`, row-major) with `parameters` (the mosaic fields are filled
    /// in here). An explicit quantization `table` (natural order) overrides the quality.
    public func encode(_ values: [Float], rows: Int, columns: Int, parameters: JPEGTensorParameters,
                       table: [UInt16]? = nil) throws(JPEGError) -> (parameters: JPEGTensorParameters, payloads: [[UInt8]]) {
        var p = parameters
        let layout = p.layout
        precondition(layout.fits(rows: rows, columns: columns) && values.count == rows * columns)
        let scales = ScaleTable.fit(values: values, layout: layout, rows: rows, columns: columns, mode: p.scale)
        let options = p.jpegOptions(table: table)
        let tileCount = layout.tileCount(rows: rows, columns: columns)
        let across = layout.grid(rows: rows, columns: columns).across
        var payloads = [scales.serialized()]
        defer { trimScratch() }

        switch p.pack {
        case .mosaic:
            let full = layout.tileSize
            let mosaic = Mosaic.choose(tileCount: tileCount, slotHeight: roundUpToBlock(full.height), slotWidth: roundUpToBlock(full.width))
            p.mosaicColumns = mosaic.columns
            p.tilesPerImage = mosaic.tilesPerImage
            for k in 0..<mosaic.imageCount {
                let (width, height) = mosaic.size(ofImage: k)
                let pixels = scratchPixels(width * height)
                Self.fillMosaicImage(k, mosaic: mosaic, values: values, rows: rows, columns: columns, layout: layout, scales: scales,
                                     into: pixels.bindMemory(to: UInt8.self).baseAddress!, width: width, height: height)
                payloads.append(try encoder.encode(UnsafeRawBufferPointer(pixels), width: width, height: height, stride: width, options: options))
            }
        case .sharedTables:
            payloads.append(try encoder.tablesOnly(options: options))
            var streams: [UInt8] = []
            for t in 0..<tileCount {
                let (h, w) = layout.size(ofTile: t, rows: rows, columns: columns)
                let pixels = scratchPixels(h * w)
                let out = pixels.bindMemory(to: UInt8.self)
                values.withUnsafeBufferPointer { v in
                    Self.fillSlot(out.baseAddress!, stride: w, slotHeight: h, slotWidth: w, tileHeight: h, tileWidth: w,
                                  mapping: scales.mapping(tile: t)) { y in
                        v.baseAddress! + layout.rowStart(tile: t, y: y, columns: columns, across: across)
                    }
                }
                let stream = try encoder.encode(UnsafeRawBufferPointer(pixels), width: w, height: h, stride: w, options: options, tables: .omitted)
                LEB128.append(stream.count, to: &streams)
                streams.append(contentsOf: stream)
            }
            payloads.append(streams)
        }
        return (p, payloads)
    }

    /// Σ(w − ŵ)² where ŵ is `w` moved to the nearest value its tile's 8-bit pixel grid can decode
    /// to (`lo + p·(hi − lo)/255`, the mappings `encode` fits for `layout` and `scale`): the error a
    /// lossless coder of the pixels would leave, hence a floor under the float32 error of every
    /// JPEG coding with this layout and scale mode, whatever the quality or table. The search uses it
    /// to skip JPEG where no level can pass (noise-like tensors at tight bounds) without a single encode.
    /// Stops as soon as the sum exceeds `limit` (then returns a value above it, not the sum).
    public static func pixelGridSquaredError(_ values: [Float], rows: Int, columns: Int, layout: TileLayout, scale: ScaleMode,
                                             limit: Double = .infinity) -> Double {
        precondition(layout.fits(rows: rows, columns: columns) && values.count == rows * columns)
        let scales = ScaleTable.fit(values: values, layout: layout, rows: rows, columns: columns, mode: scale)
        let across = layout.grid(rows: rows, columns: columns).across
        var total = 0.0
        values.withUnsafeBufferPointer { v in
            for t in 0..<layout.tileCount(rows: rows, columns: columns) where total <= limit {
                let mapping = scales.mapping(tile: t)
                let (h, w) = layout.size(ofTile: t, rows: rows, columns: columns)
                let lo = mapping.lo, step = mapping.step, pixelScale = mapping.pixelScale
                for y in 0..<h {
                    let row = v.baseAddress! + layout.rowStart(tile: t, y: y, columns: columns, across: across)
                    var sum: Float = 0   // one row of a tile: at most a few thousand terms, then Double
                    for x in 0..<w {
                        let p = Float(PixelMapping.pixel(row[x], lo: lo, scale: pixelScale))
                        let d = row[x] - (mapping.isConstant ? lo : lo + p * step)
                        sum += d * d
                    }
                    total += Double(sum)
                }
            }
        }
        return total
    }

    /// Fills mosaic image `k` (`width × height` pixels at `out`) as the encoder gives it to libjpeg:
    /// each tile mapped to pixels, padded to whole blocks by edge replication, unused slots 128.
    private static func fillMosaicImage(_ k: Int, mosaic: Mosaic, values: [Float], rows: Int, columns: Int, layout: TileLayout,
                                        scales: ScaleTable, into out: UnsafeMutablePointer<UInt8>, width: Int, height: Int) {
        out.update(repeating: 128, count: width * height)
        let across = layout.grid(rows: rows, columns: columns).across
        values.withUnsafeBufferPointer { v in
            for t in mosaic.tiles(inImage: k) {
                let (ox, oy) = mosaic.origin(ofTile: t)
                let (h, w) = layout.size(ofTile: t, rows: rows, columns: columns)
                fillSlot(out + oy * width + ox, stride: width, slotHeight: mosaic.slotHeight, slotWidth: mosaic.slotWidth,
                         tileHeight: h, tileWidth: w, mapping: scales.mapping(tile: t)) { y in
                    v.baseAddress! + layout.rowStart(tile: t, y: y, columns: columns, across: across)
                }
            }
        }
    }

    /// The mosaic images the encoder gave libjpeg when it coded `values` into `payloads`, rebuilt
    /// from the stored scales and geometry (for benchmarks: re-encoding them with the same options
    /// reproduces the streams).
    public static func mosaicImages(of values: [Float], payloads: JPEGTensorPayloads) -> [GrayImage] {
        guard let mosaic = payloads.mosaic else { return [] }
        return payloads.images.indices.map { k in
            let image = payloads.images[k]
            var pixels = [UInt8](repeating: 0, count: image.width * image.height)
            pixels.withUnsafeMutableBufferPointer { out in
                fillMosaicImage(k, mosaic: mosaic, values: values, rows: payloads.rows, columns: payloads.columns,
                                layout: payloads.parameters.layout, scales: payloads.scales,
                                into: out.baseAddress!, width: image.width, height: image.height)
            }
            return GrayImage(width: image.width, height: image.height, pixels: pixels)
        }
    }

    /// Fills a `slotHeight × slotWidth` region with a tile's pixels, replicating its last row and
    /// column into the padding (as a JPEG encoder pads partial blocks).
    @inline(__always)
    private static func fillSlot(_ out: UnsafeMutablePointer<UInt8>, stride: Int, slotHeight: Int, slotWidth: Int,
                                 tileHeight: Int, tileWidth: Int, mapping: PixelMapping,
                                 source: (Int) -> UnsafePointer<Float>) {
        let lo = mapping.lo, scale = mapping.pixelScale
        for y in 0..<slotHeight {
            let row = out + y * stride
            if y >= tileHeight {
                row.update(from: out + (tileHeight - 1) * stride, count: slotWidth)
                continue
            }
            if mapping.isConstant {
                row.update(repeating: 128, count: tileWidth)
            } else {
                PixelMapping.pixels(source(y), count: tileWidth, lo: lo, scale: scale, into: row)
            }
            let edge = row[tileWidth - 1]
            for x in tileWidth..<slotWidth { row[x] = edge }
        }
    }

    /// Writes a tile's decoded pixels into the tensor through the tile's mapping
    /// (`PixelMapping.values`: the floats of its 256-entry `lookupTable`).
    @inline(__always)
    private static func place(_ pixels: UnsafePointer<UInt8>, stride: Int, height: Int, width: Int, mapping: PixelMapping,
                              destination: (Int) -> UnsafeMutablePointer<Float>) {
        for y in 0..<height {
            mapping.values(pixels + y * stride, count: width, into: destination(y))
        }
    }

    /// Decodes the payloads of a tensor coded with `parameters` back to `rows × columns` floats.
    /// Every size and count is checked against the header before anything large is allocated.
    public func decode(_ payloads: [[UInt8]], rows: Int, columns: Int,
                       parameters p: JPEGTensorParameters) throws(CodecError) -> [Float] {
        try decode(JPEGTensorPayloads(payloads, rows: rows, columns: columns, parameters: p))
    }

    /// Decodes parsed payloads to `rows × columns` floats.
    public func decode(_ payloads: JPEGTensorPayloads) throws(CodecError) -> [Float] {
        let count = payloads.rows * payloads.columns
        var failure: CodecError?
        // Every element belongs to exactly one tile and is written by `decode(…into:)`; zero-filling
        // first would cost a pass over the whole tensor.
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, n in
            do throws(CodecError) { try decode(payloads, into: buffer) } catch { failure = error }
            n = count
        }
        if let failure { throw failure }
        return values
    }

    /// Decodes like `decode(_:rows:columns:parameters:)`, writing the `rows × columns` floats into
    /// `values` (which must hold exactly that many) instead of a new array: the seam that lets a
    /// decompressor decode a float32 tensor straight into its output buffer.
    public func decode(_ payloads: [[UInt8]], rows: Int, columns: Int, parameters p: JPEGTensorParameters,
                       into values: UnsafeMutableBufferPointer<Float>) throws(CodecError) {
        let parsed = try JPEGTensorPayloads(payloads, rows: rows, columns: columns, parameters: p)
        guard values.count == rows * columns else {
            throw CodecError(tensor: "", reason: "output holds \(values.count) values, shape [\(rows), \(columns)] has \(rows * columns)")
        }
        try decode(parsed, into: values)
    }

    /// Decodes parsed payloads into `values` (exactly `rows × columns` floats).
    public func decode(_ payloads: JPEGTensorPayloads, into values: UnsafeMutableBufferPointer<Float>) throws(CodecError) {
        precondition(values.count == payloads.rows * payloads.columns, "output holds \(values.count) values, shape [\(payloads.rows), \(payloads.columns)]")
        try decodeTiles(payloads) { _ throws(CodecError) in (values.baseAddress!, 0) }
    }

    /// Decodes parsed payloads and hands the `rows × columns` floats to `emit` in storage order, in
    /// pieces of whole rows of tiles (`TileLayout.band`) of about `pieceValues` floats (more when one
    /// row of tiles is larger): `emit(first, floats)` gets the values at storage indices
    /// `first ..< first + floats.count`, valid during the call only. No buffer of the whole tensor:
    /// a decompressor writes each piece to its place in the output while it is in cache.
    public func decode(_ payloads: JPEGTensorPayloads, pieceValues: Int,
                       emit: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let layout = payloads.parameters.layout, rows = payloads.rows, columns = payloads.columns
        var piece = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(pieceValues, 1))
        defer { piece.deallocate() }
        var window = 0..<0   // storage indices held by `piece`, whole bands
        var emitFailure: (any Error)?
        func flush() throws {
            if !window.isEmpty { try emit(window.lowerBound, UnsafeBufferPointer(rebasing: piece[0..<window.count])) }
        }
        do {
            try decodeTiles(payloads) { t throws(CodecError) in
                let band = layout.band(ofTile: t, rows: rows, columns: columns)
                if band.upperBound > window.upperBound {   // not yet in the window
                    precondition(band.lowerBound == window.upperBound, "tiles out of band order")
                    if band.upperBound - window.lowerBound <= piece.count {
                        window = window.lowerBound..<band.upperBound
                    } else {
                        do { try flush() } catch {
                            emitFailure = error
                            throw CodecError(tensor: "", reason: "output: \(error)")
                        }
                        if band.count > piece.count {
                            piece.deallocate()
                            piece = .allocate(capacity: band.count)
                        }
                        window = band
                    }
                }
                return (piece.baseAddress!, window.lowerBound)
            }
        } catch {
            throw emitFailure ?? error   // the output's own error, not its wrapping
        }
        try flush()
    }

    /// Decodes every image and places each of its tiles, in increasing order: `destination(t)` gives
    /// a buffer and the storage index of its first value, and row `y` of tile `t` goes to
    /// `buffer + (layout.rowStart(t, y) − first)`. (Per tile, so the per-row placement reads only
    /// constants: no exclusivity checks on the caller's state in the hot loop.)
    private func decodeTiles(_ payloads: JPEGTensorPayloads,
                             destination: (Int) throws(CodecError) -> (buffer: UnsafeMutablePointer<Float>, first: Int)) throws(CodecError) {
        let layout = payloads.parameters.layout, rows = payloads.rows, columns = payloads.columns
        let across = layout.grid(rows: rows, columns: columns).across
        defer { trimScratch() }
        let isMosaic = payloads.mosaic != nil
        for (k, image) in payloads.images.enumerated() {
            let what = isMosaic ? "image \(k)" : "tile \(k)"
            let pixels = scratchPixels(image.width * image.height)
            let size: (width: Int, height: Int)
            do { size = try decodeImage(image.stream, tables: payloads.tables, maxPixels: image.width * image.height, into: pixels) } catch {
                throw CodecError(tensor: "", reason: "\(what): \(error.description)")
            }
            guard size.width == image.width, size.height == image.height else {
                throw CodecError(tensor: "", reason: "\(what) is \(size.width)×\(size.height), expected \(image.width)×\(image.height)")
            }
            let px = UnsafePointer(pixels.bindMemory(to: UInt8.self).baseAddress!)
            for t in image.tiles {
                let (buffer, first) = try destination(t)
                let (ox, oy) = payloads.origin(ofTile: t)
                let (h, w) = layout.size(ofTile: t, rows: rows, columns: columns)
                Self.place(px + oy * image.width + ox, stride: image.width, height: h, width: w, mapping: payloads.mapping(tile: t)) { y in
                    buffer + (layout.rowStart(tile: t, y: y, columns: columns, across: across) - first)
                }
            }
        }
    }

    /// Decodes one stream (optionally abbreviated, with `tables`) into `pixels`.
    private func decodeImage(_ stream: ArraySlice<UInt8>, tables: [UInt8]?, maxPixels: Int,
                             into pixels: UnsafeMutableRawBufferPointer) throws(JPEGError) -> (width: Int, height: Int) {
        let decoder = self.decoder
        let result = stream.withUnsafeBytes { data in
            guard let tables else {
                return Result { () throws(JPEGError) in try decoder.decode(data, maxPixels: maxPixels, into: pixels) }
            }
            return tables.withUnsafeBytes { tables in
                Result { () throws(JPEGError) in try decoder.decode(data, tables: tables, maxPixels: maxPixels, into: pixels) }
            }
        }
        return try result.get()
    }
}
