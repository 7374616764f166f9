import ArgumentParser
import Foundation
import WeightJPEG

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Per-tensor coding, bytes and bits per weight of a .wjpg file.")

    @Argument(help: ArgumentHelp("The .wjpg file.", valueName: "model.wjpg"))
    var input: String
    @Flag(help: "Print JSON.")
    var json = false
    @Option(help: ArgumentHelp("The source model: also report each tensor's RMSE, relative error ‖ΔW‖/‖W‖ and SNR (dB), by decoding every tensor and comparing.", valueName: "model.safetensors"))
    var original: String?

    func run() throws {
        var report = try ContainerReport(path: input)
        if let original { try report.compare(with: SafetensorsFile.read(path: original), originalPath: original) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let nameWidth = max(6, report.tensors.map(\.name.count).max() ?? 0)
        let codingWidth = max(6, report.tensors.map(\.coding.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        let errors = original != nil
        func sci(_ x: Double) -> String { String(format: "%.3g", x) }
        var head = [pad("tensor", nameWidth), pad("shape", 11), pad("dtype", 5), pad("coding", codingWidth), lpad("bytes", 9), lpad("bits/w", 7), lpad("ratio", 7)]
        if errors { head += [lpad("rmse", 10), lpad("rel.err", 10), lpad("snr dB", 7)] }
        print(head.joined(separator: " "))
        for t in report.tensors {
            var line = [pad(t.name, nameWidth), pad(t.shape.map(String.init).joined(separator: "×"), 11), pad(t.dtype, 5),
                        pad(t.coding, codingWidth), lpad(grouped(t.bytes), 9), lpad(fixed(t.bitsPerWeight, 3), 7), lpad(fixed(t.ratioToFloat32, 1) + "×", 7)]
            if let e = t.error {
                line += [lpad(sci(e.rmse), 10), lpad(e.relative.map(sci) ?? "n/a", 10), lpad(e.snrDB.map { fixed($0, 1) } ?? (e.rmse == 0 ? "inf" : "n/a"), 7)]
            }
            print(line.joined(separator: " "))
        }
        print(pad("total (whole file)", nameWidth + codingWidth + 20), lpad(grouped(report.fileBytes), 9),
              lpad(fixed(report.bitsPerWeight, 3), 7), lpad(fixed(report.ratioToFloat32, 1) + "×", 7))
        if let worst = report.tensors.compactMap({ $0.error?.relative }).max() {
            print("largest relative error \(sci(worst)) (compared with \(original!))")
        }
        print("\(grouped(report.parameters)) parameters; float32 would take \(grouped(report.parameters * 4)) bytes; header and preamble \(grouped(report.headerBytes)) bytes")
    }
}
