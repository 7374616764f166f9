import Foundation
import Testing
@testable import WeightJPEG

/// `CompressionPlan` (what `compress` runs), `DataSplit` and `TextTable`.
@Suite struct CompressionPlanTests {
    /// Without data the dead-unit step is skipped with its reason, and the file is the streamed
    /// pipeline's, identical to the in-memory coding.
    @Test func withoutDataDeadUnitsAreSkippedAndTheFileIsStreamed() throws {
        let dir = try TestPaths.temporaryDirectory("plan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var plan = CompressionPlan(input: TestPaths.referenceMLP, output: dir + "/m.wjpg")
        plan.dataDirectory = dir + "/no-data"
        var events: [CompressionEvent] = []
        let report = try plan.run { events.append($0) }
        guard case .skipped(.noTrainingSet(let reason))? = report.deadUnits else { Issue.record("\(String(describing: report.deadUnits))"); return }
        #expect(reason.contains("no-data"))
        #expect(events.count == 1)
        #expect(report.streamed)
        let expected = try ModelCodec.compress(SafetensorsFile.read(path: TestPaths.referenceMLP), policy: CompressionPolicy()).serialized()
        #expect(report.outputBytes == expected.count)
        #expect(try Data(contentsOf: URL(fileURLWithPath: plan.output)) == Data(expected))
        #expect(report.inputBytes == (try FileManager.default.attributesOfItem(atPath: plan.input)[.size] as? Int))
    }

    @Test func dataDependentStepsNameTheMissingData() throws {
        let dir = try TestPaths.temporaryDirectory("plan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var plan = CompressionPlan(input: TestPaths.referenceMLP, output: dir + "/m.wjpg")
        plan.dataDirectory = dir + "/no-data"
        plan.rateControl = RateControlRequest(goal: .maxDrop(0.5))
        #expect { try plan.run() } throws: { error in
            guard case CompressionPlanError.missingTrainingSet(.rateControl, let reason) = error else { return false }
            return reason.contains("no-data")
        }
        plan.rateControl = nil
        plan.finetuneEpochs = 1
        #expect { try plan.run() } throws: { error in
            guard case CompressionPlanError.missingTrainingSet(.finetune, _) = error else { return false }
            return true
        }
        #expect(!FileManager.default.fileExists(atPath: plan.output))
    }

    /// On MNIST: the dead units of the reference model are removed (in memory), and the report
    /// says how many, on how many images.
    @Test(.enabled(if: TestPaths.hasTrainingSet, "data/mnist missing; run scripts/fetch-mnist"))
    func deadUnitsAreRemovedOnTheTrainingSet() throws {
        let dir = try TestPaths.temporaryDirectory("plan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var plan = CompressionPlan(input: TestPaths.referenceMLP, output: dir + "/m.wjpg")
        plan.dataDirectory = TestPaths.mnist
        let report = try plan.run()
        guard case .removed(let removed, let images)? = report.deadUnits else { Issue.record("\(String(describing: report.deadUnits))"); return }
        #expect(removed > 0 && images == DataSplit.standardTrainingCount)
        #expect(!report.streamed)
        let written = try Container.read(path: plan.output)
        #expect(written["0.weight"]!.shape == [512 - removed, 784])
    }

    @Test func finetunePlanNeedsAWJPGFile() throws {
        let plan = FinetunePlan(input: TestPaths.referenceMLP, output: NSTemporaryDirectory() + "never.wjpg")
        let error = #expect(throws: ModelFileError.self) { try plan.run() }
        #expect(error?.description.contains("not a .wjpg file") == true)
        #expect(!FileManager.default.fileExists(atPath: plan.output))
    }

    @Test func theValidationSplitIsTheLastTenThousandTrainingImages() {
        #expect(DataSplit.standard.training == 0..<50_000 && DataSplit.standard.validation == 50_000..<60_000)
        #expect(DataSplit(count: 12_000).training == 0..<2_000 && DataSplit(count: 12_000).validation == 2_000..<12_000)
        #expect(DataSplit(count: 300, heldOut: 100).validation == 200..<300)
        #expect(DataSplit(count: 5).training.isEmpty && DataSplit(count: 5).validation == 0..<5)
    }

    @Test func tableCellsPadTruncateAndCountCharacters() {
        #expect(TextTable.right("12", 5) == "   12" && TextTable.left("ab", 4) == "ab  ")
        #expect(TextTable.right("123456", 3) == "123456")
        #expect(TextTable.pad("abcdef", .init(4, .left, truncates: true)) == "abcd")
        #expect(TextTable.right("1.5×", 6) == "  1.5×")
        #expect(grouped(-1_234_567) == "-1,234,567" && grouped(999) == "999" && fixed(2.345, 1) == "2.3")
    }
}
