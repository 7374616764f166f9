import Foundation
import WeightJPEGFormats
import WeightJPEGCodec

/// The page's whole-model sections: summary, bytes per tensor (treemap), the sortable table and the search.
extension HTMLReport {
    /// The color of a coding family (the coding's name, `fixed-rowN` as one family) in every chart.
    static func color(ofCoding name: String) -> String {
        switch name.hasPrefix("fixed-row") ? "fixed-row" : name {
        case "jpeg": return "#4e79a7"
        case "entropy-uniform": return "#f28e2b"
        case "int8-row": return "#59a14f"
        case "float16": return "#b07aa1"
        case "exact": return "#9c755f"
        case "fixed-row": return "#e15759"
        default: return "#76b7b2"
        }
    }

    /// Per coding name: tensors and bytes, largest first.
    static func codingTotals(_ container: Container) -> [(name: String, tensors: Int, bytes: Int)] {
        var totals: [String: (Int, Int)] = [:]
        for e in container.entries {
            let t = totals[e.coding.name, default: (0, 0)]
            totals[e.coding.name] = (t.0 + 1, t.1 + e.storedBytes)
        }
        return totals.map { (name: $0.key, tensors: $0.value.0, bytes: $0.value.1) }
            .sorted { ($0.bytes, $1.name) > ($1.bytes, $0.name) }
    }

    func summary(_ report: ContainerReport, container: Container, originalBytes: Int?, histogram: String?, histogramTensor: String?) -> String {
        let e = HTMLPage.escape
        func box(_ value: String, _ key: String) -> String {
            "<div class=\"figure\"><div class=\"v\">\(e(value))</div><div class=\"k\">\(e(key))</div></div>"
        }
        var boxes = [
            box("\(grouped(report.fileBytes)) B", "file size (every byte of the .wjpg)"),
            box("\(fixed(report.ratioToFloat32, 1))×", "smaller than float32 (\(grouped(report.parameters * 4)) B)"),
        ]
        if let originalBytes, report.fileBytes > 0 {
            boxes.append(box("\(fixed(Double(originalBytes) / Double(report.fileBytes), 1))×", "smaller than the original file (\(grouped(originalBytes)) B)"))
        }
        boxes += [
            box(grouped(report.parameters), "parameters in \(report.tensors.count) tensors"),
            box(fixed(report.bitsPerWeight, 3), "bits per weight (whole file)"),
        ]
        // Tensors stored changed on purpose (corrected biases) are not coding errors.
        let corrected = Set(search?.correctedTensors ?? [])
        let approximated = report.tensors.filter { !corrected.contains($0.name) }
        let errors = approximated.compactMap { t in t.error?.relative.map { (name: t.name, relative: $0) } }
        if !corrected.isEmpty {
            boxes.append(box(corrected.sorted().joined(separator: ", "), "stored corrected for the coded weights (not counted in the errors)"))
        }
        if let worst = errors.max(by: { $0.relative < $1.relative }) {
            boxes.append(box(String(format: "%.3g", worst.relative), "largest relative error ‖ΔW‖/‖W‖ (\(worst.name))"))
            let mean = errors.reduce(0) { $0 + $1.relative } / Double(errors.count)
            boxes.append(box(String(format: "%.3g", mean), "mean relative error over \(errors.count) float tensors"))
            let snrs = approximated.compactMap { $0.error?.snrDB }
            if let low = snrs.min() { boxes.append(box(fixed(low, 1) + " dB", "lowest SNR of a tensor")) }
        }
        var html = "<h2 id=\"summary\">Summary</h2>\n<div class=\"figures\">" + boxes.joined() + "</div>\n"
        html += "<p class=\"legend\">Codings: " + Self.codingTotals(container).map { c in
            "<span><i class=\"swatch\" style=\"background:\(Self.color(ofCoding: c.name))\"></i>\(e(c.name)): \(c.tensors) tensor\(c.tensors == 1 ? "" : "s"), \(grouped(c.bytes)) B (\(fixed(100 * Double(c.bytes) / Double(max(report.fileBytes, 1)), 1)) %)</span>"
        }.joined() + "<span>header and preamble: \(grouped(report.headerBytes)) B</span></p>\n"
        if original == nil {
            html += "<p class=\"note\">No original given (<code>--original M.safetensors</code>): errors, original pictures and heat maps are not shown.</p>\n"
        }
        if let histogram, let histogramTensor {
            html += "<figure>\(histogram)<figcaption>Weights of \(e(histogramTensor))" + (original == nil ? "" : " before and after") + " (the tensor with the most bytes unless <code>--histogram NAME</code>).</figcaption></figure>\n"
        }
        return html
    }

    func bytesSection(_ report: ContainerReport, container: Container) -> String {
        let order = report.tensors.indices.sorted { (report.tensors[$0].bytes, $1) > (report.tensors[$1].bytes, $0) }
        var items = order.map { i -> Treemap.Item in
            let t = report.tensors[i]
            return Treemap.Item(label: t.name, tooltip: "\(t.name): \(t.coding), \(grouped(t.bytes)) B (\(fixed(100 * Double(t.bytes) / Double(max(report.fileBytes, 1)), 1)) %)",
                                value: Double(t.bytes), color: Self.color(ofCoding: container.entries[i].coding.name), anchor: TensorSection.anchor(i))
        }
        items.append(Treemap.Item(label: "header", tooltip: "header and preamble: \(grouped(report.headerBytes)) B", value: Double(report.headerBytes), color: "#bab0ac", anchor: nil))
        return "<h2 id=\"bytes\">Where the bytes go</h2>\n<p class=\"note\">Area ∝ bytes in the file, color = coding; hover for figures, click to open a tensor.</p>\n"
            + Treemap.svg(items, width: 1100, height: 260) + "\n"
    }

