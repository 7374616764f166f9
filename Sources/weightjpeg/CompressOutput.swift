import ArgumentParser
import WeightJPEG

/// How `compress` prints a `CompressionPlan`'s progress (results through `status`: stdout, or stderr
/// when the file goes to stdout; notes and epochs on stderr) and words its errors in terms of the
/// command's options.
struct CompressOutput {
    let status: StatusOutput

    /// A request the model or data cannot satisfy: printed as `Error: …` without the usage line
    /// (the command line parsed; the input does not fit it).
    struct RequestError: Error, CustomStringConvertible { let description: String }

    func print(_ event: CompressionEvent) {
        func pct(_ a: Double?) -> String { a.map { fixed($0 * 100, 2) } ?? "—" }
        switch event {
        case .deadUnits(let outcome):
            status.line("removed \(grouped(outcome.removed)) dead hidden units (never active on the \(grouped(outcome.trainingImages)) training images; decompress restores them as zeros)")
        case .sweepStarted(let floatValidation, let floatTest):
            status.line("sweep: kind,level,setting,output,bytes,val_acc,val_drop_pp,test_acc,test_drop_pp (float val \(pct(floatValidation)), test \(pct(floatTest)))")
        case .sweepPoint(let p):
            status.line("sweep: \(p.kind),\(p.level),\(p.setting),\(p.output),\(p.bytes),\(pct(p.validationAccuracy)),\(fixed(p.validationDropPoints, 2)),\(pct(p.testAccuracy)),\(fixed(p.testDropPoints, 2))")
        case .rateControlChose(let r):
            rateControlTable(r)
        case .finetuneStarted(let epochs, let split):
            status.note("fine-tuning \(epochs) epoch\(epochs == 1 ? "" : "s") on training images 0..<\(grouped(split.training.upperBound)), validating on \(grouped(split.validation.lowerBound))..<\(grouped(split.validation.upperBound))")
        case .finetuneEpoch(let e):
            let v = e.validation.map { "val \(fixed(100 * $0.accuracy, 2))% loss \(fixed($0.loss, 4))" } ?? ""
            status.note("epoch \(e.epoch): \(v), nonzeros \(grouped(e.nonzeros)), \(fixed(e.seconds, 1)) s")
        case .evaluation(let e, let budget):
            let bytes = e.bytes.map { ", \(grouped($0)) bytes" } ?? ""
            status.note("evaluation (budget \(budget)) \(e.stage): \(e.settings)\(e.adjustment.map { " (\($0))" } ?? ""): metric \(String(format: "%.6g", e.metric)), drop \(String(format: "%.4g", e.drop))\(e.standardError.map { " ± " + String(format: "%.2g", $0) } ?? "")\(bytes)")
        case .finetuned(let r):
            status.line("fine-tuned: wrote epoch \(r.chosenEpoch) of \(r.epochs) (lowest validation loss), \(grouped(r.bytesBefore)) → \(grouped(r.bytesAfter)) bytes")
        }
    }

    /// A task search's choice in one line (how it was adjusted, its metric and drop against the
    /// bound), then, when measured, the test accuracies (reporting only).
    func searchSummary(_ a: ErrorAllocation.Report, images: DropImages?, test: RateControlReport.TestAccuracy?) {
        func g(_ x: Double) -> String { String(format: "%.6g", x) }
        let validation = "the validation images (training images 50,000…59,999)"
        let copies = "\(grouped(DataSplit.heldOut * Dataset.shiftOffsets.count)) one-pixel shifted copies"
        switch images {
        case .shiftedCopies?:
            status.line("task search on the \(copies) of \(validation), which the model has not seen: it scores on the images themselves as on training images, so it was probably trained on them")
        case .imagesWithCopies?: status.line("task search on \(validation) and their \(copies)")
        case .memorizedImages?: status.line("task search on \(validation), which the model was probably trained on: drops there over-state drops on unseen data")
        case .images?: status.line("task search on \(validation)")
        case nil: break
        }
        if let c = a.evaluations.first(where: \.chosen) {
            let adjusted = c.adjustment.map { " (\($0))" } ?? ""
            let se = c.standardError.map { " ± \(String(format: "%.2g", $0))" } ?? ""
            let margin = a.marginSigmas.flatMap { m in c.standardError.map { _ in m > 0 ? " + \(fixed(m, 3)) standard errors" : "" } } ?? ""
            status.line("task search: \(a.evaluations.count) evaluations; chose \(c.settings)\(adjusted): metric \(g(c.metric)) (original \(g(a.originalMetric))), drop \(g(c.drop))\(se); drop\(margin) ≤ \(g(a.maxDrop))")
        }
        if let test {
            status.line("test (reporting only): float \(fixed(test.float * 100, 2))%, chosen \(fixed(test.chosen * 100, 2))%, drop \(fixed((test.float - test.chosen) * 100, 2)) pp")
        }
    }

