import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGModel
@testable import WeightJPEGTools
import ArgumentParser
@testable import weightjpeg

// A writer killed at any moment leaves the old output or the new one, never a torn file,
// and the temporary files of killed writers are removed by the next write (the kill loop needs a real
// process: it runs the built `weightjpeg`). Also `decompress --salvage`'s exit status and listing, in process.

/// The `weightjpeg` executable of the same build: beside the test bundle in the build products
/// directory (`.build/debug/`), found from this process's own executable.
func cliPath() -> String? {
    var candidates: [String] = []
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // macOS bundles: products/X.xctest/Contents/MacOS/X.
        for _ in 0..<4 { candidates.append(dir.appendingPathComponent("weightjpeg").path); dir.deleteLastPathComponent() }
    }
    if let main = Bundle.main.executableURL?.deletingLastPathComponent() {
        candidates.append(main.appendingPathComponent("weightjpeg").path)
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

private func leftoverTemporaries(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(".weightjpeg-") }.sorted()
}

/// Runs the CLI; returns (exit status, stderr).
@discardableResult
private func run(_ cli: String, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: cli)
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let data = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Test func staleTemporariesOfDeadWritersAreRemovedAndOthersKept() throws {
    let dir = try TestPaths.temporaryDirectory("stale")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // A process that has exited: its pid is free (unless reused at once, which the check tolerates).
    let done = Process()
    done.executableURL = URL(fileURLWithPath: "/bin/true")
    try done.run()
    done.waitUntilExit()
    let dead = ".weightjpeg-\(done.processIdentifier)-12.tmp"
    let alive = ".weightjpeg-\(getppid())-34.tmp"
    let own = ".weightjpeg-\(getpid())-56.tmp"
    let unrelated = [".weightjpeg-notapid-1.tmp", "model.tmp", ".weightjpeg-1-2-3.tmp"]
    for name in [dead, alive, own] + unrelated { _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data([1])) }
    let removed = AtomicFile.removeStaleTemporaries(in: dir)
    #expect(removed == [dead])
    #expect(leftoverTemporaries(dir) == ([alive, own] + unrelated.filter { $0.hasPrefix(".weightjpeg-") }).sorted())
    // A write into the directory does the same cleanup.
    _ = FileManager.default.createFile(atPath: dir + "/" + dead, contents: Data([1]))
    try AtomicFile.write(Data([9]), to: dir + "/out.bin")
    #expect(!FileManager.default.fileExists(atPath: dir + "/" + dead))
}

@Test func aWriterKilledAtRandomMomentsNeverLeavesATornFile() throws {
    guard let cli = cliPath() else {
        Issue.record("weightjpeg executable not found beside the test bundle (build with `swift build --build-tests`)")
        return
    }
    let dir = try TestPaths.temporaryDirectory("kill")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // Two different sources of the same output: the reference MLP at quality 20 and at 80.
    let model = try SafetensorsFile.read(path: TestPaths.referenceMLP)
    var expected: [String: Data] = [:]
    for q in [20, 80] {
        var policy = CompressionPolicy()
        policy.quality = q
        let container = try ModelCodec.compress(model, policy: policy)
        try container.write(to: "\(dir)/q\(q).wjpg")
        expected["q\(q)"] = try ModelCodec.decompress(container, path: "q\(q)").serialized()
    }
    #expect(expected["q20"] != expected["q80"])
    let output = "\(dir)/out/model.safetensors"
    try FileManager.default.createDirectory(atPath: "\(dir)/out", withIntermediateDirectories: true)

    // The old file, written completely; and how long a whole run takes.
    let clock = ContinuousClock()
    let started = clock.now
    #expect(try run(cli, ["decompress", "\(dir)/q20.wjpg", "-o", output]).status == 0)
    let runTime = clock.now - started
    #expect(FileManager.default.contents(atPath: output) == expected["q20"])
    var current = "q20"

    var rng = RandomSource(seed: 7)
    var killed = 0, completed = 0, tornCandidates = 0
    let deadline = clock.now + .seconds(8)
    for iteration in 0..<40 where clock.now < deadline {
        let next = current == "q20" ? "q80" : "q20"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cli)
        process.arguments = ["decompress", "\(dir)/\(next).wjpg", "-o", output]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        // Kill anywhere from before start-up to just after a normal run would end; three times in
        // four in the last 40 % of a run, where the output is written.
        let permille = rng.next() % 4 == 0 ? rng.next() % 1200 : 700 + rng.next() % 500
        let delay = runTime * Double(permille) / 1000
        try process.run()
        Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) * 1e-18)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        if process.terminationReason == .uncaughtSignal { killed += 1 } else { completed += 1 }

        guard let now = FileManager.default.contents(atPath: output) else {
            Issue.record("iteration \(iteration): output missing after a kill"); break
        }
        if now == expected[next] { current = next }
        else if now != expected[current] {
            Issue.record("iteration \(iteration): torn output (\(now.count) bytes, neither the old nor the new file)")
            break
        }
        tornCandidates += leftoverTemporaries("\(dir)/out").count > 0 ? 1 : 0
    }
    #expect(killed + completed >= 10, "only \(killed + completed) runs in the time budget")
    // A complete write cleans up what the killed writers left behind.
    #expect(try run(cli, ["decompress", "\(dir)/q80.wjpg", "-o", output]).status == 0)
    #expect(FileManager.default.contents(atPath: output) == expected["q80"])
    #expect(leftoverTemporaries("\(dir)/out").isEmpty, "temporary files left: \(leftoverTemporaries("\(dir)/out"))")
    print("kill loop: \(killed) killed, \(completed) completed, \(tornCandidates) kills left a temporary file (removed by the next write)")
}

