import CZlib
import Foundation

/// gzip (RFC 1952) decompression through the system zlib, with a hard cap on the output size so
/// that a small hostile file (a "gzip bomb") cannot make us allocate gigabytes.
public enum Gzip {
    /// Why a gzip stream could not be decompressed.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// The input does not start with the gzip magic bytes 0x1f 0x8b.
        case notGzip
        /// The input ended before the end of the compressed stream.
        case truncated(compressedBytes: Int)
        /// zlib rejected the stream (bad header, bad deflate data, CRC or length mismatch).
        case corrupt(String)
        /// The decompressed data would exceed `limit` bytes.
        case tooLarge(limit: Int)
        /// Bytes that are not another gzip member follow the end of the stream.
        case trailingData(bytes: Int)
        /// zlib itself failed (out of memory, version mismatch); the zlib status code.
        case zlib(Int32)

        public var description: String {
            switch self {
            case .notGzip: "not gzip data (expected magic bytes 1f 8b)"
            case .truncated(let n): "gzip stream is truncated (input ends after \(n) compressed bytes)"
            case .corrupt(let message): "gzip stream is corrupt: \(message)"
            case .tooLarge(let limit): "gzip stream decompresses to more than \(limit) bytes (limit)"
            case .trailingData(let n): "\(n) bytes of trailing data after the gzip stream"
            case .zlib(let status): "zlib failed with status \(status)"
            }
        }
    }

    /// Whether `data` starts with the gzip magic bytes 0x1f 0x8b.
    public static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B
    }

    /// Decompresses a gzip stream (several concatenated members are accepted, as `gunzip` does).
    ///
    /// - Parameter maximumSize: the largest acceptable decompressed size, in bytes; memory use
    ///   stays below about this much however the input lies.
    /// - Throws: `Failure`, e.g. `.tooLarge` as soon as the output would exceed `maximumSize`.
    public static func decompress(_ input: Data, maximumSize: Int) throws(Failure) -> Data {
        precondition(maximumSize >= 0, "negative maximumSize")
        guard isGzip(input) else { throw .notGzip }

        // Initial capacity: the trailer's ISIZE (decompressed size mod 2³²) is a good hint for a
        // single-member file; it is clamped to what deflate can possibly produce (≤ 1032:1) and to
        // the cap, so a lying trailer cannot inflate the allocation beyond either bound.
        let inputCount = input.count
        var hint = 0
        if inputCount >= 18 {
            let i = input.endIndex - 4
            hint = Int(input[i]) | Int(input[i + 1]) << 8 | Int(input[i + 2]) << 16 | Int(input[i + 3]) << 24
        }
        let (deflateBound, overflow) = inputCount.multipliedReportingOverflow(by: 1032)
        let upperBound = min(overflow ? Int.max : deflateBound &+ 64, maximumSize == Int.max ? Int.max : maximumSize + 1)
        var capacity = max(1, min(hint, upperBound))
        guard var buffer = malloc(capacity) else { throw .zlib(Z_MEM_ERROR) }
        var produced = 0

        let failure: Failure? = input.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Failure? in
            var stream = z_stream()
            let status = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { return .zlib(status) }
            defer { inflateEnd(&stream) }
            guard let base = raw.bindMemory(to: Bytef.self).baseAddress else { return .notGzip }
            let chunkLimit = 1 << 30  // avail_in / avail_out are 32-bit
            var fed = 0

            while true {
                if stream.avail_in == 0 && fed < inputCount {
                    let n = min(inputCount - fed, chunkLimit)
                    // zlib never writes through next_in; the cast only satisfies the C prototype.
                    stream.next_in = UnsafeMutablePointer(mutating: base + fed)
                    stream.avail_in = uInt(n)
                    fed += n
                }
                if produced == capacity {
                    if capacity > maximumSize { return .tooLarge(limit: maximumSize) }
                    let grown = capacity > Int.max / 2 ? Int.max : max(capacity * 2, 1 << 16)
                    let newCapacity = min(grown, maximumSize == Int.max ? Int.max : maximumSize + 1)
                    guard let moved = realloc(buffer, newCapacity) else { return .zlib(Z_MEM_ERROR) }
                    buffer = moved
                    capacity = newCapacity
                }
                let room = min(capacity - produced, chunkLimit)
                stream.next_out = (buffer + produced).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(room)
                let status = inflate(&stream, Z_NO_FLUSH)
                produced += room - Int(stream.avail_out)
                if produced > maximumSize { return .tooLarge(limit: maximumSize) }

                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    let position = fed - Int(stream.avail_in)
                    if position == inputCount { return nil }
                    // Another member must follow (gzip files may be concatenated); anything else is junk.
                    let rest = inputCount - position
                    guard rest >= 2, base[position] == 0x1F, base[position + 1] == 0x8B else {
                        return .trailingData(bytes: rest)
                    }
                    let reset = inflateReset(&stream)
                    if reset != Z_OK { return .zlib(reset) }
                case Z_BUF_ERROR:
                    // No progress: either the output is full (grown on the next pass) or the input
                    // is exhausted before the end of the stream.
                    if stream.avail_out == 0 { continue }
                    if stream.avail_in == 0 && fed == inputCount { return .truncated(compressedBytes: inputCount) }
                    return .zlib(status)
                case Z_DATA_ERROR, Z_NEED_DICT:
                    let message = stream.msg.map { String(cString: $0) } ?? "invalid deflate data"
                    return .corrupt(message)
                default:
                    return .zlib(status)
                }
            }
        }
        if let failure {
            free(buffer)
            throw failure
        }
        if produced == 0 {
            free(buffer)
            return Data()
        }
        return Data(bytesNoCopy: buffer, count: produced, deallocator: .free)
    }

    /// Compresses `data` into a single gzip member (used to build test inputs and fixtures).
    ///
    /// - Parameter level: zlib compression level, 0 (store) to 9 (best).
    public static func compress(_ data: Data, level: Int32 = 6) -> Data {
        var stream = z_stream()
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed with status \(status)")
        defer { deflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let base = raw.bindMemory(to: Bytef.self).baseAddress
            var fed = 0
            var finished = false
            while !finished {
                if stream.avail_in == 0 && fed < raw.count, let base {
                    let n = min(raw.count - fed, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: base + fed)
                    stream.avail_in = uInt(n)
                    fed += n
                }
                let flush = fed == raw.count ? Z_FINISH : Z_NO_FLUSH
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    let result = deflate(&stream, flush)
                    precondition(result == Z_OK || result == Z_STREAM_END || result == Z_BUF_ERROR,
                                 "deflate failed with status \(result)")
                    output.append(out.baseAddress!, count: out.count - Int(stream.avail_out))
                    finished = result == Z_STREAM_END
                }
            }
        }
        return output
    }
}
