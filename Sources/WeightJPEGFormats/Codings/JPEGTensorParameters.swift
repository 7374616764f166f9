import WeightJPEGCore

/// Where a tile's float↔pixel mapping comes from.
public enum ScaleMode: String, Equatable, Sendable, CaseIterable {
    /// One min/max for the whole tensor.
    case tensor
    /// One min/max per tile.
    case tile
}

/// How the tiles of a tensor are packed into JPEG streams.
public enum PackMode: String, Equatable, Sendable, CaseIterable {
    /// Tiles padded to whole blocks and placed side by side in one image (or a few, for large tensors).
    case mosaic
    /// One tables-only stream shared by abbreviated image streams, one per tile.
    case sharedTables = "tables"
}

/// The parameters of a JPEG-coded tensor.
public struct JPEGTensorParameters: Equatable, Sendable, CustomStringConvertible {
    /// How the tensor is cut into tiles.
    public var layout: TileLayout
    /// Per-tensor or per-tile min/max.
    public var scale: ScaleMode
    /// How tiles go into streams: one mosaic image, or abbreviated streams sharing one tables-only stream.
    public var pack: PackMode
    /// IJG quality 1…100, or 0 when the quantization table was given explicitly (it is in the JPEG).
    public var quality: Int
    /// Whether the entropy coder uses Huffman tables optimized for this image (smaller, slower to encode).
    public var optimizeHuffman: Bool
    /// Whether arithmetic coding replaces Huffman coding (smaller streams).
    public var arithmetic: Bool
    /// Whether the streams are progressive (several scans) rather than baseline sequential.
    public var progressive: Bool
    /// Tiles per row of a mosaic image (mosaic only).
    public var mosaicColumns: Int
    /// Tiles per mosaic image (mosaic only); a tensor with more tiles uses several images.
    public var tilesPerImage: Int

    /// Parameters with every field given.
    public init(layout: TileLayout, scale: ScaleMode, pack: PackMode, quality: Int, optimizeHuffman: Bool = true,
                arithmetic: Bool = false, progressive: Bool = false, mosaicColumns: Int = 0, tilesPerImage: Int = 0) {
        self.layout = layout
        self.scale = scale
        self.pack = pack
        self.quality = quality
        self.optimizeHuffman = optimizeHuffman
        self.arithmetic = arithmetic
        self.progressive = progressive
        self.mosaicColumns = mosaicColumns
        self.tilesPerImage = tilesPerImage
    }

    public var description: String {
        var s = "\(layout) q\(quality == 0 ? "table" : String(quality)) scale:\(scale.rawValue) pack:\(pack.rawValue)"
        if arithmetic { s += " arithmetic" } else if optimizeHuffman { s += " huffman-opt" }
        if progressive { s += " progressive" }
        return s
    }

    /// 17 bytes, little-endian: layout u8 (0 rows, 1 matrix), height u16, width u16, scale u8
    /// (0 tensor, 1 tile), pack u8 (0 mosaic, 1 tables), quality u8, flags u8 (bit 0 optimized Huffman,
    /// bit 1 arithmetic, bit 2 progressive), mosaic columns u16, tiles per image u32, reserved u16.
    package func serialized() -> [UInt8] {
        var w = ByteWriter()
        let (kind, h, wd): (UInt8, Int, Int)
        switch layout {
        case .rows(let a, let b): (kind, h, wd) = (0, a, b)
        case .matrix(let a, let b): (kind, h, wd) = (1, a, b)
        }
        w.u8(kind); w.u16(UInt16(h)); w.u16(UInt16(wd))
        w.u8(scale == .tensor ? 0 : 1)
        w.u8(pack == .mosaic ? 0 : 1)
        w.u8(UInt8(quality))
        w.u8((optimizeHuffman ? 1 : 0) | (arithmetic ? 2 : 0) | (progressive ? 4 : 0))
        w.u16(UInt16(mosaicColumns))
        w.u32(UInt32(tilesPerImage))
        w.u16(0)
        return w.bytes
    }

    /// Parses the 17 parameter bytes; nil when their length or any field is out of range.
    package init?(bytes: [UInt8]) {
        guard bytes.count == 17 else { return nil }
        var r = ByteReader(bytes)
        guard let kind = try? r.u8(), let h = try? r.u16(), let wd = try? r.u16(), let scale = try? r.u8(),
              let pack = try? r.u8(), let quality = try? r.u8(), let flags = try? r.u8(),
              let columns = try? r.u16(), let perImage = try? r.u32(), let reserved = try? r.u16(),
              kind <= 1, (1...4096).contains(h), (1...4096).contains(wd), scale <= 1, pack <= 1,
              quality <= 100, flags < 8, reserved == 0
        else { return nil }
        layout = kind == 0 ? .rows(height: Int(h), width: Int(wd)) : .matrix(tileHeight: Int(h), tileWidth: Int(wd))
        self.scale = scale == 0 ? .tensor : .tile
        self.pack = pack == 0 ? .mosaic : .sharedTables
        self.quality = Int(quality)
        optimizeHuffman = flags & 1 != 0
        arithmetic = flags & 2 != 0
        progressive = flags & 4 != 0
        mosaicColumns = Int(columns)
        tilesPerImage = Int(perImage)
        if self.pack == .mosaic && (mosaicColumns == 0 || tilesPerImage < mosaicColumns) { return nil }
    }

    /// The larger of the element count and the pixels of the largest mosaic image (tiles are padded
    /// to whole 8×8 blocks): what decoding a `rows × columns` tensor allocates besides small
    /// tables, which `DecodeLimits` bounds. `Int.max` when it overflows.
    public func decodeFootprint(rows: Int, columns: Int) -> Int {
        let elements = rows * columns
        guard pack == .mosaic, mosaicColumns > 0, tilesPerImage >= mosaicColumns else { return elements }
        let full = layout.tileSize
        let tiles = min(layout.tileCount(rows: rows, columns: columns), tilesPerImage)
        let across = min(tiles, mosaicColumns), down = (tiles + mosaicColumns - 1) / mosaicColumns
        let (w, o1) = across.multipliedReportingOverflow(by: roundUpToBlock(full.width))
        let (h, o2) = down.multipliedReportingOverflow(by: roundUpToBlock(full.height))
        let (pixels, o3) = w.multipliedReportingOverflow(by: h)
        return o1 || o2 || o3 ? Int.max : max(elements, pixels)
    }
}
