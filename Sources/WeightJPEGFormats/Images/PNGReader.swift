import CZlib

/// Reads 8-bit grayscale (color type 0), non-interlaced PNG images, the kind `PNGWriter` writes
/// and image editors save for MNIST-like digits. Every chunk's CRC is checked; the IDAT data (at
/// most 8 MiB) inflate with zlib into a buffer of exactly `height · (width + 1)` bytes, so a hostile
/// header cannot make it allocate more than 2^20 pixels. Ancillary chunks are skipped.
public enum PNGReader {
    /// Whether `bytes` starts with the PNG signature.
    public static func matches(_ bytes: [UInt8]) -> Bool { bytes.starts(with: PNGWriter.signature) }

    /// The image in `bytes`; `path` only names the file in errors.
    public static func read(_ d: [UInt8], path: String) throws(ImageFileError) -> GrayImage {
        func fail(_ kind: ImageFileError.Kind) -> ImageFileError { ImageFileError(path: path, kind: kind) }
        guard matches(d) else { throw fail(.unknownFormat) }
        func u32(_ o: Int) -> Int { Int(d[o]) << 24 | Int(d[o + 1]) << 16 | Int(d[o + 2]) << 8 | Int(d[o + 3]) }
        var o = 8, w = 0, h = 0, sawHeader = false, ended = false
        var idat: [UInt8] = []
        while o + 12 <= d.count {
            let length = u32(o)
            guard length <= d.count - o - 12 else { throw fail(.truncatedPNGChunk) }
            let type = String(decoding: d[(o + 4)..<(o + 8)], as: UTF8.self)
            let crc = d[(o + 4)..<(o + 8 + length)].withContiguousStorageIfAvailable { b in
                UInt32(crc32(0, b.baseAddress, UInt32(b.count)))
            } ?? 0
            guard crc == UInt32(u32(o + 8 + length)) else { throw fail(.pngChunkCRC(chunk: type)) }
            let body = d[(o + 8)..<(o + 8 + length)]
            switch type {
            case "IHDR":
                guard length == 13 else { throw fail(.badPNGHeader) }
                w = u32(o + 8); h = u32(o + 12)
                let (depth, color, interlace) = (d[o + 16], d[o + 17], d[o + 20])
                guard depth == 8, color == 0 else { throw fail(.pngNotGray8(bitDepth: depth, colorType: color)) }
                guard interlace == 0 else { throw fail(.pngInterlaced) }
                guard w > 0, h > 0, w * h <= 1 << 20 else { throw fail(.sizeOutOfRange(format: "PNG", width: w, height: h)) }
                sawHeader = true
            case "IDAT":
                guard idat.count + length <= 8 << 20 else { throw fail(.pngDataTooLarge) }
                idat += body
            case "IEND":
                ended = true
            default:
                break
            }
            o += 12 + length
            if ended { break }
        }
        guard sawHeader, ended, !idat.isEmpty else { throw fail(.pngMissingChunks) }
        let stride = w + 1
        var raw = [UInt8](repeating: 0, count: h * stride)
        var produced = UInt(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { out in
            idat.withUnsafeBufferPointer { src in uncompress(out.baseAddress, &produced, src.baseAddress, UInt(src.count)) }
        }
        guard status == Z_OK, produced == UInt(raw.count) else { throw fail(.pngInflate(width: w, height: h, zlibStatus: status)) }
        return GrayImage(width: w, height: h, pixels: try unfiltered(raw, width: w, height: h, fail))
    }

    /// The pixels of `raw` scanlines (a filter byte, then `width` bytes each) with the filters undone.
    private static func unfiltered(_ raw: [UInt8], width w: Int, height h: Int,
                                   _ fail: (ImageFileError.Kind) -> ImageFileError) throws(ImageFileError) -> [UInt8] {
        let stride = w + 1
        var px = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            let filter = raw[y * stride]
            guard filter <= 4 else { throw fail(.pngFilter(filter)) }
            for x in 0..<w {
                let v = raw[y * stride + 1 + x]
                let a = x > 0 ? Int(px[y * w + x - 1]) : 0
                let b = y > 0 ? Int(px[(y - 1) * w + x]) : 0
                let c = x > 0 && y > 0 ? Int(px[(y - 1) * w + x - 1]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                default:
                    let p = a + b - c
                    let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                }
                px[y * w + x] = UInt8(truncatingIfNeeded: Int(v) + predictor)
            }
        }
        return px
    }
}
