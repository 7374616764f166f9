import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel
import WeightJPEGTuning

/// What `compress` does to a model, as a value: the coding policy for every tensor, then the
/// data-dependent steps the caller asked for, each reading the data named in `dataDirectory` (an
/// MNIST-style IDX folder). `run()` executes it and returns a `CompressionReport`, which holds every
/// tensor's error measured by decoding. Nothing depends on the working directory: without
/// `dataDirectory` no step reads data, and a step that needs it is an error.
///
/// Without dead-unit removal, rate control or fine-tuning the file is coded by the streamed,
/// parallel pipeline (`ModelPipeline`); those steps run in memory (small MLPs).
public struct CompressionPlan: Sendable {
    /// Path of the safetensors model to compress.
    public var input: String
    /// Where the `.wjpg` file is written (atomically).
    public var output: String
    /// Coding rules per tensor. Default `CompressionPolicy.transparent`: every float tensor within
    /// relative error `CompressionPolicy.defaultMaxRelativeError`; set a quality (`CompressionPolicy()`)
    /// or a task-based step for JPEG's large ratios.
    public var policy = CompressionPolicy.transparent
    /// Jobs and progress of the streamed pipeline.
    public var pipeline = ModelPipeline.Options()
    /// Remove the hidden units of a Linear–ReLU MLP that never activate on any image of the training
    /// set in `dataDirectory` (`DeadUnitPruning`). The file records them (`ZeroSlices`) and
    /// decompression puts them back as zeros, so every tensor keeps its shape.
    public var removeDeadUnits = false
    /// Choose the JPEG tables on the validation split (MLPs with the training set only).
    public var rateControl: RateControlRequest?
    /// Then fine-tune this many epochs (`FinetuneRun`: first layer as its DCT coefficients).
    public var finetuneEpochs: Int?
    /// Allocate error where the task metric of `evaluator` tolerates it (`ErrorAllocation`): any
    /// model, no data folder needed (the evaluator reads what it needs).
    public var taskSearch: TaskSearchRequest?
    /// Folder of the training and test IDX files the data-dependent steps read; nil: no data.
    public var dataDirectory: String?

