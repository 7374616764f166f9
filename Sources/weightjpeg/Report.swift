import ArgumentParser
import Foundation
import WeightJPEG

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained HTML page about a .wjpg file: bytes per tensor, codings, pictures, errors, search.",
        discussion: """
        The page needs no network (inline styles, script, SVG and images) and opens in any browser. \
        It shows a summary (sizes, ratio, bits per weight, codings), a treemap of bytes per tensor \
        colored by coding, a sortable table, and one collapsible section per tensor: its JPEG \
        payloads embedded as the JPEG files they are, the decoded weights as a thumbnail, a \
        histogram and, for a rows:HxW layout, the first neurons. With --original also the original \
        beside the decoded weights, an error heat map and per-tensor RMSE, relative error and SNR. \
        With --search-report the metric against bytes of every evaluation of a search: the file of \
        compress --eval-cmd ... --report, what compress --json prints after a search, or a search \
        report file (docs/SEARCH-REPORT.md).

        Examples:
          weightjpeg report model.wjpg --original model.safetensors -o report.html
          weightjpeg report model.wjpg --search-report search.json -o report.html
        """)

    @Argument(help: ArgumentHelp("The .wjpg file.", valueName: "model.wjpg"))
    var input: String
    @Option(help: ArgumentHelp("The source model: adds errors, original pictures and error heat maps.", valueName: "model.safetensors"))
    var original: String?
    @Option(name: .customLong("search-report"), help: ArgumentHelp("What a search tried (JSON), drawn as metric against bytes.", valueName: "file.json"))
    var searchReport: String?
    @Option(help: ArgumentHelp("The tensor whose histogram the summary shows (default: the one with the most bytes).", valueName: "name"))
    var histogram: String?
    @Option(name: [.short, .long], help: ArgumentHelp("Where to write the HTML page (- writes standard output).", valueName: "file"))
    var output: String

    func run() throws {
        let target = try OutputTarget.resolve(output, inputs: [input] + [original, searchReport].compactMap { $0 })
        var report = HTMLReport(model: input, original: original, search: try searchReport.map { try SearchReport.read(path: $0) })
        report.searchPath = searchReport
        report.options.histogramTensor = histogram
        let page = try report.render()
        let bytes = Data(page.html.utf8)
        try target.write(bytes)
        let line = "wrote \(target): \(grouped(bytes.count)) bytes, \(page.tensors) tensors (\(page.tensorsDrawn) drawn)"
        if target.isStandardOutput { printError(line) } else { print(line) }
    }
}
