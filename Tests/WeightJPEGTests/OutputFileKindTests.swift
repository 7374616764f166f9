import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

// What an output keeps or refuses by file kind: an existing file's mode and owner, directories,
// devices and sockets (never replaced), and `-` as input (standard input, spooled to be mapped).

@Suite struct OutputFileKindTests {
    // MARK: Mode and owner

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
        try writer.write(patternData(10_000))
        let temporaries = directoryEntries(dir).filter { $0.hasPrefix(".weightjpeg-") }
        #expect(temporaries.count == 1)
        #expect(temporaries.allSatisfy { statOf(dir + "/" + $0).st_mode & 0o777 == 0o600 })
        try writer.commit()
        #expect(statOf(secret).st_mode & 0o7777 == 0o640)
        #expect(FileManager.default.contents(atPath: secret) == patternData(10_000))

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
        #expect(directoryEntries(dir) == ["fresh.wjpg", "probe", "secret.wjpg"])
    }

    // MARK: Never replaced: directories, devices, sockets

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

    // MARK: Standard input

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
            _ = try feed(patternData(5000), limit: 1000)
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
        #expect(try feed(patternData(1000), limit: 1000).spooledBytes == 1000)

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
