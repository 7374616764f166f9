import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

// Outputs that are streams: FIFOs, /dev/null and descriptor links, `-` as standard output, and two
// weightjpeg processes joined by a pipe.

@Suite struct OutputStreamTests {
    // MARK: Streams

    @Test func aFIFOReaderReceivesEveryByteInOrder() throws {
        let dir = try scratchDirectory("fifo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/out.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let target = try OutputTarget.resolve(fifo, inputs: [outputSafetyFixture])
        #expect(target.kind == .fifo && target.isStream)

        // Pieces, then a copy from a descriptor (what ContainerWriter.finish does).
        let pieces = (0..<7).map { patternData(100_000 + $0 * 1000, seed: UInt8($0)) }
        // Scratch space for a stream output is in the temporary directory, not beside it (/dev).
        let devScratch = try AtomicFile.openScratchFile(for: "/dev/null")
        let scratchName = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(devScratch)")) ?? ""
        #expect(scratchName.hasPrefix(AtomicFile.temporaryDirectory + "/.weightjpeg-") && scratchName.hasSuffix("(deleted)"), "\(scratchName)")
        close(devScratch)
        let spill = try AtomicFile.openScratchFile(for: fifo)
        defer { close(spill) }
        let tail = patternData(400_000, seed: 42)
        _ = tail.withUnsafeBytes { pwrite(spill, $0.baseAddress, $0.count, 0) }
        let received = try readFIFO(fifo) {
            let writer = try AtomicFileWriter(target: target)
            #expect(try writer.positionalWriter(size: 2_000_000) == nil)
            for p in pieces { try writer.write(p) }
            try writer.copy(from: spill, offset: 0, count: tail.count)
            try writer.commit()
        }
        #expect(received == pieces.reduce(Data(), +) + tail)
        #expect(lstatType(fifo) == S_IFIFO)
        #expect(directoryEntries(dir) == ["out.fifo"])
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
        #expect(directoryEntries(dir) == ["model.wjpg", "out.fifo"])
    }

    @Test func devNullAndDescriptorLinksAreStreams() throws {
        let null = try OutputTarget.resolve("/dev/null", inputs: [outputSafetyFixture])
        #expect(null.kind == .characterDevice && null.isStream)
        try AtomicFile.write(patternData(1 << 20), to: "/dev/null")
        let writer = try AtomicFileWriter(path: "/dev/null")
        #expect(try writer.positionalWriter(size: 1 << 20) == nil)
        try writer.write(patternData(1000))
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
        try AtomicFile.write(patternData(500_000), to: path)
        close(fds[1])
        #expect(done.wait(timeout: .now() + 10) == .success)
        close(fds[0])
        #expect(box.value == patternData(500_000))
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
        for k in 0..<4 { try writer.write(patternData(200_000, seed: UInt8(k))) }
        try writer.commit()
        close(fds[1])  // the writer wrote to a duplicate and closed only that
        #expect(done.wait(timeout: .now() + 10) == .success)
        close(fds[0])
        #expect(box.value == (0..<4).map { patternData(200_000, seed: UInt8($0)) }.reduce(Data(), +))
        #expect(!FileManager.default.fileExists(atPath: "-"))

        // Standard output redirected to a regular file: written at its offset, not replaced.
        let dir = try scratchDirectory("dash-file")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/redirected"
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        let inode = statOf(file).st_ino
        try AtomicFile.write(patternData(1000), to: try OutputTarget.resolve("-", inputs: [], standardInput: 0, standardOutput: fd))
        #expect(FileManager.default.contents(atPath: file) == patternData(1000))
        #expect(statOf(file).st_ino == inode)
        // A closed standard output is a clear error.
        #expect(refusal { _ = try OutputTarget.resolve("-", inputs: [], standardInput: 0, standardOutput: 987) }
                .map { if case .standardOutputUnavailable = $0 { true } else { false } } == true)
    }
}

// MARK: - Two weightjpeg processes joined by a pipe (for command-line tests)

extension OutputStreamTests {
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
