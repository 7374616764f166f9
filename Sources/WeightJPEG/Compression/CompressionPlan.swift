import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel
import WeightJPEGTuning

/// What `compress` does to a model, as a value: the coding policy for every tensor, then the
/// data-dependent steps, each with its data named (`dataDirectory`, an MNIST-style IDX folder).
/// `run()` executes it and returns a `CompressionReport`.
///
/// Without rate control or fine-tuning the file is coded by the streamed, parallel pipeline
/// (`ModelPipeline`), unless dead-unit removal changes the model's shapes: then in memory. Rate
/// control and fine-tuning always run in memory (small MLPs).
public struct CompressionPlan: Sendable {
    /// Path of the safetensors model to compress.
    public var input: String
    /// Where the `.wjpg` file is written (atomically).
    public var output: String
    /// Coding rules per tensor (quality, packing, exact patterns, error bound).
    public var policy = CompressionPolicy()
    /// Jobs and progress of the streamed pipeline.
    public var pipeline = ModelPipeline.Options()
    /// Remove the hidden units of a Linear–ReLU MLP that never activate on any training image
    /// (`DeadUnitPruning`); skipped, with a reason in the report, for other models or without data.
    public var removeDeadUnits = true
    /// Choose the JPEG tables on the validation split (MLPs with the training set only).
    public var rateControl: RateControlRequest?
    /// Then fine-tune this many epochs (`FinetuneRun`: first layer as its DCT coefficients).
    public var finetuneEpochs: Int?
    /// Folder of the training and test IDX files the data-dependent steps read.
    public var dataDirectory = "data/mnist"

