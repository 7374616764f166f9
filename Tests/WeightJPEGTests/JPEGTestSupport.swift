import Foundation
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

/// Test images and reference computations for the JPEG codec tests.
enum JPEGTestSupport {
    /// A smooth image with a gentle gradient and low-frequency waves.
    static func smoothImage(width: Int, height: Int, phase: Double = 0) -> GrayImage {
        var pixels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let v = 128 + 50 * sin(Double(x) / 5 + phase) * cos(Double(y) / 7)
                    + 30 * Double(x + y) / Double(width + height) - 15
                pixels[y * width + x] = UInt8(max(0, min(255, v.rounded())))
            }
        }
        return GrayImage(width: width, height: height, pixels: pixels)
    }

    /// Deterministic pseudo-random bytes (xorshift).
    static func noise(count: Int, seed: UInt64) -> [UInt8] {
        var s = seed | 1
        return (0..<count).map { _ in
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return UInt8(truncatingIfNeeded: s >> 24)
        }
    }

    /// Largest and mean absolute pixel difference.
    static func error(_ a: GrayImage, _ b: GrayImage) -> (max: Int, mean: Double) {
        precondition(a.pixels.count == b.pixels.count)
        var worst = 0, sum = 0
        for (p, q) in zip(a.pixels, b.pixels) {
            let d = abs(Int(p) - Int(q))
            worst = max(worst, d)
            sum += d
        }
        return (worst, Double(sum) / Double(max(1, a.pixels.count)))
    }

    /// Orthonormal 2-D DCT-II of (pixel - 128) of block (bx, by), natural order k = 8v + u, with
    /// libjpeg's edge padding (the last column and row are replicated).
    static func dct(_ image: GrayImage, blockX bx: Int, blockY by: Int) -> [Double] {
        var f = [Double](repeating: 0, count: 64)
        for y in 0..<8 {
            for x in 0..<8 {
                let px = min(bx * 8 + x, image.width - 1), py = min(by * 8 + y, image.height - 1)
                f[8 * y + x] = Double(image.pixels[py * image.width + px]) - 128
            }
        }
        return DCTTestSupport.directDCT(f)
    }

    /// Offsets of every marker (0xFF followed by a marker code) in the header segments and
    /// after the entropy-coded data, plus the range of entropy-coded bytes of the first scan.
    static func markers(_ bytes: [UInt8]) -> (markers: [Int], scanData: Range<Int>) {
        var markers: [Int] = []
        var i = 0
        var scan = 0..<0
        while i + 1 < bytes.count {
            guard bytes[i] == 0xFF else { break }
            let code = bytes[i + 1]
            markers.append(i)
            if code == 0xD8 || code == 0xD9 { i += 2; continue }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            i += 2 + length
            if code == 0xDA {
                let start = i
                while i + 1 < bytes.count, !(bytes[i] == 0xFF && bytes[i + 1] != 0 && !(0xD0...0xD7).contains(bytes[i + 1])) {
                    i += 1
                }
                if scan.isEmpty { scan = start..<i }
            }
        }
        return (markers, scan)
    }

    /// The djpeg binary if installed (libjpeg-turbo-progs), for an independent cross-check.
    static let djpegPath: String? = ["/usr/bin/djpeg", "/usr/local/bin/djpeg"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Decodes with djpeg to PGM and returns the samples.
    static func djpeg(_ bytes: [UInt8]) throws -> GrayImage {
        let dir = FileManager.default.temporaryDirectory
        let input = dir.appendingPathComponent("jpegtest-\(UUID().uuidString).jpg")
        try Data(bytes).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: djpegPath!)
        process.arguments = ["-grayscale", "-pnm", input.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = [UInt8](pipe.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        // PGM: "P5\n<w> <h>\n255\n" then samples.
        var fields: [String] = []
        var i = 0
        while fields.count < 4 {
            while data[i] == 0x20 || data[i] == 0x0A { i += 1 }
            var s = ""
            while data[i] != 0x20 && data[i] != 0x0A { s.append(Character(UnicodeScalar(data[i]))); i += 1 }
            fields.append(s)
        }
        i += 1
        let w = Int(fields[1])!, h = Int(fields[2])!
        return GrayImage(width: w, height: h, pixels: Array(data[i..<(i + w * h)]))
    }
}
