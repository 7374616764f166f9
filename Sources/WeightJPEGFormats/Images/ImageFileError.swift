/// Why an image file (PNG, PGM or IDX images) could not be read; `description` is one line that
/// starts with the file's path.
public struct ImageFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong with the file.
    public enum Kind: Equatable, Sendable {
        /// The first bytes are none of the PNG signature, `P5` or an IDX/gzip header.
        case unknownFormat
        /// A PGM header number or the whitespace byte before the pixels is missing.
        case malformedPGMHeader
        /// PGM `maxval` outside 1…255 (16-bit PGM is not supported).
        case unsupportedPGMMaxval(Int)
        /// The PGM pixel area does not hold exactly `width × height` bytes.
        case pgmPixelCount(found: Int, expected: Int)
        /// A PGM pixel above the header's `maxval` (the format requires 0…maxval).
        case pgmPixelAboveMaxval(value: UInt8, maxval: Int, index: Int)
        /// A size of zero or above 2^20 pixels (`format` is "PGM" or "PNG").
        case sizeOutOfRange(format: String, width: Int, height: Int)
        /// A PNG chunk's declared length runs past the end of the file.
        case truncatedPNGChunk
        /// A PNG chunk whose CRC-32 (over type and data) does not match.
        case pngChunkCRC(chunk: String)
        /// An IHDR chunk that is not 13 bytes long.
        case badPNGHeader
        /// A PNG that is not 8-bit grayscale.
        case pngNotGray8(bitDepth: UInt8, colorType: UInt8)
        /// An Adam7-interlaced PNG.
        case pngInterlaced
        /// More than 8 MiB of compressed image data.
        case pngDataTooLarge
        /// No IHDR, no IDAT or no IEND chunk.
        case pngMissingChunks
        /// The zlib stream of the IDAT chunks does not inflate to `height · (width + 1)` bytes.
        case pngInflate(width: Int, height: Int, zlibStatus: Int32)
        /// A scanline filter type other than 0…4.
        case pngFilter(UInt8)
        /// A malformed IDX file (its own error carries the path).
        case idx(IDXError)
    }

    /// The file, as given.
    public let path: String
    public let kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .idx(let error): error.description
        default: "\(path): \(detail)"
        }
    }

    private var detail: String {
        switch kind {
        case .unknownFormat: "not an IDX, PGM (P5) or PNG file"
        case .malformedPGMHeader: "malformed PGM header"
        case .unsupportedPGMMaxval(let maxval): "PGM maxval \(maxval): only 8-bit images are supported"
        case .pgmPixelCount(let found, let expected): "PGM has \(found) pixel bytes, expected \(expected)"
        case .pgmPixelAboveMaxval(let value, let maxval, let index): "PGM pixel \(index) is \(value), above the maxval \(maxval)"
        case .sizeOutOfRange(let format, let width, let height): "\(format) size \(width)×\(height) out of range"
        case .truncatedPNGChunk: "truncated PNG chunk"
        case .pngChunkCRC(let chunk): "PNG chunk \(chunk) fails its CRC"
        case .badPNGHeader: "bad IHDR"
        case .pngNotGray8(let depth, let color): "PNG is not 8-bit grayscale (bit depth \(depth), color type \(color))"
        case .pngInterlaced: "interlaced PNG is not supported"
        case .pngDataTooLarge: "PNG data too large"
        case .pngMissingChunks: "PNG lacks IHDR, IDAT or IEND"
        case .pngInflate(let width, let height, let status): "PNG image data does not inflate to \(width)×\(height) pixels (zlib status \(status))"
        case .pngFilter(let filter): "bad PNG filter type \(filter)"
        case .idx(let error): error.description
        }
    }
}
