import ArgumentParser
import Foundation
import WeightJPEG

struct Decompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a .wjpg file to safetensors (original names, order, shapes, dtypes and metadata).",
        discussion: """
            Exit status: 0 every tensor restored; 1 error, nothing written; 3 (with --salvage) partial \
            output written: the undamaged tensors are in the output, the damaged ones are listed on \
            stderr. A salvage that recovers no tensor writes nothing (exit 1).

            Examples:
              weightjpeg decompress model.wjpg -o model.safetensors
              weightjpeg decompress --salvage damaged.wjpg -o partial.safetensors
              ssh host cat model.wjpg | weightjpeg decompress - -o model.safetensors
              weightjpeg decompress model.wjpg -o - --quiet | python3 load.py
            """)

    /// Exit status of a salvage that wrote some but not all tensors.
    static let partialOutputStatus: Int32 = 3

    @Argument(help: ArgumentHelp("The .wjpg file (- reads standard input).", valueName: "model.wjpg"))
    var input: String
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the .safetensors file (- writes standard output).", valueName: "file"))
    var output: String
    @Flag(help: "Write every undamaged tensor even if others are damaged; list the damaged ones on stderr and exit 3.")
    var salvage = false
    @OptionGroup(title: "Pipeline") var pipeline: PipelineOptions
    @OptionGroup(title: "Output") var report: ReportOptions

    func run() throws {
        let status = report.status(forOutput: output)
        var plan = DecompressionPlan(input: input, output: output)
        plan.pipeline = pipeline.options
        if report.quiet && pipeline.progress == nil { plan.pipeline.progress = false }
        plan.salvage = salvage
        let result = try plan.run()
        if report.json { try status.json(result) }
        if salvage {
            status.line("wrote \(output): \(result.tensors) of \(result.tensorsInFile) tensors")
        } else {
            status.line("wrote \(output): \(result.tensors) tensors")
            ChildProcess.reportPeakIfRequested()
        }
        guard result.isComplete else {
            // The listing is the reason for exit status 3: printed even with --quiet.
            for line in Self.damageListing(result.damaged) { printError(line) }
            throw ExitCode(Self.partialOutputStatus)
        }
    }

    /// What `--salvage` prints on stderr about the tensors it could not restore.
    static func damageListing(_ damaged: [DecompressionReport.DamagedTensor]) -> [String] {
        ["\(damaged.count) damaged tensor\(damaged.count == 1 ? "" : "s") not written:"]
            + damaged.map { "  \($0.name): \($0.reason)" }
    }
}
