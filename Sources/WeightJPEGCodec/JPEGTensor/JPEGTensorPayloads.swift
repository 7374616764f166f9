import WeightJPEGCore
import WeightJPEGFormats

/// The payloads of a JPEG-coded tensor, parsed once (docs/FORMAT.md §5): the scale
/// table, then either mosaic images (complete JPEG streams, tiles at fixed origins) or a shared
/// tables-only stream and one abbreviated stream per tile (each prefixed by its LEB128 length in
/// the last payload). Counts, geometry and `DecodeLimits` are checked here, before anything large
/// is allocated; the streams themselves are decoded by the readers: pixels
/// (`JPEGTensorCodec.decode`), coefficients (`CoefficientTensor`), the fine-tune rewriter, `extract`.
public struct JPEGTensorPayloads {
    /// One JPEG stream and the tiles it holds.
    public struct Image {
        /// The stream: complete for a mosaic, abbreviated (decode it with `tables`) otherwise.
        public let stream: ArraySlice<UInt8>
        /// Pixel width the stream must decode to.
        public let width: Int
        /// Pixel height the stream must decode to.
        public let height: Int
        /// The tiles it holds, in tile order.
        public let tiles: Range<Int>
    }

    /// The coding's parameters.
    public let parameters: JPEGTensorParameters
    /// Rows of the tensor (`shape[0]`).
    public let rows: Int
    /// Elements per row (the product of the other dimensions).
    public let columns: Int
    /// The tiles' pixel mappings (one for the tensor, or one per tile).
    package let scales: ScaleTable
    /// The raw scale payload (payload 0), kept as stored.
    public let scalePayload: [UInt8]
    /// The shared tables-only stream of the tables pack; nil for a mosaic.
    public let tables: [UInt8]?
    /// The images: mosaic images in order, or one per tile.
    public let images: [Image]
    /// Where mosaic tiles sit; nil for the tables pack.
    package let mosaic: Mosaic?

    /// Number of tiles of the tensor under its layout (one scale-table entry each with `scale:tile`).
    public var tileCount: Int { parameters.layout.tileCount(rows: rows, columns: columns) }

    /// The pixel mapping of tile `t`.
    public func mapping(tile t: Int) -> PixelMapping { scales.mapping(tile: t) }

    /// Top-left pixel of tile `t` within its image ((0, 0) in the tables pack).
    @inline(__always)
    public func origin(ofTile t: Int) -> (x: Int, y: Int) { mosaic?.origin(ofTile: t) ?? (0, 0) }

