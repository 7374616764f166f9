import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel
import WeightJPEGTuning

/// Why a `CompressionPlan` cannot run as asked (the request does not fit the model or the data).
public enum CompressionPlanError: Error, Sendable {
    /// Rate control needs a `torch.nn.Sequential` Linear/ReLU MLP; the parser's reason.
    case rateControlNeedsMLP(String)
    /// A step needs the training set and it did not load; the loader's reason.
    case missingTrainingSet(step: Step, reason: String)
    /// The training set has fewer images than `DataSplit.standardTrainingCount`.
    case trainingSetTooSmall(dataDirectory: String, count: Int)
    /// No tensor is JPEG-coded, so the rate control has nothing to choose.
    case nothingJPEGCoded(input: String)
    /// Even the coarsest setting tried is larger than the byte budget.
    case noSettingFits(targetBytes: Int, smallestTried: Int)
    /// Even level 100 loses more validation accuracy than allowed (percentage points).
    case dropUnreachable(maxDrop: Double)
    /// The container cannot be fine-tuned (its first layer is not a rows mosaic JPEG tensor).
    case finetune(FinetuneError)
    /// A name pattern of the policy matches no tensor of the model.
    case unmatchedPattern(UnmatchedPattern)
    /// A data-dependent step was asked for without `dataDirectory`.
    case dataNotNamed(step: Step)
    /// Dead-unit removal was asked for and does not fit the model or the data.
    case deadUnits(DeadUnitsSkip)

    /// A data-dependent step.
    public enum Step: Sendable { case deadUnits, rateControl, finetune }
}
