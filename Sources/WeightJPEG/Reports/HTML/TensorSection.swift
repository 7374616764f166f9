import Foundation
import WeightJPEGFormats
import WeightJPEGCodec

/// One tensor's collapsible section of the HTML report: its JPEG payloads as the JPEG images they
/// are, the decoded weights beside the original, an error heat map, the neuron grid of a
/// `rows:HxW` tensor and a histogram of the weights before and after. The pictures sit in a
/// `<template>` that the page's script instantiates when the section is opened.
struct TensorSection {
    let index: Int
    let entry: ContainerEntry
    let line: ContainerReport.Tensor
    let path: String
    let options: HTMLReport.Options

    /// The section's element id (`t-<index>`): the table and the treemap link to it.
    static func anchor(_ index: Int) -> String { "t-\(index)" }

    /// The `<details>` element. `original` is nil without `--original`; `decoded` is nil for a tensor
    /// that does not decode to floats (integers, bools).
    func html(original: [Float]?, decoded: [Float]?, open: Bool) throws -> String {
        let e = HTMLPage.escape
        var summary = "<b>\(e(entry.name))</b> · \(e(line.shape.map(String.init).joined(separator: "×"))) \(e(line.dtype)) · \(e(line.coding)) · \(grouped(line.bytes)) B"
        if let rel = line.error?.relative { summary += " · rel. error \(String(format: "%.3g", rel))" }
        var body = "<div class=\"panels\">"
        body += try payloadFigures()
        if let decoded {
            body += pictureFigures(original: original, decoded: decoded)
            if decoded.count > 1 {
                body += figure(SVG.histogram(SVG.Histogram(original: original, decoded: decoded)), caption: "weights before and after")
            }
        }
        body += "</div>"
        body += "<p class=\"note\">\(e(statistics(original: original, decoded: decoded)))</p>"
        return "<details id=\"\(Self.anchor(index))\"\(open ? " open=\"open\"" : "")><summary>\(summary)</summary><template>\(body)</template></details>\n"
    }

    private func figure(_ content: String, caption: String, wide: Bool = false) -> String {
        "<figure\(wide ? " class=\"wide\"" : "")>\(content)<figcaption>\(HTMLPage.escape(caption))</figcaption></figure>"
    }

    private func image(_ bytes: [UInt8], type: String, width: Int, height: Int, cssClass: String, alt: String) -> String {
        "<img class=\"\(cssClass)\" src=\"\(HTMLPage.dataURI(bytes, type: type))\" width=\"\(width)\" height=\"\(height)\" alt=\"\(HTMLPage.escape(alt))\"/>"
    }

    /// The JPEG payloads, embedded byte for byte (a mosaic image is a complete JPEG file; a
    /// shared-tables tile gets the shared tables spliced in after its SOI), up to the byte budget;
    /// arithmetic-coded ones transcoded losslessly to Huffman coding, which browsers decode.
    private func payloadFigures() throws -> String {
        guard case .jpeg(let p) = entry.coding else { return "" }
        let payloads: JPEGTensorPayloads
        var streams: [[UInt8]]
        do throws(CodecError) {
            payloads = try JPEGTensorPayloads(entry)
            streams = try payloads.standaloneStreams()
        } catch {
            throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload(error.reason))
        }
        let limit = p.pack == .mosaic ? streams.count : min(streams.count, options.tilesShown)
        let total = streams.reduce(0) { $0 + $1.count }
        // Browsers do not decode arithmetic coding: the streams shown are transcoded losslessly to
        // Huffman coding (the same quantized coefficients and table, read and written by libjpeg).
        if p.arithmetic {
            do throws(JPEGError) {
                let decoder = try JPEGDecoder(), encoder = try JPEGEncoder()
                for k in 0..<limit {
                    let image = payloads.images[k]
                    streams[k] = try encoder.write(decoder.readCoefficients(streams[k], maxPixels: image.width * image.height))
                }
            } catch {
                throw ContainerError(path: path, tensor: entry.name, fault: .corruptPayload("transcoding the arithmetic-coded JPEG for display: \(error)"))
            }
        }
        var shown = 0, bytes = 0, html = ""
        for (k, stream) in streams.prefix(limit).enumerated() {
            guard bytes + stream.count <= options.payloadBytesPerTensor else { break }
            let img = payloads.images[k]
            let zoom = p.pack == .mosaic ? 1 : max(1, 64 / max(img.width, img.height))
            html += image(stream, type: "image/jpeg", width: img.width * zoom, height: img.height * zoom,
                          cssClass: p.pack == .mosaic ? "jpeg" : "px", alt: "\(entry.name) JPEG \(k)")
            bytes += stream.count
            shown += 1
        }
        var caption: String
        if p.pack == .mosaic {
            caption = "The payload as stored: \(streams.count) mosaic JPEG image\(streams.count == 1 ? "" : "s") (\(grouped(total)) bytes, \(payloads.images.map { "\($0.width)×\($0.height)" }.joined(separator: ", ")) px), each a standard JPEG file; tiles \(p.layout.tileSize.height)×\(p.layout.tileSize.width) padded to whole 8×8 blocks."
        } else {
            let tables = payloads.tables?.count ?? 0
            caption = "Tile streams as stored (abbreviated JPEG) with the shared tables (\(grouped(tables)) bytes of DQT/DHT) spliced in after SOI, so each is a standalone JPEG: \(streams.count) tiles, \(grouped(total)) bytes as shown; displayed ×\(max(1, 64 / max(p.layout.tileSize.height, p.layout.tileSize.width)))."
        }
        if p.arithmetic {
            caption += " Stored arithmetic-coded (standard JPEG that browsers do not decode); shown transcoded losslessly to Huffman coding, the same coefficients and table (\(grouped(bytes)) bytes as shown)."
        }
        if shown < streams.count { caption += " Showing \(shown) of \(streams.count) (\(grouped(bytes)) bytes); weightjpeg extract writes them all." }
        let wrap = p.pack == .mosaic ? html : "<div style=\"display:flex;flex-wrap:wrap;gap:2px;max-width:560px\">\(html)</div>"
        return figure(wrap, caption: caption, wide: true)
    }

    /// Original and decoded weights as gray thumbnails on one scale, the error heat map, and the
    /// neuron grid of a `rows:HxW` tensor.
    private func pictureFigures(original: [Float]?, decoded: [Float]) -> String {
        guard line.shape.count >= 2, let rows = line.shape.first, rows > 0 else { return "" }
        let columns = decoded.count / rows
        guard columns > 0 else { return "" }
        var html = ""
        if case .jpeg(let p) = entry.coding, case .rows(let h, let w) = p.layout, options.neurons > 0 {
            let grid = NeuronGrid.render(original ?? decoded, rows: rows, height: h, width: w, below: original == nil ? nil : decoded,
                                         count: options.neurons, columns: 8, separator: 1, scale: 1, normalization: .perNeuron)
            let zoom = max(2, 440 / grid.width)
            let caption = original == nil
                ? "First \(min(options.neurons, rows)) neurons, each row of the tensor as a \(h)×\(w) image (decoded weights, each to its own min…max)."
                : "First \(min(options.neurons, rows)) neurons, each row as a \(h)×\(w) image: original above, decoded below, both on the neuron's joint min…max."
            html += figure(image(PNGWriter.encode(grid), type: "image/png", width: grid.width * zoom, height: grid.height * zoom, cssClass: "px", alt: "neurons"), caption: caption)
        }
        let isJPEG: Bool
        if case .jpeg = entry.coding { isJPEG = true } else { isJPEG = false }
        let pictures = TensorPictures(rows: rows, columns: columns, maxSide: isJPEG ? options.thumbnailSide : options.otherThumbnailSide)
        let size = pictures.displaySize(target: isJPEG ? 240 : 192)
        let decodedMeans = pictures.means(decoded)
        let originalMeans = original.map { pictures.means($0) }
        let (lo, hi) = TensorPictures.displayRange(originalMeans ?? decodedMeans)
        let scale = "black \(SVG.label(Double(lo))) … white \(SVG.label(Double(hi))), the 0.5th…99.5th percentile"
        if let originalMeans {
            html += figure(image(pictures.grayPNG(originalMeans, lo: lo, hi: hi), type: "image/png", width: size.width, height: size.height, cssClass: "px", alt: "original"),
                           caption: "original (\(scale))")
        }
        html += figure(image(pictures.grayPNG(decodedMeans, lo: lo, hi: hi), type: "image/png", width: size.width, height: size.height, cssClass: "px", alt: "decoded"),
                       caption: original == nil ? "decoded (\(scale))" : "decoded (same scale)")
        if let original {
            let error = pictures.rmsError(original: original, decoded: decoded)
            let peak = error.max() ?? 0
            let legend = "<div style=\"display:flex;align-items:center;gap:6px;font-size:0.75em\">0<span style=\"display:inline-block;width:140px;height:10px;background:\(HeatPalette.cssGradient)\"></span>\(SVG.label(Double(peak)))</div>"
            html += figure(image(pictures.heatPNG(error, hi: peak), type: "image/png", width: size.width, height: size.height, cssClass: "px", alt: "error heat map") + legend,
                           caption: "error: RMS of decoded − original per pixel")
        }
        html += "<p class=\"note\" style=\"flex-basis:100%;margin:0\">The \(rows)×\(columns) matrix drawn as \(pictures.height)×\(pictures.width) px, \(pictures.pixelNote).</p>"
        return html
    }

    /// The tensor's error figures in one line.
    private func statistics(original: [Float]?, decoded: [Float]?) -> String {
        var parts = ["\(grouped(line.bytes)) bytes (payloads and header record)", "\(fixed(line.bitsPerWeight, 3)) bits/weight", "\(fixed(line.ratioToFloat32, 1))× smaller than float32"]
        if let d = line.error {
            parts.append("RMSE \(String(format: "%.3g", d.rmse))")
            parts.append("relative error ‖ΔW‖/‖W‖ \(d.relative.map { String(format: "%.3g", $0) } ?? "n/a")")
            parts.append("SNR \(d.snrDB.map { fixed($0, 1) + " dB" } ?? (d.rmse == 0 ? "∞ (exact)" : "n/a"))")
        }
        if let original, let decoded {
            var worst: Float = 0
            for i in original.indices { worst = max(worst, abs(decoded[i] - original[i])) }
            parts.append("largest |ΔW| \(String(format: "%.3g", worst))")
        }
        if decoded == nil { parts.append("not a float tensor: no pictures") }
        return parts.joined(separator: " · ")
    }
}