    func tableSection(_ report: ContainerReport) -> String {
        let e = HTMLPage.escape
        let errors = report.tensors.contains { $0.error != nil }
        var head = ["#", "tensor", "shape", "dtype", "coding", "bytes", "% of file", "bits/w", "ratio"]
        if errors { head += ["RMSE", "rel. error", "SNR dB"] }
        var html = "<h2 id=\"table\">Every tensor</h2>\n<p class=\"note\">Click a column to sort.</p>\n<div class=\"tablewrap\"><table class=\"sortable\"><thead><tr>"
        html += head.enumerated().map { k, h in "<th\([1, 2, 3, 4].contains(k) ? " class=\"l\"" : "")>\(e(h))</th>" }.joined() + "</tr></thead><tbody>\n"
        func number(_ v: Double, _ text: String) -> String { "<td data-v=\"\(v)\">\(e(text))</td>" }
        for (i, t) in report.tensors.enumerated() {
            let elements = t.shape.reduce(1, *)
            html += "<tr>" + number(Double(i), String(i))
                + "<td class=\"l\"><a href=\"#\(TensorSection.anchor(i))\">\(e(t.name))</a></td>"
                + "<td class=\"l\" data-v=\"\(elements)\">\(e(t.shape.map(String.init).joined(separator: "×")))</td>"
                + "<td class=\"l\">\(e(t.dtype))</td><td class=\"l coding\" title=\"\(e(t.coding))\">\(e(t.coding))</td>"
                + number(Double(t.bytes), grouped(t.bytes))
                + number(100 * Double(t.bytes) / Double(max(report.fileBytes, 1)), fixed(100 * Double(t.bytes) / Double(max(report.fileBytes, 1)), 2))
                + number(t.bitsPerWeight, fixed(t.bitsPerWeight, 3)) + number(t.ratioToFloat32, fixed(t.ratioToFloat32, 1) + "×")
            if errors {
                if let d = t.error {
                    html += number(d.rmse, String(format: "%.3g", d.rmse))
                    html += d.relative.map { number($0, String(format: "%.3g", $0)) } ?? "<td data-v=\"1e308\">n/a</td>"
                    html += d.snrDB.map { number($0, fixed($0, 1)) } ?? (d.rmse == 0 ? "<td data-v=\"1e308\">∞</td>" : "<td data-v=\"-1e308\">n/a</td>")
                } else {
                    html += "<td></td><td></td><td></td>"
                }
            }
            html += "</tr>\n"
        }
        return html + "</tbody></table></div>\n"
    }

    func searchSection(_ search: SearchReport) -> String {
        let e = HTMLPage.escape
        let measured = search.evaluations.filter { $0.metric != nil }
        let points = measured.map {
            SVG.Point(x: Double($0.bytes), y: $0.metric!, tooltip: "\($0.settings): \(grouped($0.bytes)) B, \(SVG.label($0.metric!))\($0.chosen ? " (chosen)" : "")", highlighted: $0.chosen)
        }
        let boundLine = search.bound.flatMap { b in search.reference.map { search.higherIsBetter ? $0 - b : $0 + b } }
        var html = "<h2 id=\"search\">What the search tried</h2>\n"
        html += SVG.scatter(points, xLabel: "whole file (bytes)", yLabel: search.metric, reference: search.reference, bound: boundLine, xFormat: SVG.bytes) + "\n"
        var note = "\(search.evaluations.count) evaluation\(search.evaluations.count == 1 ? "" : "s") (\(search.higherIsBetter ? "higher" : "lower") is better)"
        if measured.count < search.evaluations.count { note += ", \(search.evaluations.count - measured.count) without a metric (not drawn)" }
        if let c = search.chosen {
            note += "; chosen (red ring): \(c.settings), \(grouped(c.bytes)) B" + (c.metric.map { ", \(SVG.label($0))" } ?? "")
        } else {
            note += "; none marked chosen"
        }
        html += "<p class=\"note\">\(e(note)).</p>\n<div class=\"tablewrap\" style=\"max-height:260px\"><table class=\"sortable\"><thead><tr><th>#</th><th class=\"l\">settings</th><th>bytes</th><th>\(e(search.metric))</th><th>chosen</th></tr></thead><tbody>\n"
        for (k, v) in search.evaluations.enumerated() {
            html += "<tr><td data-v=\"\(k)\">\(k)</td><td class=\"l\">\(e(v.settings))</td><td data-v=\"\(v.bytes)\">\(grouped(v.bytes))</td>"
                + (v.metric.map { "<td data-v=\"\($0)\">\(SVG.label($0))</td>" } ?? "<td data-v=\"-1e308\">–</td>")
                + "<td>\(v.chosen ? "✔" : "")</td></tr>\n"
        }
        return html + "</tbody></table></div>\n"
    }
}
