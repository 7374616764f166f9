import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGModel
@testable import WeightJPEGTuning
@testable import WeightJPEGTools

@Suite struct RateControlTests {
    /// `--target-bytes`: the chosen whole file never exceeds the target, for every kind, with
    /// synthetic validation data (random inputs and labels) and without data.
    @Test func targetBytesNeverExceedsTarget() throws {
        let file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
        var rng = RandomSource(seed: 9)
        let inputs = (0..<(200 * 784)).map { _ in rng.uniform(2) }
        let labels = (0..<200).map { _ in UInt8(rng.next() % 10) }
        let rc = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: inputs, validationLabels: labels)
        #expect(rc.jpegTensors == ["0.weight"])
        for target in [20_000, 27_500, 40_000] {
            for kinds in [[TableKind.ijg], [.flat], [.defaultSpectrum], [.ijg, .flat, .defaultSpectrum]] {
                let c = try #require(try rc.largest(targetBytes: target, kinds: kinds))
                #expect(c.bytes <= target)
                #expect(c.container.serialized().count == c.bytes)
                #expect(c.accuracy != nil)
                // The next finer level of that kind does not fit (binary search found the largest).
                if c.setting.level < 100 {
                    let finer = try rc.evaluate(RateSetting(kind: c.setting.kind, level: c.setting.level + 1), measure: false)
                    #expect(finer.bytes > target)
                }
            }
        }
        // Too small a target: nothing fits.
        #expect(try rc.largest(targetBytes: 2_000, kinds: [.ijg, .flat]) == nil)
        // Without data, ijg only needs bytes.
        let blind = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: nil, validationLabels: [])
        let c = try #require(try blind.largest(targetBytes: 30_000, kinds: [.ijg]))
        #expect(c.bytes <= 30_000 && c.accuracy == nil)
        #expect(throws: RateControlError.self) { try blind.smallest(maxDrop: 0.3, kind: .ijg) }
    }

    /// Explicit tables end up in the file: quality 0 in the parameters, the table in the JPEG, and
    /// the file decodes (also the output layer coded as a flat-table JPEG).
    @Test func explicitTablesInTheContainer() throws {
        let file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
        let rc = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: nil, validationLabels: [])
        let setting = RateSetting(kind: .defaultSpectrum, level: 55)
        let container = try rc.container(setting, output: .jpegFlat(step: 8))
        let parsed = try Container(bytes: container.serialized(), path: "t")
        guard case .jpeg(let p) = parsed["0.weight"]!.coding,
              case .jpeg(let p2) = parsed["2.weight"]!.coding else {
            Issue.record("0.weight and 2.weight should be JPEG-coded"); return
        }
        #expect(p.quality == 0 && p2.quality == 0)
        let values = try file.tensors.first { $0.name == "0.weight" }!.floats()
        let expected = setting.table(values: values, rows: 512, columns: 784, layout: p.layout)
        let coefficients = try JPEGDecoder().readCoefficients(parsed["0.weight"]!.payloads[1], maxPixels: 1 << 24)
        #expect(coefficients.quantizationTable == expected)
        let out = try JPEGDecoder().readCoefficients(parsed["2.weight"]!.payloads[1], maxPixels: 1 << 24)
        #expect(out.quantizationTable == QuantizationTables.flat(step: 8))
        let tensors = try ModelCodec.floatTensors(parsed, path: "t")
        _ = try MLP(tensors: tensors)
    }

    /// `--max-drop`: the chosen model's validation drop is within the budget, recomputed from the
    /// written bytes. Uses the first 2,000 validation images (training images 50,000…51,999) to keep
    /// the debug build's run short.
    @Test(.enabled(if: TestPaths.hasTrainingSet, "data/mnist missing; run scripts/fetch-mnist"))
    func maxDropStaysWithinBudget() throws {
        var file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
        let train = try Dataset.load(directory: TestPaths.mnist, split: .train)
        file = try DeadUnitPruning.prune(file, trainingInputs: train.subset(0..<10_000).normalized()).0
        let validation = train.subset(DataSplit.standard.validation.prefix(2_000))
        let x = validation.normalized()
        let rc = try RateControl(file: file, policy: CompressionPolicy(), validationInputs: x, validationLabels: validation.labels)
        let floatAccuracy = try MLP.sequential(in: file).evaluate(inputs: x, labels: validation.labels).accuracy
        for budget in [0.3, 1.0] {
            let c = try #require(try rc.smallest(maxDrop: budget, kinds: [.ijg, .flat], cheapOutput: true))
            let parsed = try Container(bytes: c.container.serialized(), path: "t")
            let accuracy = try RateControl.accuracy(of: parsed, inputs: x, labels: validation.labels)
            #expect((floatAccuracy - accuracy) * 100 <= budget + 1e-9)
            // It is the smallest among the passing candidates it tried.
            let passing = rc.tried.filter { ($0.accuracy.map { (floatAccuracy - $0) * 100 <= budget + 1e-9 }) ?? false }
            #expect(c.bytes == passing.map(\.bytes).min())
        }
    }
}
