import Foundation

/// A task metric of a model: what `compress --eval-cmd` (or a built-in evaluation) measures to decide
/// how much weight error the task tolerates. An evaluator scores a safetensors file; the search
/// hands it the original model first, then candidates decoded from the real `.wjpg` bytes.
public protocol TaskEvaluator {
    /// Whether a larger metric is better (accuracy, cosine) or worse (loss, perplexity).
    var direction: MetricDirection { get }
    /// The metric of the model in the safetensors file at `path`.
    func evaluate(modelAt path: String) throws(TaskEvaluationError) -> Double
    /// The metric and, when the evaluator knows it, the standard error of the drop it implies (the
    /// default: `evaluate` without one).
    func measure(modelAt path: String) throws(TaskEvaluationError) -> TaskMeasurement
    /// The standard errors the search adds to each drop when the user gave none
    /// (`ErrorAllocation.Options.marginSigmas` nil); nil: `ErrorAllocation.defaultMarginSigmas`.
    var defaultMarginSigmas: Double? { get }
}

extension TaskEvaluator {
    public var defaultMarginSigmas: Double? { nil }

    public func measure(modelAt path: String) throws(TaskEvaluationError) -> TaskMeasurement {
        TaskMeasurement(value: try evaluate(modelAt: path), standardError: nil)
    }
}

/// One evaluation's result: the metric, and optionally the standard error of the drop from the
/// original it implies (for a metric that is a mean over samples, the standard error of the mean of
/// the per-sample differences to the original's), which the search adds as a margin.
public struct TaskMeasurement: Sendable, Equatable {
    public var value: Double
    public var standardError: Double?
    public init(value: Double, standardError: Double?) {
        self.value = value
        self.standardError = standardError
    }
}

/// Which way a metric improves.
public enum MetricDirection: String, Codable, Sendable, CaseIterable {
    case higherIsBetter, lowerIsBetter

    /// How much worse `value` is than `reference`, in the metric's own units (negative: better).
    public func drop(from reference: Double, to value: Double) -> Double {
        self == .higherIsBetter ? reference - value : value - reference
    }
}

/// Why an evaluation gave no metric. Each case names the command (or evaluator) and what it did.
public enum TaskEvaluationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The command could not be started.
    case launch(command: String, reason: String)
    /// The command exited with a non-zero status; the end of its standard error.
    case failed(command: String, status: Int32, stderrTail: String)
    /// The command ran longer than the timeout and was killed (with its process group).
    case timedOut(command: String, seconds: Double)
    /// The last line of standard output is not a finite number (optionally followed by a finite,
    /// non-negative standard error).
    case notANumber(command: String, lastLine: String)
    /// A built-in evaluation failed; its reason.
    case builtIn(String)

    public var description: String {
        switch self {
        case .launch(let c, let r): "evaluation command '\(c)' could not be started: \(r)"
        case .failed(let c, let s, let tail):
            "evaluation command '\(c)' exited with status \(s)" + (tail.isEmpty ? "" : "; its standard error ends with: \(tail)")
        case .timedOut(let c, let s): "evaluation command '\(c)' ran longer than \(Int(s)) s and was stopped (--eval-timeout)"
        case .notANumber(let c, let line):
            "evaluation command '\(c)' must print the metric as the last line of its standard output (optionally followed by the standard error of its drop); it printed '\(line.prefix(120))'"
        case .builtIn(let reason): reason
        }
    }
}