    /// A plan with the transparent default policy and no data-dependent step.
    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }

    /// Whether the model must be held in memory (a step needs the whole model).
    public var needsMemory: Bool { removeDeadUnits || rateControl != nil || finetuneEpochs != nil || taskSearch != nil }

    /// The data-dependent steps asked for, in the order they run.
    public var dataSteps: [CompressionPlanError.Step] {
        (removeDeadUnits ? [.deadUnits] : []) + (rateControl != nil || taskSearch?.needsData == true ? [.rateControl] : [])
            + (finetuneEpochs != nil ? [.finetune] : [])
    }

    /// Every file `run` may read, and so may never write: the model and the named data folder's files.
    public var inputs: [String] {
        [input] + (dataDirectory.map(OutputTarget.files(in:)) ?? [])
    }

    /// Runs the plan and writes `output`. `events` sees each step's outcome as it finishes.
    ///
    /// Before anything is read, `output` is resolved against every input (`OutputTarget`): the same
    /// file as the model or a data file, through any link, is refused. `input` `-` reads standard
    /// input, `output` `-` writes standard output.
    ///
    /// - Throws: `OutputError` for a refused output; `CompressionPlanError` when a requested step
    ///   has no data named, or does not fit the model or the data (or a pattern matches no tensor);
    ///   `ModelFileError` (naming `input`) when a tensor cannot be coded; reading, data-loading and
    ///   writing errors as they come.
    public func run(events: (CompressionEvent) -> Void = { _ in }) throws -> CompressionReport {
        if let step = dataSteps.first, dataDirectory == nil { throw CompressionPlanError.dataNotNamed(step: step) }
        let target = try OutputTarget.resolve(output, inputs: inputs)
        let source = try InputFile(input)
        return try source.naming { try run(reading: source.path, into: target, events: events) }
    }

    /// `run(events:)` with the model read from `path` (`input` itself, or standard input's stand-in).
    private func run(reading path: String, into target: OutputTarget, events: (CompressionEvent) -> Void) throws -> CompressionReport {
        var report = CompressionReport(input: input, output: output, inputBytes: 0, outputBytes: 0, streamed: false)
        if let taskSearch {
            return try searched(taskSearch, reading: path, into: target, events: events)
        }
        guard needsMemory, let dataDirectory else {
            try checkPatterns(SafetensorsReader(path: path).asFile())
            let summary = try ModelPipeline.compress(input: path, output: output, policy: policy, options: pipeline)
            report.streamed = true
            report.inputBytes = summary.inputBytes
            report.outputBytes = summary.outputBytes
            report.tensors = summary.outcomes
            return report
        }
        let original = try SafetensorsFile.read(path: path)
        try checkPatterns(original)
        var source = original
        var train: Dataset? = nil
        if removeDeadUnits || finetuneEpochs != nil {
            let step: CompressionPlanError.Step = removeDeadUnits ? .deadUnits : .finetune
            do { train = try Dataset.load(directory: dataDirectory, split: .train) } catch {
                throw CompressionPlanError.missingTrainingSet(step: step, reason: "\(error)")
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
        var zeroSlices: [String: [ZeroSlices]] = [:]
        if removeDeadUnits, let train {
            let outcome: DeadUnitsOutcome
            (source, outcome, zeroSlices) = try deadUnitsRemoved(source, train: train, dataDirectory: dataDirectory)
            report.deadUnits = outcome
            events(.deadUnits(outcome))
        }
        // With an accuracy budget, fine-tuning runs inside the search (each candidate is measured
        // after it), so that the budget buys bytes; otherwise it follows the coding.
        var request = rateControl
        if case .maxDrop = request?.goal, let finetuneEpochs { request?.finetuneEpochs = finetuneEpochs }
        var container = try coded {
            if let train, let request {
                let (container, rateReport) = try request.run(source, input: input, policy: policy, train: train,
                                                              dataDirectory: dataDirectory, zeroSlices: zeroSlices, events: events)
                report.rateControl = rateReport
                return container
            }
            return try ModelCodec.compress(source, policy: policy)
        }
        if let epochs = finetuneEpochs, let train, request?.finetuneEpochs == nil {
            let finetuned: FinetuneReport
            (container, finetuned) = try finetune(container, epochs: epochs, train: train, events: events)
            report.finetune = finetuned
        }
        container.record(zeroSlices)
        report.tensors = try measured(container, against: original)
        try write(container, to: target, inputBytes: FileInput.size(of: path), into: &report)
        return report
    }

    /// Every entry of `container` decoded (zero slices restored) and compared with the input tensor
    /// of the same name.
    func measured(_ container: Container, against original: SafetensorsFile) throws -> [TensorOutcome] {
        let codec = try JPEGTensorCodec()
        let byName = Dictionary(original.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return try container.entries.map { entry in
            try ModelCodec.outcome(of: entry, original: byName[entry.name]!, codec: codec, path: output)
        }
    }

    /// Throws `CompressionPlanError.unmatchedPattern` when a name pattern of the policy matches no
    /// tensor of `file`.
    func checkPatterns(_ file: SafetensorsFile) throws {
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
    func write(_ container: Container, to target: OutputTarget, inputBytes: Int?, into report: inout CompressionReport) throws {
        let bytes = container.serialized()
        try target.write(Data(bytes))
        report.outputBytes = bytes.count
        report.inputBytes = inputBytes ?? 0
    }

    /// `file` without the hidden units that never activate on `train`, with their zero slices by
    /// tensor name; a model the step does not fit is an error (the caller asked for the step).
    func deadUnitsRemoved(_ file: SafetensorsFile, train: Dataset, dataDirectory: String)
        throws(CompressionPlanError) -> (SafetensorsFile, DeadUnitsOutcome, [String: [ZeroSlices]]) {
        let model: MLP
        do { model = try MLP.sequential(in: file) } catch { throw .deadUnits(.notAnMLP(error.description)) }
        guard model.layers.count >= 2 else { throw .deadUnits(.noHiddenLayer) }
        guard train.pixelsPerImage == model.inputSize else {
            throw .deadUnits(.inputSizeMismatch(modelInputs: model.inputSize, dataDirectory: dataDirectory,
                                                rows: train.rows, columns: train.columns))
        }
        do {
            let (pruned, reports) = try DeadUnitPruning.prune(file, trainingInputs: train.normalized())
            let removed = reports.reduce(0) { $0 + $1.removed.count }
            return (pruned, DeadUnitsOutcome(removed: removed, trainingImages: train.count), DeadUnitPruning.zeroSlices(reports))
        } catch {
            throw .deadUnits(.pruningFailed("\(error)"))
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
