import WeightJPEGFormats
import WeightJPEGCodec

/// A name pattern of a `CompressionPolicy` that matches no tensor of the model: almost always a
/// typo, which would otherwise silently change nothing.
public struct UnmatchedPattern: Sendable, Equatable {
    /// Which rule the pattern belongs to.
    public enum Rule: Sendable, Equatable {
        /// `exactPatterns` (`--exact`).
        case exact
        /// `qualityOverrides` (`--quality-for`).
        case quality
        /// `maxRelativeErrorOverrides` (`--max-rel-error-for`).
        case maxRelativeError
    }

    public var rule: Rule
    public var pattern: String
    /// The model's first tensor names (at most 8), to show what the names look like.
    public var someTensorNames: [String]
    /// How many tensors the model has.
    public var tensorCount: Int
}

extension CompressionPolicy {
    /// The first pattern of `exactPatterns`, `qualityOverrides` or `maxRelativeErrorOverrides`
    /// (in that order) that matches none of `names`, or nil when every pattern matches a tensor.
    public func firstUnmatchedPattern(in names: [String]) -> UnmatchedPattern? {
        let rules: [(UnmatchedPattern.Rule, [String])] = [
            (.exact, exactPatterns), (.quality, qualityOverrides.map(\.pattern)), (.maxRelativeError, maxRelativeErrorOverrides.map(\.pattern)),
        ]
        for (rule, patterns) in rules {
            for pattern in patterns where !names.contains(where: { Self.glob(pattern, matches: $0) }) {
                return UnmatchedPattern(rule: rule, pattern: pattern, someTensorNames: Array(names.prefix(8)), tensorCount: names.count)
            }
        }
        return nil
    }
}
