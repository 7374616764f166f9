import WeightJPEGCore

/// The parameters of coding 6, `entropy-trellis` (docs/FORMAT.md §5.5): one uniform step for the
/// whole tensor, plain or trellis-coded (dependent) quantization, the integers rANS-coded with
/// per-class tables in independent chunks of whole rows.
///
/// Serialized as 10 bytes: version (1), mode (0 plain, 1 dependent), step (f32), rows per chunk
/// (u32), little-endian. A tensor of `rows` rows then has `1 + chunkCount(rows:)` payloads: the
/// context model, then one rANS stream per chunk.
public struct EntropyTrellisParameters: Equatable, Sendable, CustomStringConvertible {
    /// The only format version this reader knows.
    public static let version: UInt8 = 1
    /// The serialized size in bytes.
    public static let byteCount = 10

    /// Whether the integers are trellis indices (two quantizers of step `2·step` chosen by a
    /// 4-state machine) rather than plain multiples of `step`.
    public var dependent: Bool
    /// The quantization step `Δ` (finite, > 0): decoded values are `±ρ·Δ` for integers `ρ`.
    public var step: Float
    /// Rows per rANS stream (≥ 1); the last chunk may have fewer.
    public var rowsPerChunk: Int

    /// Parameters as given; `step` must be finite and positive, `rowsPerChunk` in 1…2³²−1.
    public init(dependent: Bool, step: Float, rowsPerChunk: Int) {
        precondition(step.isFinite && step > 0 && (1...Int(UInt32.max)).contains(rowsPerChunk), "invalid entropy-trellis parameters")
        self.dependent = dependent
        self.step = step
        self.rowsPerChunk = rowsPerChunk
    }

    /// Parses the 10 parameter bytes; nil when the length, version, mode, step or chunk size is invalid.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount, bytes[0] == Self.version, bytes[1] <= 1 else { return nil }
        var r = ByteReader(bytes, offset: 2)
        guard let bits = try? r.u32(), let rows = try? r.u32() else { return nil }
        let step = Float(bitPattern: bits)
        guard step.isFinite, step > 0, rows >= 1 else { return nil }
        self.init(dependent: bytes[1] == 1, step: step, rowsPerChunk: Int(rows))
    }

    /// The 10 parameter bytes.
    public func serialized() -> [UInt8] {
        var w = ByteWriter()
        w.u8(Self.version)
        w.u8(dependent ? 1 : 0)
        w.f32(step)
        w.u32(UInt32(rowsPerChunk))
        return w.bytes
    }

    /// The number of chunk streams of a tensor of `rows` rows (`rows ≥ 1`): `⌈rows / rowsPerChunk⌉`.
    public func chunkCount(rows: Int) -> Int { rows <= 0 ? 0 : (rows - 1) / rowsPerChunk + 1 }

    public var description: String { "step \(step) \(dependent ? "trellis" : "plain") \(rowsPerChunk) rows/chunk" }
}
