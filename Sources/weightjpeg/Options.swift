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
    @Option(help: "BLAS threads (default: 1, the honest single-core baseline on a shared machine; 0 = OpenBLAS's default).")
    var threads: Int = 1

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

/// `--jobs N`, `--progress`: how a whole-file compress or decompress runs.
struct PipelineOptions: ParsableArguments {
    @Option(help: "Worker threads coding tensors in parallel (default: all cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(inversion: .prefixedNo, help: "Progress on stderr (tensors, MB/s, ETA) for runs over a second (default: only when stderr is a terminal).")
    var progress: Bool = ProgressReporter.stderrIsTerminal

    func validate() throws {
        guard (1...1024).contains(jobs) else { throw ValidationError("--jobs must be 1…1024") }
    }

    var options: ModelPipeline.Options {
        var o = ModelPipeline.Options()
        o.jobs = jobs
        o.progress = progress
        return o
    }
}
