import Foundation
import Synchronization

/// A whole file mapped into memory read-only (private mapping: a stray write cannot reach the file).
/// Pages are read from disk on first touch; `release(_:)` drops the pages of a byte range that is no
/// longer needed, so that the resident memory of a pass over a large file stays bounded by what is in
/// use, not by the file size. Thread-safe (the mapping itself never changes).
public final class MappedFile: @unchecked Sendable {
    /// The mapped file's path as given.
    public let path: String
    /// File size in bytes at the time it was mapped.
    public let size: Int
    private let base: UnsafeMutableRawPointer?

    /// Maps `path`; the error names the file.
    public init(path: String) throws(FileInput.ReadError) {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FileInput.ReadError(path: path, reason: "no such file")
        }
        if isDirectory.boolValue { throw FileInput.ReadError(path: path, reason: "is a directory, expected a file") }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileInput.ReadError(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileInput.ReadError(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))") }
        size = Int(st.st_size)
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw FileInput.ReadError(path: path, reason: "cannot map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        base = p
        Self.registry.withLock { $0[Int(bitPattern: p)] = size }
    }

    deinit {
        if let base {
            Self.registry.withLock { _ = $0.removeValue(forKey: Int(bitPattern: base)) }
            munmap(base, size)
        }
    }

    /// Live mappings: start address → size.
    private static let registry = Mutex<[Int: Int]>([:])

    /// Drops the resident pages of `bytes` if they lie in a live `MappedFile` (no effect otherwise).
    /// Readers use it to release input they have consumed; the bytes stay readable.
    public static func releaseIfMapped(_ bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress.map({ Int(bitPattern: $0) }), bytes.count >= 1 << 16 else { return }
        let mapped = registry.withLock { r in r.contains { start >= $0.key && start + bytes.count <= $0.key + $0.value } }
        guard mapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (start + page - 1) / page * page, end = (start + bytes.count) / page * page
        if end > first { _ = madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, Int32(MADV_DONTNEED)) }
    }

    /// All bytes of the file (valid while `self` lives).
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    /// A `Data` viewing `range` of the mapping without copying; it keeps the mapping alive.
    public func data(_ range: Range<Int>) -> Data {
        precondition(range.lowerBound >= 0 && range.upperBound <= size)
        guard let base, !range.isEmpty else { return Data() }
        return Data(bytesNoCopy: base + range.lowerBound, count: range.count,
                    deallocator: .custom { _, _ in withExtendedLifetime(self) {} })
    }

    /// Drops the resident pages of `range` (rounded out to whole pages; a page shared with a range
    /// still in use is simply read again from the page cache when touched).
    public func release(_ range: Range<Int>) {
        guard let base, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let end = min(size, (range.upperBound + page - 1) / page * page)
        guard end > start else { return }
        _ = madvise(base + start, end - start, Int32(MADV_DONTNEED))
    }
}
