import Foundation

/// Reading input files with a clear error that names the file.
public enum FileInput {
    /// Failure to read a file.
    public struct ReadError: Error, CustomStringConvertible {
        /// The file that could not be read.
        public let path: String
        /// The failure in words, without the path (e.g. `no such file`).
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The whole file, memory-mapped where the system allows it.
    public static func read(_ path: String) throws(ReadError) -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReadError(path: path, reason: "no such file")
        }
        if isDirectory.boolValue { throw ReadError(path: path, reason: "is a directory, expected a file") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw ReadError(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
    }

    /// Size in bytes of the file `path` names, links followed (`stat`, so a `/dev/fd/N` stand-in of
    /// `InputFile` gives its file's size, not the link's); nil when it cannot be inspected.
    public static func size(of path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }
}

/// An input named on the command line, made readable by path for the memory-mapping readers
/// (`MappedFile`, `SafetensorsReader`, `ContainerReader`, `FileInput.read`):
/// - a regular file: `path` is the argument itself (nothing is opened or copied here; the readers
///   report a missing or unreadable file themselves);
/// - `-` (standard input), or a path that is a FIFO or character device (`<(…)`, `/dev/stdin`):
///   everything is read, in order, into an anonymous spool file in the temporary directory
///   (`TMPDIR`, default `/tmp`; created and unlinked at once, so nothing is left behind even if the
///   process is killed) and `path` is `/dev/fd/N` of that file, which maps like any file. At most
///   `spoolLimit` bytes are read; more, a read error, a full disk, empty input, or standard input
///   being a terminal end with a `FileInput.ReadError` naming `standard input` (or the path).
///   Standard input that is a regular file at offset 0 (`< model.safetensors`) is not copied:
///   `path` is `/dev/fd/N` of a duplicate of descriptor 0.
///
/// Keep the `InputFile` alive while its `path` is used (the spool lives as long as it).
public final class InputFile: @unchecked Sendable {
    /// The input as given (`-` for standard input).
    public let argument: String
    /// The path the readers open and map: the argument itself, or `/dev/fd/N` of the spool.
    public let path: String
    /// Whether the bytes were copied into a spool file.
    public let isSpooled: Bool
    /// Bytes spooled (nil when not spooled).
    public let spooledBytes: Int?
    private let descriptor: Int32

    /// Default most bytes read from a stream: 64 GiB.
    public static let defaultSpoolLimit = 64 << 30

    /// `standard input` for `-`, else the argument.
    public var displayName: String { argument == "-" ? "standard input" : argument }

    /// Makes `argument` readable by path (see the type's description).
    public convenience init(_ argument: String, spoolLimit: Int = InputFile.defaultSpoolLimit) throws(FileInput.ReadError) {
        try self.init(argument, spoolLimit: spoolLimit, standardInput: 0)
    }

    /// `init(_:spoolLimit:)` with another descriptor standing for standard input (tests).
    init(_ argument: String, spoolLimit: Int, standardInput: Int32) throws(FileInput.ReadError) {
        self.argument = argument
        let name = argument == "-" ? "standard input" : argument
        func fail(_ reason: String) -> FileInput.ReadError { FileInput.ReadError(path: name, reason: reason) }
        let source: Int32
        var ownsSource = false
        if argument == "-" {
            source = standardInput
            var st = stat()
            guard fstat(source, &st) == 0 else { throw fail("not open (\(String(cString: strerror(errno))))") }
            if isatty(source) != 0 { throw fail("is a terminal; pipe or redirect the input into it") }
            if (st.st_mode & S_IFMT) == S_IFDIR { throw fail("is a directory, expected a file") }
            if (st.st_mode & S_IFMT) == S_IFREG && lseek(source, 0, SEEK_CUR) == 0 {
                let copy = fcntl(source, F_DUPFD_CLOEXEC, 3)
                guard copy >= 0 else { throw fail("cannot duplicate: \(String(cString: strerror(errno)))") }
                descriptor = copy
                path = "/dev/fd/\(copy)"
                isSpooled = false
                spooledBytes = nil
                return
            }
        } else {
            var st = stat()
            let type = stat(argument, &st) == 0 ? st.st_mode & S_IFMT : 0
            guard type == S_IFIFO || type == S_IFCHR else {
                // A regular file (or a fault the readers report in their own words).
                descriptor = -1
                path = argument
                isSpooled = false
                spooledBytes = nil
                return
            }
            source = open(argument, O_RDONLY | O_NOCTTY | O_CLOEXEC)
            guard source >= 0 else { throw fail("cannot open: \(String(cString: strerror(errno)))") }
            ownsSource = true
        }
        defer { if ownsSource { close(source) } }
        let directory = AtomicFile.temporaryDirectory
        let spool: Int32
        do { spool = try AtomicFile.openAnonymousFile(in: directory) } catch {
            throw fail("cannot create a spool file in \(directory): \(error)")
        }
        var total = 0
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(source, buffer, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    var p = pollfd(fd: source, events: Int16(POLLIN), revents: 0)
                    _ = poll(&p, 1, -1)
                    continue
                }
                let reason = String(cString: strerror(errno))
                close(spool)
                throw fail("read error after \(total) bytes: \(reason)")
            }
            if n == 0 { break }
            guard total + n <= spoolLimit else {
                close(spool)
                throw fail("more than \(spoolLimit) bytes (the most read from a stream); give a file instead")
            }
            do {
                try FileDescriptorIO.writeAll(spool, UnsafeRawBufferPointer(start: buffer, count: n), path: directory)
            } catch {
                close(spool)
                throw fail("cannot spool to \(directory) after \(total) bytes: \(error.reason)")
            }
            total += n
        }
        guard total > 0 else {
            close(spool)
            throw fail("is empty")
        }
        descriptor = spool
        path = "/dev/fd/\(spool)"
        isSpooled = true
        spooledBytes = total
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// `error`'s description with this input's stand-in path replaced by its name (`standard input`).
    public func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return path == argument ? text : text.replacingOccurrences(of: path, with: displayName)
    }

    /// Runs `body` (which reads `path`); an error whose description names the stand-in path
    /// (`/dev/fd/N`) is rethrown as a `NamedInputError` naming `standard input` (or the argument)
    /// instead. Other errors, and every error for a plain file, pass through unchanged.
    public func naming<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            guard path != argument, String(describing: error).contains(path) else { throw error }
            throw NamedInputError(description: describe(error))
        }
    }
}

/// An error about an input read through an `InputFile` stand-in path, reworded to name the input.
public struct NamedInputError: Error, CustomStringConvertible {
    /// The reader's message with the stand-in path replaced by the input as given.
    public let description: String
}
