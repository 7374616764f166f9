import WeightJPEGCore
/// How one tensor is stored in a `.wjpg` file (the `coding` byte of its record, see docs/FORMAT.md).
public enum TensorCoding: Equatable, Sendable, CustomStringConvertible {
    /// The source bytes, bit for bit.
    case exact
    /// IEEE half precision, round to nearest even.
    case float16
    /// Symmetric int8 per row (`q = round(w / s)`, `s = max|w| / 127` per row, stored as float32).
    case int8PerRow
    /// JPEG images of the tensor's tiles.
    case jpeg(JPEGTensorParameters)
    /// One uniform step for the whole tensor, `q = round(w / step)`, the integers rANS-coded
    /// (payloads: frequency table, stream; see `UniformCodecs`).
    case entropyUniform(step: Float)
    /// Symmetric per-row quantization with fixed-length `bits`-bit codes (2…16).
    case fixedRows(bits: Int)
    /// One uniform step, plain or trellis-coded quantization, the integers rANS-coded with
    /// per-class (row/column scale) tables in independent chunks of rows (payloads: context model,
    /// then one stream per chunk; see `EntropyTrellisParameters`).
    case entropyTrellis(EntropyTrellisParameters)

    /// The coding byte of a container entry (FORMAT.md §4–5): 0 exact … 5 fixed rows, 6 entropy trellis.
    public var code: UInt8 {
        switch self {
        case .exact: return 0
        case .float16: return 1
        case .int8PerRow: return 2
        case .jpeg: return 3
        case .entropyUniform: return 4
        case .fixedRows: return 5
        case .entropyTrellis: return 6
        }
    }

    /// The short name shown by `inspect`.
    public var name: String {
        switch self {
        case .exact: return "exact"
        case .float16: return "float16"
        case .int8PerRow: return "int8-row"
        case .jpeg: return "jpeg"
        case .entropyUniform: return "entropy-uniform"
        case .fixedRows(let b): return "fixed-row\(b)"
        case .entropyTrellis: return "entropy-trellis"
        }
    }

    public var description: String {
        switch self {
        case .jpeg(let p): return "jpeg \(p)"
        case .entropyUniform(let step): return "entropy-uniform step \(step)"
        case .entropyTrellis(let p): return "entropy-trellis \(p)"
        default: return name
        }
    }

    /// The coding's parameter bytes.
    public var parameterBytes: [UInt8] {
        switch self {
        case .jpeg(let p): return p.serialized()
        case .entropyUniform(let step):
            var w = ByteWriter()
            w.f32(step)
            return w.bytes
        case .fixedRows(let bits): return [UInt8(bits)]
        case .entropyTrellis(let p): return p.serialized()
        default: return []
        }
    }

    /// Parses a record's coding byte and its parameter bytes (docs/FORMAT.md §3 "Tensor record", §4, §5.1).
    /// - Throws: `InvalidCoding` when the byte is unknown or the parameters do not fit it.
    public init(code: UInt8, parameters: [UInt8]) throws(InvalidCoding) {
        func invalid(_ reason: String) -> InvalidCoding { InvalidCoding(code: code, reason: reason) }
        func none(_ coding: TensorCoding) throws(InvalidCoding) -> TensorCoding {
            guard parameters.isEmpty else { throw invalid("\(coding.name) takes no parameters, found \(parameters.count) bytes") }
            return coding
        }
        switch code {
        case 0: self = try none(.exact)
        case 1: self = try none(.float16)
        case 2: self = try none(.int8PerRow)
        case 3:
            guard let p = JPEGTensorParameters(bytes: parameters) else {
                throw invalid("jpeg parameters are invalid (\(parameters.count) bytes; 17 expected, every field in range)")
            }
            self = .jpeg(p)
        case 4:
            guard parameters.count == 4 else { throw invalid("entropy-uniform takes a 4-byte step, found \(parameters.count) bytes") }
            let step = Float(bitPattern: UInt32(parameters[0]) | UInt32(parameters[1]) << 8 | UInt32(parameters[2]) << 16 | UInt32(parameters[3]) << 24)
            guard step.isFinite, step > 0 else { throw invalid("entropy-uniform step \(step) is not a positive finite number") }
            self = .entropyUniform(step: step)
        case 5:
            guard parameters.count == 1, (2...16).contains(parameters[0]) else {
                throw invalid("fixed-row takes one byte of bits in 2…16, found \(parameters)")
            }
            self = .fixedRows(bits: Int(parameters[0]))
        case 6:
            guard let p = EntropyTrellisParameters(bytes: parameters) else {
                throw invalid("entropy-trellis parameters are invalid (\(parameters.count) bytes; 10 expected: version 1, mode 0/1, positive finite step, rows per chunk ≥ 1)")
            }
            self = .entropyTrellis(p)
        default: throw invalid("unknown coding")
        }
    }

    /// A coding byte this reader does not know, or parameters that do not fit their coding.
    public struct InvalidCoding: Error, Equatable, Sendable, CustomStringConvertible {
        /// The coding byte as stored.
        public let code: UInt8
        /// Why the coding byte and its parameters do not form a valid coding.
        public let reason: String
        public var description: String { "coding \(code): \(reason)" }
    }
}
