import ArgumentParser
import Foundation
import WeightJPEG

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Per-tensor coding, bytes and bits per weight of a .wjpg file.")

    @Argument(help: ArgumentHelp("The .wjpg file.", valueName: "model.wjpg"))
    var input: String
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let report = try ContainerReport(path: input)
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
        print(pad("tensor", nameWidth), pad("shape", 11), pad("dtype", 5), pad("coding", codingWidth), lpad("bytes", 9), lpad("bits/w", 7), lpad("ratio", 7))
        for t in report.tensors {
            print(pad(t.name, nameWidth), pad(t.shape.map(String.init).joined(separator: "×"), 11), pad(t.dtype, 5),
                  pad(t.coding, codingWidth), lpad(grouped(t.bytes), 9), lpad(fixed(t.bitsPerWeight, 3), 7), lpad(fixed(t.ratioToFloat32, 1) + "×", 7))
        }
        print(pad("total (whole file)", nameWidth + codingWidth + 20), lpad(grouped(report.fileBytes), 9),
              lpad(fixed(report.bitsPerWeight, 3), 7), lpad(fixed(report.ratioToFloat32, 1) + "×", 7))
        print("\(grouped(report.parameters)) parameters; float32 would take \(grouped(report.parameters * 4)) bytes; header and preamble \(grouped(report.headerBytes)) bytes")
    }
}
