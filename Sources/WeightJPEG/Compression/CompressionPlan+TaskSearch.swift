import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel
import WeightJPEGTuning

extension CompressionPlan {
    /// The plan with a task search (`taskSearch`): the model in memory, its dead units removed
    /// first when asked (the search codes the smaller model; the file records the removed units),
    /// then `ErrorAllocation` scored by the metric, every candidate adjusted before it is scored:
    /// with the built-in metric, biases corrected for the coded weights (`BiasCorrection`) or,
    /// with `finetuneEpochs`, fine-tuned when its first layer is a JPEG mosaic.
    func searched(_ taskSearch: TaskSearchRequest, reading path: String, into target: OutputTarget,
                  events: (CompressionEvent) -> Void) throws -> CompressionReport {
        if finetuneEpochs != nil && !taskSearch.needsData {
            throw CompressionPlanError.finetune(FinetuneError("\(input): fine-tuning inside a task search needs the built-in metric (an MLP and its data), not a command's or another evaluator's"))
        }
        var report = CompressionReport(input: input, output: output, inputBytes: 0, outputBytes: 0, streamed: false)
        let original = try SafetensorsFile.read(path: path)
        try checkPatterns(original)
        var train: Dataset? = nil
        if let dataDirectory, removeDeadUnits || taskSearch.needsData {
            let step: CompressionPlanError.Step = removeDeadUnits ? .deadUnits : .rateControl
            do { train = try Dataset.load(directory: dataDirectory, split: .train) } catch {
                throw CompressionPlanError.missingTrainingSet(step: step, reason: "\(error)")
            }
        }
        var source = original
        var zeroSlices: [String: [ZeroSlices]] = [:]
        if removeDeadUnits, let train, let dataDirectory {
            let outcome: DeadUnitsOutcome
            (source, outcome, zeroSlices) = try deadUnitsRemoved(source, train: train, dataDirectory: dataDirectory)
            report.deadUnits = outcome
            events(.deadUnits(outcome))
        }
        let evaluator: any TaskEvaluator = switch taskSearch.metric {
        case .command(let command): command
        case .evaluator(let evaluator): evaluator
        case .classifier(let metric): try ClassifierEvaluator(trainingSet: train!, from: dataDirectory!, metric: metric, originalPath: path)
        }
        var options = taskSearch.options
        var adjust: ((Container, CompressionPolicy) throws -> (container: Container, adjustment: String?))? = nil
        var correction: BiasCorrection? = nil
        // What each evaluation says was done to its candidate (`ErrorAllocation.Evaluation.adjustment`).
        let corrected = "biases corrected"
        let tuned = finetuneEpochs.map { "fine-tuned \($0) epoch\($0 == 1 ? "" : "s")" }
        if case .classifier = taskSearch.metric, let train {
            let model: MLP
            do { model = try MLP.sequential(in: source) } catch { throw CompressionPlanError.rateControlNeedsMLP(error.description) }
            if taskSearch.biasCorrection {
                let c = try BiasCorrection(model: model, trainingSet: train)
                correction = c
                adjust = { container, policy in
                    let adjusted = try c.corrected(container, source: source, policy: policy)
                    return (adjusted, c.correctedBiases(in: adjusted).isEmpty ? nil : corrected)
                }
            }
            // With fine-tuning: every candidate whose first layer is a JPEG mosaic (the JPEG
            // ladders', and error bounds the JPEG coding meets) is fine-tuned before it is scored,
            // which trains the biases too; the others are bias-corrected as without it. On shifted
            // copies, the rate control's margin for fine-tuned candidates applies to every one.
            if let epochs = finetuneEpochs, let tuned, let classifier = evaluator as? ClassifierEvaluator {
                let finetune = RateControlRequest.candidateFinetuning(epochs: epochs, measured: classifier.images, train: train,
                                                                      input: path, images: taskSearch.finetuneImages)
                let plain = adjust
                adjust = { container, policy in
                    do { return (try finetune(container), tuned) } catch is FinetuneError {
                        return try plain?(container, policy) ?? (container, nil)
                    }
                }
                if options.marginSigmas == nil { options.marginSigmas = classifier.images.margins(requested: nil).finetuned }
            }
        }
        // Every candidate records the removed units, as the written file does: its size counts
        // them, and it is scored as decompress restores it (full shapes, the units as zeros).
        if !zeroSlices.isEmpty {
            let adjusted = adjust
            adjust = { container, policy in
                var (container, adjustment) = try adjusted?(container, policy) ?? (container, nil)
                container.record(zeroSlices)
                return (container, adjustment)
            }
        }
        report.searchImages = (evaluator as? ClassifierEvaluator)?.images
        let (container, allocation0) = try ErrorAllocation.run(source, basePolicy: policy, evaluator: evaluator,
                                                             originalPath: path, options: options, adjust: adjust,
                                                             events: { events(.evaluation($0, budget: $1)) })
        var allocation = allocation0
        if case .classifier(let metric) = taskSearch.metric {
            allocation.metricName = switch metric {
            case .accuracy: "validation accuracy (%)"
            case .agreement: "agreement with the original (%)"
            case .kl: "KL divergence from the original (millinats)"
            }
        }
        let chosen = allocation.evaluations.first { $0.chosen }
        if chosen?.adjustment == corrected, let names = correction?.correctedBiases(in: container), !names.isEmpty {
            allocation.correctedBiases = names
        }
        if let tuned, chosen?.adjustment == tuned { allocation.finetuneEpochs = finetuneEpochs }
        report.allocation = allocation
        report.tensors = try measured(container, against: original)
        try write(container, to: target, inputBytes: FileInput.size(of: path), into: &report)
        if taskSearch.reportTest, taskSearch.needsData, let dataDirectory {
            let test = try Dataset.load(directory: dataDirectory, split: .test)
            let inputs = test.normalized()
            report.searchTest = .init(float: try MLP.sequential(in: original).evaluate(inputs: inputs, labels: test.labels).accuracy,
                                      chosen: try RateControl.accuracy(of: container, inputs: inputs, labels: test.labels))
        }
        return report
    }
}
