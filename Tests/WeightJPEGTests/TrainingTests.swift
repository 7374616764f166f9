import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGModel
@testable import WeightJPEGTools

/// Mean softmax cross-entropy of `model` on a batch, computed naively in Double: an independent
/// definition to check the BLAS backward pass against.
private func referenceLoss(_ model: MLP, x: [Float], labels: [UInt8]) -> Double {
    let batch = labels.count
    var total = 0.0
    for r in 0..<batch {
        var a = (0..<model.inputSize).map { Double(x[r * model.inputSize + $0]) }
        for (l, layer) in model.layers.enumerated() {
            var z = (0..<layer.outputs).map { j in
                Double(layer.bias[j]) + (0..<layer.inputs).reduce(0.0) { $0 + Double(layer.weight[j, $1]) * a[$1] }
            }
            if l < model.layers.count - 1 { z = z.map { max($0, 0) } }
            a = z
        }
        let m = a.max()!
        let logSum = log(a.reduce(0) { $0 + exp($1 - m) }) + m
        total += logSum - a[Int(labels[r])]
    }
    return total / Double(batch)
}

@Test func backpropagationMatchesFiniteDifferences() {
    let model = MLP(sizes: [6, 5, 4, 3], seed: 3)
    var rng = RandomSource(seed: 9)
    let batch = 4
    let x = (0..<(batch * 6)).map { _ in rng.uniform(2) }
    let labels: [UInt8] = [0, 2, 1, 2]
    let pass = Backpropagation(sizes: model.sizes, maxBatch: batch)
    let loss = x.withUnsafeBufferPointer { xp in
        labels.withUnsafeBufferPointer { lp in pass.run(model, x: xp.baseAddress!, labels: lp.baseAddress!, batch: batch) }
    }
    #expect(abs(Double(loss) - referenceLoss(model, x: x, labels: labels)) < 1e-5)

    let h: Float = 1e-3
    var worst = 0.0
    for l in model.layers.indices {
        for i in 0..<model.layers[l].weight.count {
            var plus = model, minus = model
            plus.layers[l].weight.storage[i] += h
            minus.layers[l].weight.storage[i] -= h
            let numeric = (referenceLoss(plus, x: x, labels: labels) - referenceLoss(minus, x: x, labels: labels)) / Double(2 * h)
            worst = max(worst, abs(numeric - Double(pass.gradients[l].weight.storage[i])))
        }
        for j in 0..<model.layers[l].bias.count {
            var plus = model, minus = model
            plus.layers[l].bias[j] += h
            minus.layers[l].bias[j] -= h
            let numeric = (referenceLoss(plus, x: x, labels: labels) - referenceLoss(minus, x: x, labels: labels)) / Double(2 * h)
            worst = max(worst, abs(numeric - Double(pass.gradients[l].bias[j])))
        }
    }
    #expect(worst < 1e-4, "largest gradient error \(worst)")
}

@Test func pytorchDefaultInitializationBounds() {
    let model = MLP(sizes: [784, 512, 10], seed: 0)
    let bound1 = 1 / Float(784).squareRoot(), bound2 = 1 / Float(512).squareRoot()
    #expect(model.layers[0].weight.storage.allSatisfy { abs($0) <= bound1 })
    #expect(model.layers[1].bias.allSatisfy { abs($0) <= bound2 })
    // Uniform in ±bound: the sample variance is close to bound²/3.
    let w = model.layers[0].weight.storage
    let variance = w.reduce(0.0) { $0 + Double($1 * $1) } / Double(w.count)
    #expect(abs(variance - Double(bound1 * bound1) / 3) < 0.02 * Double(bound1 * bound1) / 3)
    #expect(model.parameterCount == 407_050)
}

