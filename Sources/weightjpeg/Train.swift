import ArgumentParser
import Foundation
import WeightJPEG

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an MLP on MNIST-style data and save it as safetensors.",
        discussion: """
        The default recipe: 784-512-10 with ReLU, PyTorch's initialization, Adam lr 1e-3, batch 64, \
        10 epochs, learning rate × 0.1 for the last 3 epochs.

        Examples:
          weightjpeg train -o mlp.safetensors
          weightjpeg train -o mlp.safetensors --hidden 300,100 --seed 1 --holdout 10000
        """)

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: ArgumentHelp("Hidden layer sizes, comma-separated.", valueName: "sizes"))
    var hidden: String = "512"
    @Option(parsing: .unconditional, help: "Passes over the training images.")
    var epochs: Int = 10
    @Option(parsing: .unconditional, help: "Samples per mini-batch.")
    var batch: Int = 64
    @Option(parsing: .unconditional, help: "Base learning rate.")
    var lr: Float = 1e-3
    @Option(help: "adam or sgd (with momentum).")
    var optimizer: OptimizerChoice = .adam
    @Option(parsing: .unconditional, help: "Momentum for sgd.")
    var momentum: Float = 0.9
    @Option(help: "drop (lr × 0.1 for the last --drop-epochs epochs) or constant.")
    var lrSchedule: ScheduleChoice = .drop
    @Option(parsing: .unconditional, help: "Epochs at the end that run at lr × 0.1 with --lr-schedule drop.")
    var dropEpochs: Int = 3
    @Option(parsing: .unconditional, help: ArgumentHelp("Train on all but the last N training images, so that they stay unseen: `--holdout 10000` keeps images 50,000-59,999, the validation split that `compress --max-drop/--target-bytes` and `finetune` choose on, truly held out.", valueName: "n"))
    var holdout: Int = 0
    @Option(help: "Seed of the initialisation and the shuffling.")
    var seed: UInt64 = 0
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the trained model (.safetensors; - writes standard output).", valueName: "file"))
    var output: String

    enum OptimizerChoice: String, ExpressibleByArgument { case adam, sgd }
    enum ScheduleChoice: String, ExpressibleByArgument { case drop, constant }

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
        guard batch >= 1 else { throw ValidationError("--batch must be positive, got \(batch)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be positive, got \(lr)") }
        guard dropEpochs >= 0 else { throw ValidationError("--drop-epochs must be 0 or more, got \(dropEpochs)") }
        guard holdout >= 0 else { throw ValidationError("--holdout must be 0 or more, got \(holdout)") }
        guard (try? parseHidden()) != nil else { throw ValidationError("--hidden must be positive integers separated by commas, e.g. 512 or 300,100") }
    }

    func parseHidden() throws -> [Int] {
        let sizes = hidden.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.count == hidden.split(separator: ",").count, sizes.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }) else {
            throw ValidationError("bad --hidden")
        }
        return sizes
    }

    func run() throws {
        threadOptions.apply()
        // Before reading: the output must not be a data file; status lines leave stdout to the data.
        let target = try OutputTarget.resolve(output, inputs: OutputTarget.files(in: dataOptions.data))
        let status = StatusOutput(toStandardError: target.isStandardOutput)
        let all = try dataOptions.load(.train)
        guard holdout < all.count else { throw ValidationError("--holdout \(holdout) leaves no training image of \(grouped(all.count))") }
        let train = holdout == 0 ? all : all.subset(0..<(all.count - holdout))
        if holdout > 0 { status.line("holding out training images \(grouped(train.count))…\(grouped(all.count - 1)) (never seen in training)") }
        let test = try dataOptions.load(.test)
        var config = TrainingConfiguration()
        config.hiddenSizes = try parseHidden()
        config.epochs = epochs
        config.batchSize = batch
        config.learningRate = lr
        config.optimizer = optimizer == .adam ? .adam() : .sgd(momentum: momentum)
        config.schedule = lrSchedule == .drop ? .dropForLast(epochs: dropEpochs, factor: 0.1) : .constant
        config.seed = seed
        let inputSize = train.rows * train.columns
        status.line("training \(([inputSize] + config.hiddenSizes + [10]).map(String.init).joined(separator: "-")) on \(grouped(train.count)) images from \(dataOptions.data), seed \(seed), \(BLAS.kernelDescription)")
        let live = standardErrorIsTerminal
        let model = try Trainer(configuration: config).train(
            inputs: train.normalized(), labels: train.labels, inputSize: inputSize, classes: 10,
            test: (test.normalized(), test.labels)
        ) { event in
            switch event {
            case .batch(let epoch, let b, let batches, let loss, let rate, let eta):
                if live {
                    printError("\repoch \(epoch + 1)/\(epochs)  batch \(b)/\(batches)  loss \(fixed(Double(loss), 4))  \(grouped(Int(rate))) samples/s  ETA \(fixed(eta, 0)) s   ", terminator: "")
                }
            case .epoch(let summary):
                if live { printError("\r\u{1B}[K", terminator: "") }
                let acc = summary.test.map { fixed($0.accuracy * 100, 2) + "%" } ?? "-"
                status.line("epoch \(summary.epoch + 1)/\(epochs)  loss \(fixed(Double(summary.loss), 4))  lr \(String(format: "%g", summary.learningRate))  test accuracy \(acc)  \(fixed(summary.seconds, 2)) s")
            }
        }
        try ModelFile.save(model, to: output)
        status.line("wrote \(output) (\(grouped(model.parameterCount)) parameters)")
    }
}
