/// How large a decoded tensor may be for the bytes that code it, checked before the output is
/// allocated, so a hostile `.wjpg` cannot make a small file claim a huge tensor.
///
/// A JPEG stream can claim any image size in a few bytes, and so can a rANS stream (codings 4 and 6), so
/// every tensor gets one rule: any tensor of at most `unconditionalElements` elements, larger ones
/// only with at least one payload byte per `maxElementsPerByte` elements (for JPEG, counting the
/// padded mosaic pixels too). Scalar codings take at least a quarter byte per element, so they
/// always pass. The container reader applies the rule to every record of a file it parses; the
/// encoder keeps to it (a JPEG tensor that would break it is stored int8 per row), so every file
/// WeightJPEG writes passes. docs/LIMITS.md states the resulting worst case.
public enum DecodeLimits {
    /// Elements a lossy-coded tensor may always have: 2^20 (4 MiB of float32).
    public static let unconditionalElements = 1 << 20
    /// Elements per payload byte allowed above `unconditionalElements`: 4,096 (about 1/512 bit per
    /// weight; real weights take 1–8 bits, even a constant tensor with Huffman coding 1/32).
    public static let maxElementsPerByte = 4096

    /// Whether `elements` decoded values are plausible for `payloadBytes` bytes of payload.
    public static func allows(elements: Int, payloadBytes: Int) -> Bool {
        if elements <= unconditionalElements { return true }
        let (limit, overflow) = payloadBytes.multipliedReportingOverflow(by: maxElementsPerByte)
        return overflow || elements <= limit
    }

    /// The error reason when `allows` is false.
    package static func reason(elements: Int, payloadBytes: Int) -> String {
        "\(elements) elements cannot come from \(payloadBytes) payload bytes (above \(unconditionalElements) elements at most \(maxElementsPerByte) per byte; corrupt or hostile file)"
    }

    /// What decoding a tensor of `shape` with `coding` allocates, in elements (or pixels): the
    /// element count, or a JPEG mosaic's padded pixels when larger; `Int.max` on overflow.
    public static func footprint(coding: TensorCoding, shape: [Int]) -> Int {
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else { return Int.max }
            elements = p
        }
        guard case .jpeg(let p) = coding, let rows = shape.first, rows > 0 else { return elements }
        return p.decodeFootprint(rows: rows, columns: elements / rows)
    }

    /// Nil when a tensor of `shape` coded with `coding` in `payloadBytes` bytes is within the
    /// limits, else the reason it is not.
    public static func refusal(coding: TensorCoding, shape: [Int], payloadBytes: Int) -> String? {
        let elements = footprint(coding: coding, shape: shape)
        return allows(elements: elements, payloadBytes: payloadBytes) ? nil : reason(elements: elements, payloadBytes: payloadBytes)
    }

    /// Nil when a tensor restored to `shape` (zero slices put back, `ZeroSlices`) is plausible for
    /// `payloadBytes` (its payloads plus 4 bytes per stored slice index), by the same rule as
    /// `refusal(coding:shape:payloadBytes:)`.
    public static func restoredRefusal(shape: [Int], payloadBytes: Int) -> String? {
        let elements = footprint(coding: .exact, shape: shape)
        return allows(elements: elements, payloadBytes: payloadBytes) ? nil : reason(elements: elements, payloadBytes: payloadBytes)
    }

    /// Whether a reader accepts `entry`'s size.
    public static func accepts(_ entry: ContainerEntry) -> Bool {
        refusal(coding: entry.coding, shape: entry.shape, payloadBytes: entry.payloads.reduce(0) { $0 + $1.count }) == nil
    }
}
