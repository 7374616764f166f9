import CJPEG
import WeightJPEGFormats

/// A reusable libjpeg decompressor producing 8-bit grayscale pixels or DCT coefficients.
///
/// Not thread-safe: use one decoder per thread. After an error the decoder stays usable.
/// Every call is independent of earlier ones: tables read in a previous call are never used
/// (libjpeg alone would silently keep them), so abbreviated streams need `tables` every time.
public final class JPEGDecoder {
    private let handle: OpaquePointer

    /// Strict mode (default): any libjpeg corrupt-data warning (truncation, bad Huffman code,
    /// extraneous bytes, ...) and any data after EOI fail the decode with libjpeg's message.
    /// Set false only to salvage damaged streams.
    public var strict: Bool = true {
        didSet { cjpeg_decoder_set_strict(handle, strict ? 1 : 0) }
    }

    /// Creates a decompressor.
    /// - Throws: `JPEGError` (`.setup`, `.outOfMemory`) if libjpeg cannot be initialized.
    public init() throws(JPEGError) {
        guard let handle = cjpeg_decoder_create() else {
            throw JPEGError(stage: .setup, kind: .outOfMemory, message: "cannot create a libjpeg decompressor")
        }
        self.handle = handle
    }

    deinit { cjpeg_decoder_destroy(handle) }

    /// Decodes a JPEG stream to 8-bit grayscale (color streams are converted to luma).
    /// - Parameters:
    ///   - bytes: a full stream, or an abbreviated image stream when `tables` is given.
    ///   - tables: a tables-only stream read before `bytes` (defines the missing tables).
    ///   - maxPixels: the largest accepted `width * height`, checked from the header before any
    ///     image-sized allocation.
    /// - Returns: the decoded image.
    /// - Throws: `JPEGError` (stage `.decode`).
    public func decode(_ bytes: [UInt8], tables: [UInt8]? = nil, maxPixels: Int) throws(JPEGError) -> GrayImage {
        try Self.withBuffers(bytes, tables) { data, tables throws(JPEGError) in
            try decode(data, tables: tables, maxPixels: maxPixels)
        }
    }

    /// Decodes a JPEG stream in memory to 8-bit grayscale; see `decode(_:tables:maxPixels:)`.
    public func decode(
        _ bytes: UnsafeRawBufferPointer, tables: UnsafeRawBufferPointer? = nil, maxPixels: Int
    ) throws(JPEGError) -> GrayImage {
        let info = try readHeader(bytes, tables: tables, maxPixels: maxPixels, coefficients: false, stage: .decode)
        let width = Int(info.width), height = Int(info.height)
        let count = width * height
        var code: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            code = cjpeg_decoder_read_pixels(handle, buffer.baseAddress, count, width)
            initialized = code == 0 ? count : 0
        }
        guard code == 0 else { throw JPEGError(stage: .decode, code: code, message: cjpeg_decoder_message(handle)) }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    /// Decodes a JPEG stream in memory to 8-bit grayscale into `pixels` (row-major, stride = width),
    /// which must hold the image: `maxPixels` is at most `pixels.count`. Lets a caller reuse one
    /// buffer for many images; see `decode(_:tables:maxPixels:)`.
    /// - Returns: the image's width and height.
    public func decode(
        _ bytes: UnsafeRawBufferPointer, tables: UnsafeRawBufferPointer? = nil, maxPixels: Int,
        into pixels: UnsafeMutableRawBufferPointer
    ) throws(JPEGError) -> (width: Int, height: Int) {
        guard maxPixels <= pixels.count, let base = pixels.baseAddress else {
            throw .argument(.decode, "pixel buffer of \(pixels.count) bytes is smaller than maxPixels \(maxPixels)")
        }
        let info = try readHeader(bytes, tables: tables, maxPixels: maxPixels, coefficients: false, stage: .decode)
        let width = Int(info.width), height = Int(info.height)
        let code = cjpeg_decoder_read_pixels(handle, base.assumingMemoryBound(to: UInt8.self), width * height, width)
        guard code == 0 else { throw JPEGError(stage: .decode, code: code, message: cjpeg_decoder_message(handle)) }
        return (width, height)
    }

