import Testing
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGTools

private typealias S = JPEGTestSupport

@Suite struct JPEGCodecTests {
    static let sizes: [(Int, Int)] = [(28, 28), (100, 37)]

    @Test(arguments: [10, 50, 75, 90, 100])
    func roundTripSmoothImages(quality: Int) throws {
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        for (w, h) in Self.sizes {
            let image = S.smoothImage(width: w, height: h)
            for optimize in [false, true] {
                let bytes = try encoder.encode(image, options: JPEGOptions(quality: quality, optimizeHuffman: optimize))
                let decoded = try decoder.decode(bytes, maxPixels: w * h)
                #expect(decoded.width == w && decoded.height == h)
                let e = S.error(image, decoded)
                let (maxBound, meanBound): (Int, Double) = quality >= 90 ? (4, 1.0) : quality >= 50 ? (12, 3.0) : (40, 8.0)
                #expect(e.max <= maxBound && e.mean <= meanBound, "q\(quality) \(w)x\(h): \(e)")
            }
        }
    }

    @Test func progressiveAndArithmeticRoundTrips() throws {
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        for (w, h) in Self.sizes {
            let image = S.smoothImage(width: w, height: h, phase: 1)
            let baseline = try decoder.decode(
                encoder.encode(image, options: JPEGOptions(quality: 85, optimizeHuffman: false)), maxPixels: w * h)
            for (arithmetic, progressive) in [(true, false), (false, true), (true, true)] {
                let options = JPEGOptions(quality: 85, arithmetic: arithmetic, progressive: progressive)
                let bytes = try encoder.encode(image, options: options)
                let decoded = try decoder.decode(bytes, maxPixels: w * h)
                // Same quantized coefficients whatever the entropy coding: identical pixels.
                #expect(decoded == baseline, "arith \(arithmetic) prog \(progressive)")
                // Abbreviated variant.
                let tables = try encoder.tablesOnly(options: options)
                let short = try encoder.encode(image, options: options, tables: .omitted)
                #expect(try decoder.decode(short, tables: tables, maxPixels: w * h) == baseline)
            }
        }
    }

    @Test func tablesOnlyAndAbbreviatedStreamsDecodeLikeFullStreams() throws {
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        for optimize in [false, true] {
            for (w, h) in Self.sizes {
                let image = S.smoothImage(width: w, height: h, phase: 2)
                let options = JPEGOptions(quality: 70, optimizeHuffman: optimize)
                let full = try encoder.encode(image, options: options)
                let tables = try encoder.tablesOnly(options: options)
                let short = try encoder.encode(image, options: options, tables: .omitted)
                #expect(short.count < full.count)
                let a = try decoder.decode(full, maxPixels: w * h)
                let b = try decoder.decode(short, tables: tables, maxPixels: w * h)
                #expect(a == b)
                #expect(try decoder.readCoefficients(short, tables: tables, maxPixels: w * h)
                    == decoder.readCoefficients(full, maxPixels: w * h))
                // A tables stream + abbreviated stream of standard tables: about 290 bytes of tables.
                if !optimize { #expect(tables.count < 300 && full.count - short.count > 250, "\(tables.count) \(full.count) \(short.count)") }
            }
        }
        #expect(try encoder.tablesOnly(options: JPEGOptions(arithmetic: true)).count < 80)
    }

    @Test func reusedDecoderNeverUsesStaleTables() throws {
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        let image = S.smoothImage(width: 28, height: 28)
        let options = JPEGOptions(quality: 60, optimizeHuffman: false)
        let tables = try encoder.tablesOnly(options: options)
        let short = try encoder.encode(image, options: options, tables: .omitted)
        _ = try decoder.decode(short, tables: tables, maxPixels: 784)
        // libjpeg alone would decode this with the tables of the previous call.
        let error = #expect(throws: JPEGError.self) { try decoder.decode(short, maxPixels: 784) }
        #expect(error?.message.contains("Quantization table 0x00 was not defined") == true, "\(String(describing: error))")
        // Tables of another quality must not leak into the next abbreviated decode either.
        let other = try encoder.tablesOnly(options: JPEGOptions(quality: 10, optimizeHuffman: false))
        let wrong = try decoder.decode(short, tables: other, maxPixels: 784)
        let right = try decoder.decode(short, tables: tables, maxPixels: 784)
        #expect(wrong != right)
        #expect(try JPEGDecoder().decode(short, tables: tables, maxPixels: 784) == right)
    }