    /// The candidates tried, smallest first, the chosen one marked; then the choice and its rule.
    func rateControlTable(_ r: RateControlReport) {
        func pct(_ a: Double?) -> String { a.map { fixed($0 * 100, 2) } ?? "—" }
        status.line("rate control on \(grouped(r.validation.count)) validation images (training images \(grouped(r.validation.lowerBound))…\(grouped(r.validation.upperBound - 1))); float accuracy \(pct(r.floatValidationAccuracy))%")
        if r.validationLooksTrainedOn, let fit = r.floatFitAccuracy {
            let trainedOn = "the validation images score like training images (float \(pct(r.floatValidationAccuracy))% against \(pct(fit))% on training images 0…\(grouped(r.validation.count - 1))): the model was probably trained on them"
            if let shifted = r.floatShiftedAccuracy {
                status.note("note: \(trainedOn), so every drop below is measured on their \(grouped(r.validation.count * Dataset.shiftOffsets.count)) one-pixel shifted copies, which it has not seen (float accuracy \(pct(shifted))%); hold out images 50,000…59,999 in training (train --holdout 10000) for real unseen images")
            } else {
                status.note("note: \(trainedOn), so drops measured there over-state drops on unseen data (no --margin is added); hold out images 50,000…59,999 in training (train --holdout 10000) for a tighter choice")
            }
        }
        if let both = r.floatWithCopiesAccuracy {
            status.note("note: every drop below is measured on the validation images and their \(grouped(r.validation.count * Dataset.shiftOffsets.count)) one-pixel shifted copies (float accuracy \(pct(both))%), which cover test data a little unlike the validation images")
        }
        let sigmas = r.marginSigmas ?? 0, finetunedSigmas = r.finetunedMarginSigmas ?? sigmas
        let margins = sigmas == finetunedSigmas ? [("a candidate", sigmas)]
                                                : [("a plain candidate", sigmas), ("a fine-tuned candidate", finetunedSigmas)]
        for (which, s) in margins where s > 0 {
            status.line("  (\(which) passes when drop + \(fixed(s, 3)) × standard error ≤ the budget)")
        }
        if let epochs = r.finetuneEpochs {
            status.line("  (+ft: fine-tuned \(epochs) epoch\(epochs == 1 ? "" : "s") before it was measured)")
        }
        if r.candidates.contains(where: { $0.biasCorrected == true }) {
            status.line("  (+bc: the first layer's bias corrected for its coded weights)")
        }
        status.line("  setting                         output           bytes   val acc %  drop pp  ± se")
        for t in r.candidates {
            let setting = TextTable.pad(t.setting + (t.finetuned == true ? " +ft" : "") + (t.biasCorrected == true ? " +bc" : ""), .init(30, .left, truncates: true))
            let output = TextTable.pad(t.output, .init(14, .left, truncates: true))
            let bytes = TextTable.right(grouped(t.bytes), 9)
            let accuracy = TextTable.right(pct(t.validationAccuracy), 8)
            let drop = TextTable.right(t.dropPoints.map { fixed($0, 2) } ?? "—", 7)
            let se = TextTable.right(t.standardErrorPoints.map { fixed($0, 2) } ?? "—", 5)
            status.line("  \(setting)  \(output)\(bytes)   \(accuracy)  \(drop) \(se)\(t.chosen ? " ← chosen" : "")")
        }
        guard let c = r.chosen else { return }
        status.line("chose \(c.setting)\(c.biasCorrected == true ? " (bias corrected)" : ""), output layer \(c.output): \(grouped(c.bytes)) bytes, validation \(pct(c.validationAccuracy))% (\(r.reason ?? ""))")
        if let test = r.test {
            status.line("test (reporting only): float \(pct(test.float))%, chosen \(pct(test.chosen))%, drop \(fixed((test.float - test.chosen) * 100, 2)) pp")
        }
    }

