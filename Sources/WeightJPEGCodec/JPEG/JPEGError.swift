/// A failed JPEG operation: where it failed, what kind of failure, and libjpeg's message.
public struct JPEGError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The operation that failed.
    public enum Stage: String, Sendable, Equatable {
        /// Creating a libjpeg compressor or decompressor.
        case setup
        /// Encoding pixels.
        case encode
        /// Writing a tables-only stream.
        case tables
        /// Writing DCT coefficients.
        case writeCoefficients
        /// Decoding pixels.
        case decode
        /// Reading DCT coefficients.
        case readCoefficients
    }

    /// The class of failure.
    public enum Kind: String, Sendable, Equatable {
        /// A parameter was rejected before libjpeg was called.
        case invalidArgument
        /// libjpeg raised a fatal error (bad stream, unsupported feature, ...).
        case libjpeg
        /// Corrupt data: a libjpeg corrupt-data warning (strict mode) or data after EOI.
        case corruptData
        /// The image exceeds the caller's pixel budget.
        case tooLarge
        /// Memory allocation failed.
        case outOfMemory
        /// Internal call-order error.
        case state
    }

    /// The operation that failed.
    public var stage: Stage
    /// The class of failure.
    public var kind: Kind
    /// Human-readable detail, usually libjpeg's own message.
    public var message: String

    /// An error of `stage` and `kind` with libjpeg's `message`.
    public init(stage: Stage, kind: Kind, message: String) {
        self.stage = stage
        self.kind = kind
        self.message = message
    }

    /// "JPEG <stage> failed (<kind>): <message>".
    public var description: String { "JPEG \(stage.rawValue) failed (\(kind.rawValue)): \(message)" }
}

extension JPEGError {
    /// Maps a CJPEG return code and message to an error.
    package init(stage: Stage, code: Int32, message: UnsafePointer<CChar>?) {
        let kind: Kind
        switch code {
        case 2: kind = .corruptData
        case 3: kind = .invalidArgument
        case 4: kind = .tooLarge
        case 5: kind = .outOfMemory
        case 6: kind = .state
        default: kind = .libjpeg
        }
        let text = message.map { String(cString: $0) } ?? ""
        self.init(stage: stage, kind: kind, message: text.isEmpty ? "error code \(code)" : text)
    }

    /// An argument error raised on the Swift side.
    package static func argument(_ stage: Stage, _ message: String) -> JPEGError {
        JPEGError(stage: stage, kind: .invalidArgument, message: message)
    }
}
