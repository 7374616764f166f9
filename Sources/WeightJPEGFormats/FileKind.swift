/// What a file is, judged from its first bytes: used by the readers' error paths so that a file of
/// the wrong kind is named for what it is ("is a .wjpg file, not safetensors") instead of being
/// reported as a corrupt header.
public enum FileKind: Sendable, Equatable {
    /// A WeightJPEG container (starts with `WJPG`).
    case wjpg
    /// A safetensors file: an 8-byte little-endian header length below the 100 MB cap, then `{`.
    case safetensors
    /// A JPEG image (`FF D8 FF`).
    case jpeg
    /// A PNG image (`89 'PNG' 0D 0A 1A 0A`).
    case png
    /// A gzip stream (`1F 8B`), e.g. a gzipped IDX file.
    case gzip
    /// Printable UTF-8 text in the bytes looked at (letters, digits, punctuation, whitespace).
    case text
    /// No bytes at all.
    case empty
    /// None of the above.
    case unknown

    /// Bytes `sniff` looks at, at most.
    public static let sniffLength = 512

    /// The kind of a file that starts with `bytes` (the first `sniffLength` bytes are enough; more
    /// are ignored).
    public static func sniff<Bytes: Collection>(_ bytes: Bytes) -> FileKind where Bytes.Element == UInt8 {
        let head = Array(bytes.prefix(sniffLength))
        if head.isEmpty { return .empty }
        func starts(with magic: [UInt8]) -> Bool { head.count >= magic.count && Array(head[0..<magic.count]) == magic }
        if starts(with: Array("WJPG".utf8)) { return .wjpg }
        if starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(with: [0x1F, 0x8B]) { return .gzip }
        if head.count >= 9, head[8] == UInt8(ascii: "{") {
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(head[$1]) << (8 * UInt64($1)) }
            if length >= 2, length <= UInt64(SafetensorsFile.maximumHeaderSize) { return .safetensors }
        }
        // Text: valid UTF-8 (a sequence cut at the end of the window is allowed) without control
        // characters other than tab, line feed, carriage return and form feed.
        let controls = head.contains { $0 < 0x20 && ![0x09, 0x0A, 0x0C, 0x0D].contains($0) || $0 == 0x7F }
        if !controls, String(validating: head.prefix(max(0, head.count - 3)), as: UTF8.self) != nil { return .text }
        return .unknown
    }

    /// The kind in words, as the object of "is": `a .wjpg file (WeightJPEG container)`.
    public var description: String {
        switch self {
        case .wjpg: "a .wjpg file (WeightJPEG container)"
        case .safetensors: "a safetensors file"
        case .jpeg: "a JPEG image"
        case .png: "a PNG image"
        case .gzip: "a gzip file"
        case .text: "a text file"
        case .empty: "an empty file"
        case .unknown: "not a recognized format"
        }
    }

    /// What to do with this kind when a command expected another: a hint, or empty.
    var hint: String {
        switch self {
        case .wjpg: "; decompress it first (weightjpeg decompress FILE -o FILE.safetensors), or give it to a command that reads .wjpg files"
        case .safetensors: "; compress it first (weightjpeg compress FILE -o FILE.wjpg)"
        default: ""
        }
    }

    /// `path: is <kind>, not <expected>` with a hint, when this kind is recognized and is not the
    /// expected one; nil otherwise (the reader's own detailed error then stands).
    func mismatch(path: String, expected: FileKind) -> String? {
        guard self != expected, self != .unknown else { return nil }
        let what = expected == .wjpg ? "a .wjpg file" : "a safetensors file"
        let location = path.isEmpty ? "" : "\(path): "
        return "\(location)is \(description), not \(what)\(hint)"
    }
}
