import Foundation
import Synchronization
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGModel
@testable import WeightJPEGTools


/// A fresh empty directory, removed by the caller.
private func temporaryDirectory(_ label: String) throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("wjpg-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func contents(_ directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
}

/// A small synthetic transformer (width 64, 2 layers) plus the MLP fixture's tensors, with metadata:
/// JPEG, float16, int8 and exact codings in one file.
private func multiTensorModel() throws -> SafetensorsFile {
    let synthetic = SyntheticCheckpoint(width: 64, layers: 2, vocabulary: 400, seed: 7)
    var tensors = synthetic.specs.indices.map { synthetic.tensor($0) }
    let mlp = try SafetensorsFile.read(path: TestPaths.referenceMLP)
    tensors += mlp.tensors.map { SafetensorsTensor(name: "mlp." + $0.name, dtype: $0.dtype, shape: $0.shape, data: $0.data) }
    tensors.append(SafetensorsTensor(name: "half", shape: [40, 50], floats: (0..<2000).map { sinf(Float($0) / 9) }, dtype: .F16))
    return SafetensorsFile(tensors: tensors, metadata: ["format": "pt", "note": "pipeline test"])
}

// MARK: - Compress and decompress, streamed and parallel

@Test(arguments: [1, 2])
func streamedCompressEqualsTheInMemoryContainer(jobs: Int) throws {
    let dir = try temporaryDirectory("pipe")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let file = try multiTensorModel()
    try file.write(to: dir + "/in.safetensors")
    let policy = CompressionPolicy()
    let expected = try ModelCodec.compress(file, policy: policy).serialized()

    var options = ModelPipeline.Options()
    options.jobs = jobs
    let summary = try ModelPipeline.compress(input: dir + "/in.safetensors", output: dir + "/out.wjpg", policy: policy, options: options)
    #expect(summary.tensors == file.tensors.count)
    #expect(summary.outputBytes == expected.count)
    #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/out.wjpg"))) == expected)

    // The tightest schedule (one tensor in flight at a time) gives the same bytes.
    options.window = 1
    options.budgetBytes = 1
    try ModelPipeline.compress(input: dir + "/in.safetensors", output: dir + "/tight.wjpg", policy: policy, options: options)
    #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/tight.wjpg"))) == expected)

    // Decompressing streamed equals the in-memory decompression, byte for byte.
    let inMemory = try ModelCodec.decompress(Container(bytes: expected, path: "m"), path: "m").serialized()
    try ModelPipeline.decompress(input: dir + "/out.wjpg", output: dir + "/back.safetensors", options: options)
    #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/back.safetensors")) == inMemory)
    // Names, order, dtypes and metadata survive; exact tensors are bit for bit.
    let back = try SafetensorsFile.read(path: dir + "/back.safetensors")
    #expect(back.metadata == file.metadata)
    #expect(back.tensors.map(\.name) == file.tensors.map(\.name))
    #expect(back.tensors.map(\.dtype) == file.tensors.map(\.dtype))
    #expect(back["position_ids"]?.data == file["position_ids"]?.data)
    #expect(contents(dir) == ["back.safetensors", "in.safetensors", "out.wjpg", "tight.wjpg"])
}

@Test func aBadTensorInTheMiddleLeavesNoOutputAndNoTemporaryFile() throws {
    let dir = try temporaryDirectory("bad")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var tensors = try multiTensorModel().tensors
    let middle = tensors.count / 2
    var values = (0..<(64 * 64)).map { Float($0 % 17) / 100 }
    values[100] = .nan
    tensors.insert(SafetensorsTensor(name: "poisoned", shape: [64, 64], floats: values), at: middle)
    try SafetensorsFile(tensors: tensors).write(to: dir + "/in.safetensors")
    for jobs in [1, 2] {
        var options = ModelPipeline.Options()
        options.jobs = jobs
        do {
            try ModelPipeline.compress(input: dir + "/in.safetensors", output: dir + "/out.wjpg", policy: CompressionPolicy(), options: options)
            Issue.record("a NaN weight was compressed")
        } catch {
            let message = "\(error)"
            #expect(message.contains("poisoned") && message.contains("nan") && message.contains("in.safetensors"), "\(message)")
        }
        #expect(contents(dir) == ["in.safetensors"])
    }
}