    /// Reads the quantized DCT coefficients and quantization table of a grayscale stream without
    /// the inverse DCT (lossless; `JPEGEncoder.write` restores an equivalent stream).
    /// - Parameters:
    ///   - bytes: a full stream, or an abbreviated image stream when `tables` is given.
    ///   - tables: a tables-only stream read before `bytes`.
    ///   - maxPixels: the largest accepted `width * height`, checked before allocation.
    /// - Returns: the coefficients, blocks row-major in natural order.
    /// - Throws: `JPEGError` (stage `.readCoefficients`), also for streams with several components.
    public func readCoefficients(
        _ bytes: [UInt8], tables: [UInt8]? = nil, maxPixels: Int
    ) throws(JPEGError) -> DCTCoefficients {
        try Self.withBuffers(bytes, tables) { data, tables throws(JPEGError) in
            try readCoefficients(data, tables: tables, maxPixels: maxPixels)
        }
    }

    /// Reads DCT coefficients from a stream in memory; see `readCoefficients(_:tables:maxPixels:)`.
    public func readCoefficients(
        _ bytes: UnsafeRawBufferPointer, tables: UnsafeRawBufferPointer? = nil, maxPixels: Int
    ) throws(JPEGError) -> DCTCoefficients {
        let info = try readHeader(bytes, tables: tables, maxPixels: maxPixels, coefficients: true, stage: .readCoefficients)
        let blockCount = Int(info.width_in_blocks) * Int(info.height_in_blocks)
        var code: Int32 = 0
        var table = [UInt16](repeating: 0, count: 64)
        let blocks = table.withUnsafeMutableBufferPointer { table in
            [Int16](unsafeUninitializedCapacity: blockCount * 64) { buffer, initialized in
                code = cjpeg_decoder_read_coefficients(handle, buffer.baseAddress, blockCount, table.baseAddress)
                initialized = code == 0 ? blockCount * 64 : 0
            }
        }
        guard code == 0 else {
            throw JPEGError(stage: .readCoefficients, code: code, message: cjpeg_decoder_message(handle))
        }
        return DCTCoefficients(
            widthInBlocks: Int(info.width_in_blocks), heightInBlocks: Int(info.height_in_blocks),
            width: Int(info.width), height: Int(info.height), blocks: blocks, quantizationTable: table)
    }

    // MARK: Private

    private func readHeader(
        _ bytes: UnsafeRawBufferPointer, tables: UnsafeRawBufferPointer?, maxPixels: Int,
        coefficients: Bool, stage: JPEGError.Stage
    ) throws(JPEGError) -> cjpeg_info {
        if let tables, tables.isEmpty { throw .argument(stage, "empty tables stream") }
        var info = cjpeg_info()
        let code = cjpeg_decoder_read_header(
            handle, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count,
            tables?.baseAddress?.assumingMemoryBound(to: UInt8.self), tables?.count ?? 0,
            UInt64(max(0, maxPixels)), coefficients ? 1 : 0, &info)
        guard code == 0 else { throw JPEGError(stage: stage, code: code, message: cjpeg_decoder_message(handle)) }
        return info
    }

    /// Runs `body` with raw views of `bytes` and the optional `tables`.
    private static func withBuffers<R>(
        _ bytes: [UInt8], _ tables: [UInt8]?,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws(JPEGError) -> R
    ) throws(JPEGError) -> R {
        let result = bytes.withUnsafeBytes { data in
            if let tables {
                return tables.withUnsafeBytes { tables in Result { () throws(JPEGError) -> R in try body(data, tables) } }
            }
            return Result { () throws(JPEGError) -> R in try body(data, nil) }
        }
        return try result.get()
    }
}
