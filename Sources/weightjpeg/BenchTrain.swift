import ArgumentParser
import Foundation
import WeightJPEG

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput of the founding MLP: samples/s and seconds per 60,000-sample epoch.",
        discussion: "Uses the real training set when --data holds it, else synthetic data of the same shape. For a fair comparison with another framework, run both with the same BLAS threads and the same OPENBLAS_CORETYPE.")

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var threadOptions: ThreadOptions
    @Option(help: "Timed epochs (after one warm-up of 50 batches).")
    var epochs: Int = 1
    @Option(help: "Samples per mini-batch.")
    var batch: Int = 64
    @Flag(help: "Skip the PyTorch reference (scripts/pytorch-train-epoch.py, run when python3 can import torch).")
    var noReference = false

    func run() throws {
        threadOptions.apply()
        #if DEBUG
        printError("warning: this is a debug build; benchmark with `swift build -c release`")
        #endif
        let inputs: [Float], labels: [UInt8], source: String
        if let train = try? dataOptions.load(.train) {
            inputs = train.normalized(); labels = train.labels; source = "\(dataOptions.data) (\(grouped(train.count)) images)"
        } else {
            var rng = RandomSource(seed: 1)
            inputs = (0..<(60_000 * 784)).map { _ in rng.uniform(1) }
            labels = (0..<60_000).map { _ in UInt8(rng.next() % 10) }
            source = "synthetic (no data in \(dataOptions.data))"
        }
        var config = TrainingConfiguration()
        config.batchSize = batch
        config.schedule = .constant
        // Warm-up: a short run so that BLAS buffers and page faults are out of the timing.
        config.epochs = 1
        let warmCount = min(labels.count, 50 * batch)
        _ = try Trainer(configuration: config).train(
            inputs: Array(inputs[0..<(warmCount * 784)]), labels: Array(labels[0..<warmCount]), inputSize: 784)
        config.epochs = epochs
        let start = Date()
        _ = try Trainer(configuration: config).train(inputs: inputs, labels: labels, inputSize: 784)
        let seconds = Date().timeIntervalSince(start)
        let samples = Double(labels.count * epochs)
        let perEpoch = seconds / Double(epochs) * 60_000 / Double(labels.count)
        print("data:            \(source)")
        print("model:           784-512-10, Adam, batch \(batch)")
        print("BLAS:            \(BLAS.kernelDescription)")
        print("throughput:      \(grouped(Int(samples / seconds))) samples/s")
        print("epoch (60,000):  \(fixed(perEpoch, 3)) s")
        guard !noReference else { return }
        if let reference = pytorchEpochSeconds() {
            print("PyTorch epoch:   \(fixed(reference, 3)) s (same data, batch 64, Adam, \(threadOptions.threads) thread(s), measured now)")
            print("ratio:           \(fixed(perEpoch / reference, 2))× PyTorch's time per epoch (< 1 is faster)")
        } else {
            print("PyTorch epoch:   not measured (python3 cannot import torch, or scripts/pytorch-train-epoch.py is missing)")
        }
    }

    /// Seconds per epoch of the same recipe in PyTorch, run now with the same thread count.
    func pytorchEpochSeconds() -> Double? {
        let script = "scripts/pytorch-train-epoch.py"
        guard FileManager.default.fileExists(atPath: script), batch == 64 else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--data", dataOptions.data, "--threads", String(max(threadOptions.threads, 1))]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let fields = output.split(separator: " ")
        guard fields.count >= 2, fields[0] == "seconds_per_epoch" else { return nil }
        return Double(fields[1].trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
