import Foundation
import WeightJPEGFormats
import WeightJPEGCodec

/// A self-contained HTML page about a `.wjpg` file (`weightjpeg report`): a summary (sizes, ratio,
/// bits per weight, codings, error), a treemap of bytes per tensor colored by coding, a sortable
/// table, the metric against bytes of a search (`SearchReport`), and one collapsible section per
/// tensor with its JPEG payloads as the JPEG images they are, decoded weights beside the original,
/// an error heat map and a histogram.
///
/// The page needs no network: styles, script, SVG charts and images (`data:` URIs) are inline, and
/// it is well-formed XML as well as HTML. Its size is bounded per tensor (thumbnails of at most
/// `Options.thumbnailSide` pixels a side for JPEG-coded tensors, `Options.otherThumbnailSide` for the
/// rest; JPEG payloads up to `Options.payloadBytesPerTensor`), and
/// a closed section's pictures are not decoded by the browser until it is opened. The same inputs
/// give the same bytes (no clock, no absolute paths).
public struct HTMLReport: Sendable {
    /// Limits and choices of the page.
    public struct Options: Sendable {
        /// Longest side, in pixels, of a weight or error thumbnail (each pixel is the mean of a block).
        public var thumbnailSide = 160
        /// The same for tensors not JPEG-coded (noise-like weights: their pictures compress badly).
        public var otherThumbnailSide = 96
        /// JPEG payload bytes embedded per tensor at most; images past it are counted, not shown.
        public var payloadBytesPerTensor = 256 * 1024
        /// Tiles shown of a tensor packed with shared tables (one small JPEG each).
        public var tilesShown = 48
        /// Neurons drawn of a `rows:HxW` tensor (0: no neuron grid).
        public var neurons = 32
        /// The tensor whose histogram the summary shows; nil: the float tensor with the most bytes.
        public var histogramTensor: String?

        public init() {}
    }

    /// Why a report cannot be written (besides the container, safetensors and output errors).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The `.wjpg` file, as given (shown on the page).
    public var model: String
    /// The source safetensors file: adds errors, original pictures and heat maps.
    public var original: String?
    /// What a search tried (`SearchReport.read`), shown as metric against bytes.
    public var search: SearchReport?
    /// Shown in the page's footer as the file a search report came from.
    public var searchPath: String?
    public var options = Options()

    public init(model: String, original: String? = nil, search: SearchReport? = nil) {
        self.model = model
        self.original = original
        self.search = search
    }

    /// The page, and counts for a status line.
    public struct Page: Sendable {
        public let html: String
        public let tensors: Int
        /// Tensors drawn (decoded to floats).
        public let tensorsDrawn: Int
    }

    /// Reads the model (and the original), decodes every tensor once and builds the page.
    /// - Throws: `ContainerError`, `SafetensorsError`, `ModelFileError` (an original without a
    ///   tensor of the model, or with another shape), `HTMLReport.Failure` (an unknown
    ///   `histogramTensor`).
    public func render() throws -> Page {
        let container = try Container.read(path: model)
        var report = ContainerReport(container, path: model)
        let histogramIndex = try chosenHistogramTensor(report)
        let firstJPEG = container.entries.firstIndex { if case .jpeg = $0.coding { return true } else { return false } }
        var sections = [String](repeating: "", count: container.entries.count)
        var summaryHistogram: String?
        var drawn = 0
        func draw(_ i: Int, _ line: ContainerReport.Tensor, _ original: [Float]?, _ decoded: [Float]?) throws {
            let section = TensorSection(index: i, entry: container.entries[i], line: line, path: model, options: options)
            sections[i] = try section.html(original: original, decoded: decoded, open: i == firstJPEG)
            if i == histogramIndex, let decoded {
                summaryHistogram = SVG.histogram(SVG.Histogram(original: original, decoded: decoded), width: 420, height: 190)
            }
            if decoded != nil { drawn += 1 }
        }
        var originalBytes: Int?
        if let original {
            let file = try SafetensorsFile.read(path: original)
            originalBytes = (try? FileManager.default.attributesOfItem(atPath: original))?[.size] as? Int
            var visited = Set<Int>()
            try report.compare(with: file, originalPath: original) { i, line, o, d in
                visited.insert(i)
                try draw(i, line, o, d)
            }
            for i in container.entries.indices where !visited.contains(i) { try draw(i, report.tensors[i], nil, nil) }
        } else {
            let codec = try JPEGTensorCodec()
            for (i, entry) in container.entries.enumerated() {
                let float = SafetensorsDType(rawValue: entry.dtype)?.convertsToFloat ?? false
                // The tensor as decompression restores it (zero slices of removed units put back).
                try draw(i, report.tensors[i], nil, float ? try ModelCodec.decode(entry, codec: codec, path: model).floats() : nil)
            }
        }
        let name = URL(fileURLWithPath: model).lastPathComponent
        var body = "<h1>\(HTMLPage.escape(name))</h1>\n<p class=\"note\">\(HTMLPage.escape(model))"
            + (original.map { " compared with \(HTMLPage.escape($0))" } ?? "") + "</p>\n"
        body += summary(report, container: container, originalBytes: originalBytes, histogram: summaryHistogram,
                        histogramTensor: histogramIndex.map { report.tensors[$0].name })
        body += bytesSection(report, container: container)
        if let search { body += searchSection(search) }
        body += tableSection(report)
        body += "<h2 id=\"tensors\">Tensors</h2>\n<p class=\"note\">Click a tensor to see its pictures" + (firstJPEG == nil ? "" : " (the first JPEG-coded one is open)") + ".</p>\n"
        body += sections.joined()
        body += "<p class=\"note\">Written by weightjpeg \(WeightJPEGVersion.current) from \(HTMLPage.escape(model))"
        if let original { body += " and \(HTMLPage.escape(original))" }
        if let searchPath { body += ", search report \(HTMLPage.escape(searchPath))" }
        body += ".</p>\n"
        return Page(html: HTMLPage.document(title: "WeightJPEG report: \(model)", body: body),
                    tensors: container.entries.count, tensorsDrawn: drawn)
    }

    /// The index of the histogram tensor: the named one, or the float tensor with the most bytes.
    private func chosenHistogramTensor(_ report: ContainerReport) throws -> Int? {
        if let name = options.histogramTensor {
            guard let i = report.tensors.firstIndex(where: { $0.name == name }) else {
                throw Failure(description: "\(model) has no tensor '\(name)' (for the histogram)")
            }
            return i
        }
        let floats = report.tensors.indices.filter { SafetensorsDType(rawValue: report.tensors[$0].dtype)?.convertsToFloat ?? false }
        return floats.max { report.tensors[$0].bytes < report.tensors[$1].bytes }
    }
}
