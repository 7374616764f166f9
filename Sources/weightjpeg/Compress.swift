import ArgumentParser
import Foundation
import WeightJPEG

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a safetensors model into a .wjpg file whose payloads are standard JPEG.",
        discussion: """
        Default (no quality, no task): every float tensor of any dtype gets the cheapest coding whose \
        relative RMS error, measured by decoding, is at most 0.002 (1-D: 0.0002), about MPEG NNC's \
        usual step; --max-rel-error E sets another bound. Non-float tensors stay exact. JPEG's large \
        ratios need the task: --quality Q, --max-drop with --eval-cmd (your metric) or --data DIR \
        (MNIST-style MLPs: accuracy on training images 50,000-59,999), or --data with --target-bytes. \
        The last line gives the ratio and the worst tensor's error.

        Examples:
          weightjpeg compress model.safetensors -o model.wjpg
          weightjpeg compress mlp.safetensors -o mlp.wjpg --quality 20
          weightjpeg compress m.safetensors -o m.wjpg --eval-cmd 'python3 score.py {}' --max-drop 0.006
          weightjpeg compress mlp.safetensors -o mlp.wjpg --data data/mnist --max-drop 0.3 --finetune 3
          weightjpeg compress m.safetensors -o - | ssh host 'cat > m.wjpg'
        """)

    @Argument(help: ArgumentHelp("The model (.safetensors; - reads standard input).", valueName: "model"))
    var input: String
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the .wjpg file (- writes standard output).", valueName: "file"))
    var output: String
    @OptionGroup(title: "Error-targeted mode (the default)") var errorTarget: ErrorTargetOptions
    @OptionGroup(title: "JPEG coding") var coding: JPEGCodingOptions
    @OptionGroup(title: "Your task's metric") var task: TaskMetricOptions
    @OptionGroup(title: "Task data (MNIST-style MLPs)") var dataOptions: CompressDataOptions
    @OptionGroup(title: "Accuracy bound and rate control (needs --data)") var rate: RateControlOptions
    @Option(parsing: .unconditional, help: ArgumentHelp("Fine-tune N epochs on --data (with --max-drop: each JPEG candidate, before it is measured).", valueName: "n"))
    var finetune: Int?
    @OptionGroup(title: "Pipeline") var pipeline: PipelineOptions
    @OptionGroup(title: "Output") var report: ReportOptions

    func validate() throws {
        if errorTarget.isRequested && rate.isRequested { throw ValidationError("--max-rel-error cannot be combined with --target-bytes, --max-drop or --sweep-tables") }
        if errorTarget.maxRelError != nil && coding.quality != nil {
            throw ValidationError("--quality and --max-rel-error are two modes: give one (--quality-for GLOB=Q JPEG-codes chosen tensors in error-targeted mode)")
        }
        if let n = finetune, n < 0 { throw ValidationError("--finetune must be 0 or more epochs, got \(n)") }
        if let metric = searchMetric {
            let option = task.evalCommand != nil ? "--eval-cmd" : task.isRequested ? "--eval-builtin" : "--max-drop"
            guard rate.maxDrop != nil else { throw ValidationError("\(option) needs --max-drop P, the largest drop of its metric to allow (in its units)") }
            if rate.targetBytes != nil || rate.sweepTables != nil || coding.quality != nil || errorTarget.isRequested {
                throw ValidationError("\(option) chooses every tensor's error bound itself; it cannot be combined with --target-bytes, --sweep-tables, --quality or --max-rel-error")
            }
            if case .command = metric, finetune != nil || dataOptions.removeDeadUnits {
                throw ValidationError("--finetune and --remove-dead-units work on an MNIST-style MLP and --data's images: give them with --eval-builtin or --data, not --eval-cmd")
            }
            if let given = rate.tableSearchOnlyOptions.first {
                throw ValidationError("\(given) belongs to the table rate control of --target-bytes and --sweep-tables; with \(option) the task search tries every table kind itself")
            }
        } else if task.report != nil || task.budget != nil {
            throw ValidationError("--report and --eval-budget belong to a task search: give --max-drop (with --data, --eval-builtin or --eval-cmd)")
        }
    }

    /// The metric of the task search these options ask for: --eval-cmd's or --eval-builtin's, or,
    /// for --max-drop alone (with --data), built-in accuracy; nil when no task search runs
    /// (--target-bytes and --sweep-tables run the table rate control).
    var searchMetric: TaskSearchRequest.Metric? {
        if let metric = task.metric { return metric }
        return rate.maxDrop != nil && !rate.runsTableSearch ? .classifier(.accuracy) : nil
    }

    /// JPEG mode: the rules at a quality (explicit, or 20 under rate control or fine-tuning); else
    /// every float tensor is error-bounded.
    var jpegMode: Bool { searchMetric == nil && (coding.quality != nil || rate.isRequested || finetune != nil) }

    /// The plan these options describe.
    func plan() throws -> CompressionPlan {
        var plan = CompressionPlan(input: input, output: output)
        plan.policy = CompressionPolicy()
        try coding.apply(to: &plan.policy)
        try errorTarget.apply(to: &plan.policy, jpegMode: jpegMode)
        plan.pipeline = pipeline.options
        if report.quiet && pipeline.progress == nil { plan.pipeline.progress = false }
        plan.removeDeadUnits = dataOptions.removeDeadUnits
        plan.dataDirectory = dataOptions.data
        plan.finetuneEpochs = finetune
        if let metric = searchMetric, let maxDrop = rate.maxDrop {
            var search = TaskSearchRequest(metric: metric, maxDrop: maxDrop)
            if let budget = task.budget { search.options.budget = budget }
            search.options.marginSigmas = rate.margin
            search.biasCorrection = rate.biasCorrection
            search.reportTest = rate.reportTest
            plan.taskSearch = search
        } else {
            plan.rateControl = try rate.request()
        }
        return plan
    }

    func run() throws {
        let status = report.status(forOutput: output)
        let result: CompressionReport
        do {
            result = try plan().run(events: CompressOutput(status: status).print)
        } catch let e as CompressionPlanError {
            throw CompressOutput.RequestError(description: CompressOutput.message(e))
        } catch let e as ErrorAllocation.Failure {
            throw CompressOutput.RequestError(description: "task-metric search: \(e.description)")
        } catch let e as TaskEvaluationError {
            throw CompressOutput.RequestError(description: e.description)
        }
        if let path = task.report, let allocation = result.allocation {
            let target = try OutputTarget.resolve(path, inputs: [input, output])
            try target.write(JSONOutput.encoder().encode(allocation))
        }
        if report.json { try status.json(result) }
        if let allocation = result.allocation { CompressOutput(status: status).searchSummary(allocation, images: result.searchImages, test: result.searchTest) }
        let source = input == "-" ? "standard input" : input
        let worst = result.worstTensor.map { "; largest relative error \(String(format: "%.3g", $0.error!.relative!)) (\($0.name))" } ?? ""
        status.line("wrote \(output): \(grouped(result.outputBytes)) bytes, \(fixed(result.ratio, 1))× smaller than \(source) (\(grouped(result.inputBytes)) bytes)\(worst)")
        if let names = result.rateControl?.correctedBiases ?? result.allocation?.correctedBiases, !names.isEmpty {
            status.note("note: \(names.joined(separator: ", ")) \(names.count == 1 ? "is" : "are") stored corrected for the coded weights of \(names.count == 1 ? "its layer" : "their layers") (the mean change they make to each active unit's input), not within an error bound; --no-bias-correction keeps the biases as they are")
        }
        if !jpegMode && errorTarget.maxRelError == nil && searchMetric == nil {
            status.note("note: the default bound, relative error \(CompressionPolicy.defaultMaxRelativeError) on every float tensor, is for a model whose task is unknown; --quality Q, or --data DIR with --max-drop P, for JPEG's larger ratios")
        }
        ChildProcess.reportPeakIfRequested()
    }
}
