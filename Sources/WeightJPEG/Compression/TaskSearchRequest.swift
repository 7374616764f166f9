import Foundation
import WeightJPEGTuning

/// A task-metric search for `CompressionPlan`: what scores candidates and the bound on the metric's
/// drop (`ErrorAllocation.Options`).
public struct TaskSearchRequest: Sendable {
    /// Where the metric comes from.
    public enum Metric: Sendable {
        /// The user's command (`compress --eval-cmd`).
        case command(CommandEvaluator)
        /// The built-in classifier evaluation on the validation split of the training set in the
        /// plan's `dataDirectory` (`compress --data DIR --eval-builtin accuracy|agreement`), in percent.
        case classifier(ClassifierEvaluator.Metric)
    }

    public var metric: Metric
    /// The drop allowed, the evaluation budget and the bounds' range.
    public var options: ErrorAllocation.Options
    /// With the built-in metric (an MLP and its training set): every candidate's biases are
    /// corrected for its coded weights (`BiasCorrection.corrected`, statistics from training images
    /// 0..<50,000) before it is scored and written, as the rate control's corrected family.
    public var biasCorrection = true

    /// A search scored by `metric` for a drop of at most `maxDrop` (the metric's units).
    public init(metric: Metric, maxDrop: Double) {
        self.metric = metric
        self.options = ErrorAllocation.Options(maxDrop: maxDrop)
    }

    /// A search scored by `evaluator` (a command) for a drop of at most `maxDrop`.
    public init(evaluator: CommandEvaluator, maxDrop: Double) {
        self.init(metric: .command(evaluator), maxDrop: maxDrop)
    }

    /// Whether the metric reads the plan's data folder.
    var needsData: Bool { if case .classifier = metric { true } else { false } }
}
