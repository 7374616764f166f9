import Testing
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

private typealias S = JPEGTestSupport

@Suite struct JPEGErrorTests {
    static func sample(_ options: JPEGOptions = JPEGOptions(quality: 75)) throws -> (GrayImage, [UInt8]) {
        let image = S.smoothImage(width: 100, height: 37)
        return (image, try JPEGEncoder().encode(image, options: options))
    }

    @Test(arguments: [JPEGOptions(quality: 75), JPEGOptions(quality: 40, progressive: true), JPEGOptions(arithmetic: true)])
    func truncatedStreamsThrow(options: JPEGOptions) throws {
        let (_, bytes) = try Self.sample(options)
        let decoder = try JPEGDecoder()
        for length in Swift.stride(from: 0, to: bytes.count, by: 7) + [bytes.count - 1, bytes.count - 2] {
            let error = #expect(throws: JPEGError.self, "length \(length) of \(bytes.count)") {
                try decoder.decode(Array(bytes[..<length]), maxPixels: 10_000)
            }
            _ = error
            #expect(throws: JPEGError.self) { try decoder.readCoefficients(Array(bytes[..<length]), maxPixels: 10_000) }
        }
        // Still usable.
        #expect(try decoder.decode(bytes, maxPixels: 10_000).width == 100)
    }

    @Test func nonStrictDecoderAcceptsTruncation() throws {
        let (_, bytes) = try Self.sample()
        let decoder = try JPEGDecoder()
        decoder.strict = false
        let image = try decoder.decode(Array(bytes[..<(bytes.count * 6 / 10)]), maxPixels: 10_000)
        #expect(image.width == 100)
        decoder.strict = true
        let error = #expect(throws: JPEGError.self) { try decoder.decode(Array(bytes[..<(bytes.count * 6 / 10)]), maxPixels: 10_000) }
        #expect(error?.kind == .corruptData)
    }

    @Test func flippedMarkerBytesThrow() throws {
        let (_, bytes) = try Self.sample(JPEGOptions(writeJFIF: true))
        let decoder = try JPEGDecoder()
        let (markers, _) = S.markers(bytes)
        #expect(markers.count >= 6) // SOI APP0 DQT SOF DHT(s) SOS EOI
        for offset in markers {
            for mask: UInt8 in [0x01, 0x40, 0x80, 0xFF] {
                var damaged = bytes
                damaged[offset] ^= mask // the 0xFF prefix
                #expect(throws: JPEGError.self, "marker at \(offset) mask \(mask)") { try decoder.decode(damaged, maxPixels: 10_000) }
            }
            var damaged = bytes
            damaged[offset + 1] = 0 // marker code
            #expect(throws: JPEGError.self, "marker code at \(offset)") { try decoder.decode(damaged, maxPixels: 10_000) }
        }
        #expect(try decoder.decode(bytes, maxPixels: 10_000).height == 37)
    }

    @Test func flippedEntropyBytesNeverCrash() throws {
        let (_, bytes) = try Self.sample()
        let decoder = try JPEGDecoder()
        let (_, scan) = S.markers(bytes)
        #expect(scan.count > 100)
        var thrown = 0, decoded = 0
        for offset in scan {
            for mask: UInt8 in [0x01, 0x10, 0xFF] {
                var damaged = bytes
                damaged[offset] ^= mask
                do {
                    let image = try decoder.decode(damaged, maxPixels: 10_000)
                    #expect(image.pixels.count == 3700)
                    decoded += 1
                } catch {
                    thrown += 1
                }
                _ = try? decoder.readCoefficients(damaged, maxPixels: 10_000)
            }
        }
        #expect(thrown + decoded == scan.count * 3)
        #expect(thrown > 0)
        #expect(try decoder.decode(bytes, maxPixels: 10_000).height == 37)
    }

    @Test func garbageAndEmptyInputThrow() throws {
        let decoder = try JPEGDecoder()
        for seed in 1...50 as ClosedRange<UInt64> {
            var garbage = S.noise(count: Int(seed) * 13, seed: seed)
            #expect(throws: JPEGError.self) { try decoder.decode(garbage, maxPixels: 1 << 20) }
            garbage[0] = 0xFF
            if garbage.count > 1 { garbage[1] = 0xD8 } // SOI then garbage
            #expect(throws: JPEGError.self) { try decoder.decode(garbage, maxPixels: 1 << 20) }
            #expect(throws: JPEGError.self) { try decoder.readCoefficients(garbage, maxPixels: 1 << 20) }
        }
        #expect(throws: JPEGError.self) { try decoder.decode([], maxPixels: 100) }
        #expect(throws: JPEGError.self) { try decoder.readCoefficients([], maxPixels: 100) }
        #expect(throws: JPEGError.self) { try decoder.decode(UnsafeRawBufferPointer(start: nil, count: 0), maxPixels: 100) }
        let (_, bytes) = try Self.sample()
        #expect(throws: JPEGError.self) { try decoder.decode(bytes, tables: [], maxPixels: 10_000) }
        // A full image passed as the tables stream.
        #expect(throws: JPEGError.self) { try decoder.decode(bytes, tables: bytes, maxPixels: 10_000) }
        // Data after EOI.
        let trailing = #expect(throws: JPEGError.self) { try decoder.decode(bytes + [0, 1, 2], maxPixels: 10_000) }
        #expect(trailing?.kind == .corruptData)
        #expect(try decoder.decode(bytes, maxPixels: 10_000).width == 100)
    }

    @Test func hugeHeaderIsRejectedBeforeDecoding() throws {
        let (_, bytes) = try Self.sample()
        let sof = S.markers(bytes).markers.first { bytes[$0 + 1] == 0xC0 || bytes[$0 + 1] == 0xC1 }!
        var huge = bytes
        // SOF: FF C0, length(2), precision(1), height(2), width(2)
        huge[sof + 5] = 0xFD; huge[sof + 6] = 0xE8 // 65000
        huge[sof + 7] = 0xFD; huge[sof + 8] = 0xE8
        let decoder = try JPEGDecoder()
        let error = #expect(throws: JPEGError.self) { try decoder.decode(huge, maxPixels: 1_000_000) }
        #expect(error?.kind == .tooLarge)
        let error2 = #expect(throws: JPEGError.self) { try decoder.readCoefficients(huge, maxPixels: 1_000_000) }
        #expect(error2?.kind == .tooLarge)
        // Just over the budget of a real image.
        #expect(throws: JPEGError.self) { try decoder.decode(bytes, maxPixels: 3699) }
        #expect(try decoder.decode(bytes, maxPixels: 3700).width == 100)
    }

    @Test func endlessProgressiveScansAreBounded() throws {
        let (_, bytes) = try Self.sample(JPEGOptions(quality: 75, progressive: true))
        let lastScan = S.markers(bytes).markers.last { bytes[$0 + 1] == 0xDA }!
        let scan = bytes[lastScan..<(bytes.count - 2)]
        var hostile = Array(bytes[..<lastScan])
        for _ in 0..<600 { hostile += scan }
        hostile += [0xFF, 0xD9]
        let decoder = try JPEGDecoder()
        decoder.strict = false // repeated refinement scans only warn; the scan limit must still stop them
        let error = #expect(throws: JPEGError.self) { try decoder.decode(hostile, maxPixels: 10_000) }
        #expect(error?.message.contains("more than 500 scans") == true, "\(String(describing: error))")
        #expect(throws: JPEGError.self) { try decoder.readCoefficients(hostile, maxPixels: 10_000) }
        decoder.strict = true
        #expect(throws: JPEGError.self) { try decoder.decode(hostile, maxPixels: 10_000) }
        #expect(try decoder.decode(bytes, maxPixels: 10_000).width == 100)
    }

    @Test func invalidEncoderArgumentsThrow() throws {
        let encoder = try JPEGEncoder()
        let image = S.smoothImage(width: 28, height: 28)
        for quality in [0, -5, 101, Int.max] {
            let error = #expect(throws: JPEGError.self) { try encoder.encode(image, options: JPEGOptions(quality: quality)) }
            #expect(error?.kind == .invalidArgument)
            #expect(throws: JPEGError.self) { try encoder.tablesOnly(options: JPEGOptions(quality: quality)) }
            #expect(throws: JPEGError.self) { try JPEG.standardLuminanceTable(quality: quality) }
        }
        var badTable = [UInt16](repeating: 10, count: 64)
        badTable[5] = 0
        #expect(throws: JPEGError.self) { try encoder.encode(image, options: JPEGOptions(quantizationTable: badTable)) }
        badTable[5] = 40000
        #expect(throws: JPEGError.self) { try encoder.encode(image, options: JPEGOptions(quantizationTable: badTable)) }
        #expect(throws: JPEGError.self) { try encoder.encode(image, options: JPEGOptions(quantizationTable: [1, 2, 3])) }
        #expect(throws: JPEGError.self) { try encoder.encode(GrayImage(width: 28, height: 27, pixels: image.pixels)) }
        #expect(throws: JPEGError.self) { try encoder.encode(GrayImage(width: 0, height: 0, pixels: [])) }
        #expect(throws: JPEGError.self) { try encoder.encode(GrayImage(width: 70000, height: 1, pixels: .init(repeating: 0, count: 70000))) }
        #expect(throws: JPEGError.self) {
            try image.pixels.withUnsafeBytes { try encoder.encode($0, width: 28, height: 28, stride: 29) }
        }
        #expect(throws: JPEGError.self) {
            try image.pixels.withUnsafeBytes { try encoder.encode($0, width: 28, height: 28, stride: Int.max) }
        }
        // Still usable, identical output to a fresh encoder.
        #expect(try encoder.encode(image) == JPEGEncoder().encode(image))
    }

    @Test func invalidCoefficientsThrow() throws {
        let (_, bytes) = try Self.sample()
        let encoder = try JPEGEncoder(), decoder = try JPEGDecoder()
        let good = try decoder.readCoefficients(bytes, maxPixels: 10_000)
        var c = good
        c.blocks[70] = 1024
        #expect(throws: JPEGError.self) { try encoder.write(c) }
        c = good; c.blocks[64] = -1025
        #expect(throws: JPEGError.self) { try encoder.write(c) }
        c = good; c.blocks.removeLast()
        #expect(throws: JPEGError.self) { try encoder.write(c) }
        c = good; c.widthInBlocks += 1
        #expect(throws: JPEGError.self) { try encoder.write(c) }
        c = good; c.quantizationTable[3] = 0
        #expect(throws: JPEGError.self) { try encoder.write(c) }
        c = good; c.quantizationTable[3] = 300
        #expect(throws: JPEGError.self) { try encoder.write(c, options: JPEGOptions(forceBaseline: true)) }
        #expect(try decoder.decode(encoder.write(c), maxPixels: 10_000).width == 100) // 16-bit table
        #expect(try encoder.write(good) == bytes) // same options as the sample: identical stream
    }
}
