import Foundation

/// What a search over compression settings tried: one line per evaluation, each the whole coded
/// file's size and the task metric measured on it. The JSON file that `compress --report FILE.json`
/// writes and `report --search-report FILE.json` reads (docs/SEARCH-REPORT.md gives the shape, keys
/// camelCase as every JSON file of the tool).
public struct SearchReport: Codable, Sendable, Equatable {
    /// One evaluated candidate.
    public struct Evaluation: Codable, Sendable, Equatable {
        /// The candidate's settings in words, e.g. `ijg q12, output int8-row`.
        public var settings: String
        /// The whole `.wjpg` file's size in bytes for this candidate.
        public var bytes: Int
        /// The metric measured on the decoded candidate, in `SearchReport.metric`'s units; nil when it
        /// was not measured (a candidate ruled out by size alone).
        public var metric: Double?
        /// Whether this candidate is the file written (at most one evaluation is chosen).
        public var chosen: Bool

        public init(settings: String, bytes: Int, metric: Double?, chosen: Bool) {
            self.settings = settings
            self.bytes = bytes
            self.metric = metric
            self.chosen = chosen
        }
    }

    /// The metric's name, with its unit, e.g. `validation accuracy (%)` or `embedding cosine`.
    public var metric: String
    /// Whether a larger metric is better (accuracy, cosine) or a smaller one (loss, error).
    public var higherIsBetter: Bool
    /// The original (uncompressed) model's metric, when measured: the reference of the bound.
    public var reference: Double?
    /// The bound the search kept, in the metric's units (e.g. the largest allowed drop), when there was one.
    public var bound: Double?
    /// Every evaluation, in the order it was made.
    public var evaluations: [Evaluation]
    /// Tensors the chosen file stores changed on purpose rather than approximated (biases corrected
    /// for their layers' coded weights, `RateControlReport.correctedBiases`): their difference from
    /// the original is not a coding error.
    public var correctedTensors: [String] = []

    public init(metric: String, higherIsBetter: Bool, reference: Double? = nil, bound: Double? = nil, evaluations: [Evaluation]) {
        self.metric = metric
        self.higherIsBetter = higherIsBetter
        self.reference = reference
        self.bound = bound
        self.evaluations = evaluations
    }

    /// The evaluation marked chosen, if any.
    public var chosen: Evaluation? { evaluations.first { $0.chosen } }

    /// The rate control's candidates (`compress --max-drop | --target-bytes --json`): validation
    /// accuracy in percent, the float model's as the reference.
    public init(rateControl r: RateControlReport) {
        self.init(metric: "validation accuracy (%)", higherIsBetter: true, reference: r.floatValidationAccuracy * 100,
                  evaluations: r.candidates.map {
                      Evaluation(settings: "\($0.setting)\($0.biasCorrected == true ? " +bc" : ""), output \($0.output)", bytes: $0.bytes,
                                 metric: $0.validationAccuracy.map { $0 * 100 }, chosen: $0.chosen)
                  })
        correctedTensors = r.correctedBiases ?? []
    }

    /// The task-metric search's record (`compress --eval-cmd … --report FILE.json`): every scored
    /// candidate with its size (the original model's score is the reference, not an evaluation), the
    /// allowed drop as the bound.
    public init(allocation r: ErrorAllocation.Report) {
        self.init(metric: r.metricName ?? "metric (--eval-cmd)", higherIsBetter: r.direction == .higherIsBetter, reference: r.originalMetric,
                  bound: r.maxDrop, evaluations: r.evaluations.compactMap { e in
                      e.bytes.map { Evaluation(settings: "\(e.stage): \(e.settings)", bytes: $0, metric: e.metric, chosen: e.chosen) }
                  })
        correctedTensors = r.correctedBiases ?? []
    }

    /// Why a search report could not be read.
    public struct ReadError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Reads `path`: a `SearchReport` JSON file, the JSON of `compress --eval-cmd … --report`
    /// (`ErrorAllocation.Report`), or the JSON `compress --json` prints (its task search's or rate
    /// control's evaluations are taken). At most 64 MiB; at most 100,000 evaluations.
    public static func read(path: String) throws(ReadError) -> SearchReport {
        func fail(_ reason: String) -> ReadError { ReadError(path: path, reason: reason) }
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > 64 << 20 {
                throw fail("is \(size) bytes, more than a search report's limit of 64 MiB")
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as ReadError {
            throw error
        } catch {
            throw fail("cannot be read: \((error as NSError).localizedDescription)")
        }
        let decoder = JSONDecoder()
        let report: SearchReport
        if let direct = try? decoder.decode(SearchReport.self, from: data) {
            report = direct
        } else if let allocation = try? decoder.decode(ErrorAllocation.Report.self, from: data) {
            report = SearchReport(allocation: allocation)
        } else if let compression = try? decoder.decode(CompressionReport.self, from: data) {
            if let allocation = compression.allocation {
                report = SearchReport(allocation: allocation)
            } else if let rateControl = compression.rateControl {
                report = SearchReport(rateControl: rateControl)
            } else {
                throw fail("is the JSON of a compress run without a search (--max-drop, --target-bytes or --eval-cmd): it lists no evaluations")
            }
        } else {
            do {
                _ = try decoder.decode(SearchReport.self, from: data)
            } catch let error as DecodingError {
                throw fail("is not a search report (docs/SEARCH-REPORT.md): \(describe(error))")
            } catch {
                throw fail("is not a search report: \(error)")
            }
            throw fail("is not a search report")
        }
        guard report.evaluations.count <= 100_000 else {
            throw fail("lists \(report.evaluations.count) evaluations, more than 100,000")
        }
        if let bad = report.evaluations.firstIndex(where: { $0.bytes < 0 || !($0.metric?.isFinite ?? true) }) {
            throw fail("evaluation \(bad) has a negative size or a metric that is not a finite number")
        }
        guard report.evaluations.filter(\.chosen).count <= 1 else { throw fail("marks more than one evaluation as chosen") }
        return report
    }

    /// A `DecodingError` in one line: what was wrong and at which key path.
    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let c): return "no key '\(key.stringValue)' at \(path(c.codingPath))"
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "wrong type at \(path(c.codingPath))"
        case .dataCorrupted(let c): return c.codingPath.isEmpty ? "not valid JSON" : "bad value at \(path(c.codingPath))"
        @unknown default: return "\(error)"
        }
    }
}
