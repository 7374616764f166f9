/// What `FinetunePlan.run` did and what the checks of the written file found; `Codable`
/// (camelCase keys). Accuracies are fractions; "DCT" figures come from the training loop's
/// DCT-domain forward pass, "file" figures from decoding the written file densely.
public struct FinetuneSummary: Codable, Sendable {
    public var input: String
    public var output: String
    /// `keep` or `redecide`.
    public var zeros: String
    public var epochs: Int
    public var learningRate: Float
    public var coefficientLearningRate: Float
    /// The epoch written (0 = the input unchanged).
    public var chosenEpoch: Int
    /// Training images trained on and validation images chosen on (`DataSplit`).
    public var training: Range<Int>
    public var validation: Range<Int>
    /// Whole-file sizes of the input and the written file.
    public var bytesBefore: Int
    public var bytesAfter: Int
    /// Stored bytes of the first layer (`0.weight`) before and after.
    public var layer0BytesBefore: Int
    public var layer0BytesAfter: Int
    /// Nonzero quantized coefficients of the first layer before and after.
    public var nonzerosBefore: Int
    public var nonzerosAfter: Int
    /// Coefficients that were zero and are not any more.
    public var newNonzeros: Int
    /// Coefficients whose value changed.
    public var changed: Int
    public var validationAccuracyEpoch0DCT: Double
    public var validationAccuracyDCT: Double
    public var validationLossDCT: Double
    public var validationLossEpoch0DCT: Double
    public var validationAccuracyFile: Double
    public var testAccuracyFile: Double
    /// Whether the written file holds exactly the snapped trained coefficients.
    public var coefficientsMatch: Bool
    /// Largest |dense logit − DCT-domain logit| over the validation images.
    public var maxAbsLogitDeltaValidation: Float
    /// Fraction of validation images where both forward passes pick the same class.
    public var argmaxAgreementValidation: Double
    /// Wall time, rounded to 0.1 s.
    public var seconds: Double
}
