/// How a training set is divided between fitting and choosing: the last `heldOut` images are the
/// validation split, never trained on by the data-dependent steps (rate control, fine-tuning, the
/// fine-tuned points of `compare`), which choose a setting or an epoch on them; the test set is only
/// ever reported. For MNIST's 60,000 training images: training 0..<50,000, validation 50,000..<60,000.
public struct DataSplit: Equatable, Sendable {
    /// Images fitted on (fine-tuning trains here).
    public let training: Range<Int>
    /// Held-out images, after `training`, that choose among candidates.
    public let validation: Range<Int>

    /// Images held out at the end of the training set.
    public static let heldOut = 10_000
    /// Training-set size the split was designed for (MNIST, Fashion-MNIST).
    public static let standardTrainingCount = 60_000
    /// The split of the standard 60,000-image training set: 0..<50,000 and 50,000..<60,000.
    public static let standard = DataSplit(count: standardTrainingCount)

    /// The split of a training set of `count` images, holding out the last `heldOut` (`heldOut ≥ 0`;
    /// a `count` at or below `heldOut` leaves no training image).
    public init(count: Int, heldOut: Int = DataSplit.heldOut) {
        let start = max(0, count - heldOut)
        training = 0..<start
        validation = start..<max(start, count)
    }
}
