import Foundation

/// A file written piece by piece that appears at its path only when complete: the bytes go to a
/// temporary file beside the target; `commit()` flushes it to disk and renames it over the target;
/// `discard()` (or dropping the writer uncommitted) deletes it. The streaming counterpart of `AtomicFile`.
public final class AtomicFileWriter {
    /// The target path.
    public let path: String
    private let directory: String, temporary: String
    private var fd: Int32
    private var mapping: UnsafeMutableRawBufferPointer?
    /// Bytes written so far.
    public private(set) var bytesWritten = 0

    /// Creates the temporary file beside `path`.
    public init(path: String) throws(AtomicFile.WriteError) {
        self.path = path
        (directory, temporary) = AtomicFile.temporaryPath(for: path)
        fd = open(temporary, O_RDWR | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
    }

    deinit { discard() }

    /// Appends `raw`.
    public func write(_ raw: UnsafeRawBufferPointer) throws(AtomicFile.WriteError) {
        try FileDescriptorIO.writeAll(fd, raw, path: path)
        bytesWritten += raw.count
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws(AtomicFile.WriteError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(AtomicFile.WriteError) in try write(raw) } }.get()
    }

    /// Appends `data`.
    public func write(_ data: Data) throws(AtomicFile.WriteError) {
        try data.withUnsafeBytes { raw in Result { () throws(AtomicFile.WriteError) in try write(raw) } }.get()
    }

    /// Appends `count` bytes of the file open as `source`, from its offset `offset`
    /// (read/write in 4 MiB pieces).
    public func copy(from source: Int32, offset: Int, count: Int) throws(AtomicFile.WriteError) {
        try FileDescriptorIO.copy(from: source, offset: offset, count: count, to: fd, path: path)
        bytesWritten += count
    }

    /// Extends the file to `size` bytes with their disk space reserved (`posix_fallocate`, so that
    /// storing through the mapping cannot fail for want of space) and maps all of it shared and
    /// writable: bytes stored there are the file's. Returns nil where the file system cannot reserve
    /// space or the file cannot be mapped (then keep using `write`). `commit()` flushes
    /// (`msync`) and unmaps it; `discard()` unmaps it. Call at most once, with `size` at least
    /// the bytes written so far.
    public func mapForWriting(size: Int) throws(AtomicFile.WriteError) -> UnsafeMutableRawBufferPointer? {
        precondition(fd >= 0 && mapping == nil && size >= bytesWritten)
        guard size > 0 else { return nil }
        let reserved = posix_fallocate(fd, 0, off_t(size))
        if reserved == EOPNOTSUPP || reserved == EINVAL || reserved == ENODEV { return nil }
        guard reserved == 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(reserved))) }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != UnsafeMutableRawPointer(bitPattern: -1) else {
            // The file is now `size` bytes long but the write offset has not moved: `write` still
            // appends at `bytesWritten`, over the reserved zeros, up to the same final size.
            return nil
        }
        let m = UnsafeMutableRawBufferPointer(start: p, count: size)
        mapping = m
        bytesWritten = size
        return m
    }

    /// Flushes, closes and renames the temporary file to `path`.
    public func commit() throws(AtomicFile.WriteError) {
        guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: "already committed or discarded") }
        var failure: String?
        if let m = mapping {
            if msync(m.baseAddress, m.count, MS_SYNC) != 0 { failure = String(cString: strerror(errno)) }
            munmap(m.baseAddress, m.count)
            mapping = nil
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        fd = -1
        if failure == nil && rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw AtomicFile.WriteError(path: path, reason: failure)
        }
        AtomicFile.syncDirectory(directory)
    }

    /// Deletes the temporary file (no effect after `commit()`).
    public func discard() {
        if let m = mapping {
            munmap(m.baseAddress, m.count)
            mapping = nil
        }
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(temporary)
    }
}

/// Raw file-descriptor loops with errors naming the file.
package enum FileDescriptorIO {
    /// Writes all of `raw` to `fd`, retrying short writes and EINTR.
    package static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, path: String) throws(AtomicFile.WriteError) {
        var offset = 0
        while offset < raw.count {
            let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }

    /// Copies `count` bytes of `source` from `offset` to the current position of `destination`.
    static func copy(from source: Int32, offset: Int, count: Int, to destination: Int32, path: String) throws(AtomicFile.WriteError) {
        var inOffset = off_t(offset)
        var left = count
        let chunk = 4 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while left > 0 {
            let n = pread(source, buffer, min(chunk, left), inOffset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw AtomicFile.WriteError(path: path, reason: n == 0 ? "temporary payload file ended early" : String(cString: strerror(errno)))
            }
            try writeAll(destination, UnsafeRawBufferPointer(start: buffer, count: n), path: path)
            inOffset += off_t(n)
            left -= n
        }
    }
}
