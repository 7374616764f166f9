import Foundation

/// A file written piece by piece that appears at its path only when complete: the bytes go to a
/// temporary file beside the target; `commit()` flushes it to disk and renames it over the target;
/// `discard()` (or dropping the writer uncommitted) deletes it. The streaming counterpart of `AtomicFile`.
///
/// The destination is an `OutputTarget` (`init(path:)` resolves one, without checking inputs):
/// - `.regularFile`: as above, at `target.resolvedPath` (symbolic links followed, so a link stays a
///   link); at `commit()` the replacement gets the existing file's permission bits (and, as root,
///   owner and group), or `0o666 & ~umask` for a new file; until then the temporary file is 0o600.
/// - `.standardOutput`, `.fifo`, `.characterDevice`: a stream. `init` opens it (a FIFO waits for a
///   reader; for standard output, C stdio buffers are flushed first so earlier `print`s precede the
///   data); `write` and `copy` send the bytes at once, in order; `positionalWriter` returns nil, so
///   callers take their sequential path (`SafetensorsWriter.placeTensors()` returns nil and the
///   pipeline appends tensors in order); `commit()` closes it; `discard()` closes it too, but bytes
///   already sent stay sent. No temporary file, no rename, no seek.
public final class AtomicFileWriter {
    /// The target path as given (`-` for standard output).
    public let path: String
    /// Where the bytes go.
    public let target: OutputTarget
    private let directory: String, temporary: String
    private var fd: Int32
    private var positional = false
    /// Mode of a new file: what `open(..., 0o666)` gave under the umask.
    private var newFileMode: mode_t = 0o644
    /// Bytes written so far.
    public private(set) var bytesWritten = 0

    /// Resolves `path` (`OutputTarget.resolve(path)`: no check against inputs) and opens it:
    /// for a regular file, creates the temporary file beside the file `path` names.
    public convenience init(path: String) throws(AtomicFile.WriteError) {
        let target: OutputTarget
        do { target = try OutputTarget.resolve(path) } catch { throw AtomicFile.WriteError(error) }
        try self.init(target: target)
    }

