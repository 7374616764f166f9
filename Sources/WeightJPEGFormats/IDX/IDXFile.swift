import Foundation
import WeightJPEGCore

/// Why an IDX file could not be read; `description` names the file and the fault on one line.
public struct IDXError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kind of fault, for callers and tests that need to tell them apart.
    public enum Kind: Equatable, Sendable {
        /// The file could not be read at all (missing, a directory, I/O error).
        case unreadable
        /// The file is gzipped and the gzip stream is bad, truncated or too large.
        case gzip(Gzip.Failure)
        /// Fewer bytes than the 4-byte magic plus 4 bytes per dimension.
        case truncatedHeader
        /// The first two magic bytes are not zero.
        case badMagic
        /// The data type byte is not 0x08 (unsigned byte), the only type supported.
        case unsupportedType(UInt8)
        /// The number of dimensions is 0 or not the rank the caller asked for.
        case wrongRank(Int)
        /// The product of the dimensions does not fit in `Int`.
        case sizeOverflow
        /// Fewer data bytes than the dimensions need.
        case truncatedData
        /// More data bytes than the dimensions need.
        case trailingData
    }

    /// The file at fault, as given by the caller.
    public let path: String
    /// What kind of fault.
    public let kind: Kind
    /// The one-line explanation after the path.
    public let detail: String

    public var description: String { "\(path): \(detail)" }
}

/// An IDX file (the format of the MNIST distribution) of unsigned bytes: a big-endian header
/// `00 00 08 rank`, `rank` big-endian `UInt32` dimensions, then the elements in row-major order.
public struct IDXFile: Equatable, Sendable {
    /// The dimensions, outermost first (e.g. `[60000, 28, 28]` for MNIST training images).
    public let dimensions: [Int]
    /// The product of `dimensions` elements, row-major.
    public let bytes: [UInt8]

    /// The largest decompressed size accepted by default for gzipped files: 512 MiB, ten times
    /// the largest MNIST-family file, so a gzip bomb fails fast instead of exhausting memory.
    public static let defaultMaximumSize = 512 << 20

    /// The IDX data type code for unsigned bytes, the only one this reader accepts.
    static let unsignedByteType: UInt8 = 0x08

    /// Reads the IDX file at `path`, gunzipping it first if it starts with the gzip magic (1f 8b),
    /// whatever its name.
    ///
    /// - Parameters:
    ///   - rank: if given, the number of dimensions the file must have.
    ///   - maximumSize: the largest decompressed size accepted for a gzipped file, in bytes.
    public static func read(path: String, rank: Int? = nil,
                            maximumSize: Int = defaultMaximumSize) throws(IDXError) -> IDXFile {
        let data: Data
        do {
            data = try FileInput.read(path)
        } catch {
            throw IDXError(path: path, kind: .unreadable, detail: error.reason)
        }
        return try IDXFile(data: data, path: path, rank: rank, maximumSize: maximumSize)
    }

    /// Parses IDX bytes (gzipped or not); `path` is used only in error messages.
    public init(data: Data, path: String, rank: Int? = nil,
                maximumSize: Int = defaultMaximumSize) throws(IDXError) {
        var raw = data
        if Gzip.isGzip(data) {
            do {
                raw = try Gzip.decompress(data, maximumSize: maximumSize)
            } catch {
                throw IDXError(path: path, kind: .gzip(error), detail: error.description)
            }
        }
        try self.init(uncompressed: raw, path: path, rank: rank)
    }

    /// Parses uncompressed IDX bytes.
    private init(uncompressed data: Data, path: String, rank expectedRank: Int?) throws(IDXError) {
        func fail(_ kind: IDXError.Kind, _ detail: String) -> IDXError {
            IDXError(path: path, kind: kind, detail: detail)
        }
        let total = data.count
        let start = data.startIndex
        guard total >= 4 else {
            throw fail(.truncatedHeader, "file is \(total) bytes, too short for the 4-byte IDX magic")
        }
        let magic = data.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) }
        let magicText = "0x" + hex(magic, digits: 8)
        let type = data[start + 2]
        let rank = Int(data[start + 3])
        // What a correct magic would be: the wanted rank if the caller has one, else the file's own.
        let wanted = "0x000008" + hex(UInt32(expectedRank ?? max(rank, 1)), digits: 2)
        guard data[start] == 0, data[start + 1] == 0 else {
            throw fail(.badMagic, "magic is \(magicText), expected \(wanted) (unsigned byte data); not an IDX file")
        }
        guard type == Self.unsignedByteType else {
            throw fail(.unsupportedType(type),
                       "magic is \(magicText), expected \(wanted) (unsigned byte data); data type 0x\(hex(UInt32(type), digits: 2)) (\(Self.typeName(type))) is not supported")
        }
        if let expectedRank, rank != expectedRank {
            throw fail(.wrongRank(rank), "magic is \(magicText), expected \(wanted) (unsigned byte data, rank \(expectedRank)); the file has rank \(rank)")
        }
        guard rank >= 1 else {
            throw fail(.wrongRank(rank), "magic is \(magicText): rank 0, expected at least one dimension")
        }
        let headerSize = 4 + 4 * rank
        guard total >= headerSize else {
            throw fail(.truncatedHeader, "file is \(total) bytes, too short for the \(headerSize)-byte header of a rank-\(rank) IDX file")
        }
        var dimensions: [Int] = []
        dimensions.reserveCapacity(rank)
        var elements = 1
        var overflowed = false
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for d in 0..<rank {
                let value = Int(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 4 + 4 * d, as: UInt32.self)))
                dimensions.append(value)
                let (product, overflow) = elements.multipliedReportingOverflow(by: value)
                overflowed = overflowed || overflow
                elements = product
            }
        }
        let shape = dimensions.map(String.init).joined(separator: " × ")
        guard !overflowed else {
            throw fail(.sizeOverflow, "dimensions \(shape) overflow the element count")
        }
        let available = total - headerSize
        if available < elements {
            throw fail(.truncatedData, "data is \(available) bytes, dimensions \(shape) need \(elements) bytes (file truncated)")
        }
        if available > elements {
            throw fail(.trailingData, "data is \(available) bytes, dimensions \(shape) need \(elements) bytes (\(available - elements) trailing bytes)")
        }
        self.dimensions = dimensions
        // One bulk copy out of the (mapped or decompressed) buffer; no per-byte appends.
        self.bytes = [UInt8](unsafeUninitializedCapacity: elements) { buffer, count in
            data.copyBytes(to: buffer, from: (start + headerSize)..<(start + total))
            count = elements
        }
    }

    /// The element count, the product of `dimensions`.
    public var count: Int { bytes.count }

    /// The IDX names of the data type codes, for error messages.
    static func typeName(_ code: UInt8) -> String {
        switch code {
        case 0x08: "unsigned byte"
        case 0x09: "signed byte"
        case 0x0B: "short"
        case 0x0C: "int"
        case 0x0D: "float"
        case 0x0E: "double"
        default: "unknown type"
        }
    }
}

/// `value` as lower-case hexadecimal, zero-padded to `digits`.
private func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: false)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}
