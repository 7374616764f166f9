import ArgumentParser
import WeightJPEG

@main
struct WeightJPEGCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weightjpeg",
        abstract: "Compress neural-network weights with JPEG, and run them.",
        discussion: """
        Examples:
          weightjpeg compress model.safetensors -o model.wjpg
          weightjpeg inspect model.wjpg --original model.safetensors
          weightjpeg decompress model.wjpg -o restored.safetensors
          weightjpeg eval model.wjpg --data data/mnist

        Shell completions: weightjpeg --generate-completion-script bash|zsh|fish
        """,
        version: WeightJPEGVersion.current,
        subcommands: [Reproduce.self, Train.self, Eval.self, Compress.self, Decompress.self, Inspect.self, Extract.self, Report.self, Infer.self, Bench.self, Finetune.self, Compare.self]
    )

    /// Stops OpenBLAS's spinning start-up threads first (`BLAS.stopIdleThreads`), then runs the command.
    static func main() {
        BLAS.stopIdleThreads()
        main(nil)
    }
}
