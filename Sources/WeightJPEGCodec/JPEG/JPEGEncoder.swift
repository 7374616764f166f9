import CJPEG
import WeightJPEGFormats

/// A reusable libjpeg compressor for 8-bit grayscale JPEG.
///
/// Not thread-safe: use one encoder per thread. Reusing one encoder avoids creating a libjpeg
/// object and an output buffer per image. After an error the encoder stays usable.
public final class JPEGEncoder {
    /// Whether a stream carries its own tables.
    public typealias TableMode = JPEGTableMode

    private let handle: OpaquePointer

    /// Creates a compressor.
    /// - Throws: `JPEGError` (`.setup`, `.outOfMemory`) if libjpeg cannot be initialized.
    public init() throws(JPEGError) {
        guard let handle = cjpeg_encoder_create() else {
            throw JPEGError(stage: .setup, kind: .outOfMemory, message: "cannot create a libjpeg compressor")
        }
        self.handle = handle
    }

    deinit { cjpeg_encoder_destroy(handle) }

    /// Encodes a grayscale image.
    /// - Parameters:
    ///   - image: `image.pixels.count` must equal `width * height`.
    ///   - options: quality or quantization table and coding choices.
    ///   - tables: `.included` for a full stream, `.omitted` for an abbreviated image stream.
    /// - Returns: the JPEG stream.
    /// - Throws: `JPEGError` (stage `.encode`) for invalid sizes, quality or tables.
    public func encode(
        _ image: GrayImage, options: JPEGOptions = JPEGOptions(), tables: TableMode = .included
    ) throws(JPEGError) -> [UInt8] {
        let (count, overflow) = image.width.multipliedReportingOverflow(by: image.height)
        guard image.width > 0, image.height > 0, !overflow, count == image.pixels.count else {
            throw .argument(
                .encode,
                "pixel count \(image.pixels.count) does not match \(image.width)x\(image.height)")
        }
        let result = image.pixels.withUnsafeBytes { raw in
            Result { () throws(JPEGError) -> [UInt8] in
                try encode(raw, width: image.width, height: image.height, stride: image.width,
                           options: options, tables: tables)
            }
        }
        return try result.get()
    }

    /// Encodes grayscale pixels in place, e.g. a tile inside a larger matrix.
    /// - Parameters:
    ///   - pixels: row `y` starts at byte `y * stride`; at least `(height - 1) * stride + width` bytes.
    ///   - width: 1...65500.
    ///   - height: 1...65500.
    ///   - stride: bytes between row starts, at least `width`.
    ///   - options: quality or quantization table and coding choices.
    ///   - tables: `.included` for a full stream, `.omitted` for an abbreviated image stream.
    /// - Returns: the JPEG stream.
    /// - Throws: `JPEGError` (stage `.encode`).
    public func encode(
        _ pixels: UnsafeRawBufferPointer, width: Int, height: Int, stride: Int,
        options: JPEGOptions = JPEGOptions(), tables: TableMode = .included
    ) throws(JPEGError) -> [UInt8] {
        guard (1...JPEG.maxDimension).contains(width), (1...JPEG.maxDimension).contains(height) else {
            throw .argument(.encode, "image dimensions \(width)x\(height) outside 1...65500")
        }
        let (rowsSpan, overflow) = (height - 1).multipliedReportingOverflow(by: stride)
        guard stride >= width, !overflow, let base = pixels.baseAddress,
              rowsSpan <= pixels.count - width
        else {
            throw .argument(.encode, "pixel buffer of \(pixels.count) bytes too small for \(width)x\(height), stride \(stride)")
        }
        var cOptions = try Self.cOptions(options, stage: .encode)
        let abbreviated: Int32 = tables == .omitted ? 1 : 0
        return try withQuantizationTable(options.quantizationTable, stage: .encode) { table, out, length in
            cjpeg_encoder_encode(
                handle, base.assumingMemoryBound(to: UInt8.self), Int32(width), Int32(height),
                stride, &cOptions, table, abbreviated, out, length)
        }
    }

    /// Writes a tables-only stream (quantization table and, for Huffman coding, the standard
    /// Huffman tables) matching `encode(_:options:tables:)` with the same options.
    /// - Returns: the tables-only stream (SOI, DQT, DHT, EOI).
    /// - Throws: `JPEGError` (stage `.tables`).
    public func tablesOnly(options: JPEGOptions = JPEGOptions()) throws(JPEGError) -> [UInt8] {
        var cOptions = try Self.cOptions(options, stage: .tables)
        return try withQuantizationTable(options.quantizationTable, stage: .tables) { table, out, length in
            cjpeg_encoder_tables(handle, &cOptions, table, out, length)
        }
    }

