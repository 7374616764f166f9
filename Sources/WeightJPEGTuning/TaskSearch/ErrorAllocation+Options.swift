import WeightJPEGCodec

/// What the task search searches for, and the constants of each of its steps.
extension ErrorAllocation {
    /// What to search for.
    public struct Options: Sendable {
        /// Largest allowed drop of the metric, in its own units (accuracy points, cosine …).
        public var maxDrop: Double
        /// Most evaluations in all, the original's included.
        public var budget = 16
        /// Relative error each group is probed at for its sensitivity.
        public var probeError = 0.05
        /// A probe whose drop is below this share of `maxDrop` is repeated at a larger error.
        public var quietShare = 0.1
        /// How much larger the error of each repeated probe is.
        public var reprobeFactor = 4.0
        /// Evaluations the repeated probes leave for the allocation (besides the budget's first
        /// allocation, which `Failure.budgetTooSmall` already reserves).
        public var allocationReserve = 3
        /// Smallest bound a group gets (the documented default: the allocation only loosens).
        public var minimumError = CompressionPolicy.defaultMaxRelativeError
        /// Largest bound a group gets in the allocation (step 3).
        public var maximumError = 0.5
        /// Ratio of neighbouring bounds on the rate curves of step 3.
        public var ladderRatio = 2.0.squareRoot()
        /// Bounds the allocation may choose between two neighbouring rungs (interpolated).
        public var ladderSubdivisions = 16
        /// The λ search (step 3) stops when the smallest failing file is not this share smaller
        /// than the best passing one.
        public var allocationByteGain = 0.01
        /// Largest bound the refinement (step 5) tries for a group.
        public var refinementCeiling = 0.9
        /// A group with more than this share of the best file's bytes is refined first with the
        /// other groups tightened so that their predicted drop is `dominantOthersShare` of `maxDrop`.
        public var dominantShare = 0.5
        /// See `dominantShare`. The sensitivities of the small groups come from one noisy probe
        /// each, so the dominant group's refinement leaves them little of the drop, and their own
        /// refinement (after it) loosens them again with what is left. With JPEG ladders, on the
        /// three reference MLPs and ten holdout models of docs/UNIFIED-SEARCH.md, 0.25 gave mean
        /// files of 16,995 and 20,110 B, 0.1 16,811 and 18,656 B, 0.05 16,768 and 18,603 B; on five
        /// holdout models trained afterwards to check that choice (seeds 10–14), 0.25 18,350 B and
        /// 0.05 17,951 B.
        public var dominantOthersShare = 0.05
        /// The JPEG table kinds whose ladders (levels 1…100) the refinement walks, in order, for an
        /// image-like group (`jpegLayouts`; spectrum first: the MNIST rate control chose it on every
        /// model of docs/results/rate-promise.txt).
        public var ladderKinds: [TableKind] = [.defaultSpectrum, .flat, .ijg]
        /// The refinement of a group stops when its bracket of bounds is this narrow (upper / lower)…
        public var refinementRatio = 1.01
        /// … or when the failing file at its upper end is not this share smaller than the best.
        public var refinementByteGain = 0.03
        /// Standard errors added to a candidate's drop before it is compared with `maxDrop`, for
        /// evaluators that report one (`TaskMeasurement.standardError`; a command prints it after
        /// the metric). Nil: the evaluator's `defaultMarginSigmas`, else `defaultMarginSigmas`.
        public var marginSigmas: Double? = nil
        /// When set, every candidate codes each float tensor of rank < 2 (biases, normalization
        /// gains) within this share of its tightest group bound, but never tighter than `basePolicy`
        /// codes it (relative error 0.0002 by default): a bias a coarse layer has already moved
        /// need not be stored finer than a tenth of the finest weights, as `compare`'s
        /// bounded-output series stores them. Nil (the default): `basePolicy`'s bound, whatever the
        /// groups'. The built-in metric sets 0.1 (`TaskSearchRequest`); commands keep nil.
        public var oneDimensionalShare: Double? = nil

        /// A search for `maxDrop` with the default budget and bounds.
        public init(maxDrop: Double) { self.maxDrop = maxDrop }
    }
}
