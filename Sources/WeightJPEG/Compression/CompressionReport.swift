import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel
import WeightJPEGTuning

/// What `CompressionPlan.run` did, step by step; `Codable` (camelCase keys) so a caller can print it
/// as JSON. Steps that did not run are nil.
public struct CompressionReport: Codable, Sendable {
    public var input: String
    public var output: String
    /// Size of the input safetensors file.
    public var inputBytes: Int
    /// Size of the written `.wjpg` file.
    public var outputBytes: Int
    /// Whether the file was coded by the streamed, parallel pipeline (no data-dependent step changed
    /// the model) rather than in memory.
    public var streamed: Bool
    public var deadUnits: DeadUnitsOutcome?
    public var rateControl: RateControlReport?
    public var finetune: FinetuneReport?
    /// The task-metric search (`CompressionPlan.taskSearch`): groups, bounds and every evaluation.
    public var allocation: ErrorAllocation.Report?
    /// With a built-in task search's `reportTest`: the original's and the written file's test
    /// accuracy (fractions; reporting only, never used to choose).
    public var searchTest: RateControlReport.TestAccuracy?
    /// With a built-in task search: the images its metric was measured on (shifted copies for a
    /// model that looks trained on its validation images).
    public var searchImages: DropImages?
    /// Every tensor of the written file, in file order: coding, bytes and the error measured by
    /// decoding it against the input.
    public var tensors: [TensorOutcome] = []

    /// The float tensor with the largest relative error (nil when there is none), among those coded
    /// to approximate the input: a bias the rate control corrected (`RateControlReport.correctedBiases`)
    /// differs from the input's by design and is left out.
    public var worstTensor: TensorOutcome? {
        let corrected = Set((rateControl?.correctedBiases ?? []) + (allocation?.correctedBiases ?? []))
        return tensors.filter { $0.error?.relative != nil && !corrected.contains($0.name) }.max { $0.error!.relative! < $1.error!.relative! }
    }

    /// `inputBytes / outputBytes`.
    public var ratio: Double { Double(inputBytes) / Double(max(outputBytes, 1)) }
}

/// Dead-unit removal: `removed` hidden units never active on the `trainingImages` images were cut
/// (0 leaves the model as is); the file records them and decompression restores them as zeros.
public struct DeadUnitsOutcome: Codable, Sendable, Equatable {
    public var removed: Int
    public var trainingImages: Int
}

/// Why dead units cannot be removed from a model.
public enum DeadUnitsSkip: Codable, Sendable, Equatable {
    /// Not a `torch.nn.Sequential` Linear/ReLU MLP; the parser's reason.
    case notAnMLP(String)
    case noHiddenLayer
    /// The training set did not load; the loader's reason.
    case noTrainingSet(String)
    /// The model's input size differs from the training images' size.
    case inputSizeMismatch(modelInputs: Int, dataDirectory: String, rows: Int, columns: Int)
    /// The pruning itself failed; its reason.
    case pruningFailed(String)
}

/// The rate control's choice and every candidate it measured.
public struct RateControlReport: Codable, Sendable {
    /// One measured candidate.
    public struct Candidate: Codable, Sendable {
        /// Table kind and level, e.g. `ijg q12`.
        public var setting: String
        /// The output layer's coding, e.g. `int8-row`.
        public var output: String
        /// Whole `.wjpg` file size in bytes.
        public var bytes: Int
        /// Validation accuracy as a fraction (nil when not measured).
        public var validationAccuracy: Double?
        /// Float validation accuracy minus this one, in percentage points.
        public var dropPoints: Double?
        /// Paired standard error of `dropPoints`, in percentage points.
        public var standardErrorPoints: Double?
        /// Whether it was fine-tuned before it was measured.
        public var finetuned: Bool?
        /// Whether the first layer's bias was corrected for its decoded weights (`BiasCorrection`).
        public var biasCorrected: Bool?
        public var chosen: Bool
    }

