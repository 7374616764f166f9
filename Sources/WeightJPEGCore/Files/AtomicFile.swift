import Foundation

/// Writes files so that a reader never sees a torn one: the bytes go to a temporary file beside the
/// target, are flushed to disk, and the temporary file is renamed over the target. A writer killed
/// before the rename leaves the old target untouched and a temporary `.weightjpeg-PID-N.tmp`
/// behind; the next write into the same directory removes the temporaries of processes that no
/// longer run (`removeStaleTemporaries(in:)`).
///
/// Every write goes through `OutputTarget` (see there): a symbolic link is followed and the file it
/// names is replaced (the link stays); an existing file's mode (and, as root, owner) is kept; a new
/// file gets `0o666 & ~umask`; `-`, FIFOs and character devices are streamed in order without a
/// temporary file; directories, block devices and sockets are refused with `WriteError.problem` set.
public enum AtomicFile {
    /// Name prefix and suffix of the temporary files.
    static let temporaryPrefix = ".weightjpeg-", temporarySuffix = ".tmp"

    /// Failure to write `path`, with the system's reason.
    public struct WriteError: Error, CustomStringConvertible {
        /// The file that could not be written (`-` is standard output).
        public let path: String
        /// The failure in words, without the path (e.g. the system's reason for a failed rename).
        public let reason: String
        /// Why the output was refused before anything was written (nil for failures while writing).
        public var problem: OutputError.Problem? = nil
        public var description: String { "\(path == "-" ? "standard output" : path): cannot write: \(reason)" }

        package init(path: String, reason: String, problem: OutputError.Problem? = nil) {
            self.path = path
            self.reason = reason
            self.problem = problem
        }

        /// The refusal `error` as a write error.
        package init(_ error: OutputError) {
            self.init(path: error.path, reason: error.problem.reason, problem: error.problem)
        }
    }

    /// Writes `data` to `path` atomically (temporary file, fsync, rename), or streams it when `path`
    /// is `-`, a FIFO or a character device (see `OutputTarget`).
    public static func write(_ data: Data, to path: String) throws(WriteError) {
        let target: OutputTarget
        do { target = try OutputTarget.resolve(path) } catch { throw WriteError(error) }
        try write(data, to: target)
    }

    /// Writes `data` to `target`: atomically for a regular file, in order for a stream.
    public static func write(_ data: Data, to target: OutputTarget) throws(WriteError) {
        let writer = try AtomicFileWriter(target: target)
        try writer.write(data)
        try writer.commit()
    }

    /// Writes `bytes` to `target`: atomically for a regular file, in order for a stream.
    public static func write(_ bytes: [UInt8], to target: OutputTarget) throws(WriteError) {
        let writer = try AtomicFileWriter(target: target)
        try writer.write(bytes)
        try writer.commit()
    }

    /// An anonymous read-write file (created and unlinked at once, so nothing is left behind even if
    /// the process dies) for spilling data that belongs to the output `path`: in the directory of the
    /// file `path` names when it is a regular file (same file system as the output),
    /// else (`-`, FIFO, device) in the temporary directory (`TMPDIR`, default `/tmp`).
    /// The caller closes the descriptor.
    public static func openScratchFile(for path: String) throws(WriteError) -> Int32 {
        let directory: String
        do {
            let target = try OutputTarget.resolve(path)
            directory = target.kind == .regularFile ? OutputTarget.directoryName(of: target.resolvedPath) : temporaryDirectory
        } catch {
            directory = OutputTarget.directoryName(of: path)
        }
        do {
            return try openAnonymousFile(in: directory)
        } catch {
            throw WriteError(path: path, reason: "cannot create a temporary file in \(directory): \(error)")
        }
    }

    /// The directory for temporary files: `TMPDIR` if set, else `/tmp`.
    public static var temporaryDirectory: String {
        if let t = ProcessInfo.processInfo.environment["TMPDIR"], !t.isEmpty { return t }
        return "/tmp"
    }

    /// Creates a file with a fresh temporary name in `directory`, unlinks it and returns its
    /// descriptor (read-write, close-on-exec); the error is the system's reason.
    static func openAnonymousFile(in directory: String) throws(SystemError) -> Int32 {
        let name = directory + "/" + temporaryPrefix + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))" + temporarySuffix
        let fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError(errno) }
        unlink(name)
        return fd
    }

    /// An `errno` value, described by `strerror`.
    struct SystemError: Error, CustomStringConvertible {
        let code: Int32
        init(_ code: Int32) { self.code = code }
        var description: String { String(cString: strerror(code)) }
    }

    /// The directory of `path` and a fresh temporary name in it, after removing the temporaries of
    /// writers that no longer run. The name is short, so a target name near the 255-byte limit works.
    static func temporaryPath(for path: String) -> (directory: String, temporary: String) {
        let directory = OutputTarget.directoryName(of: path)
        removeStaleTemporaries(in: directory)
        return (directory, directory + "/" + temporaryPrefix + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))" + temporarySuffix)
    }

    /// Makes a rename in `directory` durable (best effort: some file systems refuse to sync a directory).
    static func syncDirectory(_ directory: String) {
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY)
        if directoryFD >= 0 { _ = fsync(directoryFD); close(directoryFD) }
    }

    /// Removes `.weightjpeg-PID-N.tmp` files in `directory` whose process `PID` no longer runs
    /// (writers killed mid-write); returns their names. Files of running processes, and every
    /// other file, are left alone.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(temporaryPrefix) && name.hasSuffix(temporarySuffix) {
            let middle = name.dropFirst(temporaryPrefix.count).dropLast(temporarySuffix.count)
            let parts = middle.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0, UInt32(parts[1]) != nil else { continue }
            guard pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            if unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed
    }
}

extension OutputTarget {
    /// Writes `data` here: atomically for a regular file, in order for a stream (`AtomicFile.write`).
    public func write(_ data: Data) throws(AtomicFile.WriteError) {
        try AtomicFile.write(data, to: self)
    }

    /// Writes `bytes` here: atomically for a regular file, in order for a stream.
    public func write(_ bytes: [UInt8]) throws(AtomicFile.WriteError) {
        try AtomicFile.write(bytes, to: self)
    }

    /// A writer for piecewise output here (`AtomicFileWriter(target:)`): nothing is opened before
    /// this call, so a command that ends up with nothing to write leaves an existing file untouched.
    public func makeWriter() throws(AtomicFile.WriteError) -> AtomicFileWriter {
        try AtomicFileWriter(target: self)
    }
}
