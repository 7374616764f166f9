import Foundation
import WeightJPEGCore

/// A safetensors file (Hugging Face's weight format): an 8-byte little-endian header length `N`,
/// `N` bytes of UTF-8 JSON mapping tensor names to `{"dtype", "shape", "data_offsets"}` (plus an
/// optional `"__metadata__"` object of strings), then the data buffer the offsets point into.
///
/// Reading validates the header strictly (the rules of the reference Python/Rust library, plus
/// rejection of unknown fields) and never allocates in proportion to what a header claims.
public struct SafetensorsFile: Equatable, Sendable {
    /// The tensors, in file order (ascending data offset); writing keeps this order.
    public var tensors: [SafetensorsTensor]
    /// The `__metadata__` strings, or `nil` when the header has none.
    public var metadata: [String: String]?

    /// The largest header accepted, in bytes (the reference library's cap).
    public static let maximumHeaderSize = 100_000_000

    /// A file of `tensors` (names must be unique and not `__metadata__`) and optional metadata.
    public init(tensors: [SafetensorsTensor], metadata: [String: String]? = nil) {
        precondition(Set(tensors.map(\.name)).count == tensors.count, "duplicate tensor names")
        precondition(!tensors.contains { $0.name == "__metadata__" }, "'__metadata__' is reserved")
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> SafetensorsTensor? {
        tensors.first { $0.name == name }
    }

    /// Every tensor converted to `FloatTensor`, by name; throws if any is not floating-point.
    public func floatTensors() throws(SafetensorsError) -> [String: FloatTensor] {
        var result: [String: FloatTensor] = [:]
        for tensor in tensors { result[tensor.name] = try tensor.floatTensor() }
        return result
    }

    // MARK: Reading

    /// Reads and validates the file at `path` (memory-mapped).
    public static func read(path: String) throws(SafetensorsError) -> SafetensorsFile {
        let data: Data
        do {
            data = try FileInput.read(path)
        } catch {
            throw SafetensorsError(path: path, kind: .unreadable(error.reason))
        }
        return try SafetensorsFile(data: data, path: path)
    }

    /// Parses and validates safetensors bytes; `path` is used only in error messages.
    public init(data: Data, path: String) throws(SafetensorsError) {
        let layout = try data.withUnsafeBytes { raw in
            Result { () throws(SafetensorsError) in try Self.layout(of: raw, path: path) }
        }.get()
        let start = data.startIndex
        self.tensors = layout.tensors.map { entry in
            SafetensorsTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape,
                              data: data.subdata(in: (start + entry.range.lowerBound)..<(start + entry.range.upperBound)))
        }
        self.metadata = layout.metadata
    }

    /// Where each tensor of a validated file lies, without its data.
    public struct Layout: Sendable {
        /// One tensor: name, dtype, shape and its byte range in the file.
        public struct Tensor: Sendable {
            /// The tensor's name.
            public let name: String
            /// Its dtype.
            public let dtype: SafetensorsDType
            /// Its shape.
            public let shape: [Int]
            /// Its bytes, as offsets from the start of the file.
            public let range: Range<Int>
        }
        /// The tensors in file order (ascending offset).
        public let tensors: [Tensor]
        /// `__metadata__`, or `nil`.
        public let metadata: [String: String]?
    }

