import Foundation
import WeightJPEGFormats
import WeightJPEGModel

/// The built-in task metric for a `torch.nn.Sequential` Linear–ReLU classifier with MNIST-style
/// data, measured on the validation split (the last 10,000 training images, never the test set).
///
/// `accuracy` (percent) is the usual one; on a model trained on all its training data it saturates
/// (the reference models score 99.65% there). `agreement` (percent) is label-free: the share of
/// validation images on which the candidate predicts what the original model predicts; it keeps
/// falling with weight error where training accuracy no longer does. `kl` is label-free and
/// continuous: the mean Kullback–Leibler divergence KL(original ‖ candidate) of the softmax outputs,
/// in millinats (lower is better, 0 for the original), which moves with every weight change and not
/// only with the few predictions that flip. Each reports the standard error of its drop
/// (`measure(modelAt:)`), to which the search adds its margin.
///
/// `accuracy` is measured as the MNIST rate control measures it (`DropImages`): when the
/// validation images look trained on (the model scores on them as on training images 0…9,999),
/// on their one-pixel shifted copies, which it has not seen, with no margin by default (their drops
/// were above the test drops at 17 of 18 JPEG points of the reference models); otherwise on the
/// images together with their copies, with a margin of 2.0 standard errors by default. The
/// label-free metrics compare with the original on the validation images as they are.
public struct ClassifierEvaluator: TaskEvaluator, Sendable {
    /// What is measured.
    public enum Metric: String, Codable, Sendable, CaseIterable {
        case accuracy, agreement, kl
    }

    public let metric: Metric
    public var direction: MetricDirection { metric == .kl ? .lowerIsBetter : .higherIsBetter }
    /// The images every model is scored on.
    public let images: DropImages
    /// Consecutive images that are one sample for the standard error (`DropImages.clusterSize`).
    private let clusterSize: Int
    private let inputs: [Float]
    private let labels: [UInt8]
    private let count: Int
    /// The original model's predictions (for `agreement`).
    private let reference: [Int]
    /// The original model's class probabilities, `count × classes` (for `kl`; empty otherwise).
    private let referenceProbabilities: [Double]

    /// An evaluator on the validation images of the training set in `dataDirectory`, referring to the
    /// model at `originalPath` for `agreement`.
    public init(dataDirectory: String, metric: Metric, originalPath: String,
                validationCount: Int = DataSplit.heldOut) throws(TaskEvaluationError) {
        let train: Dataset
        do { train = try Dataset.load(directory: dataDirectory, split: .train) } catch {
            throw .builtIn("the built-in evaluation needs the training set in \(dataDirectory): \(error)")
        }
        try self.init(trainingSet: train, from: dataDirectory, metric: metric, originalPath: originalPath, validationCount: validationCount)
    }

    /// The same evaluator on `train`, the training set already read from `dataDirectory` (named in
    /// errors), so that a caller that needs it too reads it once.
    public init(trainingSet train: Dataset, from dataDirectory: String, metric: Metric, originalPath: String,
                validationCount: Int = DataSplit.heldOut) throws(TaskEvaluationError) {
        guard train.count >= DataSplit.standardTrainingCount else {
            throw .builtIn("the training set in \(dataDirectory) has \(train.count) images; the validation split is images 50,000…59,999")
        }
        let start = DataSplit.standard.validation.lowerBound
        let validation = train.subset(start..<(start + validationCount))
        self.metric = metric
        var images = DropImages.images
        if metric == .accuracy {
            func accuracy(_ set: Dataset) throws(TaskEvaluationError) -> Double {
                let (predicted, _) = try Self.outputs(modelAt: originalPath, inputs: set.normalized(), labels: set.labels,
                                                      count: set.count, withProbabilities: false)
                return Double(zip(predicted, set.labels).filter { $0 == Int($1) }.count) / Double(max(set.count, 1))
            }
            let trainedOn = try DropImages.trainedOnFacts(trainingSet: train, validation: validation, accuracy: accuracy).trainedOn
            images = DropImages(trainedOn: trainedOn, shiftTrainedOn: true, copiesWithUnseen: true)
        }
        self.images = images
        clusterSize = images.clusterSize
        let scored = images.images(validation)
        inputs = scored.normalized()
        labels = scored.labels
        count = scored.count
        (reference, referenceProbabilities) = try Self.outputs(modelAt: originalPath, inputs: inputs, labels: labels, count: count,
                                                               withProbabilities: metric == .kl)
    }

