import Foundation
import WeightJPEG

/// The fastest any decoder can produce a checkpoint's float32 bytes: `memcpy` of every float tensor
/// (as float32, `4 × elements` bytes) into a fresh file mapped with `MAP_SHARED`, and `memset` of
/// the same file, on one thread, page faults and all, timed in process CPU seconds (as
/// `CodingThroughput`). `weightjpeg bench model` prints decoders'
/// speeds next to it; a decoder writing the same bytes to the same kind of output cannot beat it.
public struct MappedCopyReference: Sendable {
    /// Float32 bytes written (each of memcpy and memset).
    public let bytes: Int
    /// CPU seconds of the copies and of the fills, one thread.
    public let copySeconds: Double
    public let fillSeconds: Double

    /// MB/s of memcpy and memset into the mapped file.
    public var copyMBps: Double { Double(bytes) / 1e6 / copySeconds }
    public var fillMBps: Double { Double(bytes) / 1e6 / fillSeconds }

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
        func timed(_ body: (UnsafeMutableRawPointer) -> Void) throws -> Double {
            let file = directory + "/bench-mapped-reference-\(getpid()).bin"
            let fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw ModelFileError(path: file, reason: "cannot create the reference file: \(String(cString: strerror(errno)))") }
            defer { close(fd); unlink(file) }
            guard ftruncate(fd, off_t(max(total, 1))) == 0,
                  let base = mmap(nil, max(total, 1), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
                throw ModelFileError(path: file, reason: "cannot map the reference file: \(String(cString: strerror(errno)))")
            }
            defer { munmap(base, max(total, 1)) }
            let t0 = RawJPEGReference.processCPUSeconds()
            body(base)
            return RawJPEGReference.processCPUSeconds() - t0
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
    }
}
