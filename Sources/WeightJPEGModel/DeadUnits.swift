import Foundation
import WeightJPEGCore
import WeightJPEGFormats

/// The never-active ("dead") units of one hidden layer of an `MLP`, found on a set of inputs.
///
/// Hidden layer `layer` is the output of linear layer `layer` (its weight's rows, named
/// `"\(2·layer).weight"`), which is the input of linear layer `layer + 1` (its weight's columns).
public struct DeadUnitReport: Equatable, Sendable {
    /// Index of the linear layer whose outputs are these hidden units (0 = the first hidden layer).
    public let layer: Int
    /// Number of units the hidden layer had before removal.
    public let width: Int
    /// Indices (ascending, in `0..<width`) of the units whose pre-activation is ≤ 0 on every sample.
    public let dead: [Int]
    /// Number of samples the units were observed on.
    public let samples: Int

    /// A report; `dead` must be ascending and within `0..<width`.
    public init(layer: Int, width: Int, dead: [Int], samples: Int) {
        precondition(zip(dead, dead.dropFirst()).allSatisfy { $0 < $1 } && dead.allSatisfy { (0..<width).contains($0) },
                     "dead units must be ascending indices below \(width)")
        self.layer = layer
        self.width = width
        self.dead = dead
        self.samples = samples
    }

    /// The units removal deletes: every dead unit, except that a layer whose units are all dead
    /// keeps its first one (a layer of width 0 cannot be stored or multiplied; the kept unit still
    /// outputs 0 on every sample, so the function is the same).
    public var removed: [Int] { dead.count == width ? Array(dead.dropFirst()) : dead }
    /// Width of the hidden layer after removal.
    public var remaining: Int { width - removed.count }
}

// MARK: - Finding and removing dead units

extension MLP {
    /// For each hidden layer (every linear layer but the last, whose outputs go through a ReLU), the
    /// units whose pre-activation `W x + b` is ≤ 0 for every one of the `count` samples in `inputs`
    /// (row-major, `count × inputSize`): their ReLU output is exactly 0 on all of them. Computed on
    /// the original model for all layers at once, in batches of `batchSize` through BLAS.
    ///
    /// A NaN pre-activation counts as active (it is not ≤ 0), so such a unit is never reported.
    /// With `count == 0` nothing has been observed and no unit is reported.
    public func deadUnits(inputs: [Float], count: Int, batchSize: Int = 1000) throws(ModelError) -> [DeadUnitReport] {
        guard count >= 0, inputs.count == count * inputSize else {
            throw .inputSize(expected: inputSize, found: count > 0 ? inputs.count / count : inputs.count)
        }
        let hiddenLayers = layers.dropLast()
        guard count > 0 else {
            return hiddenLayers.enumerated().map { DeadUnitReport(layer: $0, width: $1.outputs, dead: [], samples: 0) }
        }
        // active[l][j]: unit j of hidden layer l had a positive pre-activation on some sample.
        var active = hiddenLayers.map { [Bool](repeating: false, count: $0.outputs) }
        try walkActivations(inputs: inputs, count: count, batchSize: batchSize, layerCount: hiddenLayers.count) { l, _, h, b in
            let n = hiddenLayers[l].outputs
            active[l].withUnsafeMutableBufferPointer { seen in
                for r in 0..<b {
                    let row = h + r * n
                    for j in 0..<n where !(row[j] <= 0) { seen[j] = true }
                }
            }
        }
        return active.enumerated().map { l, seen in
            DeadUnitReport(layer: l, width: seen.count, dead: seen.indices.filter { !seen[$0] }, samples: count)
        }
    }

    /// The model without the units `reports` list as removed (`DeadUnitReport.removed`): row `j`
    /// of layer `l`'s weight and entry `j` of its bias, and column `j` of layer `l + 1`'s weight.
    /// Every other value is kept bit for bit, in order.
    public func removingUnits(_ reports: [DeadUnitReport]) -> MLP {
        var removed = [Set<Int>](repeating: [], count: layers.count)
        for report in reports {
            precondition(report.layer >= 0 && report.layer < layers.count - 1, "layer \(report.layer) is not a hidden layer")
            precondition(report.width == layers[report.layer].outputs, "report width \(report.width) ≠ layer width")
            removed[report.layer].formUnion(report.removed)
        }
        var result: [DenseLayer] = []
        for (l, layer) in layers.enumerated() {
            let rows = (0..<layer.outputs).filter { !removed[l].contains($0) }
            let columns = l == 0 ? Array(0..<layer.inputs) : (0..<layer.inputs).filter { !removed[l - 1].contains($0) }
            var storage: [Float] = []
            storage.reserveCapacity(rows.count * columns.count)
            for r in rows {
                let base = r * layer.inputs
                if columns.count == layer.inputs {
                    storage.append(contentsOf: layer.weight.storage[base..<(base + layer.inputs)])
                } else {
                    for c in columns { storage.append(layer.weight.storage[base + c]) }
                }
            }
            result.append(DenseLayer(weight: Matrix(rows: rows.count, columns: columns.count, storage: storage),
                                     bias: rows.map { layer.bias[$0] }))
        }
        return MLP(layers: result)
    }

    /// Removes the hidden units that never activate on `inputs` (`count` samples, normally the whole
    /// training set) and returns the smaller model with one report per hidden layer.
    ///
    /// **Exactness.** Unit `j` of hidden layer `l` is removed only if its pre-activation is ≤ 0 on
    /// every sample, so its ReLU output `a_j` is exactly 0 on every sample. Its only use is the term
    /// `W[l+1][:, j] · a_j` in the next layer's pre-activation, which is then `w · 0 = 0` for finite
    /// weights, and adding an exact 0 changes no sum. So on these samples every later activation and
    /// every logit is the same — bit for bit except that BLAS may add the remaining terms in another
    /// order once the inner dimension shrinks (differences of a few ulps). Dead units of deeper
    /// layers are found on the original model; removing shallower ones leaves their inputs unchanged
    /// on the samples (up to that summation order), so all layers are pruned in one pass.
    ///
    /// **Only on these samples.** On an input outside the set a removed unit might have activated,
    /// so the pruned model can differ there. The removal is exact on the training set; on unseen
    /// data it is an approximation to be measured (MNIST reference MLPs: 23–32 of 512 units removed,
    /// no test prediction changes).
    ///
    /// Assumes, as `MLP` does everywhere, that a ReLU follows every linear layer but the last.
    public func removingDeadUnits(inputs: [Float], count: Int) throws(ModelError) -> (MLP, [DeadUnitReport]) {
        let reports = try deadUnits(inputs: inputs, count: count)
        return (removingUnits(reports), reports)
    }
}
