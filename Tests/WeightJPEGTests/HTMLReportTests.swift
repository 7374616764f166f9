import Foundation
import Testing
@testable import WeightJPEGTuning
@testable import WeightJPEG
@testable import weightjpeg

/// `weightjpeg report`: the page is well-formed, refers to nothing outside itself, and shows the
/// model's real figures and payloads.
@Suite struct HTMLReportTests {
    /// The reference MLP coded with fixed codings (independent of the policy's defaults): the first
    /// layer as 28×28 JPEG rows at quality 20 (`pack`), the output layer int8 per row, biases float16.
    /// `deadRows` of `0.weight` and `0.bias` are removed before coding and recorded as zero slices.
    static func codedReferenceMLP(pack: PackMode = .mosaic, arithmetic: Bool = false, deadRows: [Int] = [],
                                  in dir: String) throws -> (model: String, original: String, container: Container) {
        let file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
        let codec = try JPEGTensorCodec()
        let entries = try file.tensors.map { t -> ContainerEntry in
            let coding: TensorCoding = t.name == "0.weight"
                ? .jpeg(JPEGTensorParameters(layout: .rows(height: 28, width: 28), scale: .tensor, pack: pack, quality: 20, arithmetic: arithmetic))
                : t.shape.count == 2 ? .int8PerRow : .float16
            var values = try t.floats(), shape = t.shape
            let cut = t.name.hasPrefix("0.") && !deadRows.isEmpty
            if cut {
                let width = values.count / shape[0]
                values = (0..<shape[0]).filter { !deadRows.contains($0) }.flatMap { values[($0 * width)..<(($0 + 1) * width)] }
                shape[0] -= deadRows.count
            }
            let coded = try #require(try coding.encode(values, shape: shape, dtype: t.dtype, jpeg: codec))
            var entry = ContainerEntry(name: t.name, dtype: t.dtype.rawValue, shape: shape, coding: coded.coding, payloads: coded.payloads)
            if cut { entry.zeroSlices = [ZeroSlices(axis: 0, indices: deadRows)] }
            return entry
        }
        let container = Container(metadata: file.metadata, entries: entries)
        try container.write(to: dir + "/m.wjpg")
        return (dir + "/m.wjpg", TestPaths.referenceMLP, container)
    }

    /// Every `data:` URI of media type `type`, decoded.
    static func embedded(_ html: String, type: String) -> [[UInt8]] {
        html.components(separatedBy: "src=\"data:\(type);base64,").dropFirst().compactMap { rest in
            rest.split(separator: "\"", maxSplits: 1).first.flatMap { Data(base64Encoded: String($0)) }.map { [UInt8]($0) }
        }
    }

    @Test func pageShowsTheModelAndIsSelfContained() throws {
        let dir = try TestPaths.temporaryDirectory("html-report")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, original, container) = try Self.codedReferenceMLP(in: dir)
        let page = try HTMLReport(model: model, original: original).render()
        let html = page.html
        try XMLWellFormedness.check(html)
        try SelfContainment.check(html)
        #expect(page.tensors == 4 && page.tensorsDrawn == 4)

