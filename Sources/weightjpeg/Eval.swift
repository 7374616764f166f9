import ArgumentParser
import Foundation
import WeightJPEG

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Test accuracy of a model on the 10,000 test images.")

    @Argument(help: ArgumentHelp("The model (.safetensors).", valueName: "model"))
    var model: String
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var threadOptions: ThreadOptions
    @Flag(help: "Print one JSON object: accuracy (fraction), samples, correct.")
    var json = false

    func run() throws {
        threadOptions.apply()
        let mlp = try ModelFile.load(model)
        let test = try dataOptions.load(.test)
        guard test.rows * test.columns == mlp.inputSize else {
            throw ModelFileError(path: model, reason: "the model takes \(mlp.inputSize) inputs, \(dataOptions.data) has \(test.rows)×\(test.columns) images")
        }
        let result = try mlp.evaluate(inputs: test.normalized(), labels: test.labels)
        if json {
            print(#"{"accuracy": \#(result.accuracy), "samples": \#(result.samples), "correct": \#(result.correct)}"#)
        } else {
            print("\(model): test accuracy \(fixed(result.accuracy * 100, 2))% (\(result.correct)/\(result.samples))")
        }
    }
}
