import ArgumentParser
import Foundation
import WeightJPEG

struct BenchInfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "First-layer inference straight from the JPEG coefficients (DCT domain) against dense float32 on the decoded weights.",
        discussion: """
        A safetensors model is compressed in memory at qualities 5, 10, 20, 50 and 90 (default policy); \
        a .wjpg file is used as it is. Per quality and engine (dct-sparse, dct-reduced, dct-compact, dense \
        float32 BLAS): resident weight bytes (first layer, whole model), multiply–adds per sample of the first \
        layer, batch-1 latency of the first layer (median over the test images, or random inputs), \
        batch throughput, time from .wjpg bytes to a ready engine, and test accuracy of the whole model.
        """)

    @Argument(help: ArgumentHelp("The model (.safetensors or .wjpg).", valueName: "model"))
    var model: String
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var threadOptions: ThreadOptions
    @Option(help: "Samples for the throughput batch and the latency median.")
    var samples: Int = 10_000
    @Option(help: "Timed repetitions of the batch and load measurements (the median is reported).")
    var repeats: Int = 5
    @Option(parsing: .upToNextOption, help: "Qualities for a safetensors model.")
    var qualities: [Int] = [5, 10, 20, 50, 90]

    func run() throws {
        threadOptions.apply()
        #if DEBUG
        printError("warning: this is a debug build; benchmark with `swift build -c release`")
        #endif
        // Inputs.
        var x: [Float], labels: [UInt8]?, source: String
        if let test = try? dataOptions.load(.test) {
            let n = min(samples, test.count)
            let subset = test.subset(0..<n)
            x = subset.normalized(); labels = subset.labels; source = "\(dataOptions.data) (\(grouped(n)) test images)"
        } else {
            var rng = RandomSource(seed: 5)
            x = (0..<(samples * 784)).map { _ in Dataset.normalize(UInt8(truncatingIfNeeded: rng.next() >> 56)) }
            labels = nil; source = "random inputs (no data in \(dataOptions.data))"
        }
        // Containers.
        var cases: [(quality: String, bytes: [UInt8])] = []
        if ModelFile.isContainer(model) {
            let bytes = [UInt8](try FileInput.read(model))
            let container = try Container(bytes: bytes, path: model)
            var q = "?"
            if let e = container["0.weight"], case .jpeg(let p) = e.coding {
                q = p.quality == 0 ? "table" : String(p.quality)
            }
            cases = [(q, bytes)]
        } else {
            let file = try SafetensorsFile.read(path: model)
            for q in qualities {
                var policy = CompressionPolicy()
                policy.quality = q
                cases.append((String(q), try ModelCodec.compress(file, policy: policy).serialized()))
            }
        }
        let count = x.count / 784
        print("model:    \(model)")
        print("inputs:   \(source)")
        print("BLAS:     \(BLAS.kernelDescription)")
        print("batch-1:  median per sample over \(grouped(count)) single-sample calls; batch: one call on \(grouped(count)) samples; load: median of \(repeats)")

        for (quality, bytes) in cases {
            try benchmark(quality: quality, bytes: bytes, x: &x, count: count, labels: labels)
        }
    }

    struct Row {
        var engine: String
        var firstBytes: Int
        var modelBytes: Int
        var macs: Int
        var latency: Double
        var throughput: Double
        var load: Double
        var accuracy: Double?
    }

    func benchmark(quality: String, bytes: [UInt8], x: inout [Float], count: Int, labels: [UInt8]?) throws {
        let path = model
        // Ready engines, timed from the .wjpg bytes.
        var dense: MLP!
        let denseLoad = try LayerTiming.median(repeats: repeats) {
            let c = try Container(bytes: bytes, path: path)
            dense = try MLP(tensors: ModelCodec.floatTensors(c, path: path))
        }
        let kernels: [DCTLinear.Kernel] = [.sparse, .reducedDense, .compact]
        var models: [DCTModel] = [], loads: [Double] = []
        for kernel in kernels {
            var m: DCTModel!
            loads.append(try LayerTiming.median(repeats: repeats) {
                m = try DCTModel(container: Container(bytes: bytes, path: path), path: path, kernel: kernel)
            })
            models.append(m)
        }
        let layer = dense.layers[0]
        let n = layer.outputs
        var y = [Float](repeating: 0, count: count * n)

        func measure(_ forwardOne: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                     _ forwardBatch: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void) -> (Double, Double) {
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    let (xb, yb) = (xp.baseAddress!, yp.baseAddress!)
                    let latency = LayerTiming.medianLatency(count: count) { i in forwardOne(xb + i * 784, yb + i * n) }
                    let batch = LayerTiming.median(repeats: repeats) { forwardBatch(xb, count, yb) }
                    return (latency, Double(count) / batch)
                }
            }
        }
        var timings = [measure({ LayerTiming.denseForwardOne(layer, $0, into: $1) }, { layer.forward($0, batch: $1, into: $2) })]
        for m in models {
            timings.append(measure({ m.first.forward($0, batch: 1, into: $1) }, { m.first.forward($0, batch: $1, into: $2) }))
        }

        // Whole-model accuracy and agreement with dense.
        let zDense = try dense.logits(x, count: count)
        let zs = try models.map { try $0.logits(x, count: count) }
        func argmax(_ z: [Float], _ r: Int) -> Int { z.withUnsafeBufferPointer { Softmax.argmax($0.baseAddress! + r * 10, 10) } }
        var agree = [Int](repeating: 0, count: zs.count), correct = [Int](repeating: 0, count: zs.count + 1)
        var maxDelta: Float = 0, kernelDelta = [Float](repeating: 0, count: zs.count)
        for r in 0..<count {
            let a = argmax(zDense, r)
            let l = labels.map { Int($0[r]) } ?? -1
            correct[0] += a == l ? 1 : 0
            for (e, z) in zs.enumerated() {
                let b = argmax(z, r)
                if a == b { agree[e] += 1 }
                correct[e + 1] += b == l ? 1 : 0
            }
        }
        for i in 0..<zDense.count {
            maxDelta = max(maxDelta, abs(zs[0][i] - zDense[i]))
            for e in 1..<zs.count {
                kernelDelta[e] = max(kernelDelta[e], abs(zs[e][i] - zs[0][i]) / max(1, abs(zs[0][i])))
            }
        }
        func accuracy(_ e: Int) -> Double? { labels == nil ? nil : Double(correct[e]) / Double(count) }

        let denseFirst = 4 * (layer.weight.count + layer.bias.count)
        var rows = [Row(engine: "dense f32", firstBytes: denseFirst, modelBytes: 4 * dense.parameterCount,
                        macs: layer.weight.count, latency: timings[0].0, throughput: timings[0].1, load: denseLoad,
                        accuracy: accuracy(0))]
        for (e, m) in models.enumerated() {
            rows.append(Row(engine: "dct-" + kernels[e].rawValue, firstBytes: m.first.residentBytes,
                            modelBytes: m.residentWeightBytes, macs: m.first.multiplyAddsPerSample,
                            latency: timings[e + 1].0, throughput: timings[e + 1].1, load: loads[e], accuracy: accuracy(e + 1)))
        }
        let base = rows[0]
        let (sparse, compact) = (models[0].first, models[2].first)
        let nnz = sparse.storedCoefficients
        print("")
        print("quality \(quality): \(grouped(bytes.count)) bytes; first layer \(grouped(nnz)) nonzero coefficients (\(fixed(Double(nnz) / Double(n), 1)) per neuron), K = \(compact.reducedWidth) kept frequencies of \(sparse.dct.coefficientCount) (\(compact.compactByteRows) as Int8, \(compact.reducedWidth - compact.compactByteRows) as Int16 in the compact kernel)")
        print(TextTable.right("engine", 12), TextTable.right("layer-1 B", 10), TextTable.right("ratio", 6), TextTable.right("model B", 10), TextTable.right("MACs/sample", 12),
              TextTable.right("batch-1 µs", 11), TextTable.right("ratio", 6), TextTable.right("samples/s", 11), TextTable.right("ratio", 6), TextTable.right("load ms", 8), TextTable.right("ratio", 6), TextTable.right("accuracy", 9))
        for r in rows {
            print(TextTable.right(r.engine, 12), TextTable.right(grouped(r.firstBytes), 10), TextTable.right(fixed(Double(r.firstBytes) / Double(base.firstBytes), 3), 6),
                  TextTable.right(grouped(r.modelBytes), 10), TextTable.right(grouped(r.macs), 12),
                  TextTable.right(fixed(r.latency * 1e6, 2), 11), TextTable.right(fixed(r.latency / base.latency, 2), 6),
                  TextTable.right(grouped(Int(r.throughput)), 11), TextTable.right(fixed(r.throughput / base.throughput, 2), 6),
                  TextTable.right(fixed(r.load * 1e3, 2), 8), TextTable.right(fixed(r.load / base.load, 2), 6),
                  TextTable.right(r.accuracy.map { fixed($0 * 100, 2) + "%" } ?? "-", 9))
        }
        print("dct vs dense: predictions agree on \(agree.map { fixed(Double($0) / Double(count) * 100, 2) + "%" }.joined(separator: " / ")) (sparse / reduced / compact), max |Δlogit| \(fixed(Double(maxDelta), 4)) (sparse); max relative Δ vs sparse: reduced \(String(format: "%.1e", Double(kernelDelta[1]))), compact \(String(format: "%.1e", Double(kernelDelta[2])))")
    }
}