    /// Parses the payloads of a `rows × columns` tensor coded with `parameters`.
    /// - Throws: `CodecError` (without a tensor name) saying what does not match.
    public init(_ payloads: [[UInt8]], rows: Int, columns: Int, parameters p: JPEGTensorParameters) throws(CodecError) {
        func fail(_ reason: String) -> CodecError { CodecError(tensor: "", reason: reason) }
        let layout = p.layout
        let (_, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, columns >= 0, !overflow else { throw fail("shape [\(rows), \(columns)] is too large") }
        guard layout.fits(rows: rows, columns: columns) else { throw fail("layout \(layout) does not fit shape [\(rows), \(columns)]") }
        let payloadBytes = payloads.reduce(0) { $0 + $1.count }
        let footprint = p.decodeFootprint(rows: rows, columns: columns)
        guard DecodeLimits.allows(elements: footprint, payloadBytes: payloadBytes) else {
            throw fail(DecodeLimits.reason(elements: footprint, payloadBytes: payloadBytes))
        }
        let tileCount = layout.tileCount(rows: rows, columns: columns)
        guard let scaleBytes = payloads.first else { throw fail("no scale payload") }
        scales = try ScaleTable(bytes: scaleBytes, count: p.scale == .tensor ? 1 : tileCount)
        scalePayload = scaleBytes
        parameters = p
        self.rows = rows
        self.columns = columns

        var images: [Image] = []
        switch p.pack {
        case .mosaic:
            guard p.mosaicColumns > 0, p.tilesPerImage >= p.mosaicColumns else { throw fail("mosaic without columns") }
            let full = layout.tileSize
            let mosaic = Mosaic(tileCount: tileCount, slotHeight: roundUpToBlock(full.height), slotWidth: roundUpToBlock(full.width),
                                columns: p.mosaicColumns, tilesPerImage: p.tilesPerImage)
            guard payloads.count == 1 + mosaic.imageCount else {
                throw fail("\(payloads.count - 1) images, expected \(mosaic.imageCount)")
            }
            images.reserveCapacity(mosaic.imageCount)
            for k in 0..<mosaic.imageCount {
                let (width, height) = mosaic.size(ofImage: k)
                guard width <= JPEG.maxDimension, height <= JPEG.maxDimension else {
                    throw fail("image \(k) would be \(width)×\(height), above JPEG's \(JPEG.maxDimension)-pixel limit")
                }
                images.append(Image(stream: payloads[1 + k][...], width: width, height: height, tiles: mosaic.tiles(inImage: k)))
            }
            self.mosaic = mosaic
            tables = nil
        case .sharedTables:
            guard payloads.count == 3 else { throw fail("\(payloads.count) payloads, expected 3 (scales, tables, streams)") }
            images.reserveCapacity(tileCount)
            var reader = ByteReader(payloads[2])
            for t in 0..<tileCount {
                guard let stream = try? reader.lengthPrefixed() else { throw fail("stream of tile \(t) is missing or truncated") }
                let (h, w) = layout.size(ofTile: t, rows: rows, columns: columns)
                images.append(Image(stream: stream, width: w, height: h, tiles: t..<(t + 1)))
            }
            guard reader.atEnd else { throw fail("unexpected bytes after the last tile stream") }
            mosaic = nil
            tables = payloads[1]
        }
        self.images = images
    }

    /// The payloads of a JPEG-coded container entry (rank ≥ 2: `shape[0]` rows).
    public init(_ entry: ContainerEntry) throws(CodecError) {
        guard case .jpeg(let p) = entry.coding else {
            throw CodecError(tensor: "", reason: "not JPEG-coded (coding \(entry.coding.name))")
        }
        guard entry.shape.count >= 2, entry.shape[0] > 0 else {
            throw CodecError(tensor: "", reason: "JPEG tensor must have rank ≥ 2")
        }
        let rows = entry.shape[0]
        try self.init(entry.payloads, rows: rows, columns: entry.shape.reduce(1, *) / rows, parameters: p)
    }

    /// Every image as a standalone JPEG stream (a file any viewer opens): mosaic images as stored;
    /// in the tables pack, each tile's stream with the shared tables' segments (DQT, DHT) spliced
    /// in after its SOI.
    public func standaloneStreams() throws(CodecError) -> [[UInt8]] {
        guard let tables else { return images.map { Array($0.stream) } }
        // The tables-only stream is SOI, DQT/DHT segments, EOI.
        guard tables.count >= 4, tables[0] == 0xFF, tables[1] == 0xD8,
              tables[tables.count - 2] == 0xFF, tables[tables.count - 1] == 0xD9 else {
            throw CodecError(tensor: "", reason: "the tables payload is not a tables-only JPEG stream (SOI … EOI)")
        }
        let segments = tables[2..<(tables.count - 2)]
        var out: [[UInt8]] = []
        out.reserveCapacity(images.count)
        for (t, image) in images.enumerated() {
            let stream = image.stream
            guard stream.count >= 2, stream[stream.startIndex] == 0xFF, stream[stream.startIndex + 1] == 0xD8 else {
                throw CodecError(tensor: "", reason: "stream of tile \(t) does not start with SOI")
            }
            out.append([0xFF, 0xD8] + segments + stream.dropFirst(2))
        }
        return out
    }
}
