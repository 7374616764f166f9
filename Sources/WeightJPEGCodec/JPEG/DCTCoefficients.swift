/// Quantized DCT coefficients of a grayscale JPEG, as libjpeg stores them.
///
/// The coefficient of frequency (u, v) (u horizontal, v vertical) of a block is
/// `blocks[64 * block + 8 * v + u]` (natural order); `blocks[64 * block + k] * quantizationTable[k]`
/// approximates the orthonormal 2-D DCT-II of (pixel - 128).
public struct DCTCoefficients: Sendable, Equatable {
    /// Blocks per row: `(width + 7) / 8`.
    public var widthInBlocks: Int
    /// Block rows: `(height + 7) / 8`.
    public var heightInBlocks: Int
    /// Image width in pixels.
    public var width: Int
    /// Image height in pixels.
    public var height: Int
    /// `64 * widthInBlocks * heightInBlocks` coefficients: blocks row-major, natural order inside.
    public var blocks: [Int16]
    /// 64 quantization steps in natural order.
    public var quantizationTable: [UInt16]

    /// Creates coefficients; `JPEGEncoder.write` validates the sizes.
    public init(
        widthInBlocks: Int, heightInBlocks: Int, width: Int, height: Int,
        blocks: [Int16], quantizationTable: [UInt16]
    ) {
        self.widthInBlocks = widthInBlocks
        self.heightInBlocks = heightInBlocks
        self.width = width
        self.height = height
        self.blocks = blocks
        self.quantizationTable = quantizationTable
    }
}
