import Foundation

/// Softmax over rows of logits, and what is derived from it: the predicted class, the
/// cross-entropy loss, its gradient, and class probabilities. The one owner of these formulas.
///
/// Every function subtracts the row's maximum before `exp`, so large logits cannot overflow. Two
/// precisions are kept on purpose: training (`crossEntropyGradient`) works in Float like the rest
/// of backpropagation; reported losses and probabilities sum in Double.
public enum Softmax {
    /// Index of the largest value in `row[0..<n]` (the first one on ties, as `torch.argmax`).
    @inline(__always)
    public static func argmax(_ row: UnsafePointer<Float>, _ n: Int) -> Int {
        var best = 0
        for j in 1..<n where row[j] > row[best] { best = j }
        return best
    }

    /// The `argmax` of each of the `rows` rows of `z` (`rows × classes` logits, row-major).
    public static func argmaxRows(_ z: [Float], rows: Int, classes: Int) -> [Int] {
        z.withUnsafeBufferPointer { p in (0..<rows).map { argmax(p.baseAddress! + $0 * classes, classes) } }
    }

    /// `−log softmax(row)[label]` in Double: `m + log Σ_k exp(row_k − m) − row_label`, `m = max row`.
    public static func crossEntropy(_ row: UnsafePointer<Float>, _ n: Int, label: Int) -> Double {
        let m = row[argmax(row, n)]
        var sum = 0.0
        for k in 0..<n { sum += exp(Double(row[k] - m)) }
        return Double(m) + log(sum) - Double(row[label])
    }

    /// The class probabilities of one row of logits (Float `exp`, Double sum and quotients).
    public static func probabilities(_ row: ArraySlice<Float>) -> [Double] {
        let m = row.max() ?? 0
        let e = row.map { Double(exp($0 - m)) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    /// Replaces each of the `batch` rows of logits `z` (`classes` wide) by the gradient of the mean
    /// cross-entropy with respect to the logits, `(softmax − onehot(label)) / batch`, and returns the
    /// mean loss. Float throughout, as the rest of the training step.
    package static func crossEntropyGradient(_ z: UnsafeMutablePointer<Float>, labels: UnsafePointer<UInt8>,
                                             batch: Int, classes: Int) -> Float {
        var total: Double = 0
        let scale = 1 / Float(batch)
        for r in 0..<batch {
            let row = z + r * classes
            let label = Int(labels[r])
            var m = row[0]
            for j in 1..<classes { m = max(m, row[j]) }
            let shiftedLabelLogit = row[label] - m
            var sum: Float = 0
            for j in 0..<classes {
                let e = exp(row[j] - m)
                row[j] = e
                sum += e
            }
            // −log softmax(z)[label] = log Σ exp(z − m) − (z_label − m)
            total += Double(log(sum) - shiftedLabelLogit)
            let inv = 1 / sum
            for j in 0..<classes { row[j] *= inv }
            row[label] -= 1
            for j in 0..<classes { row[j] *= scale }
        }
        return Float(total / Double(batch))
    }
}
