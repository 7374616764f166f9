import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel
import WeightJPEGTuning

/// What the rate control of a `CompressionPlan` should choose, measured on `DataSplit.standard`'s
/// validation images (never the test set): the first layer's JPEG table kind and level (binary
/// search over levels 1…100), and with `maxDrop` possibly a cheaper output layer.
public struct RateControlRequest: Sendable {
    /// What "best" means.
    public enum Goal: Sendable, Equatable {
        /// The finest setting whose whole file is at most this many bytes; best validation accuracy among kinds.
        case targetBytes(Int)
        /// The smallest file whose validation accuracy is at most this many percentage points below float.
        case maxDrop(Double)
        /// Choose nothing: code with the plan's policy (with `sweepLevels`, only print the curves).
        case none
    }

    /// What the search optimizes: a byte budget, an accuracy budget, or nothing.
    public var goal: Goal
    /// Table kinds tried, each with its own level search over 1…100.
    public var kinds: [TableKind] = [.ijg, .flat, .defaultSpectrum]
    /// With `maxDrop`: also try the int8 output layer as a flat-table JPEG.
    public var cheapOutput = true
    /// Validation images used: the first `validationCount` of `DataSplit.standard.validation`.
    public var validationCount = DataSplit.heldOut
    /// Also measure the chosen file's test accuracy (reporting only, never used to choose).
    public var reportTest = false
    /// Levels at which to measure every kind's rate–accuracy curve (validation and test) first.
    public var sweepLevels: [Int]?

    /// A request for `goal` with every table kind and the default validation split.
    public init(goal: Goal) { self.goal = goal }

    /// Runs the search on `source` and returns the chosen container with its report (nil report
    /// when the goal is `.none`).
    func run(_ source: SafetensorsFile, input: String, policy: CompressionPolicy, train: Dataset, dataDirectory: String,
             events: (CompressionEvent) -> Void) throws -> (Container, RateControlReport?) {
        let start = DataSplit.standard.validation.lowerBound
        let validation = train.subset(start..<(start + validationCount))
        let rc = try RateControl(file: source, policy: policy, validationInputs: validation.normalized(), validationLabels: validation.labels)
        guard !rc.jpegTensors.isEmpty else { throw CompressionPlanError.nothingJPEGCoded(input: input) }
        let floatAccuracy = rc.floatAccuracy!
        var test: Dataset? = nil
        if reportTest || sweepLevels != nil { test = try Dataset.load(directory: dataDirectory, split: .test) }
        func floatTestAccuracy(_ test: Dataset) throws -> Double {
            try MLP.sequential(in: source).evaluate(inputs: test.normalized(), labels: test.labels).accuracy
        }

        if let sweepLevels, let test {
            let floatTest = try floatTestAccuracy(test)
            events(.sweepStarted(floatValidation: floatAccuracy, floatTest: floatTest))
            var outputs: [OutputCoding] = [.int8PerRow]
            if cheapOutput { outputs += [.jpegFlat(step: 4), .jpegFlat(step: 8)] }
            for output in outputs {
                for kind in kinds {
                    for level in sweepLevels {
                        let c = try rc.evaluate(RateSetting(kind: kind, level: level), output: output)
                        let t = try RateControl.accuracy(of: c.container, inputs: test.normalized(), labels: test.labels)
                        events(.sweepPoint(SweepPoint(kind: "\(kind)", level: level, setting: "\(c.setting)", output: "\(output)",
                                                      bytes: c.bytes, validationAccuracy: c.accuracy, validationDropPoints: rc.drop(c)!,
                                                      testAccuracy: t, testDropPoints: (floatTest - t) * 100)))
                    }
                }
            }
        }

        let chosen: RateCandidate
        let reason: String
        switch goal {
        case .targetBytes(let targetBytes):
            guard let c = try rc.largest(targetBytes: targetBytes, kinds: kinds, output: .int8PerRow) else {
                throw CompressionPlanError.noSettingFits(targetBytes: targetBytes, smallestTried: rc.tried.map(\.bytes).min() ?? 0)
            }
            chosen = c
            reason = "finest setting of each kind with the whole file ≤ \(grouped(targetBytes)) bytes; best validation accuracy among kinds"
        case .maxDrop(let maxDrop):
            guard let c = try rc.smallest(maxDrop: maxDrop, kinds: kinds, cheapOutput: cheapOutput) else {
                throw CompressionPlanError.dropUnreachable(maxDrop: maxDrop)
            }
            chosen = c
            reason = "smallest whole file with validation accuracy ≥ float − \(maxDrop) pp"
        case .none:
            return (try ModelCodec.compress(source, policy: policy), nil)
        }
        let candidates = rc.tried.sorted(by: { $0.bytes < $1.bytes }).map { t in
            RateControlReport.Candidate(setting: "\(t.setting)", output: "\(t.output)", bytes: t.bytes, validationAccuracy: t.accuracy,
                                        dropPoints: rc.drop(t), chosen: t.setting == chosen.setting && t.output == chosen.output)
        }
        var report = RateControlReport(validation: start..<(start + validation.count),
                                       floatValidationAccuracy: floatAccuracy, candidates: candidates,
                                       chosen: RateControlReport.Candidate(setting: "\(chosen.setting)", output: "\(chosen.output)",
                                                                           bytes: chosen.bytes, validationAccuracy: chosen.accuracy,
                                                                           dropPoints: rc.drop(chosen), chosen: true),
                                       reason: reason)
        if reportTest, let test {
            report.test = .init(float: try floatTestAccuracy(test),
                                chosen: try RateControl.accuracy(of: chosen.container, inputs: test.normalized(), labels: test.labels))
        }
        events(.rateControlChose(report))
        return (chosen.container, report)
    }
}