@Test func aDamagedPayloadFailsDecompressionWithoutOutput() throws {
    let dir = try temporaryDirectory("dmg")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var bytes = try ModelCodec.compress(multiTensorModel(), policy: CompressionPolicy()).serialized()
    bytes[bytes.count - 10] ^= 0xFF  // in the last tensor's payload
    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/in.wjpg"))
    do {
        try ModelPipeline.decompress(input: dir + "/in.wjpg", output: dir + "/out.safetensors")
        Issue.record("a damaged payload was decoded")
    } catch let e as ContainerError {
        #expect(e.path == dir + "/in.wjpg")
        guard case .payloadChecksum = e.fault else { Issue.record("fault \(e.fault)"); return }
    }
    #expect(contents(dir) == ["in.wjpg"])
}

@Test func aHeaderClaimingAHugeOutputFailsBeforeAnySpaceIsReserved() throws {
    // 2^34 int8 elements (a 64 GiB float32 output) from a 10-byte payload: refused from the header,
    // before the output file's space would be reserved, naming the tensor; nothing is left behind.
    let dir = try temporaryDirectory("huge")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let entry = ContainerEntry(name: "huge.weight", dtype: "F32", shape: [1 << 20, 1 << 14],
                               coding: .int8PerRow, payloads: [[UInt8](repeating: 1, count: 10)])
    try Data(Container(metadata: nil, entries: [entry]).serialized()).write(to: URL(fileURLWithPath: dir + "/in.wjpg"))
    do {
        try ModelPipeline.decompress(input: dir + "/in.wjpg", output: dir + "/out.safetensors")
        Issue.record("a huge claimed tensor was accepted")
    } catch let e as ContainerError {
        #expect(e.tensor == "huge.weight")
        #expect(e.description.contains("cannot come from"), "\(e)")
    }
    #expect(contents(dir) == ["in.wjpg"])
}

// MARK: - Mapped readers

@Test func mappedSafetensorsReaderNamesTheFileOnTruncatedOrLyingHeaders() throws {
    let dir = try temporaryDirectory("hdr")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let good = try multiTensorModel().serialized()
    let reader = try SafetensorsReader(path: { try! good.write(to: URL(fileURLWithPath: dir + "/good.safetensors")); return dir + "/good.safetensors" }())
    #expect(reader.count == (try multiTensorModel()).tensors.count)
    #expect(reader.tensor(3) == (try SafetensorsFile(data: good, path: "g")).tensors[3])

    func rejects(_ bytes: Data, _ name: String, _ expected: (SafetensorsError.Kind) -> Bool) {
        let path = dir + "/" + name
        try! bytes.write(to: URL(fileURLWithPath: path))
        do {
            _ = try SafetensorsReader(path: path)
            Issue.record("\(name) accepted")
        } catch {
            #expect(error.path == path)
            #expect(error.description.hasPrefix(path))
            #expect(expected(error.kind), "\(error)")
        }
    }
    // Truncated inside the data: the offsets run past the buffer.
    rejects(good.prefix(good.count - 100), "truncated.safetensors") {
        if case .offsetsBeyondBuffer = $0 { return true } else { return false }
    }
    // Truncated inside the header.
    rejects(good.prefix(50), "short.safetensors") { if case .headerBeyondFile = $0 { return true } else { return false } }
    // A header length that lies (claims 2^40 bytes).
    var lying = good
    lying.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { Data($0) })
    rejects(lying, "lying.safetensors") { if case .headerTooLarge = $0 { return true } else { return false } }
    // Nonexistent file.
    do { _ = try SafetensorsReader(path: dir + "/missing.safetensors"); Issue.record("missing file accepted") } catch {
        #expect(error.description.contains("missing.safetensors"))
    }
}

