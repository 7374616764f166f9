/// Reads binary PGM (`P5`) images: `P5`, width, height and maxval (1…255) separated by whitespace
/// (with `#` comments), one whitespace byte, then exactly `width × height` pixel bytes. Pixels are
/// rescaled from 0…maxval to 0…255 (rounded). At most 2^20 pixels.
public enum PGMReader {
    /// Whether `bytes` starts like a binary PGM.
    public static func matches(_ bytes: [UInt8]) -> Bool { bytes.starts(with: Array("P5".utf8)) }

    /// The image in `bytes`; `path` only names the file in errors.
    public static func read(_ bytes: [UInt8], path: String) throws(ImageFileError) -> GrayImage {
        func fail(_ kind: ImageFileError.Kind) -> ImageFileError { ImageFileError(path: path, kind: kind) }
        let whitespace: [UInt8] = [9, 10, 13, 32]
        var i = 2
        func number() throws(ImageFileError) -> Int {
            while i < bytes.count {
                if bytes[i] == UInt8(ascii: "#") {
                    while i < bytes.count && bytes[i] != 10 && bytes[i] != 13 { i += 1 }
                } else if whitespace.contains(bytes[i]) { i += 1 } else { break }
            }
            var value = 0, digits = 0
            while i < bytes.count, (48...57).contains(bytes[i]), digits < 6 {
                value = value * 10 + Int(bytes[i] - 48); i += 1; digits += 1
            }
            guard digits > 0 else { throw fail(.malformedPGMHeader) }
            return value
        }
        guard matches(bytes) else { throw fail(.unknownFormat) }
        let width = try number(), height = try number(), maxval = try number()
        guard width > 0, height > 0, width * height <= 1 << 20 else {
            throw fail(.sizeOutOfRange(format: "PGM", width: width, height: height))
        }
        guard (1...255).contains(maxval) else { throw fail(.unsupportedPGMMaxval(maxval)) }
        guard i < bytes.count, whitespace.contains(bytes[i]) else { throw fail(.malformedPGMHeader) }
        i += 1
        guard bytes.count - i == width * height else {
            throw fail(.pgmPixelCount(found: bytes.count - i, expected: width * height))
        }
        if maxval < 255, let bad = bytes[i...].firstIndex(where: { Int($0) > maxval }) {
            throw fail(.pgmPixelAboveMaxval(value: bytes[bad], maxval: maxval, index: bad - i))
        }
        let pixels = bytes[i...].map { maxval == 255 ? $0 : UInt8((Int($0) * 255 + maxval / 2) / maxval) }
        return GrayImage(width: width, height: height, pixels: pixels)
    }
}
