import Foundation

/// Runs a program as a child process and reports its exit status, wall time and peak resident
/// memory (`ru_maxrss` of `wait4`, which is the child's VmHWM), so that a benchmark can measure a
/// command's memory without its own allocations in the figure.
public enum ChildProcess {
    /// What a run did.
    public struct Outcome: Sendable {
        /// Exit code (128 + signal number when killed by a signal).
        public let status: Int32
        /// Wall time in seconds.
        public let seconds: Double
        /// Peak resident memory of the child, in bytes.
        public let peakResidentBytes: Int
        /// CPU time of the child (user + system, all threads), in seconds.
        public let cpuSeconds: Double
    }

    /// Failure to start the program.
    public struct SpawnError: Error, CustomStringConvertible {
        /// The program.
        public let program: String
        /// The system's reason.
        public let reason: String
        public var description: String { "cannot run \(program): \(reason)" }
    }

    /// The running executable (for running this program's own subcommands).
    public static let currentExecutable = "/proc/self/exe"

    /// Runs `program` with `arguments` (stdin, stdout and stderr inherited) and waits for it.
    public static func run(_ program: String, _ arguments: [String]) throws(SpawnError) -> Outcome {
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let rc = posix_spawn(&pid, program, nil, nil, argv, environ)
        guard rc == 0 else { throw SpawnError(program: program, reason: String(cString: strerror(rc))) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw SpawnError(program: program, reason: String(cString: strerror(errno))) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let signal = status & 0x7F
        let code: Int32 = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
        func secs(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return Outcome(status: code, seconds: seconds, peakResidentBytes: Int(usage.ru_maxrss) * 1024,
                       cpuSeconds: secs(usage.ru_utime) + secs(usage.ru_stime))
    }

    /// This process's peak resident memory so far (VmHWM of /proc/self/status), in bytes, or nil.
    public static func ownPeakResidentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        let kb = line.split(separator: " ").compactMap { Int($0) }.first
        return kb.map { $0 * 1024 }
    }
}
