import ArgumentParser
import Foundation
import WeightJPEG

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a safetensors model into a .wjpg file whose payloads are standard JPEG.",
        discussion: """
        Default policy: large 2-D tensors become JPEG images (784-column layers: each row a 28x28 \
        image); 1-D and tiny tensors float16; other 2-D tensors int8 per row; non-float tensors stay \
        exact. These defaults suit image-like MNIST layers; for other models use --max-rel-error.

        Error-targeted mode (--max-rel-error E, any model and dtype): each float tensor gets the \
        cheapest candidate (JPEG with IJG, flat or spectrum tables; rANS-coded uniform quantizer; \
        fixed-length per-row codes; float16; exact) whose relative RMS error, measured by decoding, \
        is at most E. `inspect --original` shows the per-tensor errors.

        Dead units: for a Linear-ReLU MLP (torch.nn.Sequential names 0.weight, 0.bias, 2.weight) \
        with its training set in --data, hidden units that never activate on any training image are \
        removed (--keep-dead-units keeps them).

        Rate control (MLPs with --data): --target-bytes or --max-drop chooses the first layer's \
        quantization table by binary search over levels 1-100, measured on the validation split \
        (training images 50,000-59,999, never the test set).

        Examples:
          weightjpeg compress model.safetensors -o model.wjpg
          weightjpeg compress m.safetensors -o m.wjpg --quality 30 --exact '*.bias'
          weightjpeg compress llm.safetensors -o llm.wjpg --max-rel-error 0.01
          weightjpeg compress mlp.safetensors -o mlp.wjpg --max-drop 0.5
          weightjpeg compress m.safetensors -o - | ssh host 'cat > m.wjpg'
        """)

    @Argument(help: ArgumentHelp("The model (.safetensors; - reads standard input).", valueName: "model"))
    var input: String
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the .wjpg file (- writes standard output).", valueName: "file"))
    var output: String
    @OptionGroup(title: "JPEG coding") var coding: JPEGCodingOptions
    @OptionGroup(title: "Error-targeted mode") var errorTarget: ErrorTargetOptions
    @OptionGroup(title: "Rate control") var rate: RateControlOptions
    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @Flag(help: "Keep hidden units that never activate on the training set.")
    var keepDeadUnits = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Then fine-tune N epochs as the finetune command does (default rows mosaic layout only).", valueName: "n"))
    var finetune: Int?
    @OptionGroup(title: "Pipeline") var pipeline: PipelineOptions
    @OptionGroup(title: "Output") var report: ReportOptions

    func validate() throws {
        if errorTarget.isRequested && rate.isRequested { throw ValidationError("--max-rel-error cannot be combined with --target-bytes, --max-drop or --sweep-tables") }
        if let n = finetune, n < 0 { throw ValidationError("--finetune must be 0 or more epochs, got \(n)") }
    }

    /// The plan these options describe.
    func plan() throws -> CompressionPlan {
        var plan = CompressionPlan(input: input, output: output)
        try coding.apply(to: &plan.policy)
        try errorTarget.apply(to: &plan.policy)
        plan.pipeline = pipeline.options
        if report.quiet && pipeline.progress == nil { plan.pipeline.progress = false }
        plan.removeDeadUnits = !keepDeadUnits
        plan.dataDirectory = dataOptions.data
        plan.finetuneEpochs = finetune
        plan.rateControl = try rate.request()
        return plan
    }

    func run() throws {
        let status = report.status(forOutput: output)
        let result: CompressionReport
        do {
            result = try plan().run(events: CompressOutput(status: status).print)
        } catch let e as CompressionPlanError {
            throw ValidationError(CompressOutput.message(e, dataDirectory: dataOptions.data))
        }
        if report.json { try status.json(result) }
        let source = input == "-" ? "standard input" : input
        status.line("wrote \(output): \(grouped(result.outputBytes)) bytes, \(fixed(Double(result.inputBytes) / Double(result.outputBytes), 1))× smaller than \(source) (\(grouped(result.inputBytes)) bytes)")
        ChildProcess.reportPeakIfRequested()
    }
}
