/// Which first-layer DCT coefficients may move during fine-tuning.
public enum ZeroPattern: String, Sendable, CaseIterable {
    /// Coefficients that are zero in the input file stay zero (their gradient is masked); nonzero
    /// ones may move, and may round to zero.
    case keep
    /// Every coefficient may move; rounding to the JPEG grid decides which are zero.
    case redecide
}
