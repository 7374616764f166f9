import ArgumentParser
import Foundation
import Testing
@testable import WeightJPEG
@testable import weightjpeg

// Issue 12, items 1 and 5 at the command line: every writing command refuses an input as its
// output before reading, streams to `-`, FIFOs and links' targets, keeps modes, and a salvage that
// recovers nothing writes nothing; two real processes joined by a pipe; and a CLI that helps
// (version, help, negative numbers, unmatched patterns, files of the wrong kind, --json/--quiet).

/// Parses `arguments` as the shell would pass them and runs the command in this process.
private func runCommand(_ arguments: [String]) throws {
    var command = try WeightJPEGCommand.parseAsRoot(arguments)
    try command.run()
}

/// The message `weightjpeg` prints for the error `arguments` raise, when parsed and run.
private func errorMessage(_ arguments: [String]) -> String? {
    do {
        try runCommand(arguments)
        return nil
    } catch {
        return WeightJPEGCommand.message(for: error)
    }
}

/// A value written by a background reader and read after it has signalled.
private final class DataBox: @unchecked Sendable { var value = Data() }

private func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

/// Runs the built `weightjpeg` with `arguments` (in `directory`, else this process's); returns exit
/// status, stdout and stderr.
func runProcess(_ cli: String, _ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: Data, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: cli)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let errBox = DataBox(), errHandle = err.fileHandleForReading
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async { errBox.value = errHandle.readDataToEndOfFile(); done.signal() }
    let output = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    process.waitUntilExit()
    return (process.terminationStatus, output, String(decoding: errBox.value, as: UTF8.self))
}

@Suite struct SafeCommandLineTests {
    // MARK: Item 1: nothing is ever lost

    @Test func compressAndDecompressRefuseAnInputAsOutputAndTouchNothing() throws {
        let dir = try TestPaths.temporaryDirectory("safecli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = dir + "/a.safetensors"
        try FileManager.default.copyItem(atPath: TestPaths.referenceMLP, toPath: model)
        let original = try #require(bytes(model))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "a.safetensors")
        #expect(link(model, dir + "/hard") == 0)
        for output in [model, dir + "/link", dir + "/hard"] {
            let message = errorMessage(["compress", model, "-o", output, "--quality", "20", "--no-progress"])
            #expect(message == "\(output): is the same file as the input \(model); refusing to overwrite an input (choose another output path)")
            #expect(bytes(model) == original)
        }
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link")) == "a.safetensors")

        try runCommand(["compress", model, "-o", dir + "/x.wjpg", "--quality", "20", "--no-progress"])
        let container = try #require(bytes(dir + "/x.wjpg"))
        let message = errorMessage(["decompress", dir + "/x.wjpg", "-o", dir + "/x.wjpg", "--no-progress"])
        #expect(message?.hasPrefix("\(dir)/x.wjpg: is the same file as the input") == true, "\(message ?? "")")
        #expect(bytes(dir + "/x.wjpg") == container)
        let salvage = errorMessage(["decompress", "--salvage", dir + "/x.wjpg", "-o", dir + "/x.wjpg"])
        #expect(salvage?.contains("is the same file as the input") == true)
        #expect(bytes(dir + "/x.wjpg") == container)
        // A data file of the training set as output (dead-unit removal reads the data folder).
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try Data("labels".utf8).write(to: URL(fileURLWithPath: data + "/train-labels-idx1-ubyte"))
        let dataMessage = errorMessage(["compress", model, "-o", data + "/train-labels-idx1-ubyte", "--data", data, "--no-progress"])
        #expect(dataMessage?.contains("is the same file as the input") == true)
        #expect(bytes(data + "/train-labels-idx1-ubyte") == Data("labels".utf8))
    }

    @Test func aLinkStaysALinkAModeIsKeptAndAFIFOGetsEveryByte() throws {
        let dir = try TestPaths.temporaryDirectory("safecli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try runCommand(["compress", TestPaths.referenceMLP, "-o", dir + "/m.wjpg", "--quality", "20", "--no-progress"])
        try runCommand(["decompress", dir + "/m.wjpg", "-o", dir + "/m.safetensors", "--no-progress"])
        let expected = try #require(bytes(dir + "/m.safetensors"))

        // An output that is a symbolic link: the file it names is replaced, the link stays.
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/target.safetensors"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.safetensors", withDestinationPath: "target.safetensors")
        try runCommand(["decompress", dir + "/m.wjpg", "-o", dir + "/link.safetensors", "--no-progress"])
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link.safetensors")) == "target.safetensors")
        #expect(bytes(dir + "/target.safetensors") == expected)

        // An existing file's mode 600 is kept.
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/private.safetensors"))
        chmod(dir + "/private.safetensors", 0o600)
        try runCommand(["decompress", dir + "/m.wjpg", "-o", dir + "/private.safetensors", "--no-progress"])
        var st = stat()
        #expect(stat(dir + "/private.safetensors", &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(bytes(dir + "/private.safetensors") == expected)

        // A FIFO: its reader gets every byte, and the FIFO stays a FIFO.
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let received = DataBox()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            received.value = FileHandle(forReadingAtPath: fifo)?.readDataToEndOfFile() ?? Data()
            done.signal()
        }
        try runCommand(["decompress", dir + "/m.wjpg", "-o", fifo, "--no-progress", "--quiet"])
        done.wait()
        #expect(received.value == expected)
        var fifoStatus = stat()
        #expect(lstat(fifo, &fifoStatus) == 0 && fifoStatus.st_mode & S_IFMT == S_IFIFO)
    }

