/// The result of classifying a labelled set.
public struct Evaluation: Equatable, Sendable, Codable {
    /// Correctly classified samples.
    public let correct: Int
    /// Samples evaluated.
    public let samples: Int
    /// `correct / samples` (0 for no samples).
    public var accuracy: Double { samples == 0 ? 0 : Double(correct) / Double(samples) }

    /// An evaluation from counts.
    public init(correct: Int, samples: Int) {
        self.correct = correct
        self.samples = samples
    }
}
