/// What happened in one epoch (epoch 0 = the input, before any update).
public struct FinetuneEpoch: Sendable {
    /// 0 for the input before any update, then 1, 2, …
    public var epoch: Int
    /// Learning rate in this epoch (after the schedule).
    public var learningRate: Float
    /// Mean training loss over the epoch's batches (nil for epoch 0).
    public var trainLoss: Float?
    /// Validation score of the snapped (JPEG-grid) model after the epoch.
    public var validation: FinetuneScore?
    /// Nonzero quantized coefficients of the tensor after the epoch.
    public var nonzeros: Int
    /// Wall time of the epoch, in seconds.
    public var seconds: Double
}
