import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel
import WeightJPEGInference
import WeightJPEGTuning

/// What `finetune` does, as a value: fine-tune the `.wjpg` MLP `input` on the training set in
/// `dataDirectory` (`DataSplit`: train on its first part, choose the epoch on the held-out rest),
/// write `output`, then check the written file through the ordinary decode path and evaluate it
/// once on the test set. `run()` returns the `FinetuneSummary`.
public struct FinetunePlan: Sendable {
    /// The JPEG-coded `.wjpg` MLP to fine-tune.
    public var input: String
    /// Where the fine-tuned `.wjpg` is written (atomically).
    public var output: String
    /// Epochs, batch, learning rates and the other training settings.
    public var configuration = FinetuneConfiguration()
    /// Folder of the training and test IDX files.
    public var dataDirectory = "data/mnist"

    /// A plan with the default configuration and `data/mnist`.
    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }

    /// Progress of `run`, in order.
    public enum Event: Sendable {
        case started(DataSplit)
        case epoch(FinetuneEpoch)
    }

    /// Every file `run` reads: the model and the data folder's files.
    public var inputs: [String] { [input] + OutputTarget.files(in: dataDirectory) }

    /// Runs the fine-tuning and writes `output` (atomically for a file, streamed for `-` or a FIFO).
    /// Before anything is read, `output` is resolved against every input (`OutputTarget`: the same
    /// file as the model or a data file is refused); `input` `-` reads standard input. The written
    /// file is checked from the bytes in memory, never read back (a FIFO would block).
    ///
    /// - Throws: `OutputError` for a refused output; `ModelFileError` when `input` is not a
    ///   fine-tunable `.wjpg` MLP; reading, data-loading and writing errors as they come. A written
    ///   file whose coefficients differ from the trained ones is not an error here:
    ///   `FinetuneSummary.coefficientsMatch` says so.
    public func run(events: (Event) -> Void = { _ in }) throws -> FinetuneSummary {
        let target = try OutputTarget.resolve(output, inputs: inputs)
        let source = try InputFile(input)
        return try source.naming { try run(reading: source.path, into: target, events: events) }
    }

    /// `run(events:)` with the model read from `path` (`input` itself, or standard input's stand-in).
    private func run(reading path: String, into target: OutputTarget, events: (Event) -> Void) throws -> FinetuneSummary {
        let inputBytes = try FileInput.read(path)
        let kind = FileKind.sniff(inputBytes.prefix(FileKind.sniffLength))
        guard kind == .wjpg else {
            throw ModelFileError(path: input, reason: "not a .wjpg file (it is \(kind.description))")
        }
        let started = Date()
        let container = try Container(bytes: [UInt8](inputBytes), path: path)
        let train = try Dataset.load(directory: dataDirectory, split: .train)
        let test = try Dataset.load(directory: dataDirectory, split: .test)
        let trainInputs = train.normalized()
        events(.started(DataSplit(count: train.count)))
        let run: FinetuneRun
        do {
            run = try FinetuneRun(container: container, path: path, configuration: configuration,
                                  trainInputs: trainInputs, labels: train.labels) { events(.epoch($0)) }
        } catch let e as FinetuneError {
            throw ModelFileError(path: input, reason: e.description)
        }
        let bytes = run.container.serialized()
        try target.write(bytes)

        // Checks on the written bytes (kept in memory: the output may be a stream), through the
        // ordinary decode path.
        let tuner = run.tuner, split = run.split
        let written = try Container(bytes: bytes, path: output)
        let reread = try CoefficientTensor(entry: written["0.weight"]!, path: output)
        let before = tuner.originalCoefficients
        let after = tuner.quantizedCoefficients(tuner.shadow)
        let full = reread.positionCount
        var inFile = [Int16](repeating: 0, count: reread.rows * full)
        for j in 0..<reread.rows {
            for e in Int(reread.rowStart[j])..<Int(reread.rowStart[j + 1]) { inFile[j * full + Int(reread.positions[e])] = reread.values[e] }
        }
        let model = try ModelFile.load(written, path: output)
        let validation = train.subset(split..<train.count)
        let validationInputs = Array(trainInputs[(split * tuner.inputSize)...])
        let validationFile = try model.evaluate(inputs: validationInputs, labels: validation.labels)
        let testFile = try model.evaluate(inputs: test.normalized(), labels: test.labels)
        let zDense = try model.logits(validationInputs, count: validation.count)
        let zDCT = tuner.dctLogits(features: Array(run.features[(split * tuner.featureCount)...]), count: validation.count)
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
        let chosen = run.history[run.chosenEpoch].validation!, first = run.history[0].validation!
        return FinetuneSummary(
            input: input, output: output, zeros: configuration.zeroPattern.rawValue, epochs: configuration.epochs,
            learningRate: configuration.learningRate,
            coefficientLearningRate: configuration.coefficientLearningRate ?? configuration.learningRate,
            chosenEpoch: run.chosenEpoch, training: 0..<split, validation: split..<train.count,
            bytesBefore: inputBytes.count,
            bytesAfter: bytes.count,
            layer0BytesBefore: container["0.weight"]!.storedBytes, layer0BytesAfter: written["0.weight"]!.storedBytes,
            nonzerosBefore: before.reduce(0) { $0 + ($1 != 0 ? 1 : 0) },
            nonzerosAfter: after.reduce(0) { $0 + ($1 != 0 ? 1 : 0) },
            newNonzeros: zip(before, after).reduce(0) { $0 + ($1.0 == 0 && $1.1 != 0 ? 1 : 0) },
            changed: zip(before, after).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) },
            validationAccuracyEpoch0DCT: first.accuracy, validationAccuracyDCT: chosen.accuracy,
            validationLossDCT: chosen.loss, validationLossEpoch0DCT: first.loss,
            validationAccuracyFile: validationFile.accuracy, testAccuracyFile: testFile.accuracy,
            coefficientsMatch: inFile == after, maxAbsLogitDeltaValidation: maxDelta,
            argmaxAgreementValidation: Double(agree) / Double(validation.count),
            seconds: (Date().timeIntervalSince(started) * 10).rounded() / 10)
    }
}
