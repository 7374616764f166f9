import Foundation

/// Grayscale images read from one file: every image of an IDX rank-3 file, or the single image of
/// a PNG or PGM file. All have the same size.
public struct ImageFile: Equatable, Sendable {
    /// The format a file was recognized as, from its first bytes.
    public enum Format: Sendable { case idx, pgm, png }

    public let format: Format
    /// Width of every image, in pixels.
    public let width: Int
    /// Height of every image, in pixels.
    public let height: Int
    /// `count × height × width` pixels, image after image, row-major.
    public let pixels: [UInt8]

    /// Number of images.
    public var count: Int { width * height == 0 ? 0 : pixels.count / (width * height) }

    /// Image `index`'s `width × height` pixels.
    public subscript(index: Int) -> ArraySlice<UInt8> {
        pixels[(index * width * height)..<((index + 1) * width * height)]
    }

    /// Parses `bytes` by their first bytes: the PNG signature (`PNGReader`), `P5` (`PGMReader`),
    /// or `00 00` / the gzip magic (an IDX file of rank 3, gzipped or not). `path` only names the
    /// file in errors.
    public init(bytes: [UInt8], path: String) throws(ImageFileError) {
        if PNGReader.matches(bytes) {
            let image = try PNGReader.read(bytes, path: path)
            self.init(format: .png, width: image.width, height: image.height, pixels: image.pixels)
        } else if PGMReader.matches(bytes) {
            let image = try PGMReader.read(bytes, path: path)
            self.init(format: .pgm, width: image.width, height: image.height, pixels: image.pixels)
        } else if (bytes.count >= 4 && bytes[0] == 0 && bytes[1] == 0) || bytes.starts(with: [0x1F, 0x8B]) {
            let idx: IDXFile
            do { idx = try IDXFile(data: Data(bytes), path: path, rank: 3) } catch {
                throw ImageFileError(path: path, kind: .idx(error))
            }
            self.init(format: .idx, width: idx.dimensions[2], height: idx.dimensions[1], pixels: idx.bytes)
        } else {
            throw ImageFileError(path: path, kind: .unknownFormat)
        }
    }

    private init(format: Format, width: Int, height: Int, pixels: [UInt8]) {
        self.format = format
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