    /// A plan with the default policy that removes dead units when the data are there.
    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }

    /// Whether the model must be held in memory (a step needs the whole model).
    public var needsMemory: Bool { rateControl != nil || finetuneEpochs != nil }

    /// Every file `run` may read: the model and, when a data-dependent step may run, the data folder's files.
    public var inputs: [String] {
        [input] + (removeDeadUnits || needsMemory ? OutputTarget.files(in: dataDirectory) : [])
    }

    /// Runs the plan and writes `output`. `events` sees each step's outcome as it finishes.
    ///
    /// Before anything is read, `output` is resolved against every input (`OutputTarget`): the same
    /// file as the model or a data file, through any link, is refused. `input` `-` reads standard
    /// input, `output` `-` writes standard output.
    ///
    /// - Throws: `OutputError` for a refused output; `CompressionPlanError` when a requested step
    ///   does not fit the model or the data (or a pattern matches no tensor); `ModelFileError`
    ///   (naming `input`) when a tensor cannot be coded; reading, data-loading and writing errors as
    ///   they come.
    public func run(events: (CompressionEvent) -> Void = { _ in }) throws -> CompressionReport {
        let target = try OutputTarget.resolve(output, inputs: inputs)
        let source = try InputFile(input)
        return try source.naming { try run(reading: source.path, into: target, events: events) }
    }

    /// `run(events:)` with the model read from `path` (`input` itself, or standard input's stand-in).
    private func run(reading path: String, into target: OutputTarget, events: (CompressionEvent) -> Void) throws -> CompressionReport {
        var report = CompressionReport(input: input, output: output, inputBytes: 0, outputBytes: 0, streamed: false)
        if !needsMemory {
            let view = try SafetensorsReader(path: path).asFile()
            try checkPatterns(view)
            var pruned = view
            if removeDeadUnits {
                let outcome: DeadUnitsOutcome
                (pruned, outcome) = deadUnitsRemoved(view)
                report.deadUnits = outcome
                events(.deadUnits(outcome))
            }
            if pruned.tensors.map(\.shape) == view.tensors.map(\.shape) {
                let summary = try ModelPipeline.compress(input: path, output: output, policy: policy, options: pipeline)
                report.streamed = true
                report.inputBytes = summary.inputBytes
                report.outputBytes = summary.outputBytes
                return report
            }
            try write(coded { try ModelCodec.compress(pruned, policy: policy) }, to: target, inputBytes: FileInput.size(of: path), into: &report)
            return report
        }
        var source = try SafetensorsFile.read(path: path)
        try checkPatterns(source)
        var train: Dataset? = nil
        if finetuneEpochs != nil {
            do { train = try Dataset.load(directory: dataDirectory, split: .train) } catch {
                throw CompressionPlanError.missingTrainingSet(step: .finetune, reason: "\(error)")
            }
        }
        if rateControl != nil {
            do { _ = try MLP.sequential(in: source) } catch { throw CompressionPlanError.rateControlNeedsMLP(error.description) }
            do { train = try train ?? Dataset.load(directory: dataDirectory, split: .train) } catch {
                throw CompressionPlanError.missingTrainingSet(step: .rateControl, reason: "\(error)")
            }
            guard train!.count >= DataSplit.standardTrainingCount else {
                throw CompressionPlanError.trainingSetTooSmall(dataDirectory: dataDirectory, count: train!.count)
            }
        }
        if removeDeadUnits {
            let outcome: DeadUnitsOutcome
            (source, outcome) = deadUnitsRemoved(source, train: train)
            report.deadUnits = outcome
            events(.deadUnits(outcome))
        }
        var container = try coded {
            if let train, let rateControl {
                let (container, rateReport) = try rateControl.run(source, input: input, policy: policy, train: train,
                                                                  dataDirectory: dataDirectory, events: events)
                report.rateControl = rateReport
                return container
            }
            return try ModelCodec.compress(source, policy: policy)
        }
        if let epochs = finetuneEpochs, let train {
            let finetuned: FinetuneReport
            (container, finetuned) = try finetune(container, epochs: epochs, train: train, events: events)
            report.finetune = finetuned
        }
        try write(container, to: target, inputBytes: FileInput.size(of: path), into: &report)
        return report
    }

    /// Throws `CompressionPlanError.unmatchedPattern` when a name pattern of the policy matches no
    /// tensor of `file`.
    private func checkPatterns(_ file: SafetensorsFile) throws {
        if let unmatched = policy.firstUnmatchedPattern(in: file.tensors.map(\.name)) {
            throw CompressionPlanError.unmatchedPattern(unmatched)
        }
    }

    /// `make()`, with a coding failure reported as a `ModelFileError` naming the input.
    private func coded(_ make: () throws -> Container) throws -> Container {
        do { return try make() } catch let e as CodecError {
            throw ModelFileError(path: input, reason: e.description)
        }
    }

    /// Writes an in-memory container and records both sizes.
    private func write(_ container: Container, to target: OutputTarget, inputBytes: Int?, into report: inout CompressionReport) throws {
        let bytes = container.serialized()
        try target.write(Data(bytes))
        report.outputBytes = bytes.count
        report.inputBytes = inputBytes ?? 0
    }

    /// `file` without the hidden units that never activate on the training set (`loaded`, or the
    /// one in `dataDirectory`), or `file` itself with the reason when the step does not apply.
    func deadUnitsRemoved(_ file: SafetensorsFile, train loaded: Dataset? = nil) -> (SafetensorsFile, DeadUnitsOutcome) {
        let model: MLP
        do { model = try MLP.sequential(in: file) } catch { return (file, .skipped(.notAnMLP(error.description))) }
        guard model.layers.count >= 2 else { return (file, .skipped(.noHiddenLayer)) }
        let train: Dataset
        do { train = try loaded ?? Dataset.load(directory: dataDirectory, split: .train) } catch {
            return (file, .skipped(.noTrainingSet("\(error)")))
        }
        guard train.pixelsPerImage == model.inputSize else {
            return (file, .skipped(.inputSizeMismatch(modelInputs: model.inputSize, dataDirectory: dataDirectory,
                                                      rows: train.rows, columns: train.columns)))
        }
        do {
            let (pruned, reports) = try DeadUnitPruning.prune(file, trainingInputs: train.normalized())
            let removed = reports.reduce(0) { $0 + $1.removed.count }
            return (pruned, .removed(removed: removed, trainingImages: train.count))
        } catch {
            return (file, .skipped(.pruningFailed("\(error)")))
        }
    }

    /// `container` fine-tuned for `epochs` epochs by `FinetuneRun` on `DataSplit(count:)` of `train`.
    private func finetune(_ container: Container, epochs: Int, train: Dataset,
                          events: (CompressionEvent) -> Void) throws -> (Container, FinetuneReport) {
        var configuration = FinetuneConfiguration()
        configuration.epochs = epochs
        let before = container.serialized().count
        events(.finetuneStarted(epochs: epochs, split: DataSplit(count: train.count)))
        let run: FinetuneRun
        do {
            run = try FinetuneRun(container: container, path: output, configuration: configuration,
                                  trainInputs: train.normalized(), labels: train.labels) { events(.finetuneEpoch($0)) }
        } catch let e as FinetuneError {
            throw CompressionPlanError.finetune(e)
        }
        let report = FinetuneReport(epochs: epochs, chosenEpoch: run.chosenEpoch, bytesBefore: before,
                                    bytesAfter: run.container.serialized().count)
        events(.finetuned(report))
        return (run.container, report)
    }
}
