import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

// Nothing is ever lost. An output that is an input is refused before anything is
// read or written; a symbolic link stays a link; FIFOs, character devices and `-` are streamed;
// an existing file's mode and owner are kept; directories and devices are never replaced;
// `-` as input is standard input, spooled so that it can be memory-mapped.

private let outputSafetyFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/mlp_seed0.safetensors").path

private func scratchDirectory(_ label: String) throws -> String {
    let dir = NSTemporaryDirectory() + "weightjpeg-output-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func entries(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}

private func lstatType(_ path: String) -> mode_t {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
}

private func statOf(_ path: String) -> stat {
    var st = stat()
    _ = stat(path, &st)
    return st
}

private func pattern(_ count: Int, seed: UInt8 = 1) -> Data {
    Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 11)) })
}

/// Everything readable from `fd` until end of file.
private func readAll(_ fd: Int32) -> Data {
    var out = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { break }
        out.append(contentsOf: buffer[0..<n])
    }
    return out
}

/// `pipe(2)` with both ends close-on-exec (child processes of parallel tests must not hold them).
private func closeOnExecPipe(_ fds: inout [Int32]) -> Bool {
    guard pipe(&fds) == 0 else { return false }
    return fds.allSatisfy { fcntl($0, F_SETFD, FD_CLOEXEC) == 0 }
}

