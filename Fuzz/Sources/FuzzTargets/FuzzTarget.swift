import Foundation
import WeightJPEG

/// The five fuzzed readers. Each harness feeds hostile bytes to one reader and checks what a correct
/// reader must guarantee beyond "does not crash" (re-reading what it wrote gives the same value).
/// A harness never traps on a thrown error: errors are the expected outcome for most inputs.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `.wjpg`: `Container(bytes:path:salvage:)` in strict and salvage mode, then
    /// `ModelCodec.decode` of every entry it accepts.
    case container
    /// The JPEG decoder (pixels or coefficients, with or without a tables stream), strict mode.
    case jpeg
    /// `SafetensorsFile(data:path:)`, then every float tensor converted.
    case safetensors
    /// `IDXFile(data:path:)`, plain or gzipped.
    case idx
    /// `ImageFile(bytes:path:)`: PNG, PGM or IDX images (what `infer` reads).
    case image

    /// Runs this target's harness on one input (a trap is a finding; thrown errors are expected).
    public func run(_ bytes: [UInt8]) {
        switch self {
        case .container: FuzzHarness.container(bytes)
        case .jpeg: FuzzHarness.jpeg(bytes)
        case .safetensors: FuzzHarness.safetensors(bytes)
        case .idx: FuzzHarness.idx(bytes)
        case .image: FuzzHarness.image(bytes)
        }
    }
}

/// The harness bodies, one static function per `FuzzTarget` case, and the limits they apply.
public enum FuzzHarness {
    /// Pixel budget of the JPEG harness: images above it are rejected from the header.
    public static let jpegMaxPixels = 1 << 20
    /// Largest gunzipped IDX accepted by the IDX harness.
    public static let idxMaximumSize = 16 << 20

    nonisolated(unsafe) static var tensorCodec: JPEGTensorCodec = try! JPEGTensorCodec()
    nonisolated(unsafe) static var decoder: JPEGDecoder = try! JPEGDecoder()

    public static func container(_ bytes: [UInt8]) {
        containerOnce(bytes)
        // Mutations almost always break a CRC-32 first; a second run with every checksum repaired
        // lets the fuzzer reach the header's fields and the payload decoders.
        let repaired = CRCRepair.repaired(bytes)
        if repaired != bytes { containerOnce(repaired) }
    }

    static func containerOnce(_ bytes: [UInt8]) {
        // A strict read that succeeds makes the salvaging read redundant (it must give the same).
        let strict = try? Container(bytes: bytes, path: "fuzz.wjpg")
        guard let container = strict ?? (try? Container(bytes: bytes, path: "fuzz.wjpg", salvage: true)) else { return }
        // The format is byte-exact: what was read must survive a write and a re-read.
        if container.entries.allSatisfy({ $0.damage == nil }) {
            let again = try? Container(bytes: container.serialized(), path: "rewritten.wjpg")
            precondition(again == container, "container changes when rewritten")
        }
        for entry in container.entries {
            let decoded = try? ModelCodec.decode(entry, codec: tensorCodec, path: "fuzz.wjpg")
            if entry.damage != nil { precondition(decoded == nil, "a damaged entry decoded") }
            if let decoded {
                precondition(decoded.shape == entry.shape && decoded.name == entry.name, "decoded tensor differs from its entry")
            }
            // The decompressor's path (pieces written at their offsets) decodes what the plain path
            // decodes, to the same bytes, and refuses what it refuses.
            let streamed = streamedBytes(entry)
            precondition((streamed == nil) == (decoded == nil), "streamed and plain decoding disagree on accepting an entry")
            if let streamed, let decoded { precondition(streamed == [UInt8](decoded.data), "streamed decoding gives other bytes") }
        }
    }

    /// `ModelCodec.decode(_:codec:path:buffer:write:)`'s pieces placed at their offsets, or nil when it throws.
    static func streamedBytes(_ entry: ContainerEntry) -> [UInt8]? {
        final class Sink: @unchecked Sendable {
            let lock = NSLock()
            var bytes: [UInt8] = []
            var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            deinit { scratch.deallocate() }
        }
        let sink = Sink()
        do {
            try ModelCodec.decode(entry, codec: tensorCodec, path: "fuzz.wjpg", buffer: { count in
                sink.scratch.deallocate()
                sink.scratch = .allocate(byteCount: count, alignment: 64)
                return sink.scratch
            }, write: { offset, piece in
                sink.lock.lock()
                defer { sink.lock.unlock() }
                if sink.bytes.count < offset + piece.count { sink.bytes += [UInt8](repeating: 0, count: offset + piece.count - sink.bytes.count) }
                sink.bytes.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[offset..<(offset + piece.count)]).copyMemory(from: piece) }
            })
        } catch {
            return nil
        }
        return sink.bytes
    }

    /// Input: byte 0 picks the mode (bit 0: coefficients instead of pixels; bit 1: bytes 1–2 give
    /// the length of a leading tables-only stream), the rest is the stream.
    public static func jpeg(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        var rest = Array(bytes.dropFirst())
        var tables: [UInt8]?
        if mode & 2 != 0 {
            guard rest.count >= 2 else { return }
            let n = min(Int(rest[0]) | Int(rest[1]) << 8, rest.count - 2)
            tables = Array(rest[2..<(2 + n)])
            rest = Array(rest[(2 + n)...])
        }
        decoder.strict = true
        if mode & 1 != 0 {
            if let c = try? decoder.readCoefficients(rest, tables: tables, maxPixels: jpegMaxPixels) {
                precondition(c.blocks.count == 64 * c.widthInBlocks * c.heightInBlocks, "coefficient count")
                precondition(c.quantizationTable.allSatisfy { $0 > 0 }, "zero quantization step accepted")
            }
        } else if let image = try? decoder.decode(rest, tables: tables, maxPixels: jpegMaxPixels) {
            precondition(image.pixels.count == image.width * image.height, "pixel count")
        }
    }

    public static func safetensors(_ bytes: [UInt8]) {
        guard let file = try? SafetensorsFile(data: Data(bytes), path: "fuzz.safetensors") else { return }
        let again = try? SafetensorsFile(data: file.serialized(), path: "rewritten.safetensors")
        precondition(again == file, "safetensors file changes when rewritten")
        for tensor in file.tensors where tensor.dtype.convertsToFloat {
            let values = try? tensor.floats()
            precondition(values == nil || values!.count == tensor.count, "float count")
        }
    }

    public static func idx(_ bytes: [UInt8]) {
        guard let file = try? IDXFile(data: Data(bytes), path: "fuzz.idx", maximumSize: idxMaximumSize) else { return }
        precondition(file.count == file.dimensions.reduce(1, *), "element count")
    }

    public static func image(_ bytes: [UInt8]) {
        guard let file = try? ImageFile(bytes: bytes, path: "fuzz.image") else { return }
        precondition(file.pixels.count == file.count * file.width * file.height, "pixel count")
        // A PNG or PGM that reads is one image; PNGWriter's file of it reads back to the same pixels.
        guard file.format != .idx else { return }
        let image = GrayImage(width: file.width, height: file.height, pixels: file.pixels)
        precondition((try? PNGReader.read(PNGWriter.encode(image), path: "rewritten.png")) == image, "PNG round trip")
    }
}
