import Foundation
import WeightJPEGFormats
import WeightJPEGModel

/// The built-in task metric for a `torch.nn.Sequential` Linear–ReLU classifier with MNIST-style
/// data: measured on the validation split (the last 10,000 training images, never the test set),
/// in percent.
///
/// `accuracy` is the usual one; on a model trained on all its training data it saturates (the
/// reference models score 99.65% there) and under-states a test drop. `agreement` is label-free:
/// the share of validation images on which the candidate predicts what the original model predicts;
/// it keeps falling with weight error where training accuracy no longer does.
public struct ClassifierEvaluator: TaskEvaluator, Sendable {
    /// What is measured.
    public enum Metric: String, Codable, Sendable, CaseIterable {
        case accuracy, agreement
    }

    public let metric: Metric
    public var direction: MetricDirection { .higherIsBetter }
    private let inputs: [Float]
    private let labels: [UInt8]
    private let count: Int
    /// The original model's predictions (for `agreement`).
    private let reference: [Int]

    /// An evaluator on the validation images of the training set in `dataDirectory`, referring to the
    /// model at `originalPath` for `agreement`.
    public init(dataDirectory: String, metric: Metric, originalPath: String,
                validationCount: Int = DataSplit.heldOut) throws(TaskEvaluationError) {
        let train: Dataset
        do { train = try Dataset.load(directory: dataDirectory, split: .train) } catch {
            throw .builtIn("the built-in evaluation needs the training set in \(dataDirectory): \(error)")
        }
        guard train.count >= DataSplit.standardTrainingCount else {
            throw .builtIn("the training set in \(dataDirectory) has \(train.count) images; the validation split is images 50,000…59,999")
        }
        let start = DataSplit.standard.validation.lowerBound
        let validation = train.subset(start..<(start + validationCount))
        self.metric = metric
        inputs = validation.normalized()
        labels = validation.labels
        count = validation.count
        reference = try Self.predictions(modelAt: originalPath, inputs: inputs, labels: labels, count: count)
    }

    /// The predictions of the model at `path` on the validation images.
    private static func predictions(modelAt path: String, inputs: [Float], labels: [UInt8], count: Int) throws(TaskEvaluationError) -> [Int] {
        do {
            let model = try MLP.sequential(in: SafetensorsFile.read(path: path))
            guard model.inputSize * count == inputs.count else {
                throw TaskEvaluationError.builtIn("\(path): the model takes \(model.inputSize) inputs, the images have \(inputs.count / max(count, 1)) pixels")
            }
            try Evaluation.checkClasses(outputs: model.outputSize, labels: labels)
            return try model.predictions(inputs, count: count)
        } catch let e as TaskEvaluationError {
            throw e
        } catch {
            throw .builtIn("\(path): \(error)")
        }
    }

    public func evaluate(modelAt path: String) throws(TaskEvaluationError) -> Double {
        let predicted = try Self.predictions(modelAt: path, inputs: inputs, labels: labels, count: count)
        let hits: Int
        switch metric {
        case .accuracy: hits = zip(predicted, labels).reduce(0) { $0 + ($1.0 == Int($1.1) ? 1 : 0) }
        case .agreement: hits = zip(predicted, reference).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
        }
        return 100 * Double(hits) / Double(max(count, 1))
    }
}
