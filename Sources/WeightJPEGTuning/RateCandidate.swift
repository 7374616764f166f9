import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel

/// One candidate tried by the rate control.
public struct RateCandidate: Sendable {
    /// Table kind and level of the first layer's JPEG.
    public var setting: RateSetting
    /// How the output layer was coded for this candidate.
    public var output: OutputCoding
    /// Whole `.wjpg` file size (the container's, plus `RateControl.fileOverheadBytes`).
    public var bytes: Int
    /// Validation accuracy (nil when not evaluated).
    public var accuracy: Double?
    /// The validation drop from the float model, with its standard error (nil when not evaluated).
    public var drop: AccuracyDrop?
    /// Whether `RateControl.refine` (fine-tuning) ran before it was measured.
    public var refined = false
    /// Whether the JPEG-coded layers' biases were corrected (`RateControl.biasCorrection`).
    public var biasCorrected = false
    /// The coded model this candidate measured.
    public var container: Container

    /// Whether `other` is the same candidate (setting, output coding, fine-tuning and bias
    /// correction), whatever it measured.
    public func isSameCandidate(as other: RateCandidate) -> Bool {
        setting == other.setting && output == other.output && refined == other.refined && biasCorrected == other.biasCorrected
    }
}