    /// Validates the header of the file whose bytes are `bytes` (all of them: the offsets are
    /// checked against the file size) and returns where each tensor lies. Reads only the header.
    public static func layout(of bytes: UnsafeRawBufferPointer, path: String) throws(SafetensorsError) -> Layout {
        func fail(_ kind: SafetensorsError.Kind) -> SafetensorsError {
            // A fault in the framing (length prefix, UTF-8, JSON) of a file that is something else:
            // say what it is.
            switch kind {
            case .fileTooShort, .headerTooLarge, .headerBeyondFile, .headerNotUTF8, .headerNotJSON, .headerNotObject:
                return SafetensorsError(path: path, kind: kind, found: FileKind.sniff(bytes))
            default:
                return SafetensorsError(path: path, kind: kind)
            }
        }

        let fileSize = bytes.count
        guard fileSize >= 8 else { throw fail(.fileTooShort(size: fileSize)) }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(Self.maximumHeaderSize) else { throw fail(.headerTooLarge(length: headerLength)) }
        guard headerLength <= UInt64(fileSize - 8) else {
            throw fail(.headerBeyondFile(length: headerLength, available: fileSize - 8))
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = [UInt8](bytes[8..<headerEnd])
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw fail(.headerNotUTF8) }
        let root: SafetensorsJSON.Value
        do {
            root = try SafetensorsJSON.parse(headerBytes)
        } catch {
            throw fail(.headerNotJSON(error.description))
        }
        guard case .object(let members) = root else { throw fail(.headerNotObject) }

        let bufferSize = fileSize - headerEnd
        var entries: [Entry] = []
        var seen = Set<String>()
        var metadata: [String: String]?
        for (name, value) in members {
            guard seen.insert(name).inserted else { throw fail(.duplicateTensor(name)) }
            if name == "__metadata__" {
                metadata = try Self.metadata(from: value, fail: fail)
            } else {
                let entry = try Self.entry(name: name, value: value, order: entries.count, fail: fail)
                guard entry.end <= bufferSize else {
                    throw fail(.offsetsBeyondBuffer(tensor: name, end: entry.end, bufferSize: bufferSize))
                }
                entries.append(entry)
            }
        }

        // File order is ascending offset; ties (empty tensors) keep header order. Every byte of
        // the buffer must belong to exactly one tensor, as the reference library requires.
        entries.sort { ($0.begin, $0.end, $0.order) < ($1.begin, $1.end, $1.order) }
        var expected = 0
        for entry in entries {
            if entry.begin > expected { throw fail(.gap(tensor: entry.name, begin: entry.begin, expected: expected)) }
            if entry.begin < expected { throw fail(.overlap(tensor: entry.name, begin: entry.begin, expected: expected)) }
            expected = entry.end
        }
        guard expected == bufferSize else { throw fail(.trailingData(used: expected, bufferSize: bufferSize)) }

        let tensors = entries.map { entry in
            Layout.Tensor(name: entry.name, dtype: entry.dtype, shape: entry.shape,
                          range: (headerEnd + entry.begin)..<(headerEnd + entry.end))
        }
        return Layout(tensors: tensors, metadata: metadata)
    }

    /// A validated header entry.
    private struct Entry {
        let name: String
        let dtype: SafetensorsDType
        let shape: [Int]
        let begin: Int
        let end: Int
        /// Position in the header, to keep the sort stable.
        let order: Int
    }

