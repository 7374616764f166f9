import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

// Nothing is ever lost. Here: an output that is an input is refused before anything is read or
// written, and a symbolic link stays a link. Streams (FIFOs, character devices, `-`) are in
// OutputStreamTests; kept modes, refused file kinds and spooled standard input in OutputFileKindTests.
// The helpers below serve all three suites.

let outputSafetyFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/mlp_seed0.safetensors").path

func scratchDirectory(_ label: String) throws -> String {
    let dir = NSTemporaryDirectory() + "weightjpeg-output-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func directoryEntries(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}

func lstatType(_ path: String) -> mode_t {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
}

func statOf(_ path: String) -> stat {
    var st = stat()
    _ = stat(path, &st)
    return st
}

func patternData(_ count: Int, seed: UInt8 = 1) -> Data {
    Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ ($0 >> 11)) })
}

/// Everything readable from `fd` until end of file.
func readAll(_ fd: Int32) -> Data {
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
func closeOnExecPipe(_ fds: inout [Int32]) -> Bool {
    guard pipe(&fds) == 0 else { return false }
    return fds.allSatisfy { fcntl($0, F_SETFD, FD_CLOEXEC) == 0 }
}

final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body` on a new thread; the semaphore is signalled when it returns.
func background(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    Thread { body(); done.signal() }.start()
    return done
}

struct TimedOut: Error {}

/// What a reader of the FIFO at `path` receives while `write` runs (a reader thread opens the FIFO,
/// as a consumer process would). A reader still blocked afterwards (nothing opened the FIFO) is
/// released, and the bytes it got (none) returned.
func readFIFO(_ path: String, while write: () throws -> Void) throws -> Data {
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

func refusal(_ body: () throws -> Void) -> OutputError.Problem? {
    do { try body() } catch let e as OutputError { return e.problem } catch { return nil }
    return nil
}

@Suite struct OutputSafetyTests {
    // MARK: An output that is an input

    @Test func theSameFileByPathSymlinkOrHardLinkIsRefusedAndKept() throws {
        let dir = try scratchDirectory("same")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/model.safetensors", original = patternData(10_000)
        try original.write(to: URL(fileURLWithPath: input))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.safetensors", withDestinationPath: "model.safetensors")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link2", withDestinationPath: dir + "/link.safetensors")
        #expect(link(input, dir + "/hard.safetensors") == 0)
        try Data("other".utf8).write(to: URL(fileURLWithPath: dir + "/other.bin"))
        let before = directoryEntries(dir)

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
        #expect(directoryEntries(dir) == before)
        #expect(lstatType(dir + "/link.safetensors") == S_IFLNK)
        // Another file is fine.
        let other = try OutputTarget.resolve(dir + "/other.bin", inputs: [input, dir + "/link.safetensors"])
        #expect(other.kind == .regularFile && other.exists && !other.isSymbolicLink)
        #expect(try OutputTarget.resolve(dir + "/new.bin", inputs: [input]).exists == false)
        // Every file of a data folder counts when passed as inputs.
        #expect(refusal { _ = try OutputTarget.resolve(dir + "/other.bin", inputs: OutputTarget.files(in: dir)) }
                == .sameFileAsInput(input: dir + "/other.bin"))
    }

    // MARK: Symbolic links

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
        try AtomicFile.write(patternData(5000), to: dir + "/chain.wjpg")
        #expect(FileManager.default.contents(atPath: real) == patternData(5000))
        #expect(lstatType(dir + "/chain.wjpg") == S_IFLNK && lstatType(dir + "/link.wjpg") == S_IFLNK)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/chain.wjpg") == "link.wjpg")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link.wjpg") == "real/model.wjpg")

        // The streaming writer too (what ContainerWriter and SafetensorsWriter use).
        let writer = try AtomicFileWriter(path: dir + "/link.wjpg")
        try writer.write(patternData(3000, seed: 9))
        try writer.commit()
        #expect(FileManager.default.contents(atPath: real) == patternData(3000, seed: 9))
        #expect(lstatType(dir + "/link.wjpg") == S_IFLNK)
        #expect(directoryEntries(dir) == ["chain.wjpg", "link.wjpg", "real"])
        #expect(directoryEntries(dir + "/real") == ["model.wjpg"])
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
}
