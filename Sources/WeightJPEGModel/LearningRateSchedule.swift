/// How the learning rate changes over the epochs.
public enum LearningRateSchedule: Equatable, Sendable {
    /// The same rate in every epoch.
    case constant
    /// The base rate, multiplied by `factor` for the last `epochs` epochs (default recipe: × 0.1 for
    /// the last 3 of 10). With fewer than `epochs + 1` epochs in all, only the last one is reduced.
    case dropForLast(epochs: Int, factor: Float)

    /// The default: × 0.1 for the last 3 epochs.
    public static let `default` = LearningRateSchedule.dropForLast(epochs: 3, factor: 0.1)

    /// The learning rate for `epoch` (0-based) of `total`.
    public func rate(base: Float, epoch: Int, of total: Int) -> Float {
        switch self {
        case .constant:
            return base
        case .dropForLast(let k, let factor):
            let reduced = total > k ? k : (total > 1 ? 1 : 0)
            return epoch >= total - reduced ? base * factor : base
        }
    }
}
