import WeightJPEGCore
/// How one tensor is stored in a `.wjpg` file (the `coding` byte of its record, see docs/FORMAT.md).
public enum TensorCoding: Equatable, Sendable, CustomStringConvertible {
    /// The source bytes, bit for bit.
    case exact
    /// IEEE half precision, round to nearest even.
    case float16
    /// Symmetric int8 per row (`q = round(w / s)`, `s = max|w| / 127` per row, stored as float32).
    case int8PerRow
    /// JPEG images of the tensor's tiles.
    case jpeg(JPEGTensorParameters)
    /// One uniform step for the whole tensor, `q = round(w / step)`, the integers rANS-coded
    /// (payloads: frequency table, stream; see `UniformCodecs`).
    case entropyUniform(step: Float)
    /// Symmetric per-row quantisation with fixed-length `bits`-bit codes (2…16).
    case fixedRows(bits: Int)

    /// The coding byte.
    public var code: UInt8 {
        switch self {
        case .exact: return 0
        case .float16: return 1
        case .int8PerRow: return 2
        case .jpeg: return 3
        case .entropyUniform: return 4
        case .fixedRows: return 5
        }
    }

    /// The short name shown by `inspect`.
    public var name: String {
        switch self {
        case .exact: return "exact"
        case .float16: return "float16"
        case .int8PerRow: return "int8-row"
        case .jpeg: return "jpeg"
        case .entropyUniform: return "entropy-uniform"
        case .fixedRows(let b): return "fixed-row\(b)"
        }
    }

    public var description: String {
        switch self {
        case .jpeg(let p): return "jpeg \(p)"
        case .entropyUniform(let step): return "entropy-uniform step \(step)"
        default: return name
        }
    }

    /// The coding's parameter bytes.
    public var parameterBytes: [UInt8] {
        switch self {
        case .jpeg(let p): return p.serialized()
        case .entropyUniform(let step):
            var w = ByteWriter()
            w.f32(step)
            return w.bytes
        case .fixedRows(let bits): return [UInt8(bits)]
        default: return []
        }
    }

    /// Decodes a coding byte and its parameters.
    public init?(code: UInt8, parameters: [UInt8]) {
        switch code {
        case 0 where parameters.isEmpty: self = .exact
        case 1 where parameters.isEmpty: self = .float16
        case 2 where parameters.isEmpty: self = .int8PerRow
        case 3:
            guard let p = JPEGTensorParameters(bytes: parameters) else { return nil }
            self = .jpeg(p)
        case 4:
            guard parameters.count == 4 else { return nil }
            let step = Float(bitPattern: UInt32(parameters[0]) | UInt32(parameters[1]) << 8 | UInt32(parameters[2]) << 16 | UInt32(parameters[3]) << 24)
            guard step.isFinite, step > 0 else { return nil }
            self = .entropyUniform(step: step)
        case 5:
            guard parameters.count == 1, (2...16).contains(parameters[0]) else { return nil }
            self = .fixedRows(bits: Int(parameters[0]))
        default: return nil
        }
    }
}

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
    case tables
}

/// The parameters of a JPEG-coded tensor.
public struct JPEGTensorParameters: Equatable, Sendable, CustomStringConvertible {
    /// How the tensor is cut into tiles.
    public var layout: TileLayout
    /// Per-tensor or per-tile min/max.
    public var scale: ScaleMode
    /// Mosaic or shared tables.
    public var pack: PackMode
    /// IJG quality 1…100, or 0 when the quantization table was given explicitly (it is in the JPEG).
    public var quality: Int
    /// Optimized Huffman tables.
    public var optimizeHuffman: Bool
    /// Arithmetic coding.
    public var arithmetic: Bool
    /// Progressive scans.
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
    func serialized() -> [UInt8] {
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

    init?(bytes: [UInt8]) {
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
        self.pack = pack == 0 ? .mosaic : .tables
        self.quality = Int(quality)
        optimizeHuffman = flags & 1 != 0
        arithmetic = flags & 2 != 0
        progressive = flags & 4 != 0
        mosaicColumns = Int(columns)
        tilesPerImage = Int(perImage)
        if self.pack == .mosaic && (mosaicColumns == 0 || tilesPerImage < mosaicColumns) { return nil }
    }

    /// The libjpeg options these parameters stand for (`table` overrides the quality).
    package func jpegOptions(table: [UInt16]? = nil) -> JPEGOptions {
        JPEGOptions(quality: max(quality, 1), quantizationTable: table, optimizeHuffman: optimizeHuffman,
                    arithmetic: arithmetic, progressive: progressive)
    }
}
