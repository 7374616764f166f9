import Foundation

/// Runs a program as a child process and reports its exit status, wall time, CPU time and peak
/// resident memory (the child's own VmHWM, which it reports), so that a benchmark can measure a
/// command's memory without its own allocations in the figure.
public enum ChildProcess {
    /// What a run did.
    public struct Outcome: Sendable {
        /// Exit code (128 + signal number when killed by a signal).
        public let status: Int32
        /// Wall time in seconds.
        public let seconds: Double
        /// Peak resident memory of the child (its VmHWM), in bytes; 0 if it did not report it.
        public let peakResidentBytes: Int
        /// CPU time of the child (user + system, all threads), in seconds.
        public let cpuSeconds: Double

        /// An outcome (e.g. a summary of several runs).
        public init(status: Int32, seconds: Double, peakResidentBytes: Int, cpuSeconds: Double) {
            self.status = status
            self.seconds = seconds
            self.peakResidentBytes = peakResidentBytes
            self.cpuSeconds = cpuSeconds
        }
    }

    /// Failure to start the program.
    public struct SpawnError: Error, CustomStringConvertible {
        /// The executable that could not be started.
        public let program: String
        /// The system's reason.
        public let reason: String
        public var description: String { "cannot run \(program): \(reason)" }
    }

    /// The running executable (for running this program's own subcommands).
    public static let currentExecutable = "/proc/self/exe"

    /// The environment variable naming the file in which a child writes its own peak RSS.
    public static let peakFileVariable = "WEIGHTJPEG_PEAK_RSS_FILE"

    /// Writes this process's VmHWM (bytes, decimal) to the file named by `peakFileVariable`, if set.
    /// Commands measured by `run` call it when they finish: `wait4`'s `ru_maxrss` cannot be used,
    /// because a child spawned with vfork semantics inherits the parent's peak at `exec`.
    public static func reportPeakIfRequested() {
        guard let path = ProcessInfo.processInfo.environment[peakFileVariable], let peak = ownPeakResidentBytes() else { return }
        try? String(peak).write(toFile: path, atomically: false, encoding: .utf8)
    }

    /// Runs `program` with `arguments` (stdin and stderr inherited; stdout too unless `quiet`,
    /// which sends it to /dev/null) and waits for it. The peak RSS is the one the child reports
    /// through `reportPeakIfRequested()`, or 0 if it does not.
    public static func run(_ program: String, _ arguments: [String], quiet: Bool = false) throws(SpawnError) -> Outcome {
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let peakFile = FileManager.default.temporaryDirectory.appendingPathComponent("weightjpeg-peak-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { unlink(peakFile) }
        var environment = ProcessInfo.processInfo.environment
        environment[peakFileVariable] = peakFile
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in envp { free(p) } }
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if quiet { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        let rc = posix_spawn(&pid, program, &actions, nil, argv, envp)
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
        let peak = (try? String(contentsOfFile: peakFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        return Outcome(status: code, seconds: seconds, peakResidentBytes: peak,
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
