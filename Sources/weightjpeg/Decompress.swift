import ArgumentParser
import Foundation
import WeightJPEG

struct Decompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a .wjpg file to safetensors (original names, order, shapes, dtypes and metadata).")

    @Argument(help: ArgumentHelp("The .wjpg file.", valueName: "model.wjpg"))
    var input: String
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the .safetensors file.", valueName: "file"))
    var output: String
    @OptionGroup var pipeline: PipelineOptions

    func run() throws {
        let summary = try ModelPipeline.decompress(input: input, output: output, options: pipeline.options)
        print("wrote \(output): \(summary.tensors) tensors")
        ChildProcess.reportPeakIfRequested()
    }
}
