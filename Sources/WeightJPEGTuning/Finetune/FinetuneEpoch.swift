/// What happened in one epoch (epoch 0 = the input, before any update).
public struct FinetuneEpoch: Sendable {
    public var epoch: Int
    public var learningRate: Float
    /// Mean training loss over the epoch's batches (nil for epoch 0).
    public var trainLoss: Float?
    /// Validation score of the snapped (JPEG-grid) model after the epoch.
    public var validation: FinetuneScore?
    /// Nonzero quantized coefficients of the tensor after the epoch.
    public var nonzeros: Int
    public var seconds: Double
}