    @Test func reusedDecoderMatchesFreshDecoder() throws {
        let encoder = try JPEGEncoder(), shared = try JPEGDecoder()
        var streams: [[UInt8]] = []
        for (i, quality) in [20, 95, 50, 75].enumerated() {
            for (w, h) in Self.sizes {
                let image = S.smoothImage(width: w, height: h, phase: Double(i))
                streams.append(try encoder.encode(image, options: JPEGOptions(
                    quality: quality, optimizeHuffman: i % 2 == 0, arithmetic: i == 3, progressive: i == 1)))
            }
        }
        for bytes in streams + streams.reversed() {
            let fresh = try JPEGDecoder().decode(bytes, maxPixels: 10_000)
            #expect(try shared.decode(bytes, maxPixels: 10_000) == fresh)
            if S.djpegPath != nil { // independent decoder, when libjpeg-turbo-progs is installed
                #expect(try S.djpeg(bytes) == fresh)
            }
        }
    }

    @Test func coefficientsTimesTableMatchDirectDCT() throws {
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        for (w, h, quality) in [(32, 24, 100), (32, 24, 75), (28, 28, 90), (100, 37, 50)] {
            let image = S.smoothImage(width: w, height: h, phase: 0.5)
            let bytes = try encoder.encode(image, options: JPEGOptions(quality: quality))
            let c = try decoder.readCoefficients(bytes, maxPixels: w * h)
            #expect(c.width == w && c.height == h)
            #expect(c.widthInBlocks == (w + 7) / 8 && c.heightInBlocks == (h + 7) / 8)
            #expect(c.blocks.count == 64 * c.widthInBlocks * c.heightInBlocks)
            #expect(c.quantizationTable == (try JPEG.standardLuminanceTable(quality: quality)))
            var worst = 0.0
            for by in 0..<c.heightInBlocks {
                for bx in 0..<c.widthInBlocks {
                    let reference = S.dct(image, blockX: bx, blockY: by)
                    let block = (by * c.widthInBlocks + bx) * 64
                    for k in 0..<64 {
                        let q = Double(c.quantizationTable[k])
                        let excess = abs(Double(c.blocks[block + k]) * q - reference[k]) - q / 2
                        worst = max(worst, excess)
                    }
                }
            }
            // libjpeg's integer DCT (JDCT_ISLOW) adds well under one unit of error.
            #expect(worst <= 1.0, "\(w)x\(h) q\(quality): \(worst)")
        }
    }