    @Test func aSalvageThatRecoversNothingWritesNothing() throws {
        let dir = try TestPaths.temporaryDirectory("safecli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // One tensor, its only payload damaged (last byte flipped): nothing can be recovered.
        let file = SafetensorsFile(tensors: [SafetensorsTensor(name: "bias", shape: [64], floats: (0..<64).map { Float($0) / 64 })])
        var container = try ModelCodec.compress(file, policy: CompressionPolicy()).serialized()
        container[container.count - 1] ^= 0xFF
        try Data(container).write(to: URL(fileURLWithPath: dir + "/damaged.wjpg"))
        let good = Data("a good existing output".utf8)
        try good.write(to: URL(fileURLWithPath: dir + "/out.safetensors"))
        var command = try WeightJPEGCommand.parseAsRoot(["decompress", "--salvage", dir + "/damaged.wjpg", "-o", dir + "/out.safetensors"])
        let error = #expect(throws: DecompressionError.self) { try command.run() }
        #expect("\(error!)".hasPrefix("\(dir)/damaged.wjpg: no tensor could be recovered (all 1 damaged); nothing written\n  bias: "), "\(error!)")
        #expect(bytes(dir + "/out.safetensors") == good)
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).contains { $0.hasPrefix(".weightjpeg-") })
    }

    /// `weightjpeg compress M -o - | weightjpeg decompress - -o out` between two real processes gives
    /// the bytes of the file-based path; the status line of the first goes to its stderr.
    @Test(.enabled(if: cliPath() != nil, "needs the built weightjpeg beside the tests"))
    func aRealPipeBetweenTwoProcessesGivesTheFileBasedBytes() throws {
        let cli = try #require(cliPath())
        let dir = try TestPaths.temporaryDirectory("safecli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try runCommand(["compress", TestPaths.referenceMLP, "-o", dir + "/file.wjpg", "--quality", "20", "--no-progress"])
        try runCommand(["decompress", dir + "/file.wjpg", "-o", dir + "/file.safetensors", "--no-progress"])
        let run = try runPipedWeightJPEG(cli, ["compress", TestPaths.referenceMLP, "-o", "-", "--quality", "20", "--no-progress"],
                                         ["decompress", "-", "-o", dir + "/piped.safetensors", "--no-progress"])
        #expect(run.firstStatus == 0 && run.secondStatus == 0, "\(run.firstErrors) \(run.secondErrors)")
        #expect(bytes(dir + "/piped.safetensors") == bytes(dir + "/file.safetensors"))
        #expect(run.firstErrors.hasPrefix("wrote -: "), "\(run.firstErrors)")
        #expect(String(decoding: run.output, as: UTF8.self) == "wrote \(dir)/piped.safetensors: 4 tensors\n")

        // Both ends standard streams: the .wjpg bytes on stdout are the file's, nothing else.
        let streamed = try runProcess(cli, ["compress", TestPaths.referenceMLP, "-o", "-", "--quality", "20", "--no-progress"])
        #expect(streamed.status == 0 && streamed.output == bytes(dir + "/file.wjpg"))
        // --quiet prints nothing; --json prints the report (camelCase keys).
        let quiet = try runProcess(cli, ["decompress", dir + "/file.wjpg", "-o", dir + "/q.safetensors", "--quiet", "--no-progress"])
        #expect(quiet.status == 0 && quiet.output.isEmpty && quiet.errors.isEmpty)
        let json = try runProcess(cli, ["decompress", dir + "/file.wjpg", "-o", dir + "/j.safetensors", "--json", "--no-progress"])
        let object = try JSONSerialization.jsonObject(with: json.output) as? [String: Any]
        #expect(object?["tensors"] as? Int == 4 && object?["outputBytes"] as? Int == bytes(dir + "/j.safetensors")?.count)
        let compressJSON = try runProcess(cli, ["compress", TestPaths.referenceMLP, "-o", dir + "/j.wjpg", "--quality", "20", "--json", "--no-progress"])
        let report = try JSONSerialization.jsonObject(with: compressJSON.output) as? [String: Any]
        #expect(report?["outputBytes"] as? Int == bytes(dir + "/j.wjpg")?.count && report?["inputBytes"] as? Int == bytes(TestPaths.referenceMLP)?.count)
        // --version.
        let version = try runProcess(cli, ["--version"])
        #expect(String(decoding: version.output, as: UTF8.self) == WeightJPEGVersion.current + "\n")
    }

    // MARK: Item 5: a CLI that helps

    @Test func helpHasExamplesAndNoMachineDependentOrContradictoryDefaults() {
        let commands: [any ParsableCommand.Type] = [Compress.self, Decompress.self, Eval.self, Infer.self, Inspect.self, Extract.self,
                                                    Train.self, Finetune.self, Compare.self, Reproduce.self]
        for command in commands {
            let help = WeightJPEGCommand.helpMessage(for: command, columns: 100)
            #expect(help.contains("Examples:"), "\(command)")
            #expect(!help.contains("…"), "\(command)")
            #expect(!help.contains("(default: --no-progress)") && !help.contains("(default: --progress)"), "\(command)")
            #expect(!help.contains("(default: \(ProcessInfo.processInfo.activeProcessorCount))"), "\(command)")
            for option in help.components(separatedBy: "\n  -") {
                #expect(option.components(separatedBy: "(default:").count <= 2, "\(command): two defaults in \(option)")
            }
        }
        #expect(WeightJPEGCommand.configuration.version == WeightJPEGVersion.current)
        #expect(WeightJPEGCommand.helpMessage(for: Compress.self, columns: 100).split(separator: "\n").count < 100)
    }

    @Test func negativeNumbersAreNamedNotMissing() {
        let cases: [([String], String)] = [
            (["compress", "m", "-o", "x", "--quality", "-5"], "--quality must be 1-100, got -5"),
            (["compress", "m", "-o", "x", "--jobs", "-1"], "--jobs must be 1-1024, got -1"),
            (["decompress", "m", "-o", "x", "--jobs", "-1"], "--jobs must be 1-1024, got -1"),
            (["compress", "m", "-o", "x", "--finetune", "-2"], "--finetune must be 0 or more epochs, got -2"),
            (["train", "-o", "x", "--epochs", "-1"], "--epochs must be positive, got -1"),
            (["finetune", "m", "-o", "x", "--batch", "-3"], "--batch must be positive, got -3"),
        ]
        for (arguments, expected) in cases {
            do {
                _ = try WeightJPEGCommand.parseAsRoot(arguments)
                Issue.record("\(arguments) parsed")
            } catch {
                let message = WeightJPEGCommand.message(for: error)
                #expect(message == expected, "\(arguments)")
            }
        }
    }

    @Test func patternsThatMatchNothingAndKernelsWithoutTheirEngineAreErrors() throws {
        let dir = try TestPaths.temporaryDirectory("safecli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = dir + "/x.wjpg"
        for (option, shown) in [(["--exact", "nomatch"], "--exact nomatch"), (["--quality-for", "nomatch=30"], "--quality-for nomatch=Q"),
                                (["--max-rel-error-for", "nomatch=0.01"], "--max-rel-error-for nomatch=E")] {
            let message = errorMessage(["compress", TestPaths.referenceMLP, "-o", output, "--quality", "20", "--no-progress"] + option)
            #expect(message == "\(shown): the pattern 'nomatch' matches no tensor of the model (4 tensors: 0.bias, 0.weight, 2.bias, 2.weight); patterns are globs over whole names (* and ?), e.g. '0.*' or '*.weight'",
                    "\(message ?? "")")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
        // A pattern that matches is fine.
        try runCommand(["compress", TestPaths.referenceMLP, "-o", output, "--quality", "20", "--no-progress", "--exact", "*.bias", "--quiet"])
        for arguments in [["eval", "m", "--kernel", "sparse", "--engine", "dense"], ["infer", "m", "x.png", "--kernel", "reduced"]] {
            #expect(throws: (any Error).self, "\(arguments)") { try WeightJPEGCommand.parseAsRoot(arguments) }
        }
        do {
            _ = try WeightJPEGCommand.parseAsRoot(["eval", "m", "--kernel", "sparse"])
            Issue.record("--kernel without --engine dct parsed")
        } catch {
            #expect(WeightJPEGCommand.message(for: error) == "--kernel sparse applies to --engine dct only (the dense engine has no first-layer kernel)")
        }
        #expect((try? WeightJPEGCommand.parseAsRoot(["eval", "m", "--kernel", "sparse", "--engine", "dct"])) != nil)
    }

    @Test func aModelWhoseOutputsDoNotMatchTheClassesIsNotEvaluated() throws {
        let labels: [UInt8] = Array(0...9)
        #expect(throws: ModelError.classCount(outputs: 7, classes: 10)) { try Evaluation.checkClasses(outputs: 7, labels: labels) }
        #expect(throws: ModelError.classCount(outputs: 12, classes: 10)) { try Evaluation.checkClasses(outputs: 12, labels: [0], classes: 10) }
        try Evaluation.checkClasses(outputs: 10, labels: labels, classes: Dataset.classCount)
        let model = try MLP(tensors: ["0.weight": FloatTensor(shape: [7, 4], values: [Float](repeating: 0.1, count: 28)),
                                      "0.bias": FloatTensor(shape: [7], values: [Float](repeating: 0, count: 7))])
        #expect(throws: ModelError.classCount(outputs: 7, classes: 10)) {
            try model.evaluate(inputs: [Float](repeating: 0, count: 40), labels: labels)
        }
        #expect("\(ModelError.classCount(outputs: 7, classes: 10))" == "the model has 7 outputs (classes), the data has 10 classes (labels 0-9); evaluate it on data with 7 classes")
    }

    @Test(.enabled(if: TestPaths.hasTestSet, "needs data/mnist"))
    func evalRefusesASevenClassModelOnMNIST() throws {
        let dir = try TestPaths.temporaryDirectory("safecli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = SafetensorsFile(tensors: [SafetensorsTensor(name: "0.weight", shape: [7, 784], floats: [Float](repeating: 0.01, count: 7 * 784)),
                                             SafetensorsTensor(name: "0.bias", shape: [7], floats: [Float](repeating: 0, count: 7))])
        try file.write(to: dir + "/seven.safetensors")
        let message = errorMessage(["eval", dir + "/seven.safetensors", "--data", TestPaths.mnist])
        #expect(message == "\(dir)/seven.safetensors: the model has 7 outputs (classes), the data has 10 classes (labels 0-9); evaluate it on data with 7 classes in \(TestPaths.mnist)")
    }

    @Test func filesOfAnotherKindAreNamedForWhatTheyAre() throws {
        #expect(FileKind.sniff(Data()) == .empty)
        #expect(FileKind.sniff(Array("WJPG\u{1}\u{0}".utf8)) == .wjpg)
        #expect(FileKind.sniff([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]) == .jpeg)
        #expect(FileKind.sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]) == .png)
        #expect(FileKind.sniff(Array("hello world\n".utf8)) == .text)
        #expect(FileKind.sniff([0x1F, 0x8B, 8, 0]) == .gzip)
        #expect(FileKind.sniff(SafetensorsFile(tensors: [SafetensorsTensor(name: "a", shape: [1], floats: [1])]).serialized()) == .safetensors)
        #expect(FileKind.sniff([0, 1, 2, 3, 200, 201]) == .unknown)

        let dir = try TestPaths.temporaryDirectory("safecli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wjpg = dir + "/m.wjpg"
        try runCommand(["compress", TestPaths.referenceMLP, "-o", wjpg, "--quality", "20", "--no-progress", "--quiet"])
        try Data("hello world, not a model\n".utf8).write(to: URL(fileURLWithPath: dir + "/text.safetensors"))
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.safetensors"))
        try Data([0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 0, count: 40)).write(to: URL(fileURLWithPath: dir + "/photo.jpg"))
        let hint = "; decompress it first (weightjpeg decompress FILE -o FILE.safetensors), or give it to a command that reads .wjpg files"
        let cases: [(String, String)] = [
            (wjpg, "is a .wjpg file (WeightJPEG container), not a safetensors file" + hint),
            (dir + "/text.safetensors", "is a text file, not a safetensors file"),
            (dir + "/empty.safetensors", "is an empty file, not a safetensors file"),
            (dir + "/photo.jpg", "is a JPEG image, not a safetensors file"),
        ]
        for (path, expected) in cases {
            #expect(errorMessage(["compress", path, "-o", dir + "/out.wjpg", "--quality", "20", "--no-progress"]) == "\(path): \(expected)")
        }
        #expect(errorMessage(["decompress", TestPaths.referenceMLP, "-o", dir + "/out.safetensors", "--no-progress"])
                == "\(TestPaths.referenceMLP): is a safetensors file, not a .wjpg file; compress it first (weightjpeg compress FILE -o FILE.wjpg)")
        #expect(errorMessage(["decompress", dir + "/text.safetensors", "-o", dir + "/out.safetensors", "--no-progress"])
                == "\(dir)/text.safetensors: is a text file, not a .wjpg file")
        #expect(errorMessage(["inspect", dir + "/empty.safetensors"]) == "\(dir)/empty.safetensors: is an empty file, not a .wjpg file")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.wjpg") && !FileManager.default.fileExists(atPath: dir + "/out.safetensors"))
    }
}
