import ArgumentParser
import Foundation
import WeightJPEG

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Test accuracy of a model on the 10,000 test images.",
        discussion: """
        The model's outputs must match the data's 10 classes.

        Examples:
          weightjpeg eval model.wjpg
          weightjpeg eval model.wjpg --engine dct --kernel reduced --json
          weightjpeg eval fashion.safetensors --data /usr/share/datasets/fashion-mnist
        """)

    @Argument(help: ArgumentHelp("The model (.safetensors or .wjpg).", valueName: "model"))
    var model: String
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var threadOptions: ThreadOptions
    @Option(help: "dense: decode every weight to float32; dct: run the first layer on the JPEG's DCT coefficients (.wjpg only).")
    var engine: Engine = .dense
    @Option(help: "With --engine dct, the first-layer kernel: compact (default; int8 coefficients, least memory, fastest for one sample), reduced (float32, K columns, fastest in large batches) or sparse.")
    var kernel: DCTLinear.Kernel?
    @Flag(help: "Print one JSON object: accuracy (fraction), samples, correct, engine, residentWeightBytes.")
    var json = false

    func validate() throws {
        if let kernel, engine == .dense {
            throw ValidationError("--kernel \(kernel.rawValue) applies to --engine dct only (the dense engine has no first-layer kernel)")
        }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try loadClassifier(path: model, engine: engine, kernel: kernel ?? .compact)
        let test = try dataOptions.load(.test)
        guard test.rows * test.columns == loaded.inputSize else {
            throw ModelFileError(path: model, reason: "the model takes \(loaded.inputSize) inputs, \(dataOptions.data) has \(test.rows)×\(test.columns) images")
        }
        do {
            try Evaluation.checkClasses(outputs: loaded.outputSize, labels: test.labels, classes: Dataset.classCount)
        } catch {
            throw ModelFileError(path: model, reason: "\(error) in \(dataOptions.data)")
        }
        let result = try loaded.evaluate(inputs: test.normalized(), labels: test.labels)
        if json {
            try JSONOutput.print(EvalReport(accuracy: result.accuracy, samples: result.samples, correct: result.correct,
                                            engine: engine.rawValue, residentWeightBytes: loaded.residentWeightBytes))
        } else {
            print("\(model): test accuracy \(fixed(result.accuracy * 100, 2))% (\(result.correct)/\(result.samples)), engine \(engine.rawValue), \(grouped(loaded.residentWeightBytes)) weight bytes resident")
        }
    }
}

/// `eval --json`: the test accuracy of one model under one engine.
struct EvalReport: Codable {
    /// Fraction of test images classified correctly.
    var accuracy: Double
    var samples: Int
    var correct: Int
    /// `dense` or `dct`.
    var engine: String
    /// Bytes of the weights held in memory by the engine.
    var residentWeightBytes: Int
}
