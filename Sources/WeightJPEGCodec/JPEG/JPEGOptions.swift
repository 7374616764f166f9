/// Encoder settings for 8-bit grayscale JPEG.
public struct JPEGOptions: Sendable, Equatable {
    /// IJG quality 1...100 (libjpeg's `jpeg_set_quality` scaling); ignored when
    /// `quantizationTable` is set.
    public var quality: Int
    /// Explicit quantization table: 64 entries in natural order (k = 8 * row + column), each in
    /// 1...32767. Overrides `quality`.
    public var quantizationTable: [UInt16]?
    /// Per-image optimized Huffman tables (smaller, slower encode). Ignored with arithmetic coding.
    public var optimizeHuffman: Bool
    /// Arithmetic coding instead of Huffman coding.
    public var arithmetic: Bool
    /// Progressive scans (libjpeg's simple progression) instead of one baseline scan.
    public var progressive: Bool
    /// Clamp quantization entries to 255 so the stream stays 8-bit baseline. When false, low
    /// qualities and explicit tables may use 16-bit entries (extended sequential, SOF1).
    public var forceBaseline: Bool
    /// Write a JFIF APP0 marker (18 bytes; optional for grayscale, off to keep tiles small).
    public var writeJFIF: Bool

    /// Creates encoder settings; the defaults are quality 75 with optimized Huffman tables.
    public init(
        quality: Int = 75,
        quantizationTable: [UInt16]? = nil,
        optimizeHuffman: Bool = true,
        arithmetic: Bool = false,
        progressive: Bool = false,
        forceBaseline: Bool = false,
        writeJFIF: Bool = false
    ) {
        self.quality = quality
        self.quantizationTable = quantizationTable
        self.optimizeHuffman = optimizeHuffman
        self.arithmetic = arithmetic
        self.progressive = progressive
        self.forceBaseline = forceBaseline
        self.writeJFIF = writeJFIF
    }
}
