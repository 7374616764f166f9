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
        """)

    @Argument(help: ArgumentHelp("The model (.wjpg).", valueName: "model"))
    var input: String
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the tuned .wjpg file.", valueName: "file"))
    var output: String
    @Option(help: "Passes over the 50,000 training images.")
    var epochs: Int = 3
    @Option(help: "Adam learning rate of the float tensors (biases, later layers).")
    var lr: Float = 1e-3
    @Option(name: .customLong("coef-lr"), help: "Adam learning rate of the first layer's coefficients (default: --lr).")
    var coefLR: Float?
    @Option(help: "Mini-batch size.")
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
        guard epochs >= 0 else { throw ValidationError("--epochs must be ≥ 0") }
        guard batch > 0 else { throw ValidationError("--batch must be > 0") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be > 0") }
    }

    func run() throws {
        threadOptions.apply()
        guard ModelFile.isContainer(input) else { throw ModelFileError(path: input, reason: "not a .wjpg file") }
        let started = Date()
        let container = try Container.read(path: input)
        var config = FinetuneConfiguration()
        config.epochs = epochs
        config.learningRate = lr
        config.coefficientLearningRate = coefLR
        config.batchSize = batch
        config.zeroPattern = zeros
        config.schedule = lrSchedule == .drop ? .dropForLast(epochs: 1, factor: 0.1) : .constant
        config.selectBest = select == .best
        config.seed = seed
        let train = try dataOptions.load(.train)
        let test = try dataOptions.load(.test)
        let trainInputs = train.normalized()
        printError("fine-tuning on training images 0..<\(grouped(train.count - 10_000)), validating on \(grouped(train.count - 10_000))..<\(grouped(train.count))")
        let run: FinetuneRun
        do {
            run = try FinetuneRun(container: container, path: input, configuration: config, trainInputs: trainInputs, labels: train.labels) { e in
                let v = e.validation.map { "val \(fixed(100 * $0.accuracy, 2))% loss \(fixed($0.loss, 4))" } ?? ""
                let l = e.trainLoss.map { "train loss \(fixed(Double($0), 4)), " } ?? "input: "
                printError("epoch \(e.epoch): \(l)\(v), nonzeros \(grouped(e.nonzeros)), \(fixed(e.seconds, 1)) s")
            }
        } catch let e as FinetuneError {
            throw ModelFileError(path: input, reason: e.description)
        }
        let tuner = run.tuner, features = run.features, split = run.split, history = run.history
        let chosen = run.chosenEpoch
        let tuned = run.container
        let bytes = tuned.serialized()
        try AtomicFile.write(Data(bytes), to: output)

        // Checks on the written file, through the ordinary decode path.
        let written = try Container.read(path: output)
        let reread = try SpectralTensor(entry: written["0.weight"]!, path: output)
        let before = tuner.originalCoefficients
        let after = tuner.quantizedCoefficients(tuner.shadow)
        let full = reread.positionCount
        var inFile = [Int16](repeating: 0, count: reread.rows * full)
        for j in 0..<reread.rows {
            for e in Int(reread.rowStart[j])..<Int(reread.rowStart[j + 1]) { inFile[j * full + Int(reread.positions[e])] = reread.values[e] }
        }
        let sameCoefficients = inFile == after
        let nzBefore = before.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        let nzAfter = after.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        let newNonzeros = zip(before, after).reduce(0) { $0 + ($1.0 == 0 && $1.1 != 0 ? 1 : 0) }
        let changed = zip(before, after).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) }

        let model = try ModelFile.load(output)
        let validation = train.subset(split..<train.count)
        let valInputs = Array(trainInputs[(split * tuner.inputSize)...])
        let valEval = try model.evaluate(inputs: valInputs, labels: validation.labels)
        let testEval = try model.evaluate(inputs: test.normalized(), labels: test.labels)
        let zDense = try model.logits(valInputs, count: validation.count)
        let zDCT = tuner.dctLogits(features: Array(features[(split * tuner.featureCount)...]), count: validation.count)
        var maxDelta: Float = 0, agree = 0
        let c = model.outputSize
        for r in 0..<validation.count {
            var a = 0, b = 0
            for k in 0..<c {
                maxDelta = max(maxDelta, abs(zDense[r * c + k] - zDCT[r * c + k]))
                if zDense[r * c + k] > zDense[r * c + a] { a = k }
                if zDCT[r * c + k] > zDCT[r * c + b] { b = k }
            }
            if a == b { agree += 1 }
        }
        let inputBytes = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
        let layerBefore = container["0.weight"]!.storedBytes, layerAfter = written["0.weight"]!.storedBytes
        let dctVal = history[chosen].validation!

        if json {
            print("""
            {"input": "\(input)", "output": "\(output)", "zeros": "\(zeros.rawValue)", "epochs": \(epochs), "lr": \(lr), "coef_lr": \(coefLR ?? lr), \
            "chosen_epoch": \(chosen), "bytes_before": \(inputBytes), "bytes_after": \(bytes.count), \
            "layer0_bytes_before": \(layerBefore), "layer0_bytes_after": \(layerAfter), \
            "nonzeros_before": \(nzBefore), "nonzeros_after": \(nzAfter), "new_nonzeros": \(newNonzeros), "changed": \(changed), \
            "val_acc_epoch0_dct": \(history[0].validation!.accuracy), "val_acc_dct": \(dctVal.accuracy), "val_loss_dct": \(dctVal.loss), "val_loss_epoch0_dct": \(history[0].validation!.loss), \
            "val_acc_file": \(valEval.accuracy), "test_acc_file": \(testEval.accuracy), \
            "coefficients_match": \(sameCoefficients), "max_abs_dlogit_val": \(maxDelta), "argmax_agreement_val": \(Double(agree) / Double(validation.count)), \
            "seconds": \(fixed(Date().timeIntervalSince(started), 1))}
            """)
        } else {
            print("wrote \(output): \(grouped(bytes.count)) bytes (input \(grouped(inputBytes))); first layer \(grouped(layerBefore)) → \(grouped(layerAfter)) bytes")
            print("epoch written: \(chosen) of \(epochs) (zeros \(zeros.rawValue), lr \(lr), coefficient lr \(coefLR ?? lr)); nonzero coefficients \(grouped(nzBefore)) → \(grouped(nzAfter)), \(grouped(newNonzeros)) new, \(grouped(changed)) changed")
            print("validation (images \(grouped(split))..<\(grouped(train.count))): DCT-domain \(fixed(100 * dctVal.accuracy, 2))%, written file \(fixed(100 * valEval.accuracy, 2))% (input \(fixed(100 * history[0].validation!.accuracy, 2))%)")
            print("test (written file): \(fixed(100 * testEval.accuracy, 2))%")
            print("check: file coefficients \(sameCoefficients ? "equal" : "DIFFER FROM") the snapped trained values; decoded dense vs DCT-domain logits on validation: max |Δ| \(maxDelta), argmax agreement \(fixed(100 * Double(agree) / Double(validation.count), 2))%")
        }
        if !sameCoefficients { throw ModelFileError(path: output, reason: "written coefficients differ from the trained ones") }
    }
}

extension ZeroPattern: ExpressibleByArgument {}
