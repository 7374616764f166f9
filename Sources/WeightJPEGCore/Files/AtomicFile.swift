import Foundation

/// Writes files so that a reader never sees a torn one: the bytes go to a temporary file beside the
/// target, are flushed to disk, and the temporary file is renamed over the target. A writer killed
/// before the rename leaves the old target untouched and a temporary `.weightjpeg-PID-N.tmp`
/// behind; the next write into the same directory removes the temporaries of processes that no
/// longer run (`removeStaleTemporaries(in:)`).
public enum AtomicFile {
    /// Name prefix and suffix of the temporary files.
    static let temporaryPrefix = ".weightjpeg-", temporarySuffix = ".tmp"

    /// Failure to write `path`, with the system's reason.
    public struct WriteError: Error, CustomStringConvertible {
        /// The file that could not be written.
        public let path: String
        /// What went wrong.
        public let reason: String
        package init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
        public var description: String { "\(path): cannot write: \(reason)" }
    }

    /// Writes `data` to `path` atomically (temporary file, fsync, rename).
    public static func write(_ data: Data, to path: String) throws(WriteError) {
        let (directory, temporary) = temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        var failure: String?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil && rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw WriteError(path: path, reason: failure)
        }
        syncDirectory(directory)
    }

    /// The directory of `path` and a fresh temporary name in it, after removing the temporaries of
    /// writers that no longer run. The name is short, so a target name near the 255-byte limit works.
    static func temporaryPath(for path: String) -> (directory: String, temporary: String) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
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
