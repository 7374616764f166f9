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
        /// A metric computed in Swift: any `TaskEvaluator` (e.g. one that loads the candidate
        /// safetensors file in the caller's own framework and scores it), called in the plan's
        /// process, candidate after candidate; its `defaultMarginSigmas` and standard errors apply as
        /// a command's do. Fine-tuning and bias correction need the built-in metric.
        case evaluator(any TaskEvaluator & Sendable)
    }

    public var metric: Metric
    /// The drop allowed, the evaluation budget and the bounds' range.
    public var options: ErrorAllocation.Options
    /// With the built-in metric (an MLP and its training set): every candidate's biases are
    /// corrected for its coded weights (`BiasCorrection.corrected`, statistics from training images
    /// 0..<50,000) before it is scored and written, as the rate control's corrected family.
    public var biasCorrection = true
    /// With the plan's `finetuneEpochs` and the built-in metric: fine-tune candidates on training
    /// images 0..<`finetuneImages` only. Nil (the default): on all the images the model was
    /// trained on, as the rate control does. Fewer images fine-tune faster and less well; for
    /// quick trials and tests.
    public var finetuneImages: Int?
    /// With the built-in metric: also measure the original's and the written file's accuracy on
    /// the data folder's test set (`CompressionReport.searchTest`; reporting only, never used to choose).
    public var reportTest = false

    /// A search scored by `metric` for a drop of at most `maxDrop` (the metric's units), with the
    /// default budget: `ErrorAllocation.Options`'s (16) for a command, `builtInBudget` for the
    /// built-in metric.
    public init(metric: Metric, maxDrop: Double) {
        self.metric = metric
        self.options = ErrorAllocation.Options(maxDrop: maxDrop)
        if case .classifier = metric {
            options.budget = Self.builtInBudget
            options.oneDimensionalShare = Self.builtInOneDimensionalShare
        }
    }

    /// The built-in metric's default budget. One evaluation of the MNIST MLP takes well under a
    /// second, and the refinement's walk along the first layer's JPEG ladders takes up to seven per
    /// table kind: budget 32 gave mean files of 16,768 B on the three reference models and
    /// 18,603 B on ten holdout models, budget 16 19,895 and 19,676 B (20–27 evaluations used;
    /// docs/UNIFIED-SEARCH.md). The MNIST rate control scores 45–50 candidates.
    public static let builtInBudget = 32

    /// The built-in metric's `ErrorAllocation.Options.oneDimensionalShare`: an MLP's biases (its
    /// corrected ones too) within a tenth of the tightest weight bound, as `compare`'s
    /// bounded-output points store them, instead of relative error 0.0002 (reference model 0's
    /// corrected first-layer bias took 952 B of its 15,513 B file there).
    public static let builtInOneDimensionalShare = 0.1

    /// A search scored by `evaluator` (a command) for a drop of at most `maxDrop`.
    public init(evaluator: CommandEvaluator, maxDrop: Double) {
        self.init(metric: .command(evaluator), maxDrop: maxDrop)
    }

    /// A search scored by `evaluator` (Swift code) for a drop of at most `maxDrop`, with a
    /// command's default budget.
    public init(evaluator: some TaskEvaluator & Sendable, maxDrop: Double) {
        self.init(metric: .evaluator(evaluator), maxDrop: maxDrop)
    }

    /// Whether the metric reads the plan's data folder.
    var needsData: Bool { if case .classifier = metric { true } else { false } }
}
