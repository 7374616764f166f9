import WeightJPEGModel

/// The settings of a fine-tuning run of a JPEG-coded MLP (first-layer DCT coefficients and float tensors).
public struct FinetuneConfiguration: Equatable, Sendable {
    /// Passes over the training samples.
    public var epochs: Int = 3
    /// Samples per mini-batch.
    public var batchSize: Int = 64
    /// Adam learning rate (parameters are in weight units: `s_j · Q(k) · q_j(k)`, the DCT of the
    /// weight image, so the same rate means about the same as for ordinary weights).
    public var learningRate: Float = 1e-3
    /// Adam learning rate of the first layer's coefficients (nil: `learningRate`). The float
    /// tensors and the coefficients take different rates: one JPEG step `s·Q` is large in weight
    /// units at low quality, so the coefficients need larger steps to move at all, while the
    /// biases and the output layer are hurt by them.
    public var coefficientLearningRate: Float? = nil
    /// Learning rate over the epochs.
    public var schedule: LearningRateSchedule = .constant
    /// Keep or re-decide the zero pattern of the coefficients.
    public var zeroPattern: ZeroPattern = .keep
    /// Seeds the shuffling.
    public var seed: UInt64 = 0
    /// Keep the state (after any epoch, or the input itself as "epoch 0") with the lowest validation
    /// loss instead of the last one (loss, not accuracy: on 10,000 images it is the less noisy
    /// choice). Needs a validation set.
    public var selectBest: Bool = true
    /// The JPEG-coded `rows:H×W` tensor trained in the DCT domain.
    public var tensorName: String = "0.weight"

    /// The defaults: 3 epochs, batch 64, Adam 1e-3 for every tensor, constant rate, zero pattern kept, best epoch.
    public init() {}
}
