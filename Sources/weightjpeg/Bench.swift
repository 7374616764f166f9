import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Release-mode benchmarks.")
    func run() throws {}
}
