import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats

/// `PNGReader`, `PGMReader` and `ImageFile`: the image inputs of `infer`.
@Suite struct ImageFileTests {
    static let image = GrayImage(width: 5, height: 3, pixels: (0..<15).map { UInt8($0 * 17) })

    /// A PNG chunk: length, type, data, CRC-32 of type and data.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(CRC32.checksum(body))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    /// A zlib stream of one stored (uncompressed) deflate block, so that tests choose the scanlines'
    /// filter bytes themselves.
    static func storedZlib(_ data: [UInt8]) -> [UInt8] {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        let n = UInt16(data.count)
        return [0x78, 0x01, 0x01, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8(~n >> 8)] + data + bigEndian(b << 16 | a)
    }

    /// A grayscale PNG of `width × height` from raw scanlines (filter byte first).
    static func png(width: Int, height: Int, scanlines: [UInt8], depth: UInt8 = 8, color: UInt8 = 0, interlace: UInt8 = 0) -> [UInt8] {
        let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [depth, color, 0, 0, interlace]
        return PNGWriter.signature + chunk("IHDR", header) + chunk("IDAT", storedZlib(scanlines)) + chunk("IEND", [])
    }

    /// The kind of `ImageFileError` `body` throws (nil when it succeeds or throws something else).
    static func kind(_ body: () throws -> Any) -> ImageFileError.Kind? {
        do { _ = try body(); return nil } catch let error as ImageFileError { return error.kind } catch { return nil }
    }

    @Test func readsWhatPNGWriterWrites() throws {
        let bytes = PNGWriter.encode(Self.image)
        #expect(try PNGReader.read(bytes, path: "x.png") == Self.image)
        let file = try ImageFile(bytes: bytes, path: "x.png")
        #expect(file.format == .png && file.count == 1 && file.width == 5 && file.height == 3)
        #expect(Array(file[0]) == Self.image.pixels)
    }

    /// Filters 0…4 (none, sub, up, average, Paeth) undone as the PNG specification defines them.
    @Test func undoesEveryScanlineFilter() throws {
        // 3×5 pixels; row y uses filter y. Each raw byte is chosen so the pixel is 10·y + x + 1.
        let w = 3, h = 5
        let want: [UInt8] = (0..<(w * h)).map { UInt8(10 * ($0 / w) + $0 % w + 1) }
        var raw: [UInt8] = []
        for y in 0..<h {
            raw.append(UInt8(y))
            for x in 0..<w {
                let a = x > 0 ? Int(want[y * w + x - 1]) : 0, b = y > 0 ? Int(want[(y - 1) * w + x]) : 0
                let c = x > 0 && y > 0 ? Int(want[(y - 1) * w + x - 1]) : 0
                let p = a + b - c, (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                let predictor = [0, a, b, (a + b) / 2, pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)][y]
                raw.append(UInt8(truncatingIfNeeded: Int(want[y * w + x]) - predictor))
            }
        }
        #expect(try PNGReader.read(Self.png(width: w, height: h, scanlines: raw), path: "f.png").pixels == want)
    }