    /// Validation images used (the start of `DataSplit.standard.validation`).
    public var validation: Range<Int>
    /// Float model's validation accuracy (fraction).
    public var floatValidationAccuracy: Double
    /// Float model's accuracy on as many images from the start of the training set (which every
    /// split trains on), as a fraction: when the validation accuracy is as high, the model was
    /// probably trained on the validation images too (nil when not measured).
    public var floatFitAccuracy: Double?
    /// Float model's accuracy on the validation images' one-pixel shifted copies, when the
    /// validation images looked trained on and the candidates were measured on the copies
    /// (`RateControlRequest.shiftTrainedOnValidation`); nil otherwise.
    public var floatShiftedAccuracy: Double?
    /// Float model's accuracy on the unseen validation images and their one-pixel shifted copies
    /// together, when the candidates were measured on both
    /// (`RateControlRequest.shiftedCopiesWithUnseenValidation`); nil otherwise.
    public var floatWithCopiesAccuracy: Double?
    /// Candidates tried, smallest file first.
    public var candidates: [Candidate]
    /// The chosen one (also marked in `candidates`); nil when only a sweep was asked for.
    public var chosen: Candidate?
    /// The rule that chose it, in words.
    public var reason: String?
    /// The bias tensors the chosen file stores corrected for their layers' coded weights
    /// (`BiasCorrection`; nil when the chosen candidate is not corrected). Their difference from
    /// the input's biases is the correction, not a coding error.
    public var correctedBiases: [String]?
    /// Test accuracies of the float model and the chosen file, when asked for (reporting only).
    public var test: TestAccuracy?
    /// Standard errors added to each candidate's drop before it was compared with the budget
    /// (to a fine-tuned candidate's: `finetunedMarginSigmas`).
    public var marginSigmas: Double?
    /// With fine-tuning inside the search: standard errors added to each fine-tuned candidate's drop.
    public var finetunedMarginSigmas: Double?
    /// Epochs each candidate was fine-tuned before it was measured (nil: none).
    public var finetuneEpochs: Int?

    /// Whether the validation images score like images the model was trained on: the validation
    /// accuracy is within two standard errors of `floatFitAccuracy` (or above it). Then a drop
    /// measured on them over-states the drop on unseen images, and the choice is conservative.
    public var validationLooksTrainedOn: Bool {
        guard let fit = floatFitAccuracy else { return false }
        return DropImages.looksTrainedOn(validationAccuracy: floatValidationAccuracy, fitAccuracy: fit, count: validation.count)
    }


    public struct TestAccuracy: Codable, Sendable {
        public var float: Double
        public var chosen: Double
    }
}

/// One point of a rate–accuracy sweep (`RateControlRequest.sweepLevels`).
public struct SweepPoint: Codable, Sendable {
    public var kind: String
    public var level: Int
    public var setting: String
    public var output: String
    public var bytes: Int
    public var validationAccuracy: Double?
    public var validationDropPoints: Double
    public var testAccuracy: Double
    /// Float test accuracy minus this one, in percentage points.
    public var testDropPoints: Double
}

/// Fine-tuning inside `compress`: the epoch written and the size change.
public struct FinetuneReport: Codable, Sendable {
    public var epochs: Int
    public var chosenEpoch: Int
    public var bytesBefore: Int
    public var bytesAfter: Int
}

/// Progress of `CompressionPlan.run`, in order, as each step finishes (the report holds the same).
public enum CompressionEvent: Sendable {
    case deadUnits(DeadUnitsOutcome)
    /// A sweep starts: the float model's validation and test accuracies (fractions).
    case sweepStarted(floatValidation: Double, floatTest: Double)
    case sweepPoint(SweepPoint)
    case rateControlChose(RateControlReport)
    case finetuneStarted(epochs: Int, split: DataSplit)
    case finetuneEpoch(FinetuneEpoch)
    case finetuned(FinetuneReport)
    /// One evaluation of the task-metric search, with the evaluation budget.
    case evaluation(ErrorAllocation.Evaluation, budget: Int)
}
