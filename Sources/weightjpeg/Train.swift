import ArgumentParser

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train the founding MLP on MNIST.")
    func run() throws {}
}
