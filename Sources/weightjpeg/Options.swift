import ArgumentParser
import Foundation
import WeightJPEG

/// `--data DIR`: where the IDX files are.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder with the MNIST-style IDX files, gzipped or not (Fashion-MNIST: /usr/share/datasets/fashion-mnist).", valueName: "dir"))
    var data: String = "data/mnist"

    /// The split, loaded and checked.
    func load(_ split: Dataset.Split) throws -> Dataset {
        try Dataset.load(directory: data, split: split)
    }
}

/// `--threads N`: BLAS threads.
struct ThreadOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "BLAS threads; 1 is the honest single-core baseline on a shared machine, 0 leaves OpenBLAS's own choice.")
    var threads: Int = 1

    func validate() throws {
        guard threads >= 0 else { throw ValidationError("--threads must be 0 or more, got \(threads)") }
    }

    func apply() {
        if threads > 0 { BLAS.setThreads(threads) }
    }
}

/// Writes a line to standard error.
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}

/// Whether standard error is a terminal (live progress lines only make sense there).
var standardErrorIsTerminal: Bool { isatty(2) != 0 }

/// `--jobs N`, `--progress`: how a whole-file compress or decompress runs. Neither has a default
/// value in the help (it would be this machine's core count and terminal): the help words say it.
struct PipelineOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Worker threads coding tensors in parallel, 1-1024 (default: all cores).", valueName: "n"))
    var jobs: Int?
    @Flag(inversion: .prefixedNo, help: "Progress on stderr (tensors, MB/s, ETA) for runs over a second (default: only when stderr is a terminal).")
    var progress: Bool?

    func validate() throws {
        if let jobs, !(1...1024).contains(jobs) { throw ValidationError("--jobs must be 1-1024, got \(jobs)") }
    }

    var options: ModelPipeline.Options {
        var o = ModelPipeline.Options()
        o.jobs = jobs ?? ProcessInfo.processInfo.activeProcessorCount
        o.progress = progress ?? ProgressReporter.stderrIsTerminal
        return o
    }
}

/// `--json`, `--quiet`: what compress and decompress print when they succeed.
struct ReportOptions: ParsableArguments {
    @Flag(help: "Print the report as one JSON object (camelCase keys) instead of text lines.")
    var json = false
    @Flag(name: [.short, .long], help: "Print nothing when the command succeeds (errors are still printed).")
    var quiet = false

    func validate() throws {
        if json && quiet { throw ValidationError("give --json or --quiet, not both") }
    }

    /// Where status lines go for an output at `path`: standard error when the data go to standard
    /// output (`-o -`, `/dev/stdout`) or when `--json` holds standard output.
    func status(forOutput path: String) -> StatusOutput {
        let dataOnStandardOutput = (try? OutputTarget.resolve(path))?.isStandardOutput ?? false
        return StatusOutput(toStandardError: dataOnStandardOutput, showLines: !quiet && !json, showNotes: !quiet,
                            jsonToStandardError: dataOnStandardOutput)
    }
}

/// Where a command's status lines go: standard output normally; standard error when its data go to
/// standard output (so that `-o -` gives clean bytes); nowhere with `--quiet` (or `--json`, whose
/// document holds the same).
struct StatusOutput {
    var toStandardError = false
    /// Result lines ("wrote …", tables); off with `--quiet` and `--json`.
    var showLines = true
    /// Notes on standard error; off with `--quiet`.
    var showNotes = true
    /// `--json`'s document goes to standard error (the data are on standard output).
    var jsonToStandardError = false

    /// A result line ("wrote …", a table row).
    func line(_ text: String) {
        guard showLines else { return }
        if toStandardError { printError(text) } else { print(text) }
    }

    /// A note or progress line, always on standard error.
    func note(_ text: String) {
        if showNotes { printError(text) }
    }

    /// `value` as the command's JSON document.
    func json(_ value: some Encodable) throws {
        if jsonToStandardError {
            printError(String(decoding: try JSONOutput.encoder().encode(value), as: UTF8.self))
        } else {
            try JSONOutput.print(value)
        }
    }
}
