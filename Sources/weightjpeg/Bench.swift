import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release-mode benchmarks (build with -c release).",
        subcommands: [BenchTrain.self, BenchCodec.self, BenchInfer.self, BenchModel.self]
    )
}
