import ArgumentParser
import Foundation
import Testing
@testable import WeightJPEG
@testable import weightjpeg

/// The commands through the front door: parsed from arguments as the shell would pass them
/// (`parseAsRoot`) and run in this process.
@Suite struct CommandLineTests {
    @Test func compressOptionsBecomeAPlan() throws {
        let command = try Compress.parse([TestPaths.referenceMLP, "-o", "out.wjpg", "--quality", "30", "--pack", "tables",
                                          "--exact", "2.*", "--quality-for", "0.weight=40", "--keep-dead-units",
                                          "--target-bytes", "20000", "--table-kinds", "ijg,spectrum:1", "--no-cheap-output",
                                          "--validation-count", "2000", "--data", "/nowhere", "--finetune", "2", "--margin", "2.5",
                                          "--no-shifted-copies"])
        let plan = try command.plan()
        #expect(plan.input == TestPaths.referenceMLP && plan.output == "out.wjpg")
        #expect(plan.policy.quality == 30 && plan.policy.pack == .sharedTables && plan.policy.exactPatterns == ["2.*"])
        #expect(plan.policy.qualityOverrides.map(\.pattern) == ["0.weight"] && plan.policy.qualityOverrides.map(\.quality) == [40])
        #expect(!plan.removeDeadUnits && plan.dataDirectory == "/nowhere" && plan.finetuneEpochs == 2 && plan.needsMemory)
        let rate = try #require(plan.rateControl)
        #expect(rate.goal == .targetBytes(20000) && rate.kinds == [.ijg, .spectrum(exponent: 1)] && !rate.cheapOutput && rate.validationCount == 2000)
        #expect(rate.marginSigmas == 2.5 && !rate.shiftTrainedOnValidation && !rate.shiftedCopiesWithUnseenValidation)
        #expect(plan.taskSearch == nil)

        // --max-drop with --data is the task search with built-in accuracy, fine-tuning and dead
        // units inside it; the table rate control's own options are refused with it.
        let search = try Compress.parse([TestPaths.referenceMLP, "-o", "o", "--max-drop", "0.5", "--data", "d", "--finetune", "2",
                                         "--remove-dead-units", "--margin", "2.5", "--report-test", "--eval-budget", "20"]).plan()
        let request = try #require(search.taskSearch)
        guard case .classifier(.accuracy) = request.metric else { Issue.record("metric \(request.metric)"); return }
        #expect(request.options.maxDrop == 0.5 && request.options.marginSigmas == 2.5 && request.options.budget == 20 && request.reportTest)
        #expect(search.rateControl == nil && search.finetuneEpochs == 2 && search.removeDeadUnits)
        #expect(search.policy.maxRelativeError == CompressionPolicy.defaultMaxRelativeError, "bounds, not a quality, are the starting point")
        let automatic = try #require(try Compress.parse([TestPaths.referenceMLP, "-o", "o", "--max-drop", "1", "--data", "d"]).plan().taskSearch)
        #expect(automatic.options.marginSigmas == nil && automatic.options.budget == TaskSearchRequest.builtInBudget,
                "no --margin: chosen by what the drops are measured on")
        for extra in [["--table-kinds", "ijg"], ["--no-cheap-output"], ["--no-shifted-copies"], ["--validation-count", "2000"],
                      ["--quality", "30"]] {
            #expect(throws: (any Error).self, "\(extra)") { try Compress.parse([TestPaths.referenceMLP, "-o", "o", "--max-drop", "1", "--data", "d"] + extra) }
        }
        #expect(throws: (any Error).self) { try Compress.parse([TestPaths.referenceMLP, "-o", "o", "--max-drop", "1", "--margin", "-1"]) }
        let sweep = try Compress.parse([TestPaths.referenceMLP, "-o", "o", "--max-drop", "1", "--data", "d", "--sweep-tables", "10,20"]).plan()
        #expect(sweep.rateControl?.goal == .maxDrop(1) && sweep.taskSearch == nil, "a sweep is the table rate control's")
        #expect(throws: (any Error).self) { try Compress.parse([TestPaths.referenceMLP, "-o", "o", "--target-bytes", "9000", "--report", "r.json"]) }

