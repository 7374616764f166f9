/// Why a safetensors file was rejected or a tensor could not be converted. `description` is one
/// line naming the file (when known) and the tensor (where relevant).
public struct SafetensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The fault, one case per validation rule.
    public enum Kind: Equatable, Sendable {
        /// The file could not be read; the system's reason.
        case unreadable(String)
        /// Fewer than the 8 bytes of the header-length prefix.
        case fileTooShort(size: Int)
        /// The header length exceeds the 100,000,000-byte cap.
        case headerTooLarge(length: UInt64)
        /// The header length exceeds the bytes after the prefix.
        case headerBeyondFile(length: UInt64, available: Int)
        /// The header is not valid UTF-8.
        case headerNotUTF8
        /// The header is not valid JSON; the parser's message (with byte offset).
        case headerNotJSON(String)
        /// The header's JSON value is not an object.
        case headerNotObject
        /// Two entries with the same tensor name (or two `__metadata__`).
        case duplicateTensor(String)
        /// A tensor entry is not a JSON object.
        case entryNotObject(tensor: String)
        /// A tensor entry lacks `dtype`, `shape` or `data_offsets`.
        case missingField(tensor: String, field: String)
        /// A tensor entry has a field twice.
        case duplicateField(tensor: String, field: String)
        /// A tensor entry has a field other than the three above.
        case unknownField(tensor: String, field: String)
        /// A field has the wrong JSON type; `expected` describes the right one.
        case wrongFieldType(tensor: String, field: String, expected: String)
        /// The `dtype` string is not a known type.
        case unknownDType(tensor: String, dtype: String)
        /// A shape entry is negative, fractional or out of range; its JSON text.
        case invalidDimension(tensor: String, index: Int, value: String)
        /// The element count or byte count of the shape overflows `Int`.
        case elementCountOverflow(tensor: String)
        /// A `data_offsets` entry is negative, fractional or out of range; its JSON text.
        case invalidOffset(tensor: String, value: String)
        /// `data_offsets` has begin > end.
        case offsetsReversed(tensor: String, begin: Int, end: Int)
        /// `data_offsets` ends past the data buffer.
        case offsetsBeyondBuffer(tensor: String, end: Int, bufferSize: Int)
        /// The byte range's length is not `product(shape) × dtype size`.
        case byteLengthMismatch(tensor: String, bytes: Int, expected: Int)
        /// A tensor starts after the previous one ends (a gap), in ascending offset order.
        case gap(tensor: String, begin: Int, expected: Int)
        /// A tensor starts before the previous one ends (an overlap), in ascending offset order.
        case overlap(tensor: String, begin: Int, expected: Int)
        /// The data buffer is longer than the end of the last tensor.
        case trailingData(used: Int, bufferSize: Int)
        /// `__metadata__` is not an object of strings.
        case invalidMetadata(String)
        /// `floats()` was asked for a type it does not convert (integers, booleans, F8, complex).
        case notFloatingPoint(tensor: String, dtype: SafetensorsDType)
    }

    /// The file at fault; empty when the error concerns a tensor outside any file.
    public let path: String
    /// The fault.
    public let kind: Kind
    /// What the file is instead, when its first bytes name another kind (a `.wjpg` file, a JPEG,
    /// text, an empty file); set by the reader for faults in the header's framing.
    public var found: FileKind?

    /// An error about `path`.
    public init(path: String, kind: Kind, found: FileKind? = nil) {
        self.path = path
        self.kind = kind
        self.found = found
    }

    /// One line naming the file; for a file of another kind, what it is instead of the header fault.
    public var description: String {
        if let text = found?.mismatch(path: path, expected: .safetensors) { return text }
        return path.isEmpty ? message : "\(path): \(message)"
    }

    /// The explanation without the file name.
    public var message: String {
        switch kind {
        case .unreadable(let reason):
            return reason
        case .fileTooShort(let size):
            return "file is \(size) bytes, too short for the 8-byte safetensors header length"
        case .headerTooLarge(let length):
            return "header length \(length) bytes exceeds the \(SafetensorsFile.maximumHeaderSize)-byte limit"
        case .headerBeyondFile(let length, let available):
            return "header length \(length) bytes exceeds the \(available) bytes after the length prefix"
        case .headerNotUTF8:
            return "header is not valid UTF-8"
        case .headerNotJSON(let reason):
            return "header is not valid JSON: \(reason)"
        case .headerNotObject:
            return "header is not a JSON object"
        case .duplicateTensor(let name):
            return "tensor '\(name)' appears twice in the header"
        case .entryNotObject(let tensor):
            return "tensor '\(tensor)': entry is not a JSON object"
        case .missingField(let tensor, let field):
            return "tensor '\(tensor)': missing \"\(field)\""
        case .duplicateField(let tensor, let field):
            return "tensor '\(tensor)': \"\(field)\" appears twice"
        case .unknownField(let tensor, let field):
            return "tensor '\(tensor)': unknown field \"\(field)\" (expected dtype, shape, data_offsets)"
        case .wrongFieldType(let tensor, let field, let expected):
            return "tensor '\(tensor)': \"\(field)\" must be \(expected)"
        case .unknownDType(let tensor, let dtype):
            return "tensor '\(tensor)': unknown dtype '\(dtype)' (known: \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .invalidDimension(let tensor, let index, let value):
            return "tensor '\(tensor)': shape dimension \(index) is \(value), expected a non-negative integer"
        case .elementCountOverflow(let tensor):
            return "tensor '\(tensor)': shape's element count overflows"
        case .invalidOffset(let tensor, let value):
            return "tensor '\(tensor)': data offset \(value) is not a non-negative integer"
        case .offsetsReversed(let tensor, let begin, let end):
            return "tensor '\(tensor)': data_offsets [\(begin), \(end)] begin after they end"
        case .offsetsBeyondBuffer(let tensor, let end, let bufferSize):
            return "tensor '\(tensor)': data ends at byte \(end), beyond the \(bufferSize)-byte data buffer"
        case .byteLengthMismatch(let tensor, let bytes, let expected):
            return "tensor '\(tensor)': data is \(bytes) bytes, shape and dtype need \(expected)"
        case .gap(let tensor, let begin, let expected):
            return "tensor '\(tensor)': data begins at byte \(begin), leaving a gap after the previous tensor's end at \(expected)"
        case .overlap(let tensor, let begin, let expected):
            return "tensor '\(tensor)': data begins at byte \(begin), overlapping the previous tensor, which ends at \(expected)"
        case .trailingData(let used, let bufferSize):
            return "data buffer is \(bufferSize) bytes but the tensors end at \(used) (\(bufferSize - used) trailing bytes)"
        case .invalidMetadata(let reason):
            return "__metadata__ \(reason)"
        case .notFloatingPoint(let tensor, let dtype):
            return "tensor '\(tensor)': dtype \(dtype.rawValue) cannot be converted to Float (only F64, F32, F16, BF16)"
        }
    }
}
