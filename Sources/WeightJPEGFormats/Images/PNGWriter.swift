import CZlib
import WeightJPEGCore

/// A minimal PNG encoder for 8-bit grayscale (or palette) images: signature, IHDR, [PLTE,] one IDAT
/// (zlib deflate of the scanlines, each prefixed with filter type 0), IEND. Chunk CRCs are zlib's CRC-32.
public enum PNGWriter {
    /// The eight-byte PNG signature.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The PNG file of `image` (8-bit grayscale, no interlace). `image.pixels.count` must be
    /// `width * height`, both at least 1.
    ///
    /// With a `palette` (1…256 colors, RGB) the samples are indices into it instead of gray levels
    /// (PNG color type 3 with a PLTE chunk): a false-color picture at one byte per pixel. Every
    /// sample must then be below `palette.count`.
    public static func encode(_ image: GrayImage, palette: [(red: UInt8, green: UInt8, blue: UInt8)]? = nil,
                              compressionLevel: Int32 = 6) -> [UInt8] {
        let width = image.width, height = image.height
        precondition(width > 0 && height > 0 && width <= Int(Int32.max) && height <= Int(Int32.max)
                     && image.pixels.count == width * height, "PNG: pixel count does not match \(width)×\(height)")
        // Scanlines with filter byte 0 (None).
        var raw = [UInt8](repeating: 0, count: (width + 1) * height)
        raw.withUnsafeMutableBufferPointer { dst in
            image.pixels.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    let row = dst.baseAddress! + y * (width + 1) + 1
                    row.update(from: src.baseAddress! + y * width, count: width)
                }
            }
        }
        var capacity = compressBound(uLong(raw.count))
        var deflated = [UInt8](repeating: 0, count: Int(capacity))
        let status = deflated.withUnsafeMutableBufferPointer { dst in
            raw.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &capacity, src.baseAddress, uLong(src.count), compressionLevel)
            }
        }
        // compressBound guarantees room, so only an allocation failure inside zlib can fail here.
        precondition(status == Z_OK, "PNG: zlib compress2 failed with status \(status)")
        deflated.removeLast(deflated.count - Int(capacity))

        var out = signature
        var header: [UInt8] = []
        appendU32(UInt32(width), to: &header)
        appendU32(UInt32(height), to: &header)
        // Bit depth 8, color type 0 (grayscale) or 3 (palette), deflate, filter 0, no interlace.
        header += [8, palette == nil ? 0 : 3, 0, 0, 0]
        appendChunk("IHDR", header, to: &out)
        if let palette {
            precondition((1...256).contains(palette.count), "PNG: a palette has 1…256 colors, not \(palette.count)")
            precondition(image.pixels.allSatisfy { Int($0) < palette.count }, "PNG: a sample is outside the \(palette.count)-color palette")
            appendChunk("PLTE", palette.flatMap { [$0.red, $0.green, $0.blue] }, to: &out)
        }
        appendChunk("IDAT", deflated, to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    private static func appendU32(_ v: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    /// Length (big-endian), type, data, CRC-32 of type and data.
    private static func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        appendU32(UInt32(data.count), to: &out)
        let typed = Array(type.utf8) + data
        out += typed
        appendU32(CRC32.checksum(typed), to: &out)
    }
}
