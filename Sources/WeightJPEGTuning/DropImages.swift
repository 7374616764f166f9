import WeightJPEGModel

/// What a search's accuracy drops are measured on, and with which margins: decided once from
/// whether the validation images look trained on (`looksTrainedOn`). The MNIST rate control
/// (`RateControlRequest`, its `shiftTrainedOnValidation` and `shiftedCopiesWithUnseenValidation`)
/// and the built-in accuracy of the task search (`ClassifierEvaluator`) measure the same way.
public enum DropImages: String, Equatable, Sendable, Codable {
    /// One-sided 95 % normal quantile: the margin of candidates fine-tuned on the images whose
    /// shifted copies measure them.
    public static let finetunedMarginSigmas = 1.645
    /// The margin on unseen validation images (about the one-sided 97.7 % quantile). The promise
    /// is judged on a test set, which is a sample too, from other writers: on the ten
    /// `train --holdout 10000` models of docs/results/rate-promise.txt, with the error-bounded
    /// output layers among the candidates, 1.645 left two test drops above a 0.3 pp budget
    /// (0.38, 0.35 pp) and 2.0 none, at about the same mean size (18.7 and 18.5 KB, when only
    /// each output family's coarsest setting was searched; the search is not monotone in the
    /// margin, as the output layer's share of the budget moves with it).
    public static let unseenMarginSigmas = 2.0

    /// Whether a validation accuracy is within two standard errors (two independent proportions of
    /// `count` images each) of the accuracy on trained-on images, or above it.
    public static func looksTrainedOn(validationAccuracy: Double, fitAccuracy: Double, count: Int) -> Bool {
        guard count > 0 else { return false }
        let se = ((fitAccuracy * (1 - fitAccuracy) + validationAccuracy * (1 - validationAccuracy)) / Double(count)).squareRoot()
        return validationAccuracy >= fitAccuracy - 2 * se
    }

    /// The float model's `accuracy` on `validation` and on as many training images from 0 (which
    /// every model was trained on), and whether the first look trained on (`looksTrainedOn`): what
    /// decides the images.
    public static func trainedOnFacts<E: Error>(trainingSet: Dataset, validation: Dataset, accuracy: (Dataset) throws(E) -> Double)
        throws(E) -> (validationAccuracy: Double, fitAccuracy: Double, trainedOn: Bool) {
        let validationAccuracy = try accuracy(validation)
        let fitAccuracy = try accuracy(trainingSet.subset(0..<validation.count))
        return (validationAccuracy, fitAccuracy,
                looksTrainedOn(validationAccuracy: validationAccuracy, fitAccuracy: fitAccuracy, count: validation.count))
    }

    /// The validation images as they are (unseen, or no goal).
    case images
    /// The validation images, which the model was trained on (`shiftTrainedOnValidation` off).
    case memorizedImages
    /// The trained-on validation images' shifted copies, instead of the images.
    case shiftedCopies
    /// The unseen validation images together with their shifted copies.
    case imagesWithCopies

    public init(trainedOn: Bool?, shiftTrainedOn: Bool, copiesWithUnseen: Bool) {
        switch trainedOn {
        case nil: self = .images
        case true?: self = shiftTrainedOn ? .shiftedCopies : .memorizedImages
        case false?: self = copiesWithUnseen ? .imagesWithCopies : .images
        }
    }

    /// The images every candidate is measured on.
    public func images(_ validation: Dataset) -> Dataset {
        switch self {
        case .images, .memorizedImages: validation
        case .shiftedCopies: validation.shiftedCopies()
        case .imagesWithCopies: validation.withShiftedCopies()
        }
    }

    /// Consecutive images that are one sample for the standard error.
    public var clusterSize: Int {
        switch self {
        case .images, .memorizedImages: 1
        case .shiftedCopies: Dataset.shiftOffsets.count
        case .imagesWithCopies: Dataset.shiftOffsets.count + 1
        }
    }

    /// The margins (`marginSigmas`) of plain and of fine-tuned candidates, the user's
    /// `requested` one applying to both. Trained-on images measured as they are over-state
    /// the drop on unseen data by more than sampling noise, so they never get a margin.
    public func margins(requested: Double?) -> (plain: Double, finetuned: Double) {
        if self == .memorizedImages { return (0, 0) }
        if let requested { return (requested, requested) }
        if self == .shiftedCopies { return (0, Self.finetunedMarginSigmas) }
        return (Self.unseenMarginSigmas, Self.unseenMarginSigmas)
    }

    /// What the search's reason says after "validation drop".
    public var words: String {
        switch self {
        case .images, .memorizedImages: ""
        case .shiftedCopies: " (on their shifted copies)"
        case .imagesWithCopies: " (on them and their shifted copies)"
        }
    }
}
