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

extension MLP {
    /// Classifies `labels.count` samples from `inputs` (normalized, `count × inputSize`) and counts
    /// the correct ones.
    public func evaluate(inputs: [Float], labels: [UInt8]) throws(ModelError) -> Evaluation {
        let predicted = try predictions(inputs, count: labels.count)
        let correct = zip(predicted, labels).reduce(0) { $0 + ($1.0 == Int($1.1) ? 1 : 0) }
        return Evaluation(correct: correct, samples: labels.count)
    }
}
