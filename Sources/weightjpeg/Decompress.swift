import ArgumentParser
import Foundation
import WeightJPEG

struct Decompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a .wjpg file to safetensors (original names, order, shapes, dtypes and metadata).",
        discussion: """
            Exit status: 0 every tensor restored; 1 error, nothing written; 3 (with --salvage) partial \
            output written: the undamaged tensors are in the output, the damaged ones are listed on stderr.
            """)

    /// Exit status of a salvage that wrote some but not all tensors.
    static let partialOutputStatus: Int32 = 3

    @Argument(help: ArgumentHelp("The .wjpg file.", valueName: "model.wjpg"))
    var input: String
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the .safetensors file.", valueName: "file"))
    var output: String
    @OptionGroup var pipeline: PipelineOptions
    @Flag(help: "Write every undamaged tensor even if others are damaged; list the damaged ones on stderr and exit 3.")
    var salvage = false

    func run() throws {
        guard salvage else {
            let summary = try ModelPipeline.decompress(input: input, output: output, options: pipeline.options)
            print("wrote \(output): \(summary.tensors) tensors")
            ChildProcess.reportPeakIfRequested()
            return
        }
        let container = try Container.read(path: input, salvage: true)
        let result = try ModelCodec.salvage(container, path: input)
        try result.file.write(to: output)
        print("wrote \(output): \(result.file.tensors.count) of \(container.entries.count) tensors")
        guard result.isComplete else {
            for line in Self.damageListing(result.damaged) { printError(line) }
            throw ExitCode(Self.partialOutputStatus)
        }
    }

    /// What `--salvage` prints on stderr about the tensors it could not restore.
    static func damageListing(_ damaged: [ContainerError]) -> [String] {
        ["\(damaged.count) damaged tensor\(damaged.count == 1 ? "" : "s") not written:"]
            + damaged.map { "  \($0.tensor ?? "?"): \($0)" }
    }
}