@Test func mappedContainerReaderChecksTheHeaderAndEachPayload() throws {
    let dir = try temporaryDirectory("wrd")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let container = try ModelCodec.compress(multiTensorModel(), policy: CompressionPolicy())
    let bytes = container.serialized()
    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/c.wjpg"))
    let reader = try ContainerReader(path: dir + "/c.wjpg")
    #expect(reader.count == container.entries.count)
    for i in 0..<reader.count { #expect(try reader.entry(i) == container.entries[i]) }

    try Data(bytes.prefix(bytes.count - 1)).write(to: URL(fileURLWithPath: dir + "/t.wjpg"))
    do { _ = try ContainerReader(path: dir + "/t.wjpg"); Issue.record("truncated .wjpg accepted") } catch let e as ContainerError {
        #expect(e.path == dir + "/t.wjpg")
        guard case .payloadBounds = e.fault else { Issue.record("fault \(e.fault)"); return }
    }
}

// MARK: - Scheduling

@Test func orderedParallelMapKeepsOrderAndBoundsWorkInFlight() throws {
    let inFlight = Atomic<Int>(0), peak = Atomic<Int>(0)
    var seen: [Int] = []
    try OrderedParallelMap.run(
        count: 40, jobs: 4, window: 6, budget: 10, cost: { $0 % 5 == 0 ? 25 : 3 },
        makeWorker: { 0 },
        work: { calls, i in
            calls += 1
            let now = inFlight.add(1, ordering: .sequentiallyConsistent).newValue
            peak.max(now, ordering: .sequentiallyConsistent)
            usleep(UInt32((i * 7919) % 5) * 300)
            inFlight.subtract(1, ordering: .sequentiallyConsistent)
            return i * i
        },
        consume: { i, r in #expect(r == i * i); seen.append(i) })
    #expect(seen == Array(0..<40))
    // Four workers, but budget 10 with costs of 3 allows at most 3 at once; cost-25 items run alone.
    #expect(peak.load(ordering: .sequentiallyConsistent) <= 3)

    // The first failing item's error is thrown (not the later one's).
    struct Boom: Error, Equatable { let index: Int }
    var consumed: [Int] = []
    #expect(throws: Boom(index: 5)) {
        try OrderedParallelMap.run(
            count: 30, jobs: 2, window: 4, budget: .max, cost: { _ in 1 }, makeWorker: { () },
            work: { _, i in if i == 5 || i == 9 { throw Boom(index: i) }; return i },
            consume: { i, _ in consumed.append(i) })
    }
    // Consumption stops at the failure (results already computed before it may be dropped: the
    // output is discarded anyway): what was consumed is an in-order prefix of the items before it.
    #expect(consumed == Array(0..<consumed.count) && consumed.count <= 5)
}

@Test func progressLineShowsTensorsRateAndETA() {
    let line = ProgressReporter.line(label: "compress", items: 3, totalItems: 10, bytes: 50_000_000, totalBytes: 200_000_000, elapsed: 2)
    #expect(line == "compress: 3/10 tensors, 50.0/200.0 MB, 25.0 MB/s, ETA 6 s")
    var lines: [String] = []
    let reporter = ProgressReporter(label: "x", totalItems: 2, totalBytes: 10)
    reporter.delay = 0
    reporter.sink = { lines.append($0) }
    reporter.update(items: 2, bytes: 10)
    reporter.finish()
    #expect(lines.count == 2 && lines[0].hasPrefix("\rx: 2/2 tensors") && lines[1] == "\n")
    let silent = ProgressReporter(label: "y", totalItems: 2, totalBytes: 10)
    silent.sink = { lines.append($0) }
    silent.update(items: 1, bytes: 5)  // within the first second: nothing
    silent.finish()
    #expect(lines.count == 2)
}

// MARK: - Synthetic checkpoint

@Test func syntheticCheckpointIsDeterministicAndStreamed() throws {
    let dir = try temporaryDirectory("syn")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let s = SyntheticCheckpoint(parameters: 300_000, seed: 3)
    try s.write(to: dir + "/a.safetensors")
    try s.write(to: dir + "/b.safetensors")
    let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.safetensors"))
    #expect(a == (try Data(contentsOf: URL(fileURLWithPath: dir + "/b.safetensors"))))
    let file = try SafetensorsFile(data: a, path: "a")
    #expect(file.tensors.map(\.name) == s.specs.map(\.name))
    #expect(file.tensors.reduce(0) { $0 + $1.count } == s.parameterCount)
    #expect(abs(Double(s.parameterCount) / 300_000 - 1) < 0.3)
    #expect(file["position_ids"]?.dtype == .I64)
    let other = SyntheticCheckpoint(parameters: 300_000, seed: 4)
    #expect(other.tensor(2).data != s.tensor(2).data)
    // The 100M configuration is what the documentation says.
    let big = SyntheticCheckpoint(parameters: 100_000_000)
    #expect((big.width, big.layers, big.vocabulary) == (768, 11, 32_000))
    #expect(big.parameterCount == 103_136_768)
}

@Test func syntheticCheckpointHasTheDesignedStatistics() throws {
    let s = SyntheticCheckpoint(width: 128, layers: 1, vocabulary: 4096, seed: 11)
    let specs = s.specs
    func tensor(_ name: String) throws -> (values: [Float], shape: [Int]) {
        let i = specs.firstIndex { $0.name == name }!
        let t = s.tensor(i)
        return (try t.floats(), t.shape)
    }
    func rms(_ v: ArraySlice<Float>) -> Double { (v.reduce(0) { $0 + Double($1) * Double($1) } / Double(v.count)).squareRoot() }
    func correlationOfNeighbors(_ v: [Float], width: Int) -> Double {
        var sxy = 0.0, sxx = 0.0
        let mean = v.reduce(0) { $0 + Double($1) } / Double(v.count)
        for i in 0..<(v.count - 1) where (i + 1) % width != 0 {
            sxy += (Double(v[i]) - mean) * (Double(v[i + 1]) - mean)
            sxx += (Double(v[i]) - mean) * (Double(v[i]) - mean)
        }
        return sxy / sxx
    }

    // Noise-like linear layer: RMS ≈ 0.02·√E[s²] = 0.02·e^0.09, rows of varying scale, no smoothness.
    let q = try tensor("layers.0.attention.q.weight")
    let overall = rms(q.values[...])
    #expect(abs(overall / (0.02 * exp(0.09)) - 1) < 0.15, "linear RMS \(overall)")
    let rowRMS = (0..<q.shape[0]).map { rms(q.values[($0 * 128)..<(($0 + 1) * 128)]) }.sorted()
    let spread = rowRMS[rowRMS.count * 9 / 10] / rowRMS[rowRMS.count / 10]
    #expect(spread > 1.6 && spread < 3.2, "row-scale spread \(spread)")  // e^(0.3·2.56) ≈ 2.16
    #expect(abs(correlationOfNeighbors(q.values, width: 128)) < 0.1)

    // Smooth first layer: neighboring pixels strongly correlated.
    let stem = try tensor("stem.weight")
    #expect(stem.shape == [128, 3, 16, 16])
    #expect(correlationOfNeighbors(stem.values, width: 16) > 0.8)

    // Embeddings: log row norm falls with slope −0.25 in log row index.
    let e = try tensor("tok_embeddings.weight")
    var sx = 0.0, sy = 0.0, sxy = 0.0, sxx = 0.0
    let rows = e.shape[0]
    for r in 0..<rows {
        let x = log(Double(r + 1)), y = log(rms(e.values[(r * 128)..<((r + 1) * 128)]))
        sx += x; sy += y; sxy += x * y; sxx += x * x
    }
    let n = Double(rows)
    let slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    #expect(abs(slope + Double(SyntheticCheckpoint.zipfExponent)) < 0.03, "Zipf slope \(slope)")

    // Layer norms around 1, biases around 0, both 1-D.
    let norm = try tensor("layers.0.norm1.weight")
    #expect(norm.shape == [128])
    #expect(abs(norm.values.reduce(0, +) / 128 - 1) < 0.02)
    let bias = try tensor("layers.0.ffn.up.bias")
    #expect(bias.shape == [512] && abs(rms(bias.values[...]) - 0.01) < 0.003)
    // Positions: int64 0…2047.
    let pos = s.tensor(specs.count - 1)
    #expect(pos.data.withUnsafeBytes { raw in (0..<2048).allSatisfy { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) == Int64($0) } })
}

// MARK: - Benchmark pieces

@Test func rawReferenceCoversEveryMatrixAndChildProcessReportsPeakMemory() throws {
    let dir = try temporaryDirectory("ref")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let s = SyntheticCheckpoint(width: 64, layers: 1, vocabulary: 300, seed: 5)
    try s.write(to: dir + "/m.safetensors")
    let reference = try RawJPEGReference(checkpoint: dir + "/m.safetensors")
    let matrixElements = s.specs.filter { $0.dtype == .F32 && $0.shape.count >= 2 }.reduce(0) { $0 + $1.count }
    #expect(reference.pixelCount == matrixElements)
    let (encodeTime, streams) = try reference.encode(quality: 20, optimize: true, jobs: 2)
    #expect(streams.count == reference.images.count && streams.allSatisfy { $0.count > 100 })
    let decodeTime = try reference.decode(streams, jobs: 2)
    #expect(encodeTime.seconds > 0 && decodeTime.seconds > 0 && encodeTime.cpuSeconds > 0)

    let ok = try ChildProcess.run("/bin/sh", ["-c", "echo 12345 > \"$\(ChildProcess.peakFileVariable)\"; exit 3"])
    #expect(ok.status == 3 && ok.peakResidentBytes == 12345)
    #expect((ChildProcess.ownPeakResidentBytes() ?? 0) > 0)
}
