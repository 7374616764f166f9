import Foundation

/// Where a command's output goes, decided before anything is read or written, so that nothing is
/// ever lost.
///
/// `OutputTarget.resolve(_:inputs:)` looks at the output path once, without creating, opening or
/// reading anything, and answers one of four kinds:
///
/// | what `path` is                                   | kind               | how it is written                                             |
/// |--------------------------------------------------|--------------------|---------------------------------------------------------------|
/// | `-`                                              | `.standardOutput`  | streamed to file descriptor 1, in order                      |
/// | a FIFO, or a link to one (`/dev/fd/N` of a pipe) | `.fifo`            | opened for writing (waits for a reader) and streamed in order |
/// | a character device (`/dev/null`, a terminal)     | `.characterDevice` | opened for writing and streamed in order                      |
/// | a regular file, new or existing                  | `.regularFile`     | temporary file beside it, fsync, rename (atomic)              |
///
/// A non-regular path that is the file open as standard output (`/dev/stdout` to a socket or pipe,
/// `/dev/fd/1`) is `.standardOutput` too. Streams get no temporary file and no rename; what has been
/// written stays written if a later step fails (the reader sees a short stream and the command's
/// exit status).
///
/// Regular files: a symbolic link is followed to the file it names (through any number of links,
/// at most 40) and that file is replaced in its own directory, so the link stays a link. A dangling
/// link is followed the same way: the file it names is created (as a shell's `>` does), provided
/// its directory exists. An existing file's permission bits (and, when running as root, its owner
/// and group) are given to the replacement; a new file gets `0o666 & ~umask`, like `open(2)` and
/// every shell redirect (bytes being written are kept at 0o600 until the rename).
///
/// Refused, with an `OutputError` naming the path and the problem, before any work:
/// the same file as any input (same device and inode: the same path, a symbolic link either way, a
/// hard link, or standard output redirected onto an input), a directory, a block device, a socket
/// (other than standard output), a missing or unwritable directory, and link loops.
public struct OutputTarget: Sendable, Equatable, CustomStringConvertible {
    /// What the output is.
    public enum Kind: Sendable, Equatable {
        /// A regular file (new or existing) replaced atomically at `resolvedPath`.
        case regularFile
        /// File descriptor 1 (`-`, or a path naming the file open as standard output).
        case standardOutput
        /// A named pipe, opened at `resolvedPath` for writing.
        case fifo
        /// A character device (`/dev/null`, a terminal), opened at `resolvedPath` for writing.
        case characterDevice
    }

    /// The output as given (for messages; `-` for standard output).
    public let path: String
    /// Regular file, FIFO, character device or standard output, as found when resolved.
    public let kind: Kind
    /// `.regularFile`: the file that is created or replaced, every symbolic link followed (equal to
    /// `path` when `path` is not a link); `.fifo`, `.characterDevice`: the path that is opened;
    /// `.standardOutput`: `path`.
    public let resolvedPath: String
    /// `.regularFile`: whether a file exists there now (it will be replaced; its mode is kept).
    public let exists: Bool
    /// Whether `path` is a symbolic link (followed: the link itself is never replaced).
    public let isSymbolicLink: Bool
    /// The descriptor written for `.standardOutput` (1; tests use another).
    let standardOutputDescriptor: Int32

