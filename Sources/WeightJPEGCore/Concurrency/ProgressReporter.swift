import Foundation

/// Progress of a long pass on stderr: items done, MB done, MB/s and ETA, rewritten in place on one
/// line. Silent for the first second (short runs print nothing); the final line is completed with
/// a newline by `finish()`. Whether to report at all is the caller's choice (the CLI: when stderr
/// is a terminal, or with `--progress`).
public final class ProgressReporter {
    private let label: String
    private let totalItems: Int
    private let totalBytes: Int
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastPrint: UInt64 = 0
    private var printed = false
    /// Seconds before the first line.
    public var delay: Double = 1
    /// Where lines go (stderr by default); for tests.
    public var sink: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }

    /// A reporter for `totalItems` items of `totalBytes` bytes in all.
    public init(label: String, totalItems: Int, totalBytes: Int) {
        self.label = label
        self.totalItems = totalItems
        self.totalBytes = totalBytes
    }

    /// Whether stderr is a terminal.
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Reports `items` items and `bytes` bytes done (printed at most 4 times a second).
    public func update(items: Int, bytes: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        let elapsed = Double(now - start) / 1e9
        guard elapsed >= delay, now - lastPrint >= 250_000_000 || items == totalItems else { return }
        lastPrint = now
        printed = true
        sink("\r" + Self.line(label: label, items: items, totalItems: totalItems, bytes: bytes, totalBytes: totalBytes, elapsed: elapsed) + "\u{1B}[K")
    }

    /// Ends the line if anything was printed.
    public func finish() {
        if printed { sink("\n") }
    }

    /// The text of one progress line.
    public static func line(label: String, items: Int, totalItems: Int, bytes: Int, totalBytes: Int, elapsed: Double) -> String {
        let rate = elapsed > 0 ? Double(bytes) / 1e6 / elapsed : 0
        let left = Double(totalBytes - bytes) / 1e6
        let eta = rate > 0 ? String(format: "%.0f s", left / rate) : "?"
        return "\(label): \(items)/\(totalItems) tensors, " + String(format: "%.1f/%.1f MB, %.1f MB/s, ETA ", Double(bytes) / 1e6, Double(totalBytes) / 1e6, rate) + eta
    }
}
