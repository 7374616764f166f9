import ArgumentParser

@main
struct WeightJPEGCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weightjpeg",
        abstract: "Compress neural-network weights with JPEG, and run them.",
        subcommands: [Reproduce.self, Train.self, Eval.self, Compress.self, Decompress.self, Inspect.self, Extract.self, Infer.self, Bench.self, Finetune.self, Compare.self]
    )
}