private final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body` on a new thread; the semaphore is signalled when it returns.
private func background(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    Thread { body(); done.signal() }.start()
    return done
}

private struct TimedOut: Error {}

/// What a reader of the FIFO at `path` receives while `write` runs (a reader thread opens the FIFO,
/// as a consumer process would). A reader still blocked afterwards (nothing opened the FIFO) is
/// released, and the bytes it got (none) returned.
private func readFIFO(_ path: String, while write: () throws -> Void) throws -> Data {
    let box = Box(Data())
    let done = background {
        let fd = open(path, O_RDONLY)
        if fd >= 0 { box.value = readAll(fd); close(fd) }
    }
    func release() {
        let fd = open(path, O_WRONLY | O_NONBLOCK)
        if fd >= 0 { close(fd) }
    }
    do { try write() } catch {
        release()
        _ = done.wait(timeout: .now() + 10)
        throw error
    }
    if done.wait(timeout: .now() + 5) == .timedOut {
        release()
        if done.wait(timeout: .now() + 10) == .timedOut { throw TimedOut() }
    }
    return box.value
}

private func refusal(_ body: () throws -> Void) -> OutputError.Problem? {
    do { try body() } catch let e as OutputError { return e.problem } catch { return nil }
    return nil
}

@Suite struct OutputSafetyTests {
    // MARK: 1. An output that is an input

    @Test func theSameFileByPathSymlinkOrHardLinkIsRefusedAndKept() throws {
        let dir = try scratchDirectory("same")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/model.safetensors", original = pattern(10_000)
        try original.write(to: URL(fileURLWithPath: input))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.safetensors", withDestinationPath: "model.safetensors")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link2", withDestinationPath: dir + "/link.safetensors")
        #expect(link(input, dir + "/hard.safetensors") == 0)
        try Data("other".utf8).write(to: URL(fileURLWithPath: dir + "/other.bin"))
        let before = entries(dir)

        let cases: [(output: String, input: String)] = [
            (input, input),                              // the same path
            (dir + "/./model.safetensors", input),       // another spelling
            (dir + "/link.safetensors", input),          // output is a link to the input
            (dir + "/link2", input),                     // through two links
            (input, dir + "/link.safetensors"),          // input is a link to the output
            (dir + "/hard.safetensors", input),          // a hard link
        ]
        for c in cases {
            #expect(refusal { _ = try OutputTarget.resolve(c.output, inputs: ["unrelated-missing-file", c.input]) }
                    == .sameFileAsInput(input: c.input), "\(c)")
            do {
                _ = try OutputTarget.resolve(c.output, inputs: [c.input])
            } catch {
                #expect(error.path == c.output)
                #expect(error.description.hasPrefix(c.output + ": is the same file as the input \(c.input)"), "\(error)")
            }
        }
        // Standard input redirected from the output file, and standard output appending to the input.
        let inputFD = open(input, O_RDONLY)
        defer { close(inputFD) }
        #expect(refusal { _ = try OutputTarget.resolve(dir + "/hard.safetensors", inputs: ["-"], standardInput: inputFD, standardOutput: 1) }
                == .sameFileAsInput(input: "-"))
        let appendFD = open(input, O_WRONLY | O_APPEND)
        defer { close(appendFD) }
        #expect(refusal { _ = try OutputTarget.resolve("-", inputs: [input], standardInput: 0, standardOutput: appendFD) }
                == .sameFileAsInput(input: input))

        // Nothing was touched.
        #expect(FileManager.default.contents(atPath: input) == original)
        #expect(entries(dir) == before)
        #expect(lstatType(dir + "/link.safetensors") == S_IFLNK)
        // Another file is fine.
        let other = try OutputTarget.resolve(dir + "/other.bin", inputs: [input, dir + "/link.safetensors"])
        #expect(other.kind == .regularFile && other.exists && !other.isSymbolicLink)
        #expect(try OutputTarget.resolve(dir + "/new.bin", inputs: [input]).exists == false)
        // Every file of a data folder counts when passed as inputs.
        #expect(refusal { _ = try OutputTarget.resolve(dir + "/other.bin", inputs: OutputTarget.files(in: dir)) }
                == .sameFileAsInput(input: dir + "/other.bin"))
    }

    // MARK: 2. Symbolic links

    @Test func aSymlinkOutputStaysALinkAndItsTargetIsReplaced() throws {
        let dir = try scratchDirectory("link")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/real", withIntermediateDirectories: false)
        let real = dir + "/real/model.wjpg"
        try Data("old".utf8).write(to: URL(fileURLWithPath: real))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.wjpg", withDestinationPath: "real/model.wjpg")
        try FileManager.default.createSymbolicLink(atPath: dir + "/chain.wjpg", withDestinationPath: "link.wjpg")

        let target = try OutputTarget.resolve(dir + "/chain.wjpg")
        #expect(target.kind == .regularFile && target.exists && target.isSymbolicLink)
        #expect(target.resolvedPath == dir + "/real/model.wjpg")
        try AtomicFile.write(pattern(5000), to: dir + "/chain.wjpg")
        #expect(FileManager.default.contents(atPath: real) == pattern(5000))
        #expect(lstatType(dir + "/chain.wjpg") == S_IFLNK && lstatType(dir + "/link.wjpg") == S_IFLNK)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/chain.wjpg") == "link.wjpg")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link.wjpg") == "real/model.wjpg")

        // The streaming writer too (what ContainerWriter and SafetensorsWriter use).
        let writer = try AtomicFileWriter(path: dir + "/link.wjpg")
        try writer.write(pattern(3000, seed: 9))
        try writer.commit()
        #expect(FileManager.default.contents(atPath: real) == pattern(3000, seed: 9))
        #expect(lstatType(dir + "/link.wjpg") == S_IFLNK)
        #expect(entries(dir) == ["chain.wjpg", "link.wjpg", "real"])
        #expect(entries(dir + "/real") == ["model.wjpg"])
    }

    @Test func aDanglingSymlinkCreatesTheFileItNames() throws {
        let dir = try scratchDirectory("dangling")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/made", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: dir + "/out.bin", withDestinationPath: "made/new.bin")
        let target = try OutputTarget.resolve(dir + "/out.bin")
        #expect(target.kind == .regularFile && !target.exists && target.isSymbolicLink && target.resolvedPath == dir + "/made/new.bin")
        try AtomicFile.write(Data("new".utf8), to: dir + "/out.bin")
        #expect(lstatType(dir + "/out.bin") == S_IFLNK)
        #expect(FileManager.default.contents(atPath: dir + "/made/new.bin") == Data("new".utf8))

        // A link into a directory that does not exist, and a loop: refused.
        try FileManager.default.createSymbolicLink(atPath: dir + "/nowhere", withDestinationPath: "missing/x.bin")
        #expect(refusal { _ = try OutputTarget.resolve(dir + "/nowhere") } == .missingDirectory(dir + "/missing"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/a", withDestinationPath: "b")
        try FileManager.default.createSymbolicLink(atPath: dir + "/b", withDestinationPath: "a")
        #expect(refusal { _ = try OutputTarget.resolve(dir + "/a") } == .symbolicLinkLoop)
        #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write(Data([1]), to: dir + "/a") }
        #expect(lstatType(dir + "/a") == S_IFLNK && lstatType(dir + "/b") == S_IFLNK)
    }

    // MARK: 3. Streams

    @Test func aFIFOReaderReceivesEveryByteInOrder() throws {
        let dir = try scratchDirectory("fifo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/out.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let target = try OutputTarget.resolve(fifo, inputs: [outputSafetyFixture])
        #expect(target.kind == .fifo && target.isStream)

        // Pieces, then a copy from a descriptor (what ContainerWriter.finish does).
        let pieces = (0..<7).map { pattern(100_000 + $0 * 1000, seed: UInt8($0)) }
        // Scratch space for a stream output is in the temporary directory, not beside it (/dev).
        let devScratch = try AtomicFile.openScratchFile(for: "/dev/null")
        let scratchName = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(devScratch)")) ?? ""
        #expect(scratchName.hasPrefix(AtomicFile.temporaryDirectory + "/.weightjpeg-") && scratchName.hasSuffix("(deleted)"), "\(scratchName)")
        close(devScratch)
        let spill = try AtomicFile.openScratchFile(for: fifo)
        defer { close(spill) }
        let tail = pattern(400_000, seed: 42)
        _ = tail.withUnsafeBytes { pwrite(spill, $0.baseAddress, $0.count, 0) }
        let received = try readFIFO(fifo) {
            let writer = try AtomicFileWriter(target: target)
            #expect(try writer.mapForWriting(size: 2_000_000) == nil)
            for p in pieces { try writer.write(p) }
            try writer.copy(from: spill, offset: 0, count: tail.count)
            try writer.commit()
        }
        #expect(received == pieces.reduce(Data(), +) + tail)
        #expect(lstatType(fifo) == S_IFIFO)
        #expect(entries(dir) == ["out.fifo"])
    }

    @Test func thePipelineCompressesAndDecompressesIntoAFIFO() throws {
        let dir = try scratchDirectory("fifo-pipeline")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/out.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        var policy = CompressionPolicy()
        policy.quality = 20
        let model = try SafetensorsFile.read(path: outputSafetyFixture)
        let container = try ModelCodec.compress(model, policy: policy)
        let expected = Data(container.serialized())

        // ModelPipeline unchanged: ContainerWriter spills beside the FIFO and streams at finish().
        let compressed = try readFIFO(fifo) {
            try ModelPipeline.compress(input: outputSafetyFixture, output: fifo, policy: policy)
        }
        #expect(compressed == expected)
        // Decompress: SafetensorsWriter cannot map a stream and appends tensors in order.
        try container.write(to: dir + "/model.wjpg")
        let restored = try readFIFO(fifo) {
            try ModelPipeline.decompress(input: dir + "/model.wjpg", output: fifo)
        }
        #expect(restored == (try ModelCodec.decompress(container, path: "model.wjpg").serialized()))
        #expect(lstatType(fifo) == S_IFIFO)
        #expect(entries(dir) == ["model.wjpg", "out.fifo"])
    }

    @Test func devNullAndDescriptorLinksAreStreams() throws {
        let null = try OutputTarget.resolve("/dev/null", inputs: [outputSafetyFixture])
        #expect(null.kind == .characterDevice && null.isStream)
        try AtomicFile.write(pattern(1 << 20), to: "/dev/null")
        let writer = try AtomicFileWriter(path: "/dev/null")
        #expect(try writer.mapForWriting(size: 1 << 20) == nil)
        try writer.write(pattern(1000))
        try writer.commit()
        #expect(lstatType("/dev/null") == S_IFCHR)

        // `/dev/stdout` when standard output is a pipe: a /dev/fd link to a pipe is streamed into it.
        var fds: [Int32] = [0, 0]
        #expect(closeOnExecPipe(&fds))
        let box = Box(Data())
        let readEnd = fds[0]
        let done = background { box.value = readAll(readEnd) }
        let path = "/dev/fd/\(fds[1])"
        let target = try OutputTarget.resolve(path)
        #expect(target.kind == .fifo)
        try AtomicFile.write(pattern(500_000), to: path)
        close(fds[1])
        #expect(done.wait(timeout: .now() + 10) == .success)
        close(fds[0])
        #expect(box.value == pattern(500_000))
    }

    @Test func dashIsStandardOutputWrittenInOrder() throws {
        var fds: [Int32] = [0, 0]
        #expect(closeOnExecPipe(&fds))
        let box = Box(Data())
        let readEnd = fds[0]
        let done = background { box.value = readAll(readEnd) }
        let target = try OutputTarget.resolve("-", inputs: [outputSafetyFixture], standardInput: 0, standardOutput: fds[1])
        #expect(target.kind == .standardOutput && target.isStandardOutput && target.description == "standard output")
        let writer = try AtomicFileWriter(target: target)
        for k in 0..<4 { try writer.write(pattern(200_000, seed: UInt8(k))) }
        try writer.commit()
        close(fds[1])  // the writer wrote to a duplicate and closed only that
        #expect(done.wait(timeout: .now() + 10) == .success)
        close(fds[0])
        #expect(box.value == (0..<4).map { pattern(200_000, seed: UInt8($0)) }.reduce(Data(), +))
        #expect(!FileManager.default.fileExists(atPath: "-"))

        // Standard output redirected to a regular file: written at its offset, not replaced.
        let dir = try scratchDirectory("dash-file")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/redirected"
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let inode = statOf(file).st_ino
        try AtomicFile.write(pattern(1000), to: try OutputTarget.resolve("-", inputs: [], standardInput: 0, standardOutput: fd))
        #expect(FileManager.default.contents(atPath: file) == pattern(1000))
        #expect(statOf(file).st_ino == inode)
        // A closed standard output is a clear error.
        #expect(refusal { _ = try OutputTarget.resolve("-", inputs: [], standardInput: 0, standardOutput: 987) }
                .map { if case .standardOutputUnavailable = $0 { true } else { false } } == true)
    }

    // MARK: 4. Mode and owner

    @Test func anExistingFilesModeAndOwnerAreKeptAndNewFilesFollowTheUmask() throws {
        let dir = try scratchDirectory("mode")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = dir + "/secret.wjpg"
        try Data("old".utf8).write(to: URL(fileURLWithPath: secret))
        #expect(chmod(secret, 0o600) == 0)
        try AtomicFile.write(Data("new".utf8), to: secret)
        #expect(statOf(secret).st_mode & 0o7777 == 0o600)
        #expect(FileManager.default.contents(atPath: secret) == Data("new".utf8))

        // The streaming writer; the bytes are private (0o600) until the rename.
        #expect(chmod(secret, 0o640) == 0)
        let writer = try AtomicFileWriter(path: secret)
        try writer.write(pattern(10_000))
        let temporaries = entries(dir).filter { $0.hasPrefix(".weightjpeg-") }
        #expect(temporaries.count == 1)
        #expect(temporaries.allSatisfy { statOf(dir + "/" + $0).st_mode & 0o777 == 0o600 })
        try writer.commit()
        #expect(statOf(secret).st_mode & 0o7777 == 0o640)
        #expect(FileManager.default.contents(atPath: secret) == pattern(10_000))

        // Owner and group, when running as root.
        if geteuid() == 0 {
            #expect(chown(secret, 65534, 65534) == 0)
            try AtomicFile.write(Data("owned".utf8), to: secret)
            let st = statOf(secret)
            #expect(st.st_uid == 65534 && st.st_gid == 65534 && st.st_mode & 0o7777 == 0o640)
        }

        // A new file: what open(2) with 0o666 gives under the current umask.
        let probe = dir + "/probe"
        close(open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o666))
        let umaskMode = statOf(probe).st_mode & 0o777
        try AtomicFile.write(Data("fresh".utf8), to: dir + "/fresh.wjpg")
        #expect(statOf(dir + "/fresh.wjpg").st_mode & 0o7777 == umaskMode)
        #expect(entries(dir) == ["fresh.wjpg", "probe", "secret.wjpg"])
    }

    // MARK: 6. Never replaced: directories, devices, sockets

    @Test func directoriesDevicesAndSocketsAreRefusedWithTheirName() throws {
        let dir = try scratchDirectory("refuse")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = dir + "/folder"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: folder + "/keep"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/folder-link", withDestinationPath: "folder")

        #expect(refusal { _ = try OutputTarget.resolve(folder) } == .isDirectory)
        #expect(refusal { _ = try OutputTarget.resolve(dir + "/folder-link") } == .isDirectory)
        do {
            try AtomicFile.write(Data([1, 2, 3]), to: folder)
            Issue.record("wrote over a directory")
        } catch {
            #expect(error.problem == .isDirectory)
            #expect(error.description == "\(folder): cannot write: is a directory; the output must be a file name")
        }
        #expect(throws: AtomicFile.WriteError.self) { _ = try AtomicFileWriter(path: dir + "/folder-link") }
        #expect(FileManager.default.contents(atPath: folder + "/keep") == Data("keep".utf8))
        #expect(lstatType(dir + "/folder-link") == S_IFLNK)

        // A block device (created here when the system allows it).
        let block = dir + "/block"
        if mknod(block, S_IFBLK | 0o600, dev_t(7 << 8)) == 0 {
            #expect(refusal { _ = try OutputTarget.resolve(block) } == .isBlockDevice)
            #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write(Data([1]), to: block) }
            #expect(lstatType(block) == S_IFBLK)
        }

        // A socket.
        let socketPath = dir + "/sock"
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(socketPath.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if bound == 0 {
            #expect(refusal { _ = try OutputTarget.resolve(socketPath) } == .isSocket)
            #expect(lstatType(socketPath) == S_IFSOCK)
        }

        // A directory that does not exist, a path through a file, an empty path.
        #expect(refusal { _ = try OutputTarget.resolve(dir + "/no/such/out.bin") } == .missingDirectory(dir + "/no/such"))
        #expect(refusal { _ = try OutputTarget.resolve(folder + "/keep/out.bin") } == .notADirectory(folder + "/keep"))
        #expect(refusal { _ = try OutputTarget.resolve("") } == .emptyPath)
        #expect(FileManager.default.contents(atPath: folder + "/keep") == Data("keep".utf8))
    }

    // MARK: 5. Standard input

    @Test func standardInputIsSpooledToAMappableFile() throws {
        // A pipe carrying the fixture: the spool maps and parses like the file itself.
        var fds: [Int32] = [0, 0]
        #expect(closeOnExecPipe(&fds))
        let original = try Data(contentsOf: URL(fileURLWithPath: outputSafetyFixture))
        let writeEnd = fds[1]
        let fed = background {
            original.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(writeEnd, raw.baseAddress! + offset, raw.count - offset)
                    if n <= 0 { break }
                    offset += n
                }
            }
            close(writeEnd)
        }
        let spooled = try InputFile("-", spoolLimit: InputFile.defaultSpoolLimit, standardInput: fds[0])
        #expect(fed.wait(timeout: .now() + 10) == .success)
        close(fds[0])
        #expect(spooled.isSpooled && spooled.spooledBytes == original.count && spooled.displayName == "standard input")
        let mapped = try MappedFile(path: spooled.path)
        withExtendedLifetime(mapped) { #expect(Data(mapped.bytes) == original) }
        let reader = try SafetensorsReader(path: spooled.path)
        #expect(reader.count == (try SafetensorsFile.read(path: outputSafetyFixture)).tensors.count)
        #expect(spooled.describe(FileInput.ReadError(path: spooled.path, reason: "bad")) == "standard input: bad")
        do {
            _ = try spooled.naming { try ContainerReader(path: spooled.path) }  // safetensors, not .wjpg
            Issue.record("a safetensors file parsed as .wjpg")
        } catch {
            #expect(error is NamedInputError && "\(error)".hasPrefix("standard input"), "\(error)")
        }

        // Bounded: more than the limit, or nothing, is an error naming standard input.
        func feed(_ bytes: Data, limit: Int) throws(FileInput.ReadError) -> InputFile {
            var p: [Int32] = [0, 0]
            #expect(closeOnExecPipe(&p))
            _ = bytes.withUnsafeBytes { write(p[1], $0.baseAddress, $0.count) }  // < 64 KiB: fits the pipe
            close(p[1])
            defer { close(p[0]) }
            return try InputFile("-", spoolLimit: limit, standardInput: p[0])
        }
        do {
            _ = try feed(pattern(5000), limit: 1000)
            Issue.record("read past the limit")
        } catch {
            #expect(error.path == "standard input" && error.reason.contains("more than 1000 bytes"), "\(error)")
        }
        do {
            _ = try feed(Data(), limit: 1000)
            Issue.record("accepted empty input")
        } catch {
            #expect(error.description == "standard input: is empty")
        }
        #expect(try feed(pattern(1000), limit: 1000).spooledBytes == 1000)

        // Standard input redirected from a regular file: mapped in place, no copy.
        let fd = open(outputSafetyFixture, O_RDONLY)
        defer { close(fd) }
        let direct = try InputFile("-", spoolLimit: 10, standardInput: fd)
        #expect(!direct.isSpooled)
        let directMap = try MappedFile(path: direct.path)
        withExtendedLifetime(directMap) { #expect(Data(directMap.bytes) == original) }
        // A regular file argument is passed through untouched.
        let plain = try InputFile(outputSafetyFixture)
        #expect(!plain.isSpooled && plain.path == outputSafetyFixture)
    }
}

// MARK: - For CLI tests (the lead): two weightjpeg processes joined by a pipe

extension OutputSafetyTests {
    @Test func thePipeHelperJoinsTwoProcesses() throws {
        let run = try runPipedWeightJPEG("/bin/sh", ["-c", "head -c 300000 /dev/zero; echo note >&2"], ["-c", "wc -c; exit 3"])
        #expect(run.firstStatus == 0 && run.secondStatus == 3)
        #expect(String(decoding: run.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "300000")
        #expect(run.firstErrors == "note\n" && run.secondErrors.isEmpty)
    }
}

/// The result of `runPipedWeightJPEG`.
struct PipedRun {
    /// Exit statuses of the first and second process.
    let firstStatus: Int32, secondStatus: Int32
    /// Standard output of the second process, standard error of each.
    let output: Data, firstErrors: String, secondErrors: String
}

/// Runs `cli first… | cli second…` (the first's standard output is the second's standard input)
/// and waits for both; e.g. `runPipedWeightJPEG(cli, ["compress", model, "-o", "-"],
/// ["decompress", "-", "-o", out])`.
func runPipedWeightJPEG(_ cli: String, _ first: [String], _ second: [String]) throws -> PipedRun {
    let pipe = Pipe(), firstErr = Pipe(), secondOut = Pipe(), secondErr = Pipe()
    let a = Process(), b = Process()
    a.executableURL = URL(fileURLWithPath: cli)
    a.arguments = first
    a.standardInput = FileHandle.nullDevice
    a.standardOutput = pipe
    a.standardError = firstErr
    b.executableURL = URL(fileURLWithPath: cli)
    b.arguments = second
    b.standardInput = pipe
    b.standardOutput = secondOut
    b.standardError = secondErr
    try a.run()
    try b.run()
    // Our copies of the pipe's ends must go, or the second process never sees end of file.
    try? pipe.fileHandleForWriting.close()
    try? pipe.fileHandleForReading.close()
    let errBox = Box(Data()), outBox = Box(Data())
    let aErrHandle = firstErr.fileHandleForReading, bOutHandle = secondOut.fileHandleForReading
    let e = background { errBox.value = aErrHandle.readDataToEndOfFile() }
    let o = background { outBox.value = bOutHandle.readDataToEndOfFile() }
    let secondErrors = secondErr.fileHandleForReading.readDataToEndOfFile()
    e.wait()
    o.wait()
    a.waitUntilExit()
    b.waitUntilExit()
    return PipedRun(firstStatus: a.terminationStatus, secondStatus: b.terminationStatus, output: outBox.value,
                    firstErrors: String(decoding: errBox.value, as: UTF8.self),
                    secondErrors: String(decoding: secondErrors, as: UTF8.self))
}
