import Foundation
import WeightJPEGCore
import WeightJPEGCodec
import WeightJPEGModel

extension CoefficientFinetuner {
    /// Trains on feature rows `train` and validates on rows `validation` of `features` (see
    /// `features(_:count:)`), updating `shadow`. Returns one record per epoch, epoch 0 first.
    @discardableResult
    public func train(features: [Float], labels: [UInt8], train: Range<Int>, validation: Range<Int>?,
                      progress: (FinetuneEpoch) -> Void = { _ in }) -> [FinetuneEpoch] {
        let c = configuration, nf = featureCount
        precondition(features.count == labels.count * nf)
        let batchSize = max(1, c.batchSize)
        let pass = Backpropagation(sizes: shadow.sizes, maxBatch: batchSize)
        // Two Adam states: one for the coefficients (layer-0 weights), one for every other tensor;
        // each sees only its own gradients (zero gradients leave Adam's moments and the weights at 0 change).
        var coefficientOptimizer = Optimizer(kind: .adam(), model: shadow)
        var floatOptimizer = Optimizer(kind: .adam(), model: shadow)
        var zeroWeight0 = pass.gradients[0].weight
        zeroWeight0.storage = [Float](repeating: 0, count: zeroWeight0.count)
        let zeroLayers = pass.gradients.map { DenseLayer(weight: Matrix(rows: $0.outputs, columns: $0.inputs), bias: [Float](repeating: 0, count: $0.outputs)) }
        var shuffler = RandomSource(seed: c.seed ^ 0x4649_4E45_5455_4E45)
        let xBatch = UnsafeMutablePointer<Float>.allocate(capacity: batchSize * nf)
        let yBatch = UnsafeMutablePointer<UInt8>.allocate(capacity: batchSize)
        defer { xBatch.deallocate(); yBatch.deallocate() }

        var forward = snapped(shadow)
        func validate(_ m: MLP) -> FinetuneScore? {
            guard let v = validation else { return nil }
            return features.withUnsafeBufferPointer { f in
                FinetuneScore(m, features: UnsafeBufferPointer(rebasing: f[(v.lowerBound * nf)..<(v.upperBound * nf)]), labels: labels[v])
            }
        }
        func nonzeros(_ m: MLP) -> Int { quantizedCoefficients(m).reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }

        var history: [FinetuneEpoch] = []
        var best = shadow
        var bestScore = validate(forward)
        let first = FinetuneEpoch(epoch: 0, learningRate: 0, trainLoss: nil, validation: bestScore, nonzeros: nonzeros(shadow), seconds: 0)
        history.append(first)
        progress(first)

        let n = train.count
        let batches = (n + batchSize - 1) / batchSize
        for epoch in 1...max(1, c.epochs) where c.epochs > 0 {
            let started = Date()
            let lr = c.schedule.rate(base: c.learningRate, epoch: epoch - 1, of: c.epochs)
            let coefficientLR = c.schedule.rate(base: c.coefficientLearningRate ?? c.learningRate, epoch: epoch - 1, of: c.epochs)
            let order = shuffler.permutation(n)
            var lossSum = 0.0
            for b in 0..<batches {
                let lo = b * batchSize, count = min(batchSize, n - lo)
                features.withUnsafeBufferPointer { x in
                    for i in 0..<count {
                        let s = train.lowerBound + order[lo + i]
                        (xBatch + i * nf).update(from: x.baseAddress! + s * nf, count: nf)
                        yBatch[i] = labels[s]
                    }
                }
                lossSum += Double(pass.run(forward, x: xBatch, labels: yBatch, batch: count))
                // Straight-through: the gradient at the snapped weights updates the shadow; frozen
                // weights (Σx column, masked zeros, constant rows) get none.
                pass.gradients[0].weight.storage.withUnsafeMutableBufferPointer { g in
                    mask.withUnsafeBufferPointer { m in
                        for i in 0..<g.count { g[i] *= m[i] }
                    }
                }
                var coefficientGradients = zeroLayers
                coefficientGradients[0].weight = pass.gradients[0].weight
                coefficientOptimizer.update(&shadow, gradients: coefficientGradients, lr: coefficientLR)
                var floatGradients = pass.gradients
                floatGradients[0].weight = zeroWeight0
                floatOptimizer.update(&shadow, gradients: floatGradients, lr: lr)
                clampShadow()
                snap(shadow, into: &forward)
            }
            let score = validate(forward)
            let record = FinetuneEpoch(epoch: epoch, learningRate: lr, trainLoss: Float(lossSum / Double(max(batches, 1))),
                                       validation: score, nonzeros: nonzeros(shadow), seconds: Date().timeIntervalSince(started))
            history.append(record)
            progress(record)
            if let s = score, let b = bestScore {
                if s.loss < b.loss { best = shadow; bestScore = s }
            } else {
                best = shadow
            }
        }
        if c.selectBest && validation != nil { shadow = best }
        return history
    }
}