    /// Whether the bytes are streamed (no temporary file, no rename, no random access).
    public var isStream: Bool { kind != .regularFile }
    /// Whether the bytes go to standard output: a command must then print its messages to
    /// standard error, or they would be mixed into the data.
    public var isStandardOutput: Bool { kind == .standardOutput }
    /// Whether the output is a terminal (a command may refuse to print binary data there).
    public var isTerminal: Bool {
        switch kind {
        case .standardOutput: return isatty(standardOutputDescriptor) != 0
        case .characterDevice:
            let fd = open(resolvedPath, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            return isatty(fd) != 0
        default: return false
        }
    }
    /// `standard output` for `-`, else the path.
    public var description: String { path == "-" ? "standard output" : path }

    /// The target of `path`, checked against `inputs` (paths of every file the command will read;
    /// `-` is standard input). Looks only: nothing is created, opened for writing, or read.
    /// A path of exactly `-` is standard output (write `./-` for a file of that name).
    public static func resolve(_ path: String, inputs: [String] = []) throws(OutputError) -> OutputTarget {
        try resolve(path, inputs: inputs, standardInput: 0, standardOutput: 1)
    }

    /// `resolve(_:inputs:)` with other descriptors standing for standard input and output (tests).
    static func resolve(_ path: String, inputs: [String], standardInput: Int32, standardOutput: Int32) throws(OutputError) -> OutputTarget {
        func fail(_ problem: OutputError.Problem) -> OutputError { OutputError(path: path, problem: problem) }
        func checkInputs(_ identity: FileIdentity) throws(OutputError) {
            for input in inputs {
                let st = input == "-" ? FileStatus.of(descriptor: standardInput) : FileStatus.of(path: input)
                if let st, st.identity == identity { throw fail(.sameFileAsInput(input: input)) }
            }
        }
        let stdoutStatus = FileStatus.of(descriptor: standardOutput)
        func streamToStandardOutput() -> OutputTarget {
            OutputTarget(path: path, kind: .standardOutput, resolvedPath: path, exists: true, isSymbolicLink: false,
                         standardOutputDescriptor: standardOutput)
        }

        if path == "-" {
            guard let st = stdoutStatus else { throw fail(.standardOutputUnavailable("not open (\(String(cString: strerror(errno))))")) }
            switch st.type {
            case S_IFDIR: throw fail(.isDirectory)
            case S_IFREG, S_IFIFO: try checkInputs(st.identity)
            default: break
            }
            return streamToStandardOutput()
        }
        guard !path.isEmpty else { throw fail(.emptyPath) }

        // (When lstat fails, stat fails the same way and is reported below.)
        var linkStatus = stat()
        let isLink = lstat(path, &linkStatus) == 0 && (linkStatus.st_mode & S_IFMT) == S_IFLNK

        guard let st = FileStatus.of(path: path) else {
            let error = errno
            switch error {
            case ENOENT:
                // A new file, or a dangling link: the file the link names is created.
                let final = try finalPath(of: path)
                try checkDirectory(of: final, for: path)
                return OutputTarget(path: path, kind: .regularFile, resolvedPath: final, exists: false,
                                    isSymbolicLink: isLink, standardOutputDescriptor: standardOutput)
            case ELOOP: throw fail(.symbolicLinkLoop)
            case ENOTDIR: throw fail(.notADirectory(directoryName(of: path)))
            default: throw fail(.cannotInspect(String(cString: strerror(error))))
            }
        }
        let isStandardOutput = stdoutStatus.map { $0.identity == st.identity } ?? false
        switch st.type {
        case S_IFDIR:
            throw fail(.isDirectory)
        case S_IFBLK:
            throw fail(.isBlockDevice)
        case S_IFSOCK:
            guard isStandardOutput else { throw fail(.isSocket) }
            return streamToStandardOutput()
        case S_IFCHR:
            if isStandardOutput { return streamToStandardOutput() }
            return OutputTarget(path: path, kind: .characterDevice, resolvedPath: path, exists: true,
                                isSymbolicLink: isLink, standardOutputDescriptor: standardOutput)
        case S_IFIFO:
            try checkInputs(st.identity)
            if isStandardOutput { return streamToStandardOutput() }
            return OutputTarget(path: path, kind: .fifo, resolvedPath: path, exists: true,
                                isSymbolicLink: isLink, standardOutputDescriptor: standardOutput)
        case S_IFREG:
            try checkInputs(st.identity)
            let final = try finalPath(of: path)
            // The link chain must end at the file `stat` saw (not so for a /proc/self/fd link to a
            // deleted file, whose text names no file).
            guard FileStatus.of(path: final)?.identity == st.identity else {
                throw fail(.unresolvableLink(final))
            }
            try checkDirectory(of: final, for: path)
            return OutputTarget(path: path, kind: .regularFile, resolvedPath: final, exists: true,
                                isSymbolicLink: isLink, standardOutputDescriptor: standardOutput)
        default:
            throw fail(.unsupportedType)
        }
    }

    /// Every entry directly in `directory` (e.g. a data folder the command reads), as input paths
    /// for `resolve(_:inputs:)`; empty if it cannot be listed.
    public static func files(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return names.sorted().map { prefix + $0 }
    }

    /// `path` with its symbolic links followed until a path that is not a link (or does not exist).
    static func finalPath(of path: String) throws(OutputError) -> String {
        var current = path
        for _ in 0...40 {
            var st = stat()
            guard lstat(current, &st) == 0 else {
                if errno == ENOENT { return current }
                throw OutputError(path: path, problem: errno == ELOOP ? .symbolicLinkLoop : .cannotInspect(String(cString: strerror(errno))))
            }
            guard (st.st_mode & S_IFMT) == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n >= 0 else { throw OutputError(path: path, problem: .cannotInspect("cannot read link \(current): \(String(cString: strerror(errno)))")) }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = target.hasPrefix("/") ? target : directoryName(of: current) + "/" + target
        }
        throw OutputError(path: path, problem: .symbolicLinkLoop)
    }

    /// Checks that the directory of `file` exists and that we may create files in it.
    static func checkDirectory(of file: String, for path: String) throws(OutputError) {
        let directory = directoryName(of: file)
        guard let st = FileStatus.of(path: directory) else {
            throw OutputError(path: path, problem: errno == ENOENT ? .missingDirectory(directory) : .notADirectory(directory))
        }
        guard st.type == S_IFDIR else { throw OutputError(path: path, problem: .notADirectory(directory)) }
        guard faccessat(AT_FDCWD, directory, W_OK | X_OK, AT_EACCESS) == 0 else {
            throw OutputError(path: path, problem: .directoryNotWritable(directory, String(cString: strerror(errno))))
        }
    }

    /// The directory part of `path` as text (`.` for a bare name, `/` for a name in the root).
    static func directoryName(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        let head = p[..<slash]
        return head.isEmpty ? "/" : String(head)
    }
}

/// Why an output was refused; names the path and the problem.
public struct OutputError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What is wrong with the output.
    public enum Problem: Equatable, Sendable {
        /// The output is the file `input` that the command reads (same device and inode).
        case sameFileAsInput(input: String)
        /// The output is a directory.
        case isDirectory
        /// The output is a block device (never written).
        case isBlockDevice
        /// The output is a socket (only standard output may be one).
        case isSocket
        /// Some other kind of file.
        case unsupportedType
        /// The directory the file would be created in does not exist.
        case missingDirectory(String)
        /// A path component that should be a directory is not.
        case notADirectory(String)
        /// The directory the file would be created in cannot be written (reason).
        case directoryNotWritable(String, String)
        /// Too many levels of symbolic links.
        case symbolicLinkLoop
        /// A link that does not lead to the file it opens (e.g. a /proc link to a deleted file).
        case unresolvableLink(String)
        /// Standard output is not usable (reason).
        case standardOutputUnavailable(String)
        /// The output path is empty.
        case emptyPath
        /// `stat` failed (reason).
        case cannotInspect(String)