        var inspection = try ContainerReport(path: model)
        try inspection.compare(with: SafetensorsFile.read(path: original), originalPath: original)
        for id in ["summary", "bytes", "table", "tensors", "t-0", "t-3"] { #expect(html.contains("id=\"\(id)\""), "section \(id)") }
        #expect(!html.contains("id=\"search\""), "no search section without a search report")
        #expect(html.contains(grouped(inspection.fileBytes) + " B"))
        #expect(html.contains(grouped(inspection.parameters)))
        #expect(html.contains(fixed(inspection.bitsPerWeight, 3)))
        let relatives = inspection.tensors.compactMap { $0.error?.relative }
        let worst = try #require(relatives.max())
        #expect(html.contains(String(format: "%.3g", worst)), "largest relative error")
        #expect(html.contains(String(format: "%.3g", relatives[0])))
        for t in inspection.tensors { #expect(html.contains(">\(t.name)</a>"), "table row of \(t.name)") }

        // The mosaic payload is embedded byte for byte, and the first JPEG tensor's section is open.
        let jpegs = Self.embedded(html, type: "image/jpeg")
        let first = try #require(container.entries.firstIndex { $0.name == "0.weight" })
        #expect(jpegs == [container.entries[first].payloads[1]])
        #expect(html.contains("<details id=\"t-\(first)\" open=\"open\">"))
        // Neuron grid, original, decoded and heat map of 0.weight; original, decoded and heat map of 2.weight.
        let pngs = Self.embedded(html, type: "image/png")
        #expect(pngs.count == 7)
        for png in pngs { #expect(PNGAndExtractTests.chunks(png) != nil, "every PNG parses with valid CRCs") }
    }

    @Test func withoutOriginalThePageShowsDecodedWeightsOnly() throws {
        let dir = try TestPaths.temporaryDirectory("html-report")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, _, _) = try Self.codedReferenceMLP(in: dir)
        let html = try HTMLReport(model: model).render().html
        try XMLWellFormedness.check(html)
        try SelfContainment.check(html)
        #expect(html.contains("No original given"))
        #expect(!html.contains("error heat map"))
        // Neuron grid and decoded picture of 0.weight, decoded picture of 2.weight.
        #expect(Self.embedded(html, type: "image/png").count == 3)
    }

    /// Shared-tables tiles are abbreviated streams: the page shows them with the tables spliced in,
    /// and each shown stream decodes on its own.
    @Test func sharedTablesTilesAreShownAsStandaloneJPEGs() throws {
        let dir = try TestPaths.temporaryDirectory("html-report")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, _, container) = try Self.codedReferenceMLP(pack: .sharedTables, in: dir)
        var report = HTMLReport(model: model)
        report.options.tilesShown = 5
        let html = try report.render().html
        try XMLWellFormedness.check(html)
        #expect(html.contains("shared tables"))
        let jpegs = Self.embedded(html, type: "image/jpeg")
        #expect(jpegs.count == 5)
        let entry = try #require(container["0.weight"])
        #expect(jpegs == Array(try JPEGTensorPayloads(entry).standaloneStreams().prefix(5)))
        for jpeg in jpegs {
            let image = try JPEGDecoder().decode(jpeg, maxPixels: 28 * 28)
            #expect(image.width == 28 && image.height == 28)
        }
        #expect(html.contains("Showing 5 of 512"))
    }