    /// Writes quantized DCT coefficients as a JPEG stream (lossless with respect to the
    /// coefficients). `coefficients.quantizationTable` is written as is; `options.quality`,
    /// `options.quantizationTable` are ignored, and `options.forceBaseline` rejects entries above 255.
    /// - Parameters:
    ///   - coefficients: blocks with |AC| <= 1023 and DC in -1024...1023 (8-bit JPEG range).
    ///   - options: coding choices (Huffman optimization, arithmetic, progressive, JFIF).
    ///   - tables: `.included` for a full stream, `.omitted` for an abbreviated image stream.
    /// - Returns: the JPEG stream.
    /// - Throws: `JPEGError` (stage `.writeCoefficients`).
    public func write(
        _ coefficients: DCTCoefficients, options: JPEGOptions = JPEGOptions(),
        tables: TableMode = .included
    ) throws(JPEGError) -> [UInt8] {
        let c = coefficients
        let (blockCount, overflow) = c.widthInBlocks.multipliedReportingOverflow(by: c.heightInBlocks)
        guard !overflow, blockCount > 0, blockCount <= Int.max / 64, c.blocks.count == blockCount * 64 else {
            throw .argument(.writeCoefficients, "\(c.blocks.count) coefficients do not fill \(c.widthInBlocks)x\(c.heightInBlocks) blocks")
        }
        guard c.quantizationTable.count == 64 else {
            throw .argument(.writeCoefficients, "quantization table has \(c.quantizationTable.count) entries, not 64")
        }
        guard (1...JPEG.maxDimension).contains(c.width), (1...JPEG.maxDimension).contains(c.height) else {
            throw .argument(.writeCoefficients, "image dimensions \(c.width)x\(c.height) outside 1...65500")
        }
        var cOptions = Self.cOptionsUnchecked(options)
        let abbreviated: Int32 = tables == .omitted ? 1 : 0
        var out: UnsafePointer<UInt8>? = nil
        var length = 0
        let code = c.blocks.withUnsafeBufferPointer { blocks in
            c.quantizationTable.withUnsafeBufferPointer { table in
                cjpeg_encoder_write_coefficients(
                    handle, blocks.baseAddress, blockCount, Int32(c.widthInBlocks),
                    Int32(c.heightInBlocks), Int32(c.width), Int32(c.height), table.baseAddress,
                    &cOptions, abbreviated, &out, &length)
            }
        }
        return try output(code, out, length, stage: .writeCoefficients)
    }

    // MARK: Private

    private static func cOptionsUnchecked(_ o: JPEGOptions) -> cjpeg_options {
        cjpeg_options(
            quality: Int32(clamping: o.quality), force_baseline: o.forceBaseline ? 1 : 0,
            optimize_huffman: o.optimizeHuffman ? 1 : 0, arithmetic: o.arithmetic ? 1 : 0,
            progressive: o.progressive ? 1 : 0, write_jfif: o.writeJFIF ? 1 : 0)
    }

    private static func cOptions(_ o: JPEGOptions, stage: JPEGError.Stage) throws(JPEGError) -> cjpeg_options {
        if let table = o.quantizationTable {
            guard table.count == 64 else {
                throw .argument(stage, "quantization table has \(table.count) entries, not 64")
            }
        } else if !(1...100).contains(o.quality) {
            throw .argument(stage, "quality \(o.quality) outside 1...100")
        }
        return cOptionsUnchecked(o)
    }

    /// Calls `body` with the table pointer (or nil) and output slots, then copies the output.
    private func withQuantizationTable(
        _ table: [UInt16]?, stage: JPEGError.Stage,
        _ body: (UnsafePointer<UInt16>?, UnsafeMutablePointer<UnsafePointer<UInt8>?>, UnsafeMutablePointer<Int>) -> Int32
    ) throws(JPEGError) -> [UInt8] {
        var out: UnsafePointer<UInt8>? = nil
        var length = 0
        let code: Int32
        if let table {
            code = table.withUnsafeBufferPointer { body($0.baseAddress, &out, &length) }
        } else {
            code = body(nil, &out, &length)
        }
        return try output(code, out, length, stage: stage)
    }

    private func output(
        _ code: Int32, _ out: UnsafePointer<UInt8>?, _ length: Int, stage: JPEGError.Stage
    ) throws(JPEGError) -> [UInt8] {
        guard code == 0, let out else {
            throw JPEGError(stage: stage, code: code, message: cjpeg_encoder_message(handle))
        }
        return Array(UnsafeBufferPointer(start: out, count: length))
    }
}
