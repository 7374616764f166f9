import ArgumentParser
import Foundation
import WeightJPEG

struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a .wjpg MLP with its first layer trained as JPEG DCT coefficients.",
        discussion: """
        The first layer (a JPEG rows:HxW mosaic tensor, e.g. 0.weight of the founding model) trains \
        as its dequantized DCT coefficients W_j(k) = s_j·Q(k)·q_j(k), a dense layer over the blockwise \
        DCT of the input; the forward pass uses them snapped to the JPEG grid, Adam updates a float \
        shadow copy (straight-through). Other tensors train as floats and are re-coded with their own \
        codings. The result is written with jpeg_write_coefficients into the same mosaic geometry, \
        same quantization table and scale payload: standard JPEG, no second loss.

        Data: trains on training images 0..<50,000 and validates on 50,000..<60,000 after every \
        epoch (the held-out part chooses the epoch with --select best); the test set is only \
        evaluated once, on the written file, for the report.

        Examples:
          weightjpeg finetune model.wjpg -o tuned.wjpg --data data/mnist
          weightjpeg finetune model.wjpg -o tuned.wjpg --epochs 6 --lr-schedule drop --json
        """)

    @Argument(help: ArgumentHelp("The model (.wjpg; - reads standard input).", valueName: "model"))
    var input: String
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the tuned .wjpg file (- writes standard output).", valueName: "file"))
    var output: String
    @Option(parsing: .unconditional, help: "Passes over the 50,000 training images.")
    var epochs: Int = 3
    @Option(parsing: .unconditional, help: "Adam learning rate of the float tensors (biases, later layers).")
    var lr: Float = 1e-3
    @Option(name: .customLong("coef-lr"), parsing: .unconditional, help: "Adam learning rate of the first layer's coefficients (default: --lr).")
    var coefLR: Float?
    @Option(parsing: .unconditional, help: "Mini-batch size.")
    var batch: Int = 64
    @Option(help: "Zero pattern of the coefficients: keep (zeros stay zero) or redecide (rounding decides).")
    var zeros: ZeroPattern = .keep
    @Option(name: .customLong("lr-schedule"), help: "constant, or drop (× 0.1 in the last epoch).")
    var lrSchedule: ScheduleChoice = .constant
    @Option(help: "Which state to write: best (lowest validation loss, epoch 0 = the input) or last.")
    var select: SelectChoice = .best
    @Option(help: "Shuffling seed.")
    var seed: UInt64 = 0
    @Flag(help: "Print the summary as one JSON object.")
    var json = false
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var threadOptions: ThreadOptions

    enum ScheduleChoice: String, ExpressibleByArgument { case constant, drop }
    enum SelectChoice: String, ExpressibleByArgument { case best, last }

    func validate() throws {
        guard epochs >= 0 else { throw ValidationError("--epochs must be 0 or more, got \(epochs)") }
        guard batch > 0 else { throw ValidationError("--batch must be positive, got \(batch)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be positive, got \(lr)") }
        if let c = coefLR, !(c > 0 && c.isFinite) { throw ValidationError("--coef-lr must be positive, got \(c)") }
    }

    func run() throws {
        threadOptions.apply()
        let dataOnStandardOutput = (try? OutputTarget.resolve(output))?.isStandardOutput ?? false
        let status = StatusOutput(toStandardError: dataOnStandardOutput, jsonToStandardError: dataOnStandardOutput)
        var plan = FinetunePlan(input: input, output: output)
        plan.configuration.epochs = epochs
        plan.configuration.learningRate = lr
        plan.configuration.coefficientLearningRate = coefLR
        plan.configuration.batchSize = batch
        plan.configuration.zeroPattern = zeros
        plan.configuration.schedule = lrSchedule == .drop ? .dropForLast(epochs: 1, factor: 0.1) : .constant
        plan.configuration.selectBest = select == .best
        plan.configuration.seed = seed
        plan.dataDirectory = dataOptions.data
        let s = try plan.run { event in
            switch event {
            case .started(let split):
                printError("fine-tuning on training images 0..<\(grouped(split.training.upperBound)), validating on \(grouped(split.validation.lowerBound))..<\(grouped(split.validation.upperBound))")
            case .epoch(let e):
                let v = e.validation.map { "val \(fixed(100 * $0.accuracy, 2))% loss \(fixed($0.loss, 4))" } ?? ""
                let l = e.trainLoss.map { "train loss \(fixed(Double($0), 4)), " } ?? "input: "
                printError("epoch \(e.epoch): \(l)\(v), nonzeros \(grouped(e.nonzeros)), \(fixed(e.seconds, 1)) s")
            }
        }
        if json {
            try status.json(s)
        } else {
            status.line("wrote \(output): \(grouped(s.bytesAfter)) bytes (input \(grouped(s.bytesBefore))); first layer \(grouped(s.layer0BytesBefore)) → \(grouped(s.layer0BytesAfter)) bytes")
            status.line("epoch written: \(s.chosenEpoch) of \(epochs) (zeros \(zeros.rawValue), lr \(lr), coefficient lr \(coefLR ?? lr)); nonzero coefficients \(grouped(s.nonzerosBefore)) → \(grouped(s.nonzerosAfter)), \(grouped(s.newNonzeros)) new, \(grouped(s.changed)) changed")
            status.line("validation (images \(grouped(s.validation.lowerBound))..<\(grouped(s.validation.upperBound))): DCT-domain \(fixed(100 * s.validationAccuracyDCT, 2))%, written file \(fixed(100 * s.validationAccuracyFile, 2))% (input \(fixed(100 * s.validationAccuracyEpoch0DCT, 2))%)")
            status.line("test (written file): \(fixed(100 * s.testAccuracyFile, 2))%")
            status.line("check: file coefficients \(s.coefficientsMatch ? "equal" : "DIFFER FROM") the snapped trained values; decoded dense vs DCT-domain logits on validation: max |Δ| \(s.maxAbsLogitDeltaValidation), argmax agreement \(fixed(100 * s.argmaxAgreementValidation, 2))%")
        }
        if !s.coefficientsMatch { throw ModelFileError(path: output, reason: "written coefficients differ from the trained ones") }
    }
}

extension ZeroPattern: ExpressibleByArgument {}
