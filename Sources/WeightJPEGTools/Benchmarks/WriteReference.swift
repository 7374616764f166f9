import Foundation
import WeightJPEG

/// What it costs just to put a checkpoint's float32 bytes into a new file, the floor under any
/// decoder's speed, three ways, on one thread, page faults and all, timed in process CPU seconds (as
/// `CodingThroughput`): `memcpy` of every float tensor (as float32, `4 × elements` bytes) into a
/// fresh file mapped with `MAP_SHARED`; `memset` of the same mapping; and `pwrite` of the same
/// number of bytes from one reused 256 KiB buffer into a fresh file whose space is reserved first
/// (`posix_fallocate`), as `decompress` writes (`SafetensorsWriter.placeTensors`). `weightjpeg
/// bench model` prints decoders' speeds next to them: a decoder that writes the same bytes the same
/// way cannot beat the matching reference (a mapped copy does not bound a `pwrite` writer: on
/// tmpfs, `pwrite` from a buffer in cache costs about half the CPU).
public struct WriteReference: Sendable {
    /// Float32 bytes written (by each of the three).
    public let bytes: Int
    /// CPU seconds of the copies, of the fills and of the positional writes, one thread.
    public let copySeconds: Double
    public let fillSeconds: Double
    public let pwriteSeconds: Double

    /// MB/s of memcpy and memset into the mapped file, and of pwrite from a reused buffer.
    public var copyMBps: Double { Double(bytes) / 1e6 / copySeconds }
    public var fillMBps: Double { Double(bytes) / 1e6 / fillSeconds }
    public var pwriteMBps: Double { Double(bytes) / 1e6 / pwriteSeconds }

    /// Size of the reused buffer of the `pwrite` reference.
    public static let pwritePiece = 256 << 10

    /// The references for the float tensors of the checkpoint at `path`, written to a temporary
    /// file in `directory` (removed afterwards).
    public init(checkpoint path: String, directory: String) throws {
        let reader = try SafetensorsReader(path: path)
        var sources: [[Float]] = []
        for i in 0..<reader.count {
            let t = reader.tensor(i)
            defer { reader.release(i) }
            if t.dtype.convertsToFloat, t.count > 0 { sources.append(try t.floats()) }
        }
        let total = sources.reduce(0) { $0 + 4 * $1.count }
        bytes = total
        // A fresh reference file for `body` (descriptor, name), removed afterwards.
        func withFile(_ body: (Int32, String) throws -> Double) throws -> Double {
            let file = directory + "/bench-write-reference-\(getpid()).bin"
            let fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw ModelFileError(path: file, reason: "cannot create the reference file: \(String(cString: strerror(errno)))") }
            defer { close(fd); unlink(file) }
            return try body(fd, file)
        }
        func timed(_ body: (UnsafeMutableRawPointer) -> Void) throws -> Double {
            try withFile { fd, file in
                guard ftruncate(fd, off_t(max(total, 1))) == 0,
                      let base = mmap(nil, max(total, 1), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
                    throw ModelFileError(path: file, reason: "cannot map the reference file: \(String(cString: strerror(errno)))")
                }
                defer { munmap(base, max(total, 1)) }
                let t0 = RawJPEGReference.processCPUSeconds()
                body(base)
                return RawJPEGReference.processCPUSeconds() - t0
            }
        }
        copySeconds = try timed { base in
            var offset = 0
            for s in sources {
                s.withUnsafeBytes { _ = memcpy(base + offset, $0.baseAddress!, $0.count) }
                offset += 4 * s.count
            }
        }
        fillSeconds = try timed { base in
            var offset = 0
            for s in sources {
                memset(base + offset, 0x3C, 4 * s.count)
                offset += 4 * s.count
            }
        }
        let piece = UnsafeMutableRawPointer.allocate(byteCount: Self.pwritePiece, alignment: 64)
        defer { piece.deallocate() }
        memset(piece, 0x3C, Self.pwritePiece)
        pwriteSeconds = try withFile { fd, file in
            let t0 = RawJPEGReference.processCPUSeconds()
            let reserved = total > 0 ? posix_fallocate(fd, 0, off_t(total)) : 0
            guard reserved == 0 || reserved == EOPNOTSUPP || reserved == EINVAL else {
                throw ModelFileError(path: file, reason: "cannot reserve the reference file's space: \(String(cString: strerror(reserved)))")
            }
            var offset = 0
            while offset < total {
                let n = min(Self.pwritePiece, total - offset)
                guard pwrite(fd, piece, n, off_t(offset)) == n else {
                    throw ModelFileError(path: file, reason: "cannot write the reference file: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
            return RawJPEGReference.processCPUSeconds() - t0
        }
    }
}