@Test func decompressSalvageWritesTheIntactTensorsAndExitsThree() throws {
    let dir = try TestPaths.temporaryDirectory("salvage")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let model = try SafetensorsFile.read(path: TestPaths.referenceMLP)
    let container = try ModelCodec.compress(model, policy: CompressionPolicy())
    var bytes = container.serialized()
    // Damage the last byte of the second tensor's payloads.
    let second = container.entries[1]
    let areaEnd = bytes.count - container.entries.dropFirst(2).reduce(0) { $0 + $1.payloads.reduce(0) { $0 + $1.count } }
    bytes[areaEnd - 1] ^= 0x10
    try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/damaged.wjpg"))

    // Without --salvage: an error naming the tensor (exit status 1), nothing written.
    var strict = try WeightJPEGCommand.parseAsRoot(["decompress", "\(dir)/damaged.wjpg", "-o", "\(dir)/strict.safetensors", "--no-progress"])
    let error = #expect(throws: (any Error).self) { try strict.run() }
    #expect(WeightJPEGCommand.exitCode(for: error!) == .failure)
    #expect("\(error!)".contains(second.name), "\(error!)")
    #expect(!FileManager.default.fileExists(atPath: "\(dir)/strict.safetensors"))

    var salvage = try WeightJPEGCommand.parseAsRoot(["decompress", "--salvage", "\(dir)/damaged.wjpg", "-o", "\(dir)/partial.safetensors"])
    #expect(throws: ExitCode(Decompress.partialOutputStatus)) { try salvage.run() }
    #expect(Decompress.partialOutputStatus == 3)
    let damaged = try ModelCodec.salvage(Container.read(path: "\(dir)/damaged.wjpg", salvage: true), path: "\(dir)/damaged.wjpg").damaged
    let listing = Decompress.damageListing(damaged.map { .init(name: $0.tensor ?? "?", reason: "\($0)") })
    #expect(listing.count == 2 && listing[0] == "1 damaged tensor not written:" && listing[1].hasPrefix("  \(second.name): "), "\(listing)")
    let partial = try SafetensorsFile.read(path: "\(dir)/partial.safetensors")
    let full = try ModelCodec.decompress(container, path: "x")
    #expect(partial.tensors == full.tensors.filter { $0.name != second.name })

    // An undamaged file with --salvage: everything, exit 0.
    try container.write(to: "\(dir)/good.wjpg")
    var good = try WeightJPEGCommand.parseAsRoot(["decompress", "--salvage", "\(dir)/good.wjpg", "-o", "\(dir)/all.safetensors"])
    try good.run()
    #expect(try SafetensorsFile.read(path: "\(dir)/all.safetensors") == full)
}