        let plain = try Compress.parse([TestPaths.referenceMLP, "-o", "out.wjpg"]).plan()
        #expect(!plain.removeDeadUnits && plain.dataDirectory == nil && plain.rateControl == nil && plain.finetuneEpochs == nil && !plain.needsMemory)
        #expect(plain.policy.maxRelativeError == CompressionPolicy.defaultMaxRelativeError, "the default bounds every tensor")
        let quality = try Compress.parse([TestPaths.referenceMLP, "-o", "out.wjpg", "--quality", "20", "--remove-dead-units", "--data", "d"]).plan()
        #expect(quality.policy.maxRelativeError == nil && quality.policy.quality == 20 && quality.removeDeadUnits && quality.dataDirectory == "d")
        #expect(quality.policy.noiseLikeRelativeError == CompressionPolicy.defaultMaxRelativeError)
        #expect(try Compress.parse([TestPaths.referenceMLP, "-o", "out.wjpg", "--tables", "flat"]).rate.parsedKinds() == [.flat],
                "--tables is the hidden second spelling of --table-kinds")
    }

    @Test func invalidOptionsAreRejectedWhenParsed() {
        for arguments in [["compress", "m", "-o", "x", "--quality", "0"],
                          ["compress", "m", "-o", "x", "--max-rel-error", "0.03", "--max-drop", "1"],
                          ["compress", "m", "-o", "x", "--target-bytes", "10", "--max-drop", "1"],
                          ["compress", "m", "-o", "x", "--quality", "20", "--max-rel-error", "0.01"],
                          ["compress", "m", "-o", "x", "--remove-dead-units", "--keep-dead-units"],
                          ["compress", "m", "-o", "x", "--tables", "jpeg"],
                          ["compress", "m", "-o", "x", "--table-kinds", "jpeg"],
                          ["compress", "m", "-o", "x", "--validation-count", "10001"],
                          ["finetune", "m.wjpg", "-o", "x", "--batch", "0"],
                          ["eval", "m", "--engine", "sparse"]] {
            #expect(throws: (any Error).self, "\(arguments)") { try WeightJPEGCommand.parseAsRoot(arguments) }
        }
    }

    /// `compress` then `decompress` and `inspect`, in process: the file is the library's, byte for byte.
    @Test func compressDecompressInspectRunInProcess() throws {
        let dir = try TestPaths.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var compress = try WeightJPEGCommand.parseAsRoot(["compress", TestPaths.referenceMLP, "-o", dir + "/m.wjpg",
                                                          "--quality", "30", "--no-progress"])
        try compress.run()
        var policy = CompressionPolicy()
        policy.quality = 30
        let expected = try ModelCodec.compress(SafetensorsFile.read(path: TestPaths.referenceMLP), policy: policy).serialized()
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/m.wjpg")) == Data(expected))

        var decompress = try WeightJPEGCommand.parseAsRoot(["decompress", dir + "/m.wjpg", "-o", dir + "/m.safetensors", "--no-progress"])
        try decompress.run()
        let restored = try SafetensorsFile.read(path: dir + "/m.safetensors")
        #expect(restored == (try ModelCodec.decompress(Container(bytes: expected, path: "m"), path: "m")))

        var inspect = try WeightJPEGCommand.parseAsRoot(["inspect", dir + "/m.wjpg", "--json"])
        try inspect.run()
    }

    /// `infer` on a PNG written by the project's own writer, in process.
    @Test func inferReadsPNGAndPGM() throws {
        let dir = try TestPaths.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let digit = GrayImage(width: 28, height: 28, pixels: (0..<784).map { UInt8(($0 % 28) * 9) })
        try Data(PNGWriter.encode(digit)).write(to: URL(fileURLWithPath: dir + "/d.png"))
        try Data(Array("P5 28 28 255\n".utf8) + digit.pixels).write(to: URL(fileURLWithPath: dir + "/d.pgm"))
        var infer = try WeightJPEGCommand.parseAsRoot(["infer", TestPaths.referenceMLP, dir + "/d.png", dir + "/d.pgm", "--json"])
        try infer.run()
        try Data(PNGWriter.encode(GrayImage(width: 27, height: 28, pixels: [UInt8](repeating: 0, count: 27 * 28))))
            .write(to: URL(fileURLWithPath: dir + "/small.png"))
        var wrong = try WeightJPEGCommand.parseAsRoot(["infer", TestPaths.referenceMLP, dir + "/small.png"])
        let error = #expect(throws: (any Error).self) { try wrong.run() }
        #expect("\(error!)" == "\(dir)/small.png: image is 27×28, the model needs 28×28")
    }

    @Test func jsonOutputsUseOneEncoderWithCamelCaseKeys() throws {
        let report = EvalReport(accuracy: 0.5, samples: 2, correct: 1, engine: "dense", residentWeightBytes: 8)
        let text = String(decoding: try JSONOutput.encoder().encode(report), as: UTF8.self)
        #expect(text == """
        {
          "accuracy" : 0.5,
          "correct" : 1,
          "engine" : "dense",
          "residentWeightBytes" : 8,
          "samples" : 2
        }
        """)
        let classification = Infer.Classification(input: "a \"b\".png", index: 0, class: 3, probabilities: [0.25, 0.75])
        let object = try JSONSerialization.jsonObject(with: JSONOutput.encoder().encode(classification)) as? [String: Any]
        #expect(object?["input"] as? String == "a \"b\".png" && object?["class"] as? Int == 3)
    }
}
