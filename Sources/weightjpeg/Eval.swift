import ArgumentParser

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a model on the test set.")
    func run() throws {}
}
