import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEG

/// `compress`'s defaults on a model the tool cannot evaluate: every float tensor of any dtype within
/// the documented bound, the same bytes in any folder, and a last line (and `--json`) that say what
/// the file lost, measured by decoding.
@Suite struct TransparentDefaultsTests {
    /// A model that is not the founding MLP: a smooth convolution stem (image-like, where JPEG at
    /// quality 20 would leave relative error 0.1 or more), F64, F16 and BF16 matrices of noise, a
    /// 1-D gain and an integer buffer.
    static func mixedModel() -> SafetensorsFile {
        var rng = RandomSource(seed: 12)
        func gaussian() -> Float {
            let u = Float.random(in: Float.ulpOfOne..<1, using: &rng), v = Float.random(in: 0..<1, using: &rng)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        func data<T>(_ values: [T]) -> Data { values.withUnsafeBytes { Data($0) } }
        let stem: [Float] = (0..<(64 * 3 * 11 * 11)).map { i in
            let o = i / 363, y = (i % 121) / 11, x = i % 11
            return 0.2 * sin(Float(o) * 0.7 + Float(y) * 0.4) * cos(Float(x) * 0.3 + Float(o)) + 0.01 * gaussian()
        }
        let f64: [Double] = (0..<(300 * 100)).map { _ in Double(gaussian()) * 0.05 }
        let f16: [UInt16] = (0..<(200 * 128)).map { _ in HalfPrecision.halfBits(from: gaussian() * 0.02) }
        let bf16: [UInt16] = (0..<(128 * 256)).map { _ in HalfPrecision.bfloat16Bits(from: gaussian() * 0.1) }
        let gain: [Float] = (0..<64).map { _ in 1 + 0.1 * gaussian() }
        let steps: [Int64] = Array(0..<10)
        return SafetensorsFile(tensors: [
            SafetensorsTensor(name: "stem.weight", dtype: .F32, shape: [64, 3, 11, 11], data: data(stem)),
            SafetensorsTensor(name: "proj.weight", dtype: .F64, shape: [300, 100], data: data(f64)),
            SafetensorsTensor(name: "attn.weight", dtype: .F16, shape: [200, 128], data: data(f16)),
            SafetensorsTensor(name: "mlp.weight", dtype: .BF16, shape: [128, 256], data: data(bf16)),
            SafetensorsTensor(name: "norm.gain", dtype: .F32, shape: [64], data: data(gain)),
            SafetensorsTensor(name: "steps", dtype: .I64, shape: [10], data: data(steps)),
        ], metadata: ["format": "pt"])
    }

    /// Decoded independently (decompress, then read as floats), every float tensor is within 0.002
    /// (1-D: 0.0002), the integer one is exact, names, dtypes and shapes come back, and the report's
    /// errors are the ones measured here.
    @Test func everyFloatTensorOfEveryDtypeStaysWithinTheDocumentedBound() throws {
        let dir = try TestPaths.temporaryDirectory("defaults")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = Self.mixedModel()
        try Data(model.serialized()).write(to: URL(fileURLWithPath: dir + "/m.safetensors"))
        let report = try CompressionPlan(input: dir + "/m.safetensors", output: dir + "/m.wjpg").run()
        try DecompressionPlan(input: dir + "/m.wjpg", output: dir + "/back.safetensors").run()
        let back = try SafetensorsFile.read(path: dir + "/back.safetensors")
        #expect(back.tensors.map(\.name) == model.tensors.map(\.name))
        #expect(back.tensors.map(\.dtype) == model.tensors.map(\.dtype))
        #expect(back.tensors.map(\.shape) == model.tensors.map(\.shape))
        for (original, decoded) in zip(model.tensors, back.tensors) {
            let outcome = try #require(report.tensors.first { $0.name == original.name })
            guard original.dtype.convertsToFloat else {
                #expect(decoded.data == original.data && outcome.error == nil)
                continue
            }
            let bound = CompressionPolicy.defaultMaxRelativeError * (original.shape.count < 2 ? 0.1 : 1)
            let error = WeightDistortion(original: try original.floats(), decoded: try decoded.floats())
            #expect(error.relative! <= bound, "\(original.name) \(original.dtype): \(error.relative!)")
            #expect(abs(error.relative! - outcome.error!.relative!) <= 1e-6 * bound, "\(original.name)")
        }
        // Not stored exactly: the bound buys bytes on every dtype (F64 too).
        #expect(report.ratio > 2.5, "\(report.ratio)")
        #expect(report.tensors.first { $0.name == "proj.weight" }?.coding != "exact")
    }

    /// The CLI's last line names the worst tensor and the ratio; `--json` has every tensor's error.
    @Test(.enabled(if: cliPath() != nil, "needs the built weightjpeg binary"))
    func theLastLineAndTheJSONSayWhatWasLost() throws {
        let cli = try #require(cliPath())
        let dir = try TestPaths.temporaryDirectory("defaults")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(Self.mixedModel().serialized()).write(to: URL(fileURLWithPath: dir + "/m.safetensors"))
        let run = try runProcess(cli, ["compress", dir + "/m.safetensors", "-o", dir + "/m.wjpg", "--no-progress"])
        #expect(run.status == 0, "\(run.errors)")
        let lines = String(decoding: run.output, as: UTF8.self).split(separator: "\n")
        let last = String(try #require(lines.last))
        // The worst tensor sits just under the bound (coding 6 stops within about 1 % of it).
        let worst = last.components(separatedBy: "; largest relative error ").dropFirst().first
            .flatMap { Double($0.split(separator: " ").first ?? "") }
        #expect(last.hasPrefix("wrote \(dir)/m.wjpg: ") && last.contains("× smaller than"), "\(last)")
        #expect(worst.map { $0 <= 0.002 && $0 >= 0.0019 } == true, "\(last)")
        #expect(run.errors.contains("the default bound, relative error 0.002"))

        let json = try runProcess(cli, ["compress", dir + "/m.safetensors", "-o", dir + "/j.wjpg", "--no-progress", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: json.output) as? [String: Any])
        let tensors = try #require(object["tensors"] as? [[String: Any]])
        #expect(tensors.map { $0["name"] as? String } == Self.mixedModel().tensors.map(\.name))
        #expect(tensors.allSatisfy { $0["coding"] is String && $0["bytes"] is Int })
        let relative = tensors.compactMap { ($0["error"] as? [String: Any])?["relative"] as? Double }
        #expect(relative.count == 5 && relative.allSatisfy { $0 <= 0.002 })
    }

    /// The same command gives the same bytes in a folder where `data/mnist` exists and in one where
    /// it does not: nothing reads data unless `--data` names it.
    @Test(.enabled(if: cliPath() != nil && TestPaths.hasTrainingSet, "needs the built weightjpeg binary and data/mnist"))
    func theSameCommandGivesTheSameBytesInAnyFolder() throws {
        let cli = try #require(cliPath())
        let dir = try TestPaths.temporaryDirectory("anywhere")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for folder in ["with-data", "without"] { try FileManager.default.createDirectory(atPath: dir + "/" + folder, withIntermediateDirectories: true) }
        try FileManager.default.createDirectory(atPath: dir + "/with-data/data", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/with-data/data/mnist", withDestinationPath: TestPaths.mnist)
        for options in [[], ["--quality", "20"]] {
            var outputs: [Data] = []
            for folder in ["with-data", "without"] {
                let run = try runProcess(cli, ["compress", TestPaths.referenceMLP, "-o", "m.wjpg", "--no-progress"] + options, in: dir + "/" + folder)
                #expect(run.status == 0, "\(run.errors)")
                #expect(!String(decoding: run.output, as: UTF8.self).contains("dead"))
                outputs.append(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + folder + "/m.wjpg")))
            }
            #expect(outputs[0] == outputs[1], "\(options)")
        }
    }
}

/// The CLI stops OpenBLAS's idle start-up threads before any command (`BLAS.stopIdleThreads`); a
/// dense evaluation on two BLAS threads afterwards restarts them and gives the one-thread result.
@Test(.enabled(if: TestPaths.hasTestSet, "data/mnist missing; run scripts/fetch-mnist"))
func twoBLASThreadsStillWorkAfterTheIdleThreadsAreStopped() throws {
    let cli = try #require(cliPath())
    var accuracies: [String] = []
    for threads in ["1", "2"] {
        let run = try runProcess(cli, ["eval", TestPaths.referenceMLP, "--data", TestPaths.mnist, "--threads", threads, "--json"])
        #expect(run.status == 0, "\(run.errors)")
        let object = try JSONSerialization.jsonObject(with: run.output) as? [String: Any]
        accuracies.append("\(object?["accuracy"] ?? "none")")
    }
    #expect(accuracies[0] == accuracies[1] && accuracies[0] != "none", "\(accuracies)")
}