    /// Validates one tensor entry: fields, dtype, shape, offsets and their consistency.
    private static func entry(name: String, value: SafetensorsJSON.Value, order: Int,
                              fail: (SafetensorsError.Kind) -> SafetensorsError) throws(SafetensorsError) -> Entry {
        guard case .object(let fields) = value else { throw fail(.entryNotObject(tensor: name)) }
        var dtypeValue: SafetensorsJSON.Value?, shapeValue: SafetensorsJSON.Value?, offsetsValue: SafetensorsJSON.Value?
        for (key, field) in fields {
            switch key {
            case "dtype":
                guard dtypeValue == nil else { throw fail(.duplicateField(tensor: name, field: key)) }
                dtypeValue = field
            case "shape":
                guard shapeValue == nil else { throw fail(.duplicateField(tensor: name, field: key)) }
                shapeValue = field
            case "data_offsets":
                guard offsetsValue == nil else { throw fail(.duplicateField(tensor: name, field: key)) }
                offsetsValue = field
            default:
                throw fail(.unknownField(tensor: name, field: key))
            }
        }
        guard let dtypeValue else { throw fail(.missingField(tensor: name, field: "dtype")) }
        guard let shapeValue else { throw fail(.missingField(tensor: name, field: "shape")) }
        guard let offsetsValue else { throw fail(.missingField(tensor: name, field: "data_offsets")) }

        guard case .string(let dtypeName) = dtypeValue else {
            throw fail(.wrongFieldType(tensor: name, field: "dtype", expected: "a string, got \(dtypeValue.typeName)"))
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else { throw fail(.unknownDType(tensor: name, dtype: dtypeName)) }

        guard case .array(let dimensionValues) = shapeValue else {
            throw fail(.wrongFieldType(tensor: name, field: "shape", expected: "an array of integers, got \(shapeValue.typeName)"))
        }
        var shape: [Int] = []
        shape.reserveCapacity(dimensionValues.count)
        var elements = 1
        var overflow = false
        for (index, dimension) in dimensionValues.enumerated() {
            guard case .number(let text, let integer) = dimension else {
                throw fail(.wrongFieldType(tensor: name, field: "shape", expected: "an array of integers, got \(dimension.typeName) at index \(index)"))
            }
            guard let integer, integer >= 0 else { throw fail(.invalidDimension(tensor: name, index: index, value: text)) }
            shape.append(integer)
            let (product, o) = elements.multipliedReportingOverflow(by: integer)
            overflow = overflow || o
            elements = product
        }
        let (byteCount, o) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, !o else { throw fail(.elementCountOverflow(tensor: name)) }

        guard case .array(let offsetValues) = offsetsValue else {
            throw fail(.wrongFieldType(tensor: name, field: "data_offsets", expected: "an array of two integers, got \(offsetsValue.typeName)"))
        }
        guard offsetValues.count == 2 else {
            throw fail(.wrongFieldType(tensor: name, field: "data_offsets", expected: "an array of two integers, got \(offsetValues.count) elements"))
        }
        var offsets: [Int] = []
        for offset in offsetValues {
            guard case .number(let text, let integer) = offset else {
                throw fail(.wrongFieldType(tensor: name, field: "data_offsets", expected: "an array of two integers, got \(offset.typeName)"))
            }
            guard let integer, integer >= 0 else { throw fail(.invalidOffset(tensor: name, value: text)) }
            offsets.append(integer)
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw fail(.offsetsReversed(tensor: name, begin: begin, end: end)) }
        guard end - begin == byteCount else {
            throw fail(.byteLengthMismatch(tensor: name, bytes: end - begin, expected: byteCount))
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end, order: order)
    }

    /// Validates `__metadata__`: an object whose values are all strings, keys unique.
    private static func metadata(from value: SafetensorsJSON.Value,
                                 fail: (SafetensorsError.Kind) -> SafetensorsError) throws(SafetensorsError) -> [String: String] {
        guard case .object(let members) = value else { throw fail(.invalidMetadata("must be an object, got \(value.typeName)")) }
        var result: [String: String] = [:]
        for (key, member) in members {
            guard case .string(let text) = member else {
                throw fail(.invalidMetadata("value of '\(key)' must be a string, got \(member.typeName)"))
            }
            guard result.updateValue(text, forKey: key) == nil else { throw fail(.invalidMetadata("key '\(key)' appears twice")) }
        }
        return result
    }

    // MARK: Writing

    /// The file's bytes: header with `__metadata__` first (keys sorted, for reproducible output),
    /// then the tensors in `tensors` order with contiguous data; the header JSON is padded with
    /// spaces to a multiple of 8 bytes, as the reference library does, so the data is 8-aligned.
    public func serialized() -> Data {
        let header = Self.header(tensors: tensors.map { ($0.name, $0.dtype, $0.shape) }, metadata: metadata)
        var output = Data(capacity: header.count + tensors.reduce(0) { $0 + $1.data.count })
        output.append(contentsOf: header)
        for tensor in tensors { output.append(tensor.data) }
        return output
    }

    /// The bytes before the data buffer (8-byte length, then the padded JSON header) of a file holding
    /// `tensors` in this order, each `product(shape) × dtype size` bytes, contiguous.
    public static func header(tensors: [(name: String, dtype: SafetensorsDType, shape: [Int])],
                              metadata: [String: String]?) -> [UInt8] {
        var parts: [String] = []
        if let metadata {
            let pairs = metadata.keys.sorted().map { "\(SafetensorsJSON.quoted($0)):\(SafetensorsJSON.quoted(metadata[$0] ?? ""))" }
            parts.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in tensors {
            let end = offset + tensor.shape.reduce(1, *) * tensor.dtype.byteSize
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(SafetensorsJSON.quoted(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array("{\(parts.joined(separator: ","))}".utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        var output: [UInt8] = []
        output.reserveCapacity(8 + header.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(contentsOf: header)
        return output
    }

    /// Writes `serialized()` to `path` atomically.
    public func write(to path: String) throws(AtomicFile.WriteError) {
        try AtomicFile.write(serialized(), to: path)
    }
}
