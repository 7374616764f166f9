import Foundation
import WeightJPEG

/// The outputs of `compare`: a text table, CSV, JSON, an SVG chart per model, and the summary of
/// the smallest whole model within given drops, averaged over models.
public enum CompareReport {
    /// Drops (percentage points of test accuracy below float) the summary reports.
    public static let thresholds: [Double] = [0.1, 0.3, 0.5, 1.0]


    /// The table of one model's points.
    public static func table(_ r: CompareResult) -> String {
        var s = "\(r.model): \(r.sizes.map(String.init).joined(separator: "-")) MLP, \(r.parameters) parameters (float32 \(4 * r.parameters) bytes), "
        s += "float test accuracy \(fixed(100 * r.floatAccuracy, 2))% on \(r.testImages) images, \(r.deadUnitsRemoved) dead hidden units removed before coding\n"
        s += TextTable.left("method", 58) + TextTable.left("setting", 30) + TextTable.right("bytes", 9) + TextTable.right("bits/w", 8)
            + TextTable.right("ratio", 8) + TextTable.right("acc %", 8) + TextTable.right("drop pp", 9) + "\n"
        for p in r.points {
            s += TextTable.left(p.method, 58) + TextTable.left(p.setting, 30) + TextTable.right(String(p.bytes), 9)
                + TextTable.right(fixed(r.bitsPerWeight(p), 3), 8) + TextTable.right(fixed(r.ratio(p), 1) + "×", 8)
                + TextTable.right(fixed(100 * p.accuracy, 2), 8) + TextTable.right(fixed(r.drop(p), 2), 9) + "\n"
        }
        return s
    }

    /// One CSV row per point of every model.
    public static func csv(_ results: [CompareResult]) -> String {
        var s = "model,method,setting,bytes,bits_per_weight,ratio_vs_float32,test_accuracy,drop_pp,validation_accuracy,seconds\n"
        func q(_ t: String) -> String { "\"" + t.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        for r in results {
            for p in r.points {
                s += [q(r.model), q(p.method), q(p.setting), String(p.bytes), fixed(r.bitsPerWeight(p), 4), fixed(r.ratio(p), 2),
                      fixed(p.accuracy, 4), fixed(r.drop(p), 2), p.validationAccuracy.map { fixed($0, 4) } ?? "", fixed(p.seconds, 2)]
                    .joined(separator: ",") + "\n"
            }
        }
        return s
    }

    /// Per method and threshold: the smallest whole model of each result within the drop, and
    /// their mean (nil when some model has no point within it).
    public struct SummaryRow: Codable, Sendable {
        public var method: String
        public var maxDropPP: Double
        public var bytesPerModel: [Int?]
        public var meanBytes: Double?
        public var meanRatio: Double?
    }

    public static func summary(_ results: [CompareResult]) -> [SummaryRow] {
        var methods: [String] = []
        for r in results { for m in r.methods where !methods.contains(m) { methods.append(m) } }
        var rows: [SummaryRow] = []
        for m in methods {
            for t in thresholds {
                let per = results.map { $0.smallest(m, maxDrop: t)?.bytes }
                let all = per.compactMap { $0 }
                let mean = all.count == per.count && !all.isEmpty ? Double(all.reduce(0, +)) / Double(all.count) : nil
                let meanParams = Double(results.map(\.parameters).reduce(0, +)) / Double(max(results.count, 1))
                rows.append(SummaryRow(method: m, maxDropPP: t, bytesPerModel: per, meanBytes: mean,
                                       meanRatio: mean.map { 4 * meanParams / $0 }))
            }
        }
        return rows
    }

    /// The summary as a text table: one row per method, one column per threshold (mean bytes and ratio).
    public static func summaryTable(_ results: [CompareResult]) -> String {
        let rows = summary(results)
        var s = "smallest whole model within the drop of float test accuracy (mean over \(results.count) model\(results.count == 1 ? "" : "s"); — = not reached by every model)\n"
        s += TextTable.left("method", 58) + thresholds.map { TextTable.right("≤ \(fixed($0, 1)) pp", 18) }.joined() + "\n"
        var methods: [String] = []
        for row in rows where !methods.contains(row.method) { methods.append(row.method) }
        for m in methods {
            s += TextTable.left(m, 58)
            for t in thresholds {
                let row = rows.first { $0.method == m && $0.maxDropPP == t }!
                let cell = row.meanBytes.map { "\(fixed($0 / 1000, 1)) KB \(fixed(row.meanRatio!, 0))×" } ?? "—"
                s += TextTable.right(cell, 18)
            }
            s += "\n"
        }
        return s
    }

    /// The whole comparison as JSON.
    public static func json(_ results: [CompareResult]) throws -> String {
        struct Document: Codable {
            var results: [CompareResult]
            var summary: [SummaryRow]
        }
        let data = try JSONOutput.encoder().encode(Document(results: results, summary: summary(results)))
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The chart of one model: bits per weight (log x) against test accuracy, one line per method.
    public static func chart(_ r: CompareResult) -> String {
        let series = r.methods.map { m in
            SVGChart.Series(label: m, points: r.points.filter { $0.method == m }.map { (x: r.bitsPerWeight($0), y: 100 * $0.accuracy) })
        }
        let floor = max(90, (100 * r.floatAccuracy - 3).rounded(.down))
        let file = URL(fileURLWithPath: r.model).lastPathComponent
        var chart = SVGChart(title: "\(file): test accuracy vs bits per weight (whole model)", xLabel: "bits per weight (8 × bytes / \(r.parameters) parameters, log scale)",
                             yLabel: "test accuracy %", series: series, yRange: floor...((100 * r.floatAccuracy + 0.5).rounded(.up)))
        chart.logX = true
        chart.markers = true
        chart.legendWidth = 400
        return chart.render(width: 1150, height: 540)
    }
}
