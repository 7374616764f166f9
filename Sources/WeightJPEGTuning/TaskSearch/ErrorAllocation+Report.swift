import WeightJPEGCore

/// What the task search records: its groups, every evaluation, the report `compress --report`
/// writes, and why a search could not finish.
extension ErrorAllocation {
    /// One group of alike tensors and what the search found for it.
    public struct Group: Codable, Sendable {
        /// Names with their numbers replaced by `#`, and the shape: `encoder.layer.#.attention.self.query.weight [384, 384]`.
        public var key: String
        public var tensors: [String]
        /// Weights in all its tensors.
        public var elements: Int
        /// Metric drop per squared relative error (from the probe), nil before the pass.
        public var sensitivity: Double?
        /// The chosen bound.
        public var bound: Double?
        /// The JPEG table kind and level the refinement chose on the group's ladder, which wins
        /// over `bound` (nil: the bound decides the coding).
        public var jpeg: String? = nil
    }

    /// One scored model.
    public struct Evaluation: Codable, Sendable {
        /// `original`, `sensitivity`, `allocation` or `refinement`.
        public var stage: String
        /// What was coded how: the group probed, or `λ` and the bounds' range.
        public var settings: String
        /// Size of the candidate `.wjpg` file (nil for the original).
        public var bytes: Int?
        /// The metric.
        public var metric: Double
        /// Drop from the original, in the metric's units (negative: better).
        public var drop: Double
        /// The drop's standard error, when the evaluator reported one.
        public var standardError: Double? = nil
        /// Whether this is the file written.
        public var chosen = false
        /// What the run's `adjust` did to this candidate after coding, before it was scored (e.g.
        /// `fine-tuned 1 epoch`, `biases corrected`); nil when nothing.
        public var adjustment: String? = nil
    }

    /// Everything the search measured (the JSON of `compress --report`).
    public struct Report: Codable, Sendable {
        public var direction: MetricDirection
        public var maxDrop: Double
        /// Standard errors added to each drop before it was compared with `maxDrop` (nil in
        /// reports written before it was recorded).
        public var marginSigmas: Double?
        public var originalMetric: Double
        public var groups: [Group]
        public var evaluations: [Evaluation]
        /// Biases stored corrected for their layers' coded weights (by the plan's `adjust`, e.g.
        /// `BiasCorrection`), not within an error bound; nil when none.
        public var correctedBiases: [String]? = nil
        /// Epochs the chosen candidate was fine-tuned before it was scored and written (the
        /// plan's `finetuneEpochs`); nil when it was not fine-tuned.
        public var finetuneEpochs: Int? = nil
        /// What the metric is, with its unit (e.g. `validation accuracy (%)`), when the caller
        /// named it; nil for a command's metric.
        public var metricName: String? = nil
    }

    /// Why the search could not finish.
    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// The budget cannot cover the original, one probe per group and one allocation.
        case budgetTooSmall(budget: Int, needed: Int)
        /// Even every group at `minimumError` drops the metric by more than allowed.
        case unreachable(maxDrop: Double, dropAtMinimum: Double, minimumError: Double)
        /// No float tensor of rank ≥ 2 to allocate error to.
        case nothingToAllocate

        public var description: String {
            switch self {
            case .budgetTooSmall(let b, let n): "an evaluation budget of \(b) cannot cover the original, one sensitivity probe per group of alike tensors and one allocation: at least \(n) evaluations are needed"
            case .unreachable(let p, let d, let e): "even every tensor at relative error \(e) drops the metric by \(d), more than the allowed \(p)"
            case .nothingToAllocate: "the model has no floating-point tensor of rank 2 or more to allocate error to"
            }
        }
    }
}
