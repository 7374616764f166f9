import WeightJPEGModel

/// Accuracy and mean cross-entropy on a labelled set.
public struct FinetuneScore: Equatable, Sendable {
    /// Samples whose argmax logit is the label.
    public var correct: Int
    /// Samples scored.
    public var samples: Int
    /// Mean cross-entropy per sample, in nats (0 for no samples).
    public var loss: Double
    /// `correct / samples` as a fraction (0 for no samples).
    public var accuracy: Double { samples == 0 ? 0 : Double(correct) / Double(samples) }
}

extension FinetuneScore {
    /// The score of `model` on the first `labels.count` rows of `features` (`model.inputSize` wide).
    public init(_ model: MLP, features: UnsafeBufferPointer<Float>, labels: ArraySlice<UInt8>) {
        let n = labels.count, d = model.inputSize, c = model.outputSize
        let z = try! model.logits(Array(features[0..<(n * d)]), count: n)
        var correct = 0, loss = 0.0
        z.withUnsafeBufferPointer { z in
            for (r, label) in labels.enumerated() {
                let row = z.baseAddress! + r * c
                loss += Softmax.crossEntropy(row, c, label: Int(label))
                if Softmax.argmax(row, c) == Int(label) { correct += 1 }
            }
        }
        self.init(correct: correct, samples: n, loss: n == 0 ? 0 : loss / Double(n))
    }
}
