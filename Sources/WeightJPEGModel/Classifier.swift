/// A model that maps normalized input vectors to class logits. The dense `MLP` and the DCT-domain
/// engine (`DCTModel`) are both one, so evaluation and inference run either through the same calls.
public protocol Classifier: Sendable {
    /// Values per sample (`H · W` pixels for an image model).
    var inputSize: Int { get }
    /// Classes: logits per sample.
    var outputSize: Int { get }
    /// Bytes of the weight and bias arrays held in memory (4 per parameter for float32 layers).
    var residentWeightBytes: Int { get }
    /// Logits for `count` samples (`inputs` is `count × inputSize`, row-major), computed in batches
    /// of `batchSize` samples; returns `count × outputSize` values.
    /// - Throws: `ModelError.inputSize` when `inputs` does not hold `count × inputSize` values.
    func logits(_ inputs: [Float], count: Int, batchSize: Int) throws(ModelError) -> [Float]
}

extension Classifier {
    /// `logits(_:count:batchSize:)` in batches of 1,000 samples.
    public func logits(_ inputs: [Float], count: Int) throws(ModelError) -> [Float] {
        try logits(inputs, count: count, batchSize: 1000)
    }

    /// The predicted class (`Softmax.argmax` of the logits) of each of `count` samples.
    public func predictions(_ inputs: [Float], count: Int) throws(ModelError) -> [Int] {
        Softmax.argmaxRows(try logits(inputs, count: count), rows: count, classes: outputSize)
    }

    /// Classifies `labels.count` samples from `inputs` (normalized, `labels.count × inputSize`) and
    /// counts the correct ones.
    /// - Throws: `ModelError.classCount` when a label is not below `outputSize` (a 7-class model on
    ///   MNIST's 10 labels is an error, not "10.25%").
    public func evaluate(inputs: [Float], labels: [UInt8]) throws(ModelError) -> Evaluation {
        try Evaluation.checkClasses(outputs: outputSize, labels: labels)
        let predicted = try predictions(inputs, count: labels.count)
        let correct = zip(predicted, labels).reduce(0) { $0 + ($1.0 == Int($1.1) ? 1 : 0) }
        return Evaluation(correct: correct, samples: labels.count)
    }
}