    /// The option that asks for `step`.
    static func option(_ step: CompressionPlanError.Step) -> String {
        switch step {
        case .deadUnits: "--remove-dead-units"
        case .rateControl: "--max-drop, --target-bytes or --sweep-tables"
        case .finetune: "--finetune"
        }
    }

    /// `--exact 'x*' matches no tensor of the model (it has 4 tensors: 0.weight, …)`.
    static func unmatched(_ u: UnmatchedPattern) -> String {
        let option = switch u.rule {
        case .exact: "--exact \(u.pattern)"
        case .quality: "--quality-for \(u.pattern)=Q"
        case .maxRelativeError: "--max-rel-error-for \(u.pattern)=E"
        }
        let more = u.tensorCount > u.someTensorNames.count ? ", …" : ""
        return "\(option): the pattern '\(u.pattern)' matches no tensor of the model (\(u.tensorCount) tensor\(u.tensorCount == 1 ? "" : "s"): \(u.someTensorNames.joined(separator: ", "))\(more)); patterns are globs over whole names (* and ?), e.g. '0.*' or '*.weight'"
    }

    static func text(_ skip: DeadUnitsSkip) -> String {
        switch skip {
        case .notAnMLP(let reason), .pruningFailed(let reason): reason
        case .noHiddenLayer: "the model has no hidden layer"
        case .noTrainingSet(let reason): "no training set (\(reason))"
        case .inputSizeMismatch(let inputs, let directory, let rows, let columns):
            "the model takes \(inputs) inputs, \(directory) has \(rows)×\(columns) images"
        }
    }

    static func message(_ error: CompressionPlanError) -> String {
        switch error {
        case .dataNotNamed(let step):
            "\(option(step)) needs the task's data: pass --data DIR (a folder of MNIST-style IDX files, e.g. data/mnist after scripts/fetch-mnist)"
        case .deadUnits(let skip):
            "--remove-dead-units: \(text(skip))"
        case .missingTrainingSet(.deadUnits, let reason):
            "--remove-dead-units needs the training set: \(reason)"
        case .rateControlNeedsMLP(let reason):
            "--target-bytes, --max-drop and --sweep-tables need an MLP model (torch.nn.Sequential Linear/ReLU names): \(reason)"
        case .missingTrainingSet(.finetune, let reason):
            "--finetune needs the training set: \(reason)"
        case .missingTrainingSet(.rateControl, let reason):
            "--target-bytes, --max-drop and --sweep-tables need the training set for its validation images (last 10,000): \(reason)"
        case .trainingSetTooSmall(let directory, let count):
            "the training set in \(directory) has \(count) images; the validation split is images 50,000…59,999"
        case .nothingJPEGCoded(let input):
            "no tensor of \(input) is JPEG-coded; nothing for the rate control to choose"
        case .noSettingFits(let targetBytes, let smallest):
            "no setting fits \(grouped(targetBytes)) bytes: the coarsest tried takes \(grouped(smallest)) bytes"
        case .dropUnreachable(let maxDrop):
            "no setting keeps the validation drop within \(maxDrop) pp (even level 100 loses more)"
        case .finetune(let e):
            "--finetune: \(e.description) (fine-tuning needs the first layer as a JPEG rows:HxW mosaic: the default layout and --pack mosaic)"
        case .unmatchedPattern(let u):
            unmatched(u)
        }
    }
}
