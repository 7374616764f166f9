import ArgumentParser
import Foundation
import WeightJPEG

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-tensor coding, bytes and bits per weight of a .wjpg file.",
        discussion: """
        Examples:
          weightjpeg inspect model.wjpg
          weightjpeg inspect model.wjpg --original model.safetensors --json
        """)

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
            try JSONOutput.print(report)
            return
        }
        let nameWidth = max(6, report.tensors.map(\.name.count).max() ?? 0)
        let codingWidth = max(6, report.tensors.map(\.coding.count).max() ?? 0)
        let errors = original != nil
        func sci(_ x: Double) -> String { String(format: "%.3g", x) }
        var head = [TextTable.left("tensor", nameWidth), TextTable.left("shape", 11), TextTable.left("dtype", 5), TextTable.left("coding", codingWidth), TextTable.right("bytes", 9), TextTable.right("bits/w", 7), TextTable.right("ratio", 7)]
        if errors { head += [TextTable.right("rmse", 10), TextTable.right("rel.err", 10), TextTable.right("snr dB", 7)] }
        print(head.joined(separator: " "))
        for t in report.tensors {
            var line = [TextTable.left(t.name, nameWidth), TextTable.left(t.shape.map(String.init).joined(separator: "×"), 11), TextTable.left(t.dtype, 5),
                        TextTable.left(t.coding, codingWidth), TextTable.right(grouped(t.bytes), 9), TextTable.right(fixed(t.bitsPerWeight, 3), 7), TextTable.right(fixed(t.ratioToFloat32, 1) + "×", 7)]
            if let e = t.error {
                line += [TextTable.right(sci(e.rmse), 10), TextTable.right(e.relative.map(sci) ?? "n/a", 10), TextTable.right(e.snrDB.map { fixed($0, 1) } ?? (e.rmse == 0 ? "inf" : "n/a"), 7)]
            }
            print(line.joined(separator: " "))
        }
        print(TextTable.left("total (whole file)", nameWidth + codingWidth + 20), TextTable.right(grouped(report.fileBytes), 9),
              TextTable.right(fixed(report.bitsPerWeight, 3), 7), TextTable.right(fixed(report.ratioToFloat32, 1) + "×", 7))
        if let worst = report.tensors.compactMap({ $0.error?.relative }).max() {
            print("largest relative error \(sci(worst)) (compared with \(original!))")
        }
        if report.removedUnits > 0 {
            print("\(grouped(report.removedUnits)) dead hidden units were removed before coding (never active on the training data); decompress restores them as zero rows and columns, so every tensor has the shape shown")
        }
        print("\(grouped(report.parameters)) parameters; float32 would take \(grouped(report.parameters * 4)) bytes; header and preamble \(grouped(report.headerBytes)) bytes")
    }
}
