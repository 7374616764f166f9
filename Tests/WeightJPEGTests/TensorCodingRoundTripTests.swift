import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGTools

// Every coding through its one `TensorCodec`, and the JPEG payloads parsed once with their geometry.

// MARK: - One codec per coding; the JPEG payload layout parsed once

@Test func everyCodingRoundTripsThroughItsTensorCodec() throws {
    let jpeg = try JPEGTensorCodec()
    let values = smoothMatrix(rows: 40, columns: 70, seed: 11)
    let shape = [40, 70]
    let codings: [TensorCoding] = [
        .exact, .float16, .int8PerRow, .entropyUniform(step: 0.002), .fixedRows(bits: 9),
        .entropyTrellis(EntropyTrellisParameters(dependent: true, step: 0.002, rowsPerChunk: 16)),
        .entropyTrellis(EntropyTrellisParameters(dependent: false, step: 0.002, rowsPerChunk: 100)),
        .jpeg(JPEGTensorParameters(layout: .matrix(tileHeight: 16, tileWidth: 32), scale: .tile, pack: .mosaic, quality: 90)),
        .jpeg(JPEGTensorParameters(layout: .matrix(tileHeight: 16, tileWidth: 32), scale: .tensor, pack: .sharedTables, quality: 90)),
    ]
    for coding in codings {
        let coded = try #require(try coding.encode(values, shape: shape, dtype: .F32, jpeg: jpeg), "\(coding)")
        #expect(coded.coding.code == coding.code)
        let back = try coded.coding.codec().decode(coded.payloads, shape: shape, dtype: .F32, jpeg: jpeg)
        let worst = zip(values, back).map { abs($0 - $1) }.max() ?? 0
        // The field spans about ±0.4: every lossy coding here keeps each weight within 4% of that.
        #expect(back.count == values.count && worst < 0.03, "\(coding): max error \(worst)")
        if coding == .exact { #expect(back == values) }
    }
}

@Test func jpegPayloadsAreParsedWithTheirGeometry() throws {
    let codec = try JPEGTensorCodec()
    let rows = 30, columns = 784
    let values = smoothRowsTensor(rows: rows, seed: 12)
    for pack in PackMode.allCases {
        let p = JPEGTensorParameters(layout: .rows(height: 28, width: 28), scale: .tile, pack: pack, quality: 50)
        let coded = try codec.encode(values, rows: rows, columns: columns, parameters: p)
        let payloads = try JPEGTensorPayloads(coded.payloads, rows: rows, columns: columns, parameters: coded.parameters)
        #expect(payloads.tileCount == rows)
        #expect(payloads.images.flatMap { Array($0.tiles) } == Array(0..<rows), "\(pack): every tile once, in order")
        #expect((payloads.tables != nil) == (pack == .sharedTables))
        // Every image as a standalone stream decodes, on a fresh decoder, to the size the header implies.
        for (image, stream) in zip(payloads.images, try payloads.standaloneStreams()) {
            let decoded = try JPEGDecoder().decode(stream, maxPixels: image.width * image.height)
            #expect(decoded.width == image.width && decoded.height == image.height, "\(pack)")
        }
        // Pixel decoding of the parsed payloads equals decoding the raw ones.
        #expect(try codec.decode(payloads) == codec.decode(coded.payloads, rows: rows, columns: columns, parameters: coded.parameters))
        // The mosaic images the encoder fed to libjpeg, rebuilt, re-encode to the very streams.
        if pack == .mosaic {
            let images = JPEGTensorCodec.mosaicImages(of: values, payloads: payloads)
            #expect(images.count == payloads.images.count)
            for (k, image) in images.enumerated() {
                #expect(try JPEGEncoder().encode(image, options: coded.parameters.jpegOptions()) == coded.payloads[1 + k])
            }
        }
    }
    // Structure errors are found when parsing, before any stream is decoded.
    let p = JPEGTensorParameters(layout: .rows(height: 28, width: 28), scale: .tensor, pack: .sharedTables, quality: 50)
    let coded = try codec.encode(values, rows: rows, columns: columns, parameters: p)
    var truncated = coded.payloads
    truncated[2].removeLast()
    #expect(throws: CodecError.self) { try JPEGTensorPayloads(truncated, rows: rows, columns: columns, parameters: coded.parameters) }
    var extra = coded.payloads
    extra[2].append(0)
    #expect(throws: CodecError.self) { try JPEGTensorPayloads(extra, rows: rows, columns: columns, parameters: coded.parameters) }
}
