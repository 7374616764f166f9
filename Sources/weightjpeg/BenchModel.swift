import ArgumentParser
import Foundation
import WeightJPEG
import WeightJPEGTools

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Whole-model compress/decompress throughput and peak memory on a synthetic checkpoint, next to plain libjpeg-turbo.",
        discussion: """
        Generates (if missing) a synthetic float32 transformer checkpoint of about --parameters parameters \
        (SyntheticCheckpoint: smooth patch-embedding stem, noise-like linear layers with per-row scales and \
        low-rank structure, Zipf-normed token embeddings, 1-D norms and biases, an int64 tensor), then runs \
        `weightjpeg compress --noise-like-error off` (JPEG on every matrix, like the reference; by default the \
        noise-like layers would be error-targeted instead) and `weightjpeg decompress` on it as child processes with --jobs, timing them \
        and reading their peak resident memory (VmHWM, which each reports at its end). The reference is plain libjpeg-turbo \
        (C loops) encoding and decoding one 8-bit pixel per weight of every float tensor of rank ≥ 2 \
        (per-tensor min/max, --quality and optimized Huffman tables, as compress by default) on the same number of \
        threads, in this process. MB/s are of the float32 checkpoint (whole processes, wall time, against the raw \
        loops). Then the same two commands with the default policy (no options), and, in this process on one thread, \
        compress and decompress speed per coding under the default policy (float32 MB/s per core, the step \
        choice and verifying decode included) next to memcpy and memset of the same float32 bytes into a \
        mapped file, which bounds any decoder. Last, the decompress speed of JPEG tensors (every matrix JPEG, \
        as in the first run, one thread, per CPU-second) against the slower of raw libjpeg-turbo (per CPU-second \
        of its threads) and memcpy into the mapped file: the ratio whose target is ≥ 0.70.
        """)

    @Option(help: "Parameters of the synthetic checkpoint.")
    var parameters: Int = 100_000_000
    @Option(help: ArgumentHelp("The checkpoint (generated there if missing; default out/bench/synthetic-<parameters>.safetensors).", valueName: "file"))
    var checkpoint: String?
    @Option(name: .customLong("jobs"), parsing: .unconditional, help: ArgumentHelp("Threads for ours and for the reference, 1-1024 (default: all cores).", valueName: "n"))
    var jobsOption: Int?
    /// `--jobs`, or every core.
    var jobs: Int { jobsOption ?? ProcessInfo.processInfo.activeProcessorCount }
    @Option(help: ArgumentHelp("Where the compressed and restored files are written (default: the checkpoint's folder; /dev/shm keeps the disk out of the figures).", valueName: "dir"))
    var scratch: String?
    @Option(help: "JPEG quality for ours (compress --quality) and for the reference.")
    var quality: Int = CompressionPolicy().quality
    @Option(help: "Runs of each measurement (medians are reported).")
    var repeats: Int = 3
    @Option(help: "Seed of the synthetic checkpoint.")
    var seed: UInt64 = 1

    func validate() throws {
        guard parameters >= 10_000 && parameters <= 2_000_000_000 else { throw ValidationError("--parameters must be 10,000…2,000,000,000") }
        guard (1...20).contains(repeats) else { throw ValidationError("--repeats must be 1…20") }
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1…100") }
        guard (1...1024).contains(jobs) else { throw ValidationError("--jobs must be 1-1024, got \(jobs)") }
    }

    func run() throws {
        #if DEBUG
        printError("warning: this is a debug build; benchmark with `swift build -c release`")
        #endif
        let path = checkpoint ?? "out/bench/synthetic-\(parameters).safetensors"
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let synthetic = SyntheticCheckpoint(parameters: parameters, seed: seed)
        if !FileManager.default.fileExists(atPath: path) {
            let start = DispatchTime.now().uptimeNanoseconds
            try synthetic.write(to: path)
            print("generated \(path): \(grouped(synthetic.parameterCount)) parameters (width \(synthetic.width), \(synthetic.layers) layers, vocabulary \(grouped(synthetic.vocabulary)), seed \(seed)) in \(fixed(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, 1)) s")
        }
        let reader = try SafetensorsReader(path: path)
        let inputBytes = reader.fileSize
        let largest = reader.layout.tensors.map { $0.range.count }.max() ?? 0
        let mb = Double(inputBytes) / 1e6
        print("checkpoint \(path): \(grouped(inputBytes)) bytes, \(reader.count) tensors, largest \(fixed(Double(largest) / 1e6, 1)) MB; jobs \(jobs), quality \(quality); load average \(loadAverage())")

        let compressed = (scratch ?? directory) + "/bench-model.wjpg"
        let restored = (scratch ?? directory) + "/bench-model.restored.safetensors"
        fflush(nil)  // our buffered stdout before the children write theirs
        // Each measurement `repeats` times, ours and the reference interleaved; medians (and the largest peak RSS).
        var cs: [ChildProcess.Outcome] = [], ds: [ChildProcess.Outcome] = []
        var rawEncodes: [RawJPEGReference.Timing] = [], rawDecodes: [RawJPEGReference.Timing] = []
        let reference = try RawJPEGReference(checkpoint: path)
        var rawBytes = 0
        for r in 0..<repeats {  // the first run's own output is shown
            let c = try ChildProcess.run(ChildProcess.currentExecutable, ["compress", path, "-o", compressed, "--keep-dead-units", "--noise-like-error", "off", "--quality", String(quality), "--jobs", String(jobs), "--no-progress"], quiet: r > 0)
            guard c.status == 0 else { throw ModelFileError(path: path, reason: "compress exited with status \(c.status)") }
            let d = try ChildProcess.run(ChildProcess.currentExecutable, ["decompress", compressed, "-o", restored, "--jobs", String(jobs), "--no-progress"], quiet: r > 0)
            guard d.status == 0 else { throw ModelFileError(path: compressed, reason: "decompress exited with status \(d.status)") }
            try? FileManager.default.removeItem(atPath: restored)
            cs.append(c); ds.append(d)
            let (rawEncode, streams) = try reference.encode(quality: quality, optimize: CompressionPolicy().optimizeHuffman, jobs: jobs)
            rawEncodes.append(rawEncode)
            rawDecodes.append(try reference.decode(streams, jobs: jobs))
            rawBytes = streams.reduce(0) { $0 + $1.count }
            fflush(nil)
        }
        func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }
        func medianOutcome(_ os: [ChildProcess.Outcome]) -> ChildProcess.Outcome {
            ChildProcess.Outcome(status: 0, seconds: median(os.map(\.seconds)), peakResidentBytes: os.map(\.peakResidentBytes).max()!,
                                 cpuSeconds: median(os.map(\.cpuSeconds)))
        }
        let c = medianOutcome(cs), d = medianOutcome(ds)
        let rawEncode = RawJPEGReference.Timing(seconds: median(rawEncodes.map(\.seconds)), cpuSeconds: median(rawEncodes.map(\.cpuSeconds)))
        let rawDecode = RawJPEGReference.Timing(seconds: median(rawDecodes.map(\.seconds)), cpuSeconds: median(rawDecodes.map(\.cpuSeconds)))
        let wjpgBytes = (try? FileManager.default.attributesOfItem(atPath: compressed)[.size] as? Int) ?? 0
        print("medians of \(repeats) runs (wall: ours \(cs.map { fixed($0.seconds, 2) }.joined(separator: " ")) / \(ds.map { fixed($0.seconds, 2) }.joined(separator: " ")) s; raw \(rawEncodes.map { fixed($0.seconds, 2) }.joined(separator: " ")) / \(rawDecodes.map { fixed($0.seconds, 2) }.joined(separator: " ")) s)")
        print("compressed to \(grouped(wjpgBytes)) bytes (\(fixed(Double(inputBytes) / Double(max(wjpgBytes, 1)), 1))×); raw libjpeg reference: \(grouped(reference.pixelCount)) pixels in \(reference.images.count) images (\(fixed(Double(reference.coveredBytes) / Double(inputBytes) * 100, 1))% of the checkpoint's bytes), \(grouped(rawBytes)) bytes")
        func line(_ what: String, _ ours: ChildProcess.Outcome, _ raw: RawJPEGReference.Timing) {
            let ratio = raw.seconds / ours.seconds
            print("  \(what)  ours \(fixed(mb / ours.seconds, 1)) MB/s (\(fixed(ours.seconds, 2)) s wall, \(fixed(ours.cpuSeconds, 2)) s CPU)   raw libjpeg \(fixed(mb / raw.seconds, 1)) MB/s (\(fixed(raw.seconds, 2)) s wall, \(fixed(raw.cpuSeconds, 2)) s CPU)   wall ratio to raw libjpeg \(fixed(ratio, 2))   CPU-time ratio \(fixed(raw.cpuSeconds / ours.cpuSeconds, 2))")
        }
        line("compress  ", c, rawEncode)
        line("decompress", d, rawDecode)
        try? FileManager.default.removeItem(atPath: restored)
        let jpegPeak = c.peakResidentBytes
        // The default policy (what `compress` does without options), same children, same medians.
        var dcs: [ChildProcess.Outcome] = [], dds: [ChildProcess.Outcome] = []
        for r in 0..<repeats {
            let c = try ChildProcess.run(ChildProcess.currentExecutable, ["compress", path, "-o", compressed, "--keep-dead-units", "--jobs", String(jobs), "--no-progress"], quiet: r > 0)
            guard c.status == 0 else { throw ModelFileError(path: path, reason: "compress (default policy) exited with status \(c.status)") }
            let d = try ChildProcess.run(ChildProcess.currentExecutable, ["decompress", compressed, "-o", restored, "--jobs", String(jobs), "--no-progress"], quiet: r > 0)
            guard d.status == 0 else { throw ModelFileError(path: compressed, reason: "decompress exited with status \(d.status)") }
            try? FileManager.default.removeItem(atPath: restored)
            dcs.append(c); dds.append(d)
            fflush(nil)
        }
        let dc = medianOutcome(dcs), dd = medianOutcome(dds)
        let defaultBytes = (try? FileManager.default.attributesOfItem(atPath: compressed)[.size] as? Int) ?? 0
        print("default policy: compressed to \(grouped(defaultBytes)) bytes (\(fixed(Double(inputBytes) / Double(max(defaultBytes, 1)), 1))×)")
        for (what, o) in [("compress  ", dc), ("decompress", dd)] {
            print("  \(what)  \(fixed(mb / o.seconds, 1)) MB/s (\(fixed(o.seconds, 2)) s wall, \(fixed(o.cpuSeconds, 2)) s CPU = \(fixed(mb / o.cpuSeconds, 1)) MB/s per core); peak RSS \(fixed(Double(o.peakResidentBytes) / 1e6, 1)) MB")
        }
        // Per coding on one thread, next to memcpy/memset into a mapped file (medians of the repeats).
        var throughputs: [CodingThroughput] = [], jpegThroughputs: [CodingThroughput] = [], references: [WriteReference] = []
        var jpegEverywhere = CompressionPolicy()
        jpegEverywhere.noiseLikeRelativeError = nil   // as the first run: JPEG on every matrix
        jpegEverywhere.quality = quality
        for _ in 0..<repeats {
            throughputs.append(try CodingThroughput(checkpoint: path, policy: CompressionPolicy()))
            jpegThroughputs.append(try CodingThroughput(checkpoint: path, policy: jpegEverywhere))
            references.append(try WriteReference(checkpoint: path, directory: scratch ?? directory))
        }
        let copy = median(references.map(\.copyMBps)), fill = median(references.map(\.fillMBps))
        let positional = median(references.map(\.pwriteMBps))
        print("per coding, default policy, one thread (float32 MB per CPU-second; medians of \(repeats)); references: memcpy into a mapped file \(fixed(copy, 0)) MB/s, memset \(fixed(fill, 0)) MB/s, pwrite from a reused \(WriteReference.pwritePiece >> 10) KiB buffer (as decompress writes) \(fixed(positional, 0)) MB/s")
        for row in throughputs[0].rows {
            let runs = throughputs.compactMap { $0.rows.first { $0.coding == row.coding } }
            let enc = median(runs.map(\.encodeMBps)), dec = median(runs.map(\.decodeMBps))
            print("  \(row.coding.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(row.tensors).leftPadded(4)) tensors \(fixed(Double(row.elements) / 1e6, 2).leftPadded(7)) M weights \(fixed(row.bitsPerWeight, 3).leftPadded(7)) bits/weight   compress \(fixed(enc, 1).leftPadded(7)) MB/s   decompress \(fixed(dec, 1).leftPadded(7)) MB/s = \(fixed(dec / copy, 2)) × memcpy")
        }
        // JPEG tensors against the slower of the two references, all in float32 MB per CPU-second.
        let jpegRuns = jpegThroughputs.compactMap { $0.rows.first { $0.coding == "jpeg" } }
        if !jpegRuns.isEmpty {
            let raw = mb / rawDecode.cpuSeconds
            let (slowerName, slower) = raw < copy ? ("raw libjpeg-turbo", raw) : ("memcpy", copy)
            print("JPEG tensors (every matrix JPEG at quality \(quality), as the first run) against the slower reference, float32 MB per CPU-second: raw libjpeg-turbo \(fixed(raw, 1)) MB/s (\(jobs) threads), memcpy into a mapped file \(fixed(copy, 0)) MB/s; the slower is \(slowerName)")
            for (what, ours) in [("in process, one thread, decoding into memory (medians of \(repeats))", median(jpegRuns.map(\.decodeMBps))),
                                 ("`decompress` of the first run, whole process writing the restored file (\(jobs) jobs)", mb / d.cpuSeconds)] {
                let ratio = ours / slower
                print("  \(what): \(fixed(ours, 1)) MB/s, ratio \(fixed(ratio, 2)) (target ≥ 0.70)\(ratio < 0.7 ? "  (MISSED)" : "")")
            }
            print("  (`decompress` writes with pwrite, which the mapped copy does not bound: against the pwrite reference, \(fixed(positional, 0)) MB/s, its ratio is \(fixed(mb / d.cpuSeconds / positional, 2)))")
        }
        let target = 150_000_000 + largest
        print("  peak RSS (JPEG run): compress \(fixed(Double(jpegPeak) / 1e6, 1)) MB, decompress \(fixed(Double(d.peakResidentBytes) / 1e6, 1)) MB; target for compress ≤ 150 MB + largest tensor = \(fixed(Double(target) / 1e6, 1)) MB\(jpegPeak > target ? "  (MISSED)" : "")")
        print("load average after: \(loadAverage())")
    }

    func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }
}

extension String {
    /// Right-aligned in a column of `width` characters.
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