/// Synthetic separable data: class k has its mass on feature k.
private func syntheticData(samples: Int, features: Int, classes: Int, seed: UInt64) -> ([Float], [UInt8]) {
    var rng = RandomSource(seed: seed)
    var x = [Float](repeating: 0, count: samples * features)
    var y = [UInt8](repeating: 0, count: samples)
    for s in 0..<samples {
        let k = Int(rng.next() % UInt64(classes))
        y[s] = UInt8(k)
        for f in 0..<features { x[s * features + f] = rng.uniform(0.5) + (f % classes == k ? 1 : 0) }
    }
    return (x, y)
}

@Test(arguments: [OptimizerKind.adam(), .sgd()])
func trainingIsBitwiseDeterministicAndLearns(optimizer: OptimizerKind) throws {
    let (x, y) = syntheticData(samples: 600, features: 20, classes: 4, seed: 1)
    var config = TrainingConfiguration()
    config.hiddenSizes = [16]
    config.epochs = 3
    config.optimizer = optimizer
    config.learningRate = optimizer == .adam() ? 1e-2 : 5e-2
    config.seed = 5
    let a = try Trainer(configuration: config).train(inputs: x, labels: y, inputSize: 20, classes: 4)
    let b = try Trainer(configuration: config).train(inputs: x, labels: y, inputSize: 20, classes: 4)
    #expect(a == b)
    config.seed = 6
    let c = try Trainer(configuration: config).train(inputs: x, labels: y, inputSize: 20, classes: 4)
    #expect(a != c)
    #expect(try a.evaluate(inputs: x, labels: y).accuracy > 0.95)
}

@Test func learningRateScheduleDropsTheLastEpochs() {
    let s = LearningRateSchedule.default
    #expect((0..<10).map { s.rate(base: 1, epoch: $0, of: 10) } == [1, 1, 1, 1, 1, 1, 1, 0.1, 0.1, 0.1].map { Float($0) })
    #expect(s.rate(base: 1, epoch: 0, of: 1) == 1)
    #expect(s.rate(base: 1, epoch: 1, of: 2) == Float(0.1))
    #expect(LearningRateSchedule.constant.rate(base: 2, epoch: 9, of: 10) == 2)
}

@Test func modelFromTensorsChecksShapesAndValues() throws {
    let model = MLP(sizes: [4, 3, 2], seed: 1)
    var tensors = Dictionary(uniqueKeysWithValues: model.namedTensors.map { ($0.name, $0.tensor) })
    #expect(try MLP(tensors: tensors) == model)
    tensors["2.weight"] = FloatTensor(shape: [2, 4], values: [Float](repeating: 0, count: 8))
    #expect(throws: ModelError.shapeMismatch(name: "2.weight", expected: [2, 3], found: [2, 4])) { try MLP(tensors: tensors) }
    tensors = Dictionary(uniqueKeysWithValues: model.namedTensors.map { ($0.name, $0.tensor) })
    tensors["0.bias"]!.values[1] = .nan
    #expect(throws: ModelError.nonFinite(name: "0.bias", index: 1)) { try MLP(tensors: tensors) }
    tensors.removeValue(forKey: "0.bias")
    #expect(throws: ModelError.missingTensor(name: "0.bias")) { try MLP(tensors: tensors) }
    #expect(throws: ModelError.noLayers) { try MLP(tensors: [:]) }
}


@Test(.enabled(if: FileManager.default.fileExists(atPath: TestPaths.mnist + "/t10k-labels-idx1-ubyte")))
func oneEpochOnTenThousandRealDigitsReachesNinetyPercent() throws {
    let train = try Dataset.load(directory: TestPaths.mnist, split: .train).subset(0..<10_000)
    let test = try Dataset.load(directory: TestPaths.mnist, split: .test)
    var config = TrainingConfiguration()
    config.epochs = 1
    config.schedule = .constant
    let model = try Trainer(configuration: config).train(inputs: train.normalized(), labels: train.labels, inputSize: 784)
    let result = try model.evaluate(inputs: test.normalized(), labels: test.labels)
    #expect(result.samples == 10_000)
    #expect(result.accuracy >= 0.90, "accuracy \(result.accuracy)")
}