    /// Arithmetic-coded payloads (which browsers do not decode) are shown transcoded losslessly to
    /// Huffman coding: each embedded JPEG is Huffman-coded (SOF0/SOF1, no arithmetic SOF9) and holds
    /// the stored stream's quantized coefficients and table exactly.
    @Test func arithmeticPayloadsAreShownTranscodedLosslessly() throws {
        let dir = try TestPaths.temporaryDirectory("html-report")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, _, container) = try Self.codedReferenceMLP(arithmetic: true, in: dir)
        let html = try HTMLReport(model: model).render().html
        try XMLWellFormedness.check(html)
        #expect(html.contains("transcoded losslessly to Huffman coding"))
        let entry = try #require(container["0.weight"])
        let stored = try JPEGTensorPayloads(entry).standaloneStreams()
        let jpegs = Self.embedded(html, type: "image/jpeg")
        #expect(jpegs.count == stored.count && !jpegs.isEmpty)
        func markers(_ s: [UInt8]) -> Set<UInt8> { Set((0..<(s.count - 1)).filter { s[$0] == 0xFF }.map { s[$0 + 1] }) }
        let decoder = try JPEGDecoder()
        for (shown, original) in zip(jpegs, stored) {
            #expect(markers(original).contains(0xC9) && !markers(shown).contains(0xC9), "stored arithmetic (SOF9), shown Huffman")
            let a = try decoder.readCoefficients(original, maxPixels: 1 << 24), b = try decoder.readCoefficients(shown, maxPixels: 1 << 24)
            #expect(a.blocks == b.blocks && a.quantizationTable == b.quantizationTable && a.width == b.width && a.height == b.height)
        }
    }

    /// Removed dead units come back as zero rows: the pictures have the original's shape, and the
    /// JPEG payload is the stored (narrower) tensor's.
    @Test func removedUnitsAreDrawnAsRestored() throws {
        let dir = try TestPaths.temporaryDirectory("html-report")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, original, container) = try Self.codedReferenceMLP(deadRows: [3, 7], in: dir)
        for withOriginal in [false, true] {
            let page = try HTMLReport(model: model, original: withOriginal ? original : nil).render()
            try XMLWellFormedness.check(page.html)
            #expect(page.tensorsDrawn == 4)
            #expect(page.html.contains("512×784 F32"), "the restored shape")
            #expect(Self.embedded(page.html, type: "image/jpeg") == [try #require(container["0.weight"]).payloads[1]])
        }
    }

    @Test func searchReportIsDrawnWithTheChosenPoint() throws {
        let dir = try TestPaths.temporaryDirectory("html-report")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, _, _) = try Self.codedReferenceMLP(in: dir)
        let search = SearchReport(metric: "validation accuracy (%)", higherIsBetter: true, reference: 98.2, bound: 0.3, evaluations: [
            .init(settings: "ijg q10", bytes: 18_000, metric: 97.1, chosen: false),
            .init(settings: "ijg q20 <b>", bytes: 26_000, metric: 98.0, chosen: true),
            .init(settings: "ijg q40", bytes: 41_000, metric: nil, chosen: false),
        ])
        let html = try HTMLReport(model: model, search: search).render().html
        try XMLWellFormedness.check(html)
        #expect(html.contains("id=\"search\""))
        #expect(html.components(separatedBy: "<circle").count - 1 == 3, "one dot and the chosen ring with its dot")
        #expect(html.contains("stroke=\"#d62728\""))
        #expect(html.contains("ijg q20 &lt;b&gt;") && !html.contains("ijg q20 <b>"), "settings are escaped")
        #expect(html.contains("1 without a metric"))
    }

    /// A bias the rate control stored corrected (`SearchReport.correctedTensors`) is named in the
    /// summary and left out of its error figures.
    @Test func correctedBiasesAreNamedAndLeftOutOfTheErrors() throws {
        let dir = try TestPaths.temporaryDirectory("html-report")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, original, _) = try Self.codedReferenceMLP(in: dir)
        var search = SearchReport(metric: "validation accuracy (%)", higherIsBetter: true, evaluations: [
            .init(settings: "ijg q20 +bc", bytes: 26_000, metric: 98.0, chosen: true)])
        let plain = try HTMLReport(model: model, original: original, search: search).render().html
        search.correctedTensors = ["0.bias"]
        let corrected = try HTMLReport(model: model, original: original, search: search).render().html
        try XMLWellFormedness.check(corrected)
        #expect(plain.contains("mean relative error over 4 float tensors") && !plain.contains("stored corrected"))
        #expect(corrected.contains("mean relative error over 3 float tensors"))
        #expect(corrected.contains("0.bias") && corrected.contains("stored corrected for the coded weights (not counted in the errors)"))
    }

    @Test func searchReportReadsItsOwnShapeAndCompressJSON() throws {
        let dir = try TestPaths.temporaryDirectory("search-report")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let own = SearchReport(metric: "embedding cosine", higherIsBetter: true, reference: 1, bound: 0.006,
                               evaluations: [.init(settings: "e=0.03", bytes: 15_000_000, metric: 0.9958, chosen: true)])
        try JSONOutput.encoder().encode(own).write(to: URL(fileURLWithPath: dir + "/own.json"))
        #expect(try SearchReport.read(path: dir + "/own.json") == own)

        let rate = RateControlReport(validation: 50_000..<60_000, floatValidationAccuracy: 0.98, candidates: [
            .init(setting: "ijg q12", output: "int8-row", bytes: 20_000, validationAccuracy: 0.975, dropPoints: 0.5, chosen: false),
            .init(setting: "ijg q20", output: "int8-row", bytes: 26_000, validationAccuracy: 0.979, dropPoints: 0.1, chosen: true),
        ], chosen: nil, reason: nil, test: nil)
        let compression = CompressionReport(input: "a", output: "b", inputBytes: 1, outputBytes: 2, streamed: false,
                                            deadUnits: nil, rateControl: rate, finetune: nil)
        try JSONOutput.encoder().encode(compression).write(to: URL(fileURLWithPath: dir + "/compress.json"))
        let converted = try SearchReport.read(path: dir + "/compress.json")
        #expect(converted.evaluations.map(\.bytes) == [20_000, 26_000] && converted.chosen?.settings == "ijg q20, output int8-row")
        #expect(abs((converted.reference ?? 0) - 98) < 1e-9 && abs((converted.evaluations[0].metric ?? 0) - 97.5) < 1e-9)

        let allocation = ErrorAllocation.Report(direction: .lowerIsBetter, maxDrop: 0.5, marginSigmas: 1.645, originalMetric: 2.0, groups: [], evaluations: [
            .init(stage: "original", settings: "float", bytes: nil, metric: 2.0, drop: 0),
            .init(stage: "sensitivity", settings: "group 1", bytes: 9_000, metric: 2.3, drop: 0.3),
            .init(stage: "allocation", settings: "λ 0.1", bytes: 7_000, metric: 2.4, drop: 0.4, chosen: true),
        ])
        try JSONOutput.encoder().encode(allocation).write(to: URL(fileURLWithPath: dir + "/allocation.json"))
        let fromAllocation = try SearchReport.read(path: dir + "/allocation.json")
        #expect(fromAllocation.evaluations.map(\.bytes) == [9_000, 7_000] && fromAllocation.chosen?.settings == "allocation: λ 0.1")
        #expect(!fromAllocation.higherIsBetter && fromAllocation.reference == 2.0 && fromAllocation.bound == 0.5)

        try Data("{\"metric\": \"x\"}".utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        #expect { try SearchReport.read(path: dir + "/bad.json") } throws: { error in
            "\(error)".hasPrefix(dir + "/bad.json: is not a search report") && "\(error)".contains("higherIsBetter")
        }
        #expect { try SearchReport.read(path: dir + "/missing.json") } throws: { "\($0)".hasPrefix(dir + "/missing.json: cannot be read") }
    }

    @Test func commandWritesThePageAndNeverOverwritesAnInput() throws {
        let dir = try TestPaths.temporaryDirectory("report-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (model, original, _) = try Self.codedReferenceMLP(in: dir)
        var command = try WeightJPEGCommand.parseAsRoot(["report", model, "--original", original, "--histogram", "2.weight", "-o", dir + "/r.html"])
        try command.run()
        let html = try String(contentsOfFile: dir + "/r.html", encoding: .utf8)
        var expected = HTMLReport(model: model, original: original)
        expected.options.histogramTensor = "2.weight"
        #expect(html == (try expected.render().html), "the command writes the library's page")
        #expect(html.contains("Weights of 2.weight"))

        let before = try Data(contentsOf: URL(fileURLWithPath: model))
        var overwrite = try WeightJPEGCommand.parseAsRoot(["report", model, "-o", model])
        #expect(throws: OutputError.self) { try overwrite.run() }
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before)
        var unknown = try WeightJPEGCommand.parseAsRoot(["report", model, "--histogram", "nope", "-o", dir + "/x.html"])
        #expect { try unknown.run() } throws: { "\($0)".contains("has no tensor 'nope'") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.html"))
    }

    @Test func treemapTilesTheRectangleInProportion() {
        let values: [Double] = [50, 20, 12, 8, 5, 3, 1, 1, 0]
        let rects = Treemap.layout(values, width: 300, height: 200)
        let total = values.reduce(0, +)
        for (v, r) in zip(values, rects) {
            #expect(abs(r.width * r.height - v / total * 60_000) < 1e-6)
            #expect(r.x >= -1e-9 && r.y >= -1e-9 && r.x + r.width <= 300 + 1e-6 && r.y + r.height <= 200 + 1e-6)
        }
        for i in rects.indices { for j in rects.indices where i < j {
            let a = rects[i], b = rects[j]
            let overlap = max(0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x)) * max(0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
            #expect(overlap < 1e-6, "rectangles \(i) and \(j) overlap")
        } }
        // Squarified: the largest item is not a sliver.
        #expect(max(rects[0].width / rects[0].height, rects[0].height / rects[0].width) < 3)
    }

    @Test func treemapLabelsKeepWhatTellsTensorsApart() {
        let name = "encoder.layer.3.attention.self.query.weight"
        #expect(Treemap.abbreviate("0.weight", to: 20) == "0.weight")
        #expect(Treemap.abbreviate(name, to: 30) == "e.l.3.a.self.query.weight")
        #expect(Treemap.abbreviate(name, to: 22) == "e.l.3.a.s.query.weight")
        #expect(Treemap.abbreviate(name, to: 14) == "3.a.s.q.weight")
        #expect(Treemap.abbreviate(name, to: 5) == "…ight")
    }

    @Test func escapingCoversMarkupAndControlCharacters() {
        #expect(HTMLPage.escape("a<b>&\"c'\u{1}") == "a&lt;b&gt;&amp;&quot;c&#39;\u{FFFD}")
        #expect(throws: XMLWellFormedness.Failure.self) { try XMLWellFormedness.check("<html><p></html>") }
        #expect(throws: XMLWellFormedness.Failure.self) { try XMLWellFormedness.check("<html><img src=\"x\"></html>") }
        #expect(throws: XMLWellFormedness.Failure.self) { try XMLWellFormedness.check("<html>a & b</html>") }
        #expect(throws: SelfContainment.Failure.self) { try SelfContainment.check("<img src=\"https://x/y.png\"/>") }
        #expect(throws: SelfContainment.Failure.self) { try SelfContainment.check("<a href=\"//x\">x</a>") }
    }
}
