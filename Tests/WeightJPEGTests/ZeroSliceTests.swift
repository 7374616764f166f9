import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEG

/// Zero slices (dead units removed before coding, restored as zeros on decompression): the bytes of
/// docs/FORMAT.md §3, the restoration itself, and the refusals of hostile records.
@Suite struct ZeroSliceTests {
    /// A 2×3 stored matrix, one row removed at 1 and columns at 0 and 3, restored to 3×5 by hand.
    @Test func restoreInsertsZeroRowsAndColumnsAtTheOriginalPositions() {
        let stored: [Float] = [1, 2, 3,
                               4, 5, 6]
        let slices = [ZeroSlices(axis: 0, indices: [1]), ZeroSlices(axis: 1, indices: [0, 3])]
        #expect(ZeroSlices.refusal(slices, shape: [2, 3]) == nil)
        #expect(ZeroSlices.restoredShape([2, 3], slices) == [3, 5])
        var out = [Float](repeating: .nan, count: 15)
        stored.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { ZeroSlices.restore(src, shape: [2, 3], elementSize: 4, slices: slices, into: $0) }
        }
        #expect(out == [0, 1, 2, 0, 3,
                        0, 0, 0, 0, 0,
                        0, 4, 5, 0, 6])
        // Rank 1 (a bias), removed at both ends.
        var bias = [UInt16](repeating: 7, count: 5)
        [UInt16(1), 2, 3].withUnsafeBytes { src in
            bias.withUnsafeMutableBytes { ZeroSlices.restore(src, shape: [3], elementSize: 2, slices: [ZeroSlices(axis: 0, indices: [0, 4])], into: $0) }
        }
        #expect(bias == [0, 1, 2, 3, 0])
    }

    /// `Container.zeroSliceBytes` is what the records add to a serialized file.
    @Test func zeroSliceBytesAreWhatTheRecordsAddToTheFile() {
        let entries = [ContainerEntry(name: "0.weight", dtype: "F32", shape: [2, 3], coding: .exact, payloads: [[UInt8](repeating: 1, count: 24)]),
                       ContainerEntry(name: "0.bias", dtype: "F32", shape: [2], coding: .exact, payloads: [[UInt8](repeating: 2, count: 8)]),
                       ContainerEntry(name: "2.weight", dtype: "F32", shape: [1, 2], coding: .exact, payloads: [[UInt8](repeating: 3, count: 8)])]
        let slices = ["0.weight": [ZeroSlices(axis: 0, indices: [1, 4])], "0.bias": [ZeroSlices(axis: 0, indices: [1, 4])],
                      "2.weight": [ZeroSlices(axis: 1, indices: [1, 4])]]
        let bare = Container(metadata: nil, entries: entries)
        var sliced = bare
        for i in sliced.entries.indices { sliced.entries[i].zeroSlices = slices[sliced.entries[i].name] ?? [] }
        let names = entries.map(\.name)
        #expect(Container.zeroSliceBytes(slices, entries: names) == sliced.serialized().count - bare.serialized().count)
        #expect(Container.zeroSliceBytes([:], entries: names) == 0)
        // One record only: every entry still gets its count byte.
        var one = bare
        one.entries[2].zeroSlices = slices["2.weight"]!
        #expect(Container.zeroSliceBytes(["2.weight": slices["2.weight"]!], entries: names) == one.serialized().count - bare.serialized().count)
    }

    @Test func invalidSlicesAreRefusedWithTheirReason() {
        #expect(ZeroSlices.refusal([ZeroSlices(axis: 2, indices: [0])], shape: [2, 2])?.contains("axis 2") == true)
        #expect(ZeroSlices.refusal([ZeroSlices(axis: 1, indices: [0]), ZeroSlices(axis: 0, indices: [0])], shape: [2, 2]) != nil)
        #expect(ZeroSlices.refusal([ZeroSlices(axis: 0, indices: [1, 1])], shape: [2, 2])?.contains("ascending") == true)
        #expect(ZeroSlices.refusal([ZeroSlices(axis: 0, indices: [3])], shape: [2, 2])?.contains("restored length 3") == true)
        #expect(ZeroSlices.refusal([ZeroSlices(axis: 0, indices: [])], shape: [2, 2])?.contains("empty") == true)
    }

    /// A container whose tensors carry zero slices sets preamble flag bit 0 and adds the slice list
    /// to every record (empty for the others); one without keeps flags 0 (tested byte for byte in
    /// ContainerTests). The writer's bytes equal a hand-built file.
    @Test func slicesAreWrittenAfterEachRecordUnderFlagBitZero() throws {
        var entry = ContainerEntry(name: "w", dtype: "F32", shape: [1, 2], coding: .exact, payloads: [[0, 0, 128, 63, 0, 0, 0, 64]])
        entry.zeroSlices = [ZeroSlices(axis: 0, indices: [0, 2])]
        let plain = ContainerEntry(name: "b", dtype: "F32", shape: [1], coding: .exact, payloads: [[0, 0, 64, 64]])
        let container = Container(metadata: nil, entries: [entry, plain])
        let bytes = container.serialized()
        #expect(bytes[6] == 1 && bytes[7] == 0)

        var header = Bytes()
        header.raw(rawHeader(records: []).dropLast(4))
        header.u32(2)
        RawRecord(name: "w", shape: [1, 2], payloads: [RawPayload(offset: 0, length: 8, crc: TestCRC32.checksum(entry.payloads[0]))]).write(into: &header)
        header.u8(1); header.u8(0); header.u32(2); header.u32(0); header.u32(2)
        RawRecord(name: "b", shape: [1], payloads: [RawPayload(offset: 8, length: 4, crc: TestCRC32.checksum(plain.payloads[0]))]).write(into: &header)
        header.u8(0)
        #expect(bytes == rawFile(header: header.bytes, area: entry.payloads[0] + plain.payloads[0], flags: 1))

        let parsed = try Container(bytes: bytes, path: "z.wjpg")
        #expect(parsed == container)
        #expect(parsed["w"]!.restoredShape == [3, 2])
        let restored = try ModelCodec.decompress(parsed, path: "z.wjpg")
        #expect(restored.tensors[0].shape == [3, 2])
        #expect(try restored.tensors[0].floats() == [0, 0, 1, 2, 0, 0])
        #expect(restored.tensors[1].shape == [1])
    }

    /// The streamed decompressor restores the same bytes as the in-memory one.
    @Test func theStreamedDecompressorRestoresTheSameBytes() throws {
        let dir = try TestPaths.temporaryDirectory("zero-slices")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var values = [Float](repeating: 0, count: 40 * 30)
        var rng = RandomSource(seed: 7)
        for i in values.indices { values[i] = Float.random(in: -0.5..<0.5, using: &rng) }
        let tensor = SafetensorsTensor(name: "w", dtype: .F32, shape: [40, 30], data: values.withUnsafeBytes { Data($0) })
        var entry = try ModelCodec.encode(tensor, policy: .transparent, codec: JPEGTensorCodec())
        entry.zeroSlices = [ZeroSlices(axis: 0, indices: [0, 17, 41]), ZeroSlices(axis: 1, indices: [29, 30])]
        let container = Container(metadata: ["k": "v"], entries: [entry])
        try container.write(to: dir + "/z.wjpg")
        try ModelPipeline.decompress(input: dir + "/z.wjpg", output: dir + "/z.safetensors")
        let streamed = try Data(contentsOf: URL(fileURLWithPath: dir + "/z.safetensors"))
        #expect(streamed == Data(try ModelCodec.decompress(container, path: "z").serialized()))
        #expect(try SafetensorsFile.read(path: dir + "/z.safetensors").tensors[0].shape == [43, 32])
    }

    /// Hostile records: a bad axis, unsorted indices or a count that cannot fit are header errors;
    /// a few index bytes that would restore a huge tensor break `DecodeLimits` before any
    /// allocation; unknown flag bits are refused.
    @Test func hostileSliceRecordsAreRefusedBeforeAllocation() {
        func file(shape: [UInt64], dtype: String = "F32", payload: [UInt8], slices: [UInt8]) -> [UInt8] {
            var header = Bytes()
            header.raw(rawHeader(records: []).dropLast(4))
            header.u32(1)
            RawRecord(name: "t", dtype: dtype, shape: shape, payloads: [RawPayload(offset: 0, length: UInt64(payload.count), crc: TestCRC32.checksum(payload))]).write(into: &header)
            header.raw(slices)
            return rawFile(header: header.bytes, area: payload, flags: 1)
        }
        func slice(axis: UInt8, _ indices: [UInt32], count: UInt32? = nil) -> [UInt8] {
            var b = Bytes()
            b.u8(1); b.u8(axis); b.u32(count ?? UInt32(indices.count))
            for i in indices { b.u32(i) }
            return b.bytes
        }
        let four: [UInt8] = [0, 0, 0, 0]
        #expect(parseError(file(shape: [1], payload: four, slices: slice(axis: 1, [0])))?.description.contains("axis 1") == true)
        #expect(parseError(file(shape: [1], payload: four, slices: slice(axis: 0, [1, 0])))?.description.contains("ascending") == true)
        #expect(parseError(file(shape: [1], payload: four, slices: slice(axis: 0, [0], count: 0xFFFF_FFFF)))?.description.contains("cannot fit") == true)
        // 1 MiB of U8 "stored" (allowed unconditionally) restored 65 times over by 64 indices.
        let amplified = file(shape: [1, 1 << 20], dtype: "U8", payload: [1], slices: slice(axis: 0, (0..<64).map { UInt32($0) }))
        #expect(parseError(amplified)?.description.contains("cannot come from") == true)
        #expect(parseError(rawFile(header: rawHeader(records: []), flags: 2))?.description.contains("flags are 2") == true)
    }
}
