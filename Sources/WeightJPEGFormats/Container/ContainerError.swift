/// What is wrong with a `.wjpg` file. Every case names the file; tensor-level faults name the tensor.
public struct ContainerError: Error, CustomStringConvertible, Equatable {
    /// The file (or a label for in-memory bytes).
    public let path: String
    /// The tensor the fault hit, when it is known.
    public let tensor: String?
    /// The fault.
    public let fault: Fault

    /// The kinds of fault.
    public enum Fault: Equatable, Sendable {
        /// Fewer bytes than the fixed preamble.
        case tooShort(size: Int)
        /// The first four bytes are not `WJPG`.
        case badMagic(found: [UInt8])
        /// A version this reader does not know.
        case unsupportedVersion(Int)
        /// The preamble's flags are not 0 (version 1 defines none).
        case unsupportedFlags(UInt16)
        /// The header claims more bytes than the limit or than the file holds.
        case headerLength(declared: UInt64, available: Int)
        /// The header's CRC-32 does not match: the header is damaged.
        case headerChecksum(declared: UInt32, computed: UInt32)
        /// The header ends in the middle of a record.
        case truncatedHeader(at: Int)
        /// The header is well framed but says something impossible.
        case invalidHeader(String)
        /// A payload's offset or length points outside the payload area, or payloads overlap or leave gaps.
        case payloadBounds(index: Int, offset: UInt64, length: UInt64, areaSize: Int)
        /// A payload's CRC-32 does not match: the tensor's data is damaged.
        case payloadChecksum(index: Int, declared: UInt32, computed: UInt32)
        /// Bytes after the last payload.
        case trailingBytes(count: Int)
        /// The record's coding byte is unknown or its parameters do not fit it.
        case invalidCoding(TensorCoding.InvalidCoding)
        /// A payload decoded to something inconsistent with the header.
        case corruptPayload(String)
    }

    /// What the file is instead, when its first bytes name another kind (safetensors, a JPEG,
    /// text, an empty file); set by the reader when the preamble is too short or its magic wrong.
    public var found: FileKind?

    /// An error about `path` (and `tensor`, when known).
    public init(path: String, tensor: String? = nil, fault: Fault, found: FileKind? = nil) {
        self.path = path
        self.tensor = tensor
        self.fault = fault
        self.found = found
    }

    public var description: String {
        if let text = found?.mismatch(path: path, expected: .wjpg) { return text }
        let where_ = tensor.map { "\(path): tensor '\($0)'" } ?? path
        switch fault {
        case .tooShort(let size): return "\(where_): file is \(size) bytes, too short for a .wjpg header (truncated?)"
        case .badMagic(let found):
            return "\(where_): not a .wjpg file (magic is \(found.map { String(format: "%02x", $0) }.joined(separator: " ")), expected 57 4a 50 47 'WJPG')"
        case .unsupportedVersion(let v): return "\(where_): .wjpg version \(v) is not supported (this build reads version \(Container.version))"
        case .unsupportedFlags(let flags): return "\(where_): preamble flags are \(flags), version 1 defines only bit 0 (zero slices) (corrupt, or written by a newer version)"
        case .headerLength(let declared, let available):
            return "\(where_): header length \(declared) bytes exceeds the \(available) bytes available (truncated or corrupt)"
        case .headerChecksum(let declared, let computed):
            return "\(where_): header is damaged (CRC-32 \(hex(computed)), stored \(hex(declared)))"
        case .truncatedHeader(let at): return "\(where_): header ends early at byte \(at)"
        case .invalidHeader(let what): return "\(where_): invalid header: \(what)"
        case .payloadBounds(let index, let offset, let length, let area):
            return "\(where_): payload \(index) at offset \(offset) with length \(length) does not fit the \(area)-byte payload area (truncated or corrupt)"
        case .payloadChecksum(let index, let declared, let computed):
            return "\(where_): payload \(index) is damaged (CRC-32 \(hex(computed)), stored \(hex(declared)))"
        case .trailingBytes(let count): return "\(where_): \(count) unexpected bytes after the last payload"
        case .invalidCoding(let what): return "\(where_): \(what)"
        case .corruptPayload(let what): return "\(where_): \(what)"
        }
    }
}

private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16, uppercase: false).leftPadded(to: 8) }

extension String {
    fileprivate func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
