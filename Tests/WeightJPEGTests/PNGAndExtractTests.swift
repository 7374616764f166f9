import CZlib
import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEG

/// The PNG writer and the neuron grid used by `weightjpeg extract`.
struct PNGAndExtractTests {
    /// A parsed PNG: its chunks (type, data), with every CRC checked.
    struct Chunk { let type: String; let data: [UInt8] }

    static func chunks(_ png: [UInt8]) -> [Chunk]? {
        guard png.count >= 8, Array(png[0..<8]) == PNGWriter.signature else { return nil }
        var i = 8, out: [Chunk] = []
        func u32(_ at: Int) -> UInt32 { png[at..<(at + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        while i < png.count {
            guard i + 12 <= png.count else { return nil }
            let n = Int(u32(i))
            guard i + 12 + n <= png.count else { return nil }
            let typed = Array(png[(i + 4)..<(i + 8 + n)])
            guard CRC32.checksum(typed) == u32(i + 8 + n) else { return nil }
            out.append(Chunk(type: String(decoding: typed[0..<4], as: UTF8.self), data: Array(typed[4...])))
            i += 12 + n
        }
        return out
    }

    /// The image of an 8-bit grayscale PNG written by `PNGWriter`, decoded with zlib's `uncompress`.
    static func decode(_ png: [UInt8]) -> GrayImage? {
        guard let chunks = chunks(png), chunks.count == 3, chunks[0].type == "IHDR", chunks[1].type == "IDAT",
              chunks[2].type == "IEND", chunks[2].data.isEmpty else { return nil }
        let h = chunks[0].data
        func u32(_ at: Int) -> Int { Int(h[at..<(at + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
        guard h.count == 13, Array(h[8..<13]) == [8, 0, 0, 0, 0] else { return nil }
        let width = u32(0), height = u32(4)
        var raw = [UInt8](repeating: 0, count: (width + 1) * height)
        var length = uLong(raw.count)
        let idat = chunks[1].data
        let status = raw.withUnsafeMutableBufferPointer { dst in
            idat.withUnsafeBufferPointer { src in uncompress(dst.baseAddress, &length, src.baseAddress, uLong(src.count)) }
        }
        guard status == Z_OK, Int(length) == raw.count else { return nil }
        var pixels: [UInt8] = []
        for y in 0..<height {
            guard raw[y * (width + 1)] == 0 else { return nil } // filter type None
            pixels += raw[(y * (width + 1) + 1)..<((y + 1) * (width + 1))]
        }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    @Test func pngRoundTripsThroughZlib() throws {
        for (w, h) in [(1, 1), (3, 2), (17, 5), (300, 7)] {
            let pixels = (0..<(w * h)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 7) }
            let image = GrayImage(width: w, height: h, pixels: pixels)
            let png = PNGWriter.encode(image)
            #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            let back = try #require(Self.decode(png))
            #expect(back == image)
        }
    }

    @Test func pngHeaderIsGrayscale8Bit() throws {
        let png = PNGWriter.encode(GrayImage(width: 258, height: 65_536 / 256, pixels: [UInt8](repeating: 9, count: 258 * 256)))
        let chunks = try #require(Self.chunks(png))
        #expect(chunks.map(\.type) == ["IHDR", "IDAT", "IEND"])
        // width 258, height 256 big-endian; depth 8, color type 0, deflate, filter 0, no interlace.
        #expect(chunks[0].data == [0, 0, 1, 2, 0, 0, 1, 0, 8, 0, 0, 0, 0])
        // A constant image compresses far below its raw size.
        #expect(chunks[1].data.count < 1000)
    }

    /// A palette image: color type 3, a PLTE chunk of the colors, the indices as samples.
    @Test func pngWithPaletteStoresIndicesAndColors() throws {
        let palette: [(red: UInt8, green: UInt8, blue: UInt8)] = [(0, 0, 4), (200, 10, 20), (252, 255, 164)]
        let image = GrayImage(width: 4, height: 2, pixels: [0, 1, 2, 1, 2, 2, 0, 1])
        let chunks = try #require(Self.chunks(PNGWriter.encode(image, palette: palette)))
        #expect(chunks.map(\.type) == ["IHDR", "PLTE", "IDAT", "IEND"])
        #expect(Array(chunks[0].data[8..<13]) == [8, 3, 0, 0, 0])
        #expect(chunks[1].data == [0, 0, 4, 200, 10, 20, 252, 255, 164])
        // The samples are the indices: the same scanlines as the grayscale image of those values.
        let gray = try #require(Self.chunks(PNGWriter.encode(image)))
        #expect(chunks[2].data == gray[1].data && Self.decode(PNGWriter.encode(image))?.pixels == image.pixels)
    }

    /// Python's zlib, when python3 is installed, agrees on the chunk CRCs and the scanlines.
    @Test func pngParsesWithPython() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { return }
        let image = GrayImage(width: 5, height: 3, pixels: Array(0..<15).map { UInt8($0 * 17) })
        let path = NSTemporaryDirectory() + "wjpg-png-\(getpid()).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(PNGWriter.encode(image)).write(to: URL(fileURLWithPath: path))
        let script = """
        import struct, sys, zlib
        d = open(sys.argv[1], 'rb').read()
        assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
        i, idat = 8, b''
        while i < len(d):
            n, = struct.unpack('>I', d[i:i+4]); t = d[i+4:i+8]; body = d[i+8:i+8+n]
            assert struct.unpack('>I', d[i+8+n:i+12+n])[0] == zlib.crc32(t + body)
            if t == b'IHDR': w, h = struct.unpack('>II', body[:8])
            if t == b'IDAT': idat += body
            i += 12 + n
        raw = zlib.decompress(idat)
        print(w, h, ' '.join(str(b) for y in range(h) for b in raw[y*(w+1)+1:(y+1)*(w+1)]))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines)
                == "5 3 " + image.pixels.map(String.init).joined(separator: " "))
    }

    // MARK: NeuronGrid

    @Test func gridGeometry() {
        // 10 neurons of 3×2 in 4 columns → 3 grid rows; separator 1, scale 2: cells 6×4.
        let values = (0..<(10 * 6)).map { Float($0) }
        let g = NeuronGrid.render(values, rows: 10, height: 3, width: 2, count: 64, columns: 4, separator: 1, scale: 2)
        #expect(g.width == 4 * 4 + 5 * 1)
        #expect(g.height == 3 * 6 + 4 * 1)
        #expect(g.pixels.count == g.width * g.height)
        // Separators: the border and the lines between cells.
        #expect((0..<g.width).allSatisfy { g.pixels[$0] == 255 })
        #expect((0..<g.height).allSatisfy { g.pixels[$0 * g.width] == 255 && g.pixels[$0 * g.width + 5] == 255 })
        // Slots past the last neuron (10, 11) stay separator-colored.
        let ox = 1 + 2 * 5, oy = 1 + 2 * 7
        #expect(g.pixels[oy * g.width + ox] == 255)

        // Fewer neurons than columns: the grid shrinks to them; count larger than rows is clamped.
        let small = NeuronGrid.render([Float](repeating: 0, count: 2 * 4), rows: 2, height: 2, width: 2, count: 64, columns: 8, separator: 2)
        #expect(small.width == 2 * 2 + 3 * 2 && small.height == 2 + 2 * 2)
    }

    @Test func gridNormalizesEachNeuronAndUpscalesNearest() {
        // Neuron 0 spans -1…1, neuron 1 spans 100…103: each is stretched to 0…255 on its own.
        let n0: [Float] = [-1, 0, 0.5, 1]
        let n1: [Float] = [100, 101, 102, 103]
        let g = NeuronGrid.render(n0 + n1, rows: 2, height: 2, width: 2, columns: 2, separator: 1, scale: 2, separatorValue: 7)
        #expect(g.width == 2 * 4 + 3 && g.height == 4 + 2)
        func cell(_ j: Int) -> [[UInt8]] {
            let ox = 1 + j * 5
            return (0..<4).map { y in (0..<4).map { x in g.pixels[(1 + y) * g.width + ox + x] } }
        }
        #expect(cell(0) == [[0, 0, 128, 128], [0, 0, 128, 128], [191, 191, 255, 255], [191, 191, 255, 255]])
        #expect(cell(1) == [[0, 0, 85, 85], [0, 0, 85, 85], [170, 170, 255, 255], [170, 170, 255, 255]])
        #expect(g.pixels[0] == 7)

        // A constant neuron is mid-gray.
        let flat = NeuronGrid.render([Float](repeating: 0.3, count: 4), rows: 1, height: 2, width: 2, separator: 0)
        #expect(flat.pixels == [128, 128, 128, 128])
    }

    @Test func gridBeforeAfterPairsRows() {
        // Two neurons, one grid row of 2: originals in the first row, the second tensor under them.
        let above: [Float] = [0, 1, 0, 1]                // two 1×2 neurons: [0, 1], [0, 1]
        let below: [Float] = [0.5, 1, 1, 0]
        let g = NeuronGrid.render(above, rows: 2, height: 1, width: 2, below: below, columns: 2, separator: 1)
        #expect(g.width == 2 * 2 + 3 && g.height == 2 * 1 + 3)
        let top = Array(g.pixels[(1 * g.width)..<(2 * g.width)])
        let bottom = Array(g.pixels[(3 * g.width)..<(4 * g.width)])
        #expect(top == [255, 0, 255, 255, 0, 255, 255])
        #expect(bottom == [255, 0, 255, 255, 255, 0, 255])   // each image to its own range

        let joint = NeuronGrid.render(above, rows: 2, height: 1, width: 2, below: below, columns: 2, separator: 1,
                                      normalization: .perNeuron)
        #expect(Array(joint.pixels[(3 * joint.width)..<(4 * joint.width)]) == [255, 128, 255, 255, 255, 0, 255])
    }
}
