import Foundation

/// The user's own metric: a shell command in which `{}` stands for a safetensors file; the last line
/// of its standard output is the metric.
///
/// Each run happens in a private temporary folder (mode 700, removed afterwards whatever happens)
/// that is also the command's working directory; the command runs in its own process group, so that
/// a timeout stops it and every child it started. Standard output is read up to
/// 1 MiB, standard error's last 400 bytes are kept for the error message.
public struct CommandEvaluator: TaskEvaluator, Sendable {
    /// The command line, `{}` replaced by the (shell-quoted) model path.
    public var command: String
    public var direction: MetricDirection
    /// Seconds before a run is stopped.
    public var timeout: Double

    /// An evaluator for `command` (must contain `{}`).
    public init(command: String, direction: MetricDirection, timeout: Double = 600) {
        self.command = command
        self.direction = direction
        self.timeout = timeout
    }

    /// `path` quoted for `/bin/sh`.
    static func shellQuoted(_ path: String) -> String {
        "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public func evaluate(modelAt path: String) throws(TaskEvaluationError) -> Double {
        try measure(modelAt: path).value
    }

    /// Runs the command on `path`. Its last line of standard output is the metric, optionally
    /// followed (after spaces or a tab) by the standard error of the drop it implies.
    public func measure(modelAt path: String) throws(TaskEvaluationError) -> TaskMeasurement {
        let folder: String
        do { folder = try PrivateFolder.make() } catch { throw .launch(command: command, reason: "no temporary folder: \(error)") }
        defer { PrivateFolder.remove(folder) }
        // The command runs in the private folder: a relative path must not change meaning there.
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let line = command.replacingOccurrences(of: "{}", with: Self.shellQuoted(absolute))
        let process = Process()
        // Foundation starts the child as the leader of a new process group (pgid = its pid), so
        // `kill(-pid)` reaches every process the command starts.
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", line]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw .launch(command: command, reason: "\(error)") }
        let pid = process.processIdentifier
        let stdoutBox = Captured(), stderrBox = Captured()
        let group = DispatchGroup()
        for (pipe, box, limit) in [(out, stdoutBox, 1 << 20), (err, stderrBox, 1 << 20)] {
            group.enter()
            DispatchQueue.global().async {
                box.read(pipe.fileHandleForReading, limit: limit)
                group.leave()
            }
        }
        let timedOut = Captured()
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + timeout)
        timer.setEventHandler {
            timedOut.flag = true
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        timer.resume()
        process.waitUntilExit()
        timer.cancel()
        group.wait()
        if timedOut.flag { throw .timedOut(command: command, seconds: timeout) }
        let stderrTail = String(decoding: stderrBox.data.suffix(400), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0 else { throw .failed(command: command, status: process.terminationStatus, stderrTail: stderrTail) }
        let lines = String(decoding: stdoutBox.data, as: UTF8.self).split(whereSeparator: \.isNewline)
        let last = lines.last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard let measurement = Self.parse(last) else { throw .notANumber(command: command, lastLine: last) }
        return measurement
    }

    /// `METRIC` or `METRIC SE`: finite numbers, SE ≥ 0; nil otherwise.
    static func parse(_ line: String) -> TaskMeasurement? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard (1...2).contains(fields.count), let value = Double(fields[0]), value.isFinite else { return nil }
        guard fields.count == 2 else { return TaskMeasurement(value: value, standardError: nil) }
        guard let se = Double(fields[1]), se.isFinite, se >= 0 else { return nil }
        return TaskMeasurement(value: value, standardError: se)
    }
}

/// Bytes read from a pipe on another thread, and a flag set by a timer.
private final class Captured: @unchecked Sendable {
    var data = Data()
    var flag = false

    /// Reads `handle` to its end, keeping the first `limit` bytes (the rest is drained).
    func read(_ handle: FileHandle, limit: Int) {
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return }
            if data.count < limit { data.append(chunk.prefix(limit - data.count)) }
        }
    }
}

/// A temporary folder only this user can enter, for one evaluation or one search.
package enum PrivateFolder {
    /// Creates `$TMPDIR/weightjpeg-eval-PID-XXXXXX` with mode 700.
    package static func make() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/weightjpeg-eval-\(getpid())-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        return String(cString: made)
    }

    /// Removes `folder` and everything in it (errors ignored: best effort on the way out).
    package static func remove(_ folder: String) {
        try? FileManager.default.removeItem(atPath: folder)
    }
}