    /// The predictions and, `withProbabilities`, the class probabilities (`count × classes`; else
    /// empty) of the model at `path` on the validation images.
    private static func outputs(modelAt path: String, inputs: [Float], labels: [UInt8], count: Int,
                                withProbabilities: Bool) throws(TaskEvaluationError) -> ([Int], [Double]) {
        do {
            let model = try MLP.sequential(in: SafetensorsFile.read(path: path))
            guard model.inputSize * count == inputs.count else {
                throw TaskEvaluationError.builtIn("\(path): the model takes \(model.inputSize) inputs, the images have \(inputs.count / max(count, 1)) pixels")
            }
            try Evaluation.checkClasses(outputs: model.outputSize, labels: labels)
            let z = try model.logits(inputs, count: count)
            let n = model.outputSize
            let probabilities = withProbabilities ? (0..<count).flatMap { Softmax.probabilities(z[($0 * n)..<($0 * n + n)]) } : []
            return (Softmax.argmaxRows(z, rows: count, classes: n), probabilities)
        } catch let e as TaskEvaluationError {
            throw e
        } catch {
            throw .builtIn("\(path): \(error)")
        }
    }

    /// The rate control's margin for `images` (`DropImages.margins`): 0 on shifted copies of
    /// trained-on images, 2.0 on unseen ones with their copies; nil (the search's default) for
    /// the label-free metrics.
    public var defaultMarginSigmas: Double? { metric == .accuracy ? images.margins(requested: nil).plain : nil }

    public func evaluate(modelAt path: String) throws(TaskEvaluationError) -> Double {
        try measure(modelAt: path).value
    }

    /// The metric and the standard error of its drop from the original, over the validation images
    /// as independent samples: for `accuracy` and `agreement` the paired one of `AccuracyDrop` (per
    /// image, the original's hit minus the candidate's; for `agreement` a hit is the original's
    /// prediction), for `kl` that of the mean of the per-image divergences. The search adds
    /// `--margin` of them to each drop.
    public func measure(modelAt path: String) throws(TaskEvaluationError) -> TaskMeasurement {
        let (predicted, probabilities) = try Self.outputs(modelAt: path, inputs: inputs, labels: labels, count: count,
                                                          withProbabilities: metric == .kl)
        // Percent of images on which the candidate predicts `truth`, with the paired standard error.
        func hitRate<Label: BinaryInteger>(_ truth: [Label]) -> TaskMeasurement {
            let hits = zip(predicted, truth).reduce(0) { $0 + ($1.0 == Int($1.1) ? 1 : 0) }
            let drop = AccuracyDrop(reference: reference, candidate: predicted, labels: truth, clusterSize: clusterSize)
            return TaskMeasurement(value: 100 * Double(hits) / Double(max(count, 1)), standardError: drop.standardErrorPoints)
        }
        switch metric {
        case .accuracy:
            return hitRate(labels)
        case .agreement:
            return hitRate(reference)
        case .kl:
            guard probabilities.count == referenceProbabilities.count else {
                throw .builtIn("\(path): the model has \(probabilities.count / max(count, 1)) outputs, the original \(referenceProbabilities.count / max(count, 1))")
            }
            let classes = probabilities.count / max(count, 1)
            let perImage = (0..<count).map { i in
                Self.meanKL(Array(referenceProbabilities[(i * classes)..<((i + 1) * classes)]),
                            Array(probabilities[(i * classes)..<((i + 1) * classes)]), count: 1)
            }
            let mean = Self.meanKL(referenceProbabilities, probabilities, count: count)
            let variance = count > 1 ? perImage.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count - 1) : 0
            return TaskMeasurement(value: 1000 * mean, standardError: 1000 * (variance / Double(max(count, 1))).squareRoot())
        }
    }

    /// Mean over `count` rows of KL(p ‖ q) = Σ p log(p/q) in nats; a q of 0 where p > 0 counts as
    /// the smallest positive Double (a large but finite divergence).
    static func meanKL(_ p: [Double], _ q: [Double], count: Int) -> Double {
        var total = 0.0
        for i in p.indices where p[i] > 0 { total += p[i] * log(p[i] / max(q[i], Double.leastNonzeroMagnitude)) }
        return total / Double(max(count, 1))
    }
}