    @Test func pngErrorsSayWhatIsWrong() throws {
        let good = Self.png(width: 2, height: 1, scanlines: [0, 7, 9])
        #expect(try PNGReader.read(good, path: "g.png").pixels == [7, 9])
        #expect(Self.kind { try PNGReader.read(Self.png(width: 2, height: 1, scanlines: [5, 7, 9]), path: "p") } == .pngFilter(5))
        #expect(Self.kind { try PNGReader.read(Self.png(width: 2, height: 1, scanlines: [0, 7, 9], depth: 16), path: "p") }
                == .pngNotGray8(bitDepth: 16, colorType: 0))
        #expect(Self.kind { try PNGReader.read(Self.png(width: 2, height: 1, scanlines: [0, 7, 9], color: 2), path: "p") }
                == .pngNotGray8(bitDepth: 8, colorType: 2))
        #expect(Self.kind { try PNGReader.read(Self.png(width: 2, height: 1, scanlines: [0, 7, 9], interlace: 1), path: "p") } == .pngInterlaced)
        let short = Self.kind { try PNGReader.read(Self.png(width: 3, height: 1, scanlines: [0, 7, 9]), path: "p") }
        guard case .pngInflate(width: 3, height: 1, _)? = short else { Issue.record("\(String(describing: short))"); return }
        #expect(Self.kind { try PNGReader.read(Self.png(width: 2048, height: 1024, scanlines: [0]), path: "p") }
                == .sizeOutOfRange(format: "PNG", width: 2048, height: 1024))
        var badCRC = good
        badCRC[8 + 8 + 2] ^= 1  // a byte of IHDR's data
        let error = #expect(throws: ImageFileError.self) { try PNGReader.read(badCRC, path: "bad.png") }
        #expect(error?.kind == .pngChunkCRC(chunk: "IHDR"))
        #expect(error?.description == "bad.png: PNG chunk IHDR fails its CRC")
        #expect(Self.kind { try PNGReader.read(PNGWriter.signature + Self.chunk("IEND", []), path: "p") } == .pngMissingChunks)
    }

    @Test func readsBinaryPGMWithCommentsAndRescalesMaxval() throws {
        let header = Array("P5\n# a digit\n3 2\n".utf8)
        let full = try PGMReader.read(header + Array("255\n".utf8) + [0, 1, 2, 3, 4, 255], path: "a.pgm")
        #expect(full == GrayImage(width: 3, height: 2, pixels: [0, 1, 2, 3, 4, 255]))
        let fifteen = try PGMReader.read(header + Array("15 ".utf8) + [0, 1, 7, 8, 14, 15], path: "b.pgm")
        #expect(fifteen.pixels == [0, 17, 119, 136, 238, 255])
        let file = try ImageFile(bytes: header + Array("255\n".utf8) + [0, 1, 2, 3, 4, 255], path: "a.pgm")
        #expect(file.format == .pgm && file.count == 1)
    }

    @Test func pgmErrorsSayWhatIsWrong() {
        #expect(Self.kind { try PGMReader.read(Array("P5 3 2 65535\n".utf8) + [UInt8](repeating: 0, count: 12), path: "p") } == .unsupportedPGMMaxval(65535))
        #expect(Self.kind { try PGMReader.read(Array("P5 3 2 255\n".utf8) + [1, 2], path: "p") } == .pgmPixelCount(found: 2, expected: 6))
        #expect(Self.kind { try PGMReader.read(Array("P5 3 x 255\n".utf8), path: "p") } == .malformedPGMHeader)
        #expect(Self.kind { try PGMReader.read(Array("P5 0 2 255\n".utf8), path: "p") } == .sizeOutOfRange(format: "PGM", width: 0, height: 2))
        #expect(ImageFileError(path: "p.pgm", kind: .pgmPixelCount(found: 2, expected: 6)).description == "p.pgm: PGM has 2 pixel bytes, expected 6")
        // Fuzz finding (image target, 2026-12-02): a pixel above maxval overflowed the rescaling and trapped.
        let fuzzFinding: [UInt8] = Array("P5 4 2 15 ".utf8) + [0x00, 0x01, 0x02, 0x03, 0x0c, 0x4d, 0x0e, 0x0f]
        #expect(Self.kind { try PGMReader.read(fuzzFinding, path: "p") } == .pgmPixelAboveMaxval(value: 0x4d, maxval: 15, index: 5))
    }

    /// Every prefix of valid files, and every single-byte corruption of a PNG, gives a typed error
    /// or an image; never a crash.
    @Test func truncatedAndCorruptInputsThrowNeverCrash() {
        let png = PNGWriter.encode(Self.image)
        let pgm = Array("P5\n5 3\n255\n".utf8) + Self.image.pixels
        for bytes in [png, pgm] {
            for length in 0..<bytes.count {
                #expect(throws: ImageFileError.self) { try ImageFile(bytes: Array(bytes[..<length]), path: "t") }
            }
        }
        for offset in 0..<png.count {
            var damaged = png
            damaged[offset] ^= 0x5A
            if let file = try? ImageFile(bytes: damaged, path: "d") { #expect(file.pixels.count == file.width * file.height * file.count) }
        }
        #expect(Self.kind { try ImageFile(bytes: Array("GIF89a".utf8), path: "g") } == .unknownFormat)
    }

    @Test func readsEveryImageOfAnIDXFile() throws {
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3]
        let file = try ImageFile(bytes: header + Array(1...12), path: "i.idx")
        #expect(file.format == .idx && file.count == 2 && file.width == 3 && file.height == 2)
        #expect(Array(file[1]) == Array(7...12))
        #expect(throws: ImageFileError.self) { try ImageFile(bytes: header + Array(1...11), path: "short.idx") }
    }
}