    @Test func writingReadCoefficientsIsLossless() throws {
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        for (w, h) in Self.sizes {
            let image = S.smoothImage(width: w, height: h, phase: 3)
            let original = try encoder.encode(image, options: JPEGOptions(quality: 80, optimizeHuffman: false))
            let pixels = try decoder.decode(original, maxPixels: w * h)
            let coefficients = try decoder.readCoefficients(original, maxPixels: w * h)
            for (optimize, arithmetic, progressive) in [(false, false, false), (true, false, false), (false, true, false), (true, false, true), (false, true, true)] {
                let options = JPEGOptions(optimizeHuffman: optimize, arithmetic: arithmetic, progressive: progressive)
                let rewritten = try encoder.write(coefficients, options: options)
                #expect(try decoder.decode(rewritten, maxPixels: w * h) == pixels)
                #expect(try decoder.readCoefficients(rewritten, maxPixels: w * h) == coefficients)
                if !optimize && !arithmetic && !progressive { #expect(rewritten == original) }
                // Abbreviated: tables from the same quantization table.
                let tables = try encoder.tablesOnly(options: JPEGOptions(
                    quantizationTable: coefficients.quantizationTable, optimizeHuffman: optimize, arithmetic: arithmetic))
                let short = try encoder.write(coefficients, options: options, tables: .omitted)
                #expect(short.count < rewritten.count)
                #expect(try decoder.decode(short, tables: tables, maxPixels: w * h) == pixels)
            }
        }
    }

    @Test func explicitQuantizationTableRoundTrip() throws {
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        let image = S.smoothImage(width: 100, height: 37)
        let table: [UInt16] = (0..<64).map { k in UInt16(1 + (k * 37) % 400) }
        for forceBaseline in [false, true] {
            let bytes = try encoder.encode(image, options: JPEGOptions(quantizationTable: table, forceBaseline: forceBaseline))
            let c = try decoder.readCoefficients(bytes, maxPixels: 10_000)
            #expect(c.quantizationTable == (forceBaseline ? table.map { min($0, 255) } : table))
            _ = try decoder.decode(bytes, maxPixels: 10_000)
            let tables = try encoder.tablesOnly(options: JPEGOptions(quantizationTable: table, forceBaseline: forceBaseline))
            let short = try encoder.encode(image, options: JPEGOptions(quantizationTable: table, forceBaseline: forceBaseline), tables: .omitted)
            #expect(try decoder.readCoefficients(short, tables: tables, maxPixels: 10_000) == c)
        }
        // Quality scaling helper matches libjpeg, 16-bit entries included.
        for quality in [1, 5, 10, 25, 50, 75, 99, 100] {
            for forceBaseline in [false, true] {
                let bytes = try encoder.encode(image, options: JPEGOptions(quality: quality, forceBaseline: forceBaseline))
                let c = try decoder.readCoefficients(bytes, maxPixels: 10_000)
                #expect(c.quantizationTable == (try JPEG.standardLuminanceTable(quality: quality, forceBaseline: forceBaseline)))
            }
        }
        #expect(try JPEG.standardLuminanceTable(quality: 1).max()! > 255)
        #expect(JPEG.zigzagToNatural.indices.allSatisfy { JPEG.naturalToZigzag[JPEG.zigzagToNatural[$0]] == $0 })
    }

    /// libjpeg-turbo 2.1.5's jpeg_set_defaults keeps the previous image's optimized Huffman tables;
    /// without the shim's fix the plain encode below writes a corrupt stream.
    @Test func plainEncodeAfterOptimizedEncodeOnSameEncoder() throws {
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        for (w, h) in Self.sizes {
            let first = S.smoothImage(width: w, height: h, phase: 4)
            let second = S.smoothImage(width: w, height: h, phase: 5)
            let plain = JPEGOptions(quality: 75, optimizeHuffman: false)
            for progressive in [false, true] {
                _ = try encoder.encode(first, options: JPEGOptions(quality: 75, optimizeHuffman: true, progressive: progressive))
                let reused = try encoder.encode(second, options: plain)
                let fresh = try JPEGEncoder().encode(second, options: plain)
                #expect(reused == fresh)
                #expect(try decoder.decode(reused, maxPixels: w * h) == decoder.decode(fresh, maxPixels: w * h))
                // Tables-only and coefficient writes after an optimized encode, too.
                _ = try encoder.encode(first, options: JPEGOptions(optimizeHuffman: true))
                #expect(try encoder.tablesOnly(options: plain) == JPEGEncoder().tablesOnly(options: plain))
                let c = try decoder.readCoefficients(fresh, maxPixels: w * h)
                _ = try encoder.encode(first, options: JPEGOptions(optimizeHuffman: true))
                #expect(try encoder.write(c, options: plain) == fresh)
            }
        }
    }

    @Test func stridedEncodeOfTileInsideLargerBuffer() throws {
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        let big = S.smoothImage(width: 100, height: 37)
        var tile = [UInt8]()
        for y in 5..<33 { tile += big.pixels[(y * 100 + 40)..<(y * 100 + 68)] }
        let expected = try encoder.encode(GrayImage(width: 28, height: 28, pixels: tile))
        let strided = try big.pixels.withUnsafeBytes { raw in
            try encoder.encode(UnsafeRawBufferPointer(rebasing: raw[(5 * 100 + 40)...]), width: 28, height: 28, stride: 100)
        }
        #expect(strided == expected)
        let decoded = try expected.withUnsafeBytes { try decoder.decode($0, maxPixels: 784) }
        #expect(decoded == (try decoder.decode(expected, maxPixels: 784)))
    }

    @Test func rawLibjpegReferenceMatchesCodec() throws {
        let images = (0..<3).map { S.smoothImage(width: 28, height: 28, phase: Double($0)) }
        let tiles = images.flatMap(\.pixels)
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        for optimize in [false, true] {
            let raw = try JPEGRawBenchmark.encode(tiles: tiles, width: 28, height: 28, quality: 80, optimize: optimize)
            #expect(raw.offsets.count == 3 && raw.bytes.count == raw.sizes.reduce(0, +))
            let options = JPEGOptions(quality: 80, optimizeHuffman: optimize, forceBaseline: true, writeJFIF: true)
            for (i, image) in images.enumerated() {
                let stream = Array(raw.bytes[raw.offsets[i]..<(raw.offsets[i] + raw.sizes[i])])
                #expect(try encoder.encode(image, options: options) == stream)
            }
            let pixels = try JPEGRawBenchmark.decode(bytes: raw.bytes, offsets: raw.offsets, sizes: raw.sizes, width: 28, height: 28)
            let ours = try (0..<3).flatMap { i in
                try decoder.decode(Array(raw.bytes[raw.offsets[i]..<(raw.offsets[i] + raw.sizes[i])]), maxPixels: 784).pixels
            }
            #expect(pixels == ours)
        }
        #expect(throws: JPEGError.self) { try JPEGRawBenchmark.decode(bytes: [1, 2, 3], offsets: [0], sizes: [3], width: 28, height: 28) }
        #expect(throws: JPEGError.self) { try JPEGRawBenchmark.encode(tiles: tiles, width: 0, height: 28, quality: 80, optimize: false) }
    }
}
