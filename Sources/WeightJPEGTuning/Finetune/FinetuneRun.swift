import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel
/// One complete fine-tuning of a `.wjpg` MLP, as the `finetune` command and `compress --finetune`
/// run it: features of every training image, training on the first part, validation on the held-out
/// rest after every epoch, the epoch chosen by the configuration (`selectBest`: lowest validation
/// loss, epoch 0 = the input), and the tuned container written with `jpeg_write_coefficients`.
public struct FinetuneRun {
    /// The tuner after training (its `shadow` holds the last epoch's weights).
    public let tuner: CoefficientFinetuner
    /// One record per epoch, epoch 0 (the input) first.
    public let history: [FinetuneEpoch]
    /// The epoch whose weights were written.
    public let chosenEpoch: Int
    /// The tuned container (first-layer payloads standard JPEG, same geometry and tables).
    public let container: Container
    /// The layer's input features of every training image (`count × tuner.featureCount`).
    public let features: [Float]
    /// Training rows `0..<split`, validation rows `split..<count`.
    public let split: Int

    /// Fine-tunes `container` on `trainInputs` (normalized, `count × inputSize`) with `labels`:
    /// trains on the first `count − validationCount` images and validates on the last
    /// `validationCount` (for MNIST: training images 50,000…59,999; never the test set).
    ///
    /// - Throws: `FinetuneError` when the container has no fine-tunable first layer or the data do
    ///   not fit the model.
    ///
    /// `validationCount` 0 trains on every image and validates on none (for a model that was
    /// trained on all of them); `configuration.selectBest` must then be false.
    public init(container: Container, path: String, configuration: FinetuneConfiguration,
                trainInputs: [Float], labels: [UInt8], validationCount: Int = DataSplit.heldOut,
                progress: (FinetuneEpoch) -> Void = { _ in }) throws {
        let tuner = try CoefficientFinetuner(container: container, path: path, configuration: configuration)
        let count = labels.count
        guard trainInputs.count == count * tuner.inputSize else {
            throw FinetuneError("\(path): the model takes \(tuner.inputSize) inputs; the training data has \(trainInputs.count) values for \(count) images")
        }
        guard validationCount >= 0, count > validationCount else {
            throw FinetuneError("\(path): \(count) training images cannot hold out \(validationCount) for validation")
        }
        guard validationCount > 0 || !configuration.selectBest else {
            throw FinetuneError("\(path): choosing the best epoch needs validation images")
        }
        let split = DataSplit(count: count, heldOut: validationCount).training.upperBound
        let features = tuner.features(trainInputs, count: count)
        let history = tuner.train(features: features, labels: labels, train: 0..<split,
                                  validation: validationCount > 0 ? split..<count : nil, progress: progress)
        // `train` leaves the chosen state in `shadow` (the best epoch with selectBest, else the last).
        let chosen = configuration.selectBest
            ? history.min { $0.validation!.loss < $1.validation!.loss }!.epoch
            : history.last!.epoch
        self.tuner = tuner
        self.history = history
        self.chosenEpoch = chosen
        self.features = features
        self.split = split
        self.container = try tuner.tunedContainer(container, path: path)
    }
}
