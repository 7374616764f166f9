import Foundation

/// A task metric of a model: what `compress --eval-cmd` (or a built-in evaluation) measures to decide
/// how much weight error the task tolerates. An evaluator scores a safetensors file; the search
/// hands it the original model first, then candidates decoded from the real `.wjpg` bytes.
public protocol TaskEvaluator {
    /// Whether a larger metric is better (accuracy, cosine) or worse (loss, perplexity).
    var direction: MetricDirection { get }
    /// The metric of the model in the safetensors file at `path`.
    func evaluate(modelAt path: String) throws(TaskEvaluationError) -> Double
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
    /// The last line of standard output is not a finite number.
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
            "evaluation command '\(c)' must print the metric as the last line of its standard output; it printed '\(line.prefix(120))'"
        case .builtIn(let reason): reason
        }
    }
}
