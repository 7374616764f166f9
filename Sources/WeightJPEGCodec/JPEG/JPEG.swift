/// JPEG constants and helpers shared by the encoder and the decoder.
public enum JPEG {
    /// Largest width or height libjpeg accepts.
    public static let maxDimension = 65500

    /// `zigzagToNatural[i]` is the natural-order index (8 * row + column) of the i-th coefficient
    /// in zigzag (transmission) order (libjpeg's `jpeg_natural_order`).
    public static let zigzagToNatural: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ]

    /// `naturalToZigzag[k]` is the zigzag position of natural-order index k.
    public static let naturalToZigzag: [Int] = {
        var inverse = [Int](repeating: 0, count: 64)
        for (zigzag, natural) in zigzagToNatural.enumerated() { inverse[natural] = zigzag }
        return inverse
    }()

    /// The JPEG standard's luminance quantization table (Annex K.1, quality 50), natural order.
    public static let baseLuminanceTable: [UInt16] = [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ]

    /// The luminance table libjpeg uses for `quality` (IJG scaling, `jpeg_quality_scaling`):
    /// scale = 5000 / q below 50, else 200 - 2q; entry = (base * scale + 50) / 100 clamped to
    /// 1...32767 (1...255 with `forceBaseline`). Natural order.
    /// - Throws: `JPEGError` (`.invalidArgument`) if quality is outside 1...100.
    public static func standardLuminanceTable(
        quality: Int, forceBaseline: Bool = false
    ) throws(JPEGError) -> [UInt16] {
        guard (1...100).contains(quality) else {
            throw JPEGError(
                stage: .tables, kind: .invalidArgument,
                message: "quality \(quality) outside 1...100")
        }
        let scale = quality < 50 ? 5000 / quality : 200 - quality * 2
        let upper = forceBaseline ? 255 : 32767
        return baseLuminanceTable.map { base in
            UInt16(min(max((Int(base) * scale + 50) / 100, 1), upper))
        }
    }
}
