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

    /// Checks that a model with `outputs` classes can be scored on `labels`: every label must be
    /// below `outputs`, and when the data set's class count is known (`classes`) it must equal
    /// `outputs`. A 7-class model on MNIST's 10 labels is an error, not "10.25%".
    public static func checkClasses(outputs: Int, labels: [UInt8], classes: Int? = nil) throws(ModelError) {
        let needed = classes ?? labels.max().map { Int($0) + 1 } ?? 0
        if let classes, classes != outputs { throw .classCount(outputs: outputs, classes: classes) }
        if needed > outputs { throw .classCount(outputs: outputs, classes: needed) }
    }
}