    /// Opens `target`: a temporary file beside a regular file, or the stream itself.
    public init(target: OutputTarget) throws(AtomicFile.WriteError) {
        self.target = target
        path = target.path
        switch target.kind {
        case .regularFile:
            (directory, temporary) = AtomicFile.temporaryPath(for: target.resolvedPath)
            fd = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
            // The umask-derived mode of a new file, then private until the rename (commit() sets the
            // final mode), so no other user can open the bytes of a file that will be 0o600.
            var st = stat()
            if fstat(fd, &st) == 0 { newFileMode = st.st_mode & 0o777 }
            _ = fchmod(fd, 0o600)
        case .standardOutput:
            (directory, temporary) = ("", "")
            fflush(nil)
            fd = fcntl(target.standardOutputDescriptor, F_DUPFD_CLOEXEC, 3)
            guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: "standard output: \(String(cString: strerror(errno)))") }
        case .fifo, .characterDevice:
            (directory, temporary) = ("", "")
            fd = open(target.resolvedPath, O_WRONLY | O_NOCTTY | O_CLOEXEC)
            guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
            // Still a stream (not swapped for a regular file or a directory since it was resolved).
            var st = stat()
            let type = fstat(fd, &st) == 0 ? st.st_mode & S_IFMT : 0
            guard type == S_IFIFO || type == S_IFCHR else {
                close(fd)
                fd = -1
                throw AtomicFile.WriteError(path: path, reason: "changed since it was checked: no longer a FIFO or character device")
            }
        }
    }

    deinit { discard() }

    /// Appends `raw`.
    public func write(_ raw: UnsafeRawBufferPointer) throws(AtomicFile.WriteError) {
        guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: "already committed or discarded") }
        guard !positional else { throw AtomicFile.WriteError(path: path, reason: "appending after positionalWriter(size:)") }
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
        guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: "already committed or discarded") }
        guard !positional else { throw AtomicFile.WriteError(path: path, reason: "appending after positionalWriter(size:)") }
        try FileDescriptorIO.copy(from: source, offset: offset, count: count, to: fd, path: path)
        bytesWritten += count
    }

    /// Switches to positional writing: extends the file to `size` bytes, their disk space reserved
    /// where the file system can (`posix_fallocate`, so a full disk is an error up front), and
    /// returns a writer that stores bytes at any offset from any thread (`pwrite`). Returns nil for a
    /// stream (then keep using `write`). After this call `write` and `copy` must not be used; the
    /// returned writer must not be used after `commit()` or `discard()`. Call at most once, with
    /// `size` at least the bytes written so far.
    public func positionalWriter(size: Int) throws(AtomicFile.WriteError) -> PositionalFileWriter? {
        precondition(fd >= 0 && !positional && size >= bytesWritten)
        guard target.kind == .regularFile else { return nil }
        let reserved = size > 0 ? posix_fallocate(fd, 0, off_t(size)) : 0
        if reserved == EOPNOTSUPP || reserved == EINVAL || reserved == ENODEV {
            // No reservation here: a write that finds the disk full is then an error of that write.
            guard ftruncate(fd, off_t(size)) == 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
        } else if reserved != 0 {
            throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(reserved)))
        }
        positional = true
        bytesWritten = size
        return PositionalFileWriter(fd: fd, path: path)
    }

    /// Regular file: flushes, gives the temporary file the final mode (and owner), closes it and
    /// renames it to the target. Stream: closes it.
    public func commit() throws(AtomicFile.WriteError) {
        guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: "already committed or discarded") }
        guard target.kind == .regularFile else {
            let failed = close(fd) != 0 && errno != EINTR
            let reason = failed ? String(cString: strerror(errno)) : ""
            fd = -1
            if failed { throw AtomicFile.WriteError(path: path, reason: reason) }
            return
        }
        var failure = applyFinalModeAndOwner()
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        fd = -1
        if failure == nil && rename(temporary, target.resolvedPath) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw AtomicFile.WriteError(path: path, reason: failure)
        }
        AtomicFile.syncDirectory(directory)
    }

    /// Gives the temporary file the mode of the file it replaces (and, as root, its owner and group;
    /// otherwise its group where the system allows), or the new-file mode; returns a failure reason.
    private func applyFinalModeAndOwner() -> String? {
        var existing = stat()
        var mode = newFileMode
        if stat(target.resolvedPath, &existing) == 0 && (existing.st_mode & S_IFMT) == S_IFREG {
            mode = existing.st_mode & 0o7777
            if geteuid() == 0 {
                if fchown(fd, existing.st_uid, existing.st_gid) != 0 {
                    return "cannot give the new file the owner of the old one: \(String(cString: strerror(errno)))"
                }
            } else if existing.st_gid != getegid() {
                _ = fchown(fd, uid_t.max, existing.st_gid)  // best effort: only to a group we are in
            }
        }
        // After fchown, which clears set-user-ID and set-group-ID bits.
        if fchmod(fd, mode) != 0 { return "cannot set the mode: \(String(cString: strerror(errno)))" }
        return nil
    }

    /// Deletes the temporary file (no effect after `commit()`). For a stream: closes it (bytes
    /// already written stay written).
    public func discard() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        if target.kind == .regularFile { unlink(temporary) }
    }
}

/// Stores bytes at given offsets of an `AtomicFileWriter`'s temporary file (`pwrite`), from any
/// number of threads at once (each to its own range). Made by `AtomicFileWriter.positionalWriter(size:)`;
/// valid until that writer commits or discards.
public struct PositionalFileWriter: Sendable {
    let fd: Int32
    /// The target path, for errors.
    public let path: String

    /// Writes all of `raw` at byte `offset` of the file.
    public func write(_ raw: UnsafeRawBufferPointer, at offset: Int) throws(AtomicFile.WriteError) {
        try FileDescriptorIO.writeAll(fd, raw, at: offset, path: path)
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
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    // A non-blocking stream (e.g. an inherited standard output): wait until it drains.
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&p, 1, -1)
                    continue
                }
                let reason = errno == EPIPE ? "the reader closed the pipe (\(String(cString: strerror(errno))))" : String(cString: strerror(errno))
                throw AtomicFile.WriteError(path: path, reason: reason)
            }
            offset += n
        }
    }

    /// Writes all of `raw` to `fd` at byte `offset` (`pwrite`; the descriptor's position is not used),
    /// retrying short writes and EINTR.
    package static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, at offset: Int, path: String) throws(AtomicFile.WriteError) {
        var done = 0
        while done < raw.count {
            let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno)))
            }
            guard n > 0 else { throw AtomicFile.WriteError(path: path, reason: "pwrite wrote nothing") }
            done += n
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
