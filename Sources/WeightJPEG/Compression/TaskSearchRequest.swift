import Foundation
import WeightJPEGTuning

/// A task-metric search for `CompressionPlan`: the evaluator that scores candidates and the bound on
/// its metric's drop (`ErrorAllocation.Options`).
public struct TaskSearchRequest: Sendable {
    /// Scores a safetensors file (e.g. `CommandEvaluator` for `--eval-cmd`).
    public var evaluator: any TaskEvaluator & Sendable
    /// The drop allowed, the evaluation budget and the bounds' range.
    public var options: ErrorAllocation.Options

    /// A search with `evaluator` for a drop of at most `maxDrop` (metric units).
    public init(evaluator: any TaskEvaluator & Sendable, maxDrop: Double) {
        self.evaluator = evaluator
        self.options = ErrorAllocation.Options(maxDrop: maxDrop)
    }
}
