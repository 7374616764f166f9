import WeightJPEGFormats
/// How large a decoded tensor may be for the bytes that code it, checked before the output is
/// allocated, so a hostile `.wjpg` cannot make a small file claim a huge tensor.
///
/// Scalar codings are exact-size (the payload length is checked against the shape). A JPEG stream can
/// claim any image size in a few bytes, and so can a rANS stream (coding 4), so these tensors get a rule: any tensor of at most
/// `unconditionalElements` elements, larger ones only with at least one payload byte per
/// `maxElementsPerByte` elements. The encoder keeps to the same rule (a tensor that would break it
/// is stored int8 per row), so every file WeightJPEG writes passes. docs/LIMITS.md states the
/// resulting worst case.
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
    static func reason(elements: Int, payloadBytes: Int) -> String {
        "\(elements) elements cannot come from \(payloadBytes) payload bytes (above \(unconditionalElements) elements at most \(maxElementsPerByte) per byte; corrupt or hostile file)"
    }

    /// Whether a reader will accept `entry`'s size (always true for scalar codings, whose payload
    /// sizes are exact). Every writer of JPEG entries checks this before writing; the error-targeted
    /// search never keeps a candidate its own decoder refuses.
    public static func accepts(_ entry: ContainerEntry) -> Bool {
        let payloadBytes = entry.payloads.reduce(0) { $0 + $1.count }
        if case .entropyUniform? = TensorCoding(code: entry.coding, parameters: entry.parameters) {
            return allows(elements: entry.shape.reduce(1, *), payloadBytes: payloadBytes)
        }
        guard case .jpeg(let p)? = TensorCoding(code: entry.coding, parameters: entry.parameters),
              let rows = entry.shape.first, rows > 0 else { return true }
        let columns = entry.shape.dropFirst().reduce(1, *)
        return allows(elements: JPEGTensorCodec.decodeFootprint(rows: rows, columns: columns, parameters: p),
                      payloadBytes: entry.payloads.reduce(0) { $0 + $1.count })
    }
}
