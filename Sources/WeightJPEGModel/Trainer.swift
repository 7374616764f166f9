import Foundation
import WeightJPEGCore

/// Everything that defines a training run; the same configuration and data give bitwise-identical
/// weights.
public struct TrainingConfiguration: Equatable, Sendable {
    /// Hidden layer sizes; `[512]` is the founding `784 → 512 → 10` model.
    public var hiddenSizes: [Int] = [512]
    /// Passes over the whole training set.
    public var epochs: Int = 10
    /// Samples per mini-batch (the last batch of an epoch may be smaller).
    public var batchSize: Int = 64
    /// Learning rate of the first epoch; `schedule` scales it per epoch.
    public var learningRate: Float = 1e-3
    /// Update rule (Adam or SGD, with PyTorch's formulas).
    public var optimizer: OptimizerKind = .adam()
    /// How `learningRate` changes over the epochs (default: × 0.1 for the last 3).
    public var schedule: LearningRateSchedule = .default
    /// Seeds the initialization and the shuffling.
    public var seed: UInt64 = 0

    /// The default recipe: 784-512-10, 10 epochs, batch 64, Adam 1e-3, × 0.1 for the last 3 epochs.
    public init() {}
}

/// What the trainer reports while it runs.
public enum TrainingEvent: Sendable {
    /// After a mini-batch: running mean loss of the epoch so far and throughput.
    case batch(epoch: Int, batch: Int, batches: Int, loss: Float, samplesPerSecond: Double, etaSeconds: Double)
    /// After an epoch: mean loss, learning rate used, test evaluation (if a test set was given), time.
    case epoch(EpochSummary)
}

/// The summary of one training epoch.
public struct EpochSummary: Sendable {
    /// 0-based epoch index.
    public let epoch: Int
    /// Mean training loss over the epoch's batches.
    public let loss: Float
    /// Learning rate in this epoch.
    public let learningRate: Float
    /// Accuracy on the held-out set, when one was given.
    public let test: Evaluation?
    /// Wall-clock seconds spent on the epoch's batches (not the evaluation).
    public let seconds: Double
}

/// Trains an `MLP` with mini-batch gradient descent on normalized inputs.
public struct Trainer: Sendable {
    /// The run's settings.
    public let configuration: TrainingConfiguration

    /// A trainer for `configuration`.
    public init(configuration: TrainingConfiguration) {
        self.configuration = configuration
    }

    /// Trains a fresh model on `inputs` (`labels.count × inputSize` normalized values) and returns it.
    ///
    /// - Parameters:
    ///   - classes: number of output classes (labels must be below it).
    ///   - test: optional held-out set evaluated after every epoch.
    ///   - progress: called after every batch and epoch, on the calling thread.
    public func train(
        inputs: [Float], labels: [UInt8], inputSize: Int, classes: Int = 10,
        test: (inputs: [Float], labels: [UInt8])? = nil,
        progress: (TrainingEvent) -> Void = { _ in }
    ) throws(ModelError) -> MLP {
        let c = configuration
        guard inputs.count == labels.count * inputSize else {
            throw .inputSize(expected: inputSize, found: labels.isEmpty ? 0 : inputs.count / labels.count)
        }
        var model = MLP(sizes: [inputSize] + c.hiddenSizes + [classes], seed: c.seed)
        try train(&model, inputs: inputs, labels: labels, test: test, progress: progress)
        return model
    }

    /// Continues training `model` in place (same recipe, shuffling seeded by the configuration).
    public func train(
        _ model: inout MLP, inputs: [Float], labels: [UInt8],
        test: (inputs: [Float], labels: [UInt8])? = nil,
        progress: (TrainingEvent) -> Void = { _ in }
    ) throws(ModelError) {
        let c = configuration
        let n = labels.count
        let d = model.inputSize
        guard inputs.count == n * d else { throw .inputSize(expected: d, found: n == 0 ? 0 : inputs.count / n) }
        let batchSize = max(1, c.batchSize)
        let batches = (n + batchSize - 1) / batchSize
        let pass = Backpropagation(sizes: model.sizes, maxBatch: batchSize)
        var optimizer = Optimizer(kind: c.optimizer, model: model)
        var shuffler = RandomSource(seed: c.seed ^ 0x5348_5546_464C_4521)
        let xBatch = UnsafeMutablePointer<Float>.allocate(capacity: batchSize * d)
        let yBatch = UnsafeMutablePointer<UInt8>.allocate(capacity: batchSize)
        defer { xBatch.deallocate(); yBatch.deallocate() }
        let started = Date()
        var samplesDone = 0
        let totalSamples = n * c.epochs

        for epoch in 0..<c.epochs {
            let lr = c.schedule.rate(base: c.learningRate, epoch: epoch, of: c.epochs)
            let order = shuffler.permutation(n)
            let epochStart = Date()
            var lossSum: Double = 0
            for b in 0..<batches {
                let lo = b * batchSize
                let count = min(batchSize, n - lo)
                inputs.withUnsafeBufferPointer { x in
                    for i in 0..<count {
                        let s = order[lo + i]
                        (xBatch + i * d).update(from: x.baseAddress! + s * d, count: d)
                        yBatch[i] = labels[s]
                    }
                }
                let loss = pass.run(model, x: xBatch, labels: yBatch, batch: count)
                optimizer.update(&model, gradients: pass.gradients, lr: lr)
                lossSum += Double(loss)
                samplesDone += count
                if b % 20 == 19 || b == batches - 1 {
                    let elapsed = Date().timeIntervalSince(started)
                    let rate = Double(samplesDone) / max(elapsed, 1e-9)
                    progress(.batch(epoch: epoch, batch: b + 1, batches: batches, loss: Float(lossSum / Double(b + 1)),
                                    samplesPerSecond: rate, etaSeconds: Double(totalSamples - samplesDone) / rate))
                }
            }
            let seconds = Date().timeIntervalSince(epochStart)
            let evaluation = try test.map { t throws(ModelError) in try model.evaluate(inputs: t.inputs, labels: t.labels) }
            progress(.epoch(EpochSummary(epoch: epoch, loss: Float(lossSum / Double(max(batches, 1))),
                                         learningRate: lr, test: evaluation, seconds: seconds)))
        }
    }
}