        /// The problem in words, for the error message that names the output.
        public var reason: String {
            switch self {
            case .sameFileAsInput(let input):
                return "is the same file as the input \(input == "-" ? "(standard input)" : input); refusing to overwrite an input (choose another output path)"
            case .isDirectory: return "is a directory; the output must be a file name"
            case .isBlockDevice: return "is a block device; refusing to write to it"
            case .isSocket: return "is a socket; cannot write to it"
            case .unsupportedType: return "is not a regular file, FIFO or character device; refusing to write to it"
            case .missingDirectory(let d): return "directory \(d) does not exist"
            case .notADirectory(let d): return "\(d) is not a directory"
            case .directoryNotWritable(let d, let why): return "cannot create files in \(d): \(why)"
            case .symbolicLinkLoop: return "too many levels of symbolic links"
            case .unresolvableLink(let p): return "the symbolic link leads to \(p), which is not the file it opens; refusing to guess"
            case .standardOutputUnavailable(let why): return why
            case .emptyPath: return "empty output path"
            case .cannotInspect(let why): return "cannot inspect: \(why)"
            }
        }
    }

    /// The output as given (`-` for standard output).
    public let path: String
    /// What is wrong with the output (`Problem.reason` says it in words).
    public let problem: Problem

    public var description: String { "\(path == "-" ? "standard output" : path): \(problem.reason)" }
}

/// Device and inode: what makes two paths the same file.
struct FileIdentity: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
}

/// The parts of `stat` used here.
struct FileStatus {
    let type: mode_t
    let identity: FileIdentity

    init(_ st: stat) {
        type = st.st_mode & S_IFMT
        identity = FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// `stat(path)` (links followed), or nil with `errno` set.
    static func of(path: String) -> FileStatus? {
        var st = stat()
        return stat(path, &st) == 0 ? FileStatus(st) : nil
    }

    /// `fstat(descriptor)`, or nil with `errno` set.
    static func of(descriptor: Int32) -> FileStatus? {
        var st = stat()
        return fstat(descriptor, &st) == 0 ? FileStatus(st) : nil
    }
}
