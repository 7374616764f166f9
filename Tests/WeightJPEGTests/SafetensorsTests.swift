import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec

/// The fixture written by Python's safetensors (see Fixtures/README.md), located from this file.

/// A safetensors file from a raw header string (unpadded) and a data buffer.
private func file(header: String, buffer: [UInt8] = []) -> Data {
    file(headerBytes: Array(header.utf8), buffer: buffer)
}

private func file(headerBytes: [UInt8], buffer: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
    var data = Data()
    withUnsafeBytes(of: (declaredLength ?? UInt64(headerBytes.count)).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: headerBytes)
    data.append(contentsOf: buffer)
    return data
}

/// The error kind thrown when parsing `data`, or nil if it parses.
private func kind(_ data: Data) -> SafetensorsError.Kind? {
    do {
        _ = try SafetensorsFile(data: data, path: "m.safetensors")
        return nil
    } catch {
        return error.kind
    }
}

/// The full description of the error thrown when parsing `data`.
private func message(_ data: Data) -> String? {
    do {
        _ = try SafetensorsFile(data: data, path: "m.safetensors")
        return nil
    } catch {
        return error.description
    }
}

private let entry = #"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#

@Suite struct SafetensorsTests {
    // MARK: Round trips

    @Test func roundTripPreservesOrderValuesAndMetadata() throws {
        let weights: [Float] = [1, -2.5, 0.1, 3e-8, 65504, -0.0]
        let original = SafetensorsFile(tensors: [
            SafetensorsTensor(name: "z.last", shape: [2, 3], floats: weights),
            SafetensorsTensor(name: "a.half", shape: [6], floats: weights, dtype: .F16),
            SafetensorsTensor(name: "m.bf16", shape: [3, 2], floats: weights, dtype: .BF16),
            SafetensorsTensor(name: "f64", shape: [6], floats: weights, dtype: .F64),
            SafetensorsTensor(name: "ints", dtype: .I32, shape: [2], data: Data([1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])),
            SafetensorsTensor(name: "empty", shape: [0, 4], floats: []),
            SafetensorsTensor(name: "scalar", shape: [], floats: [42]),
            SafetensorsTensor(name: "quote\"and\\é🙂\n", shape: [1], floats: [7]),
        ], metadata: ["format": "pt", "note": "tab\there \"quoted\""])
        let bytes = original.serialized()
        let read = try SafetensorsFile(data: bytes, path: "roundtrip")
        #expect(read == original)
        #expect(read.tensors.map(\.name) == original.tensors.map(\.name))
        #expect(try read["z.last"]?.floats() == weights)
        #expect(try read["f64"]?.floats() == weights)
        #expect(try read["a.half"]?.floats() == weights.map { HalfPrecision.float(fromHalfBits: HalfPrecision.halfBits(from: $0)) })
        #expect(try read["m.bf16"]?.floats() == weights.map { HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: $0)) })
        #expect(try read["scalar"]?.floats() == [42])
        #expect(read["missing"] == nil)

        // Header: padded with spaces to a multiple of 8, __metadata__ first.
        let headerLength = bytes.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        #expect(headerLength % 8 == 0)
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix(#"{"__metadata__":{"format":"pt","#))
        #expect(bytes.count == 8 + headerLength + original.tensors.reduce(0) { $0 + $1.data.count })
    }

    @Test func writeAndReadFromDisk() throws {
        let path = NSTemporaryDirectory() + "safetensors-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let original = SafetensorsFile(tensors: [SafetensorsTensor(name: "w", tensor: FloatTensor(shape: [2, 2], values: [1, 2, 3, 4]))])
        try original.write(to: path)
        let read = try SafetensorsFile.read(path: path)
        #expect(read == original)
        #expect(read.metadata == nil)
        #expect(try read.floatTensors() == ["w": FloatTensor(shape: [2, 2], values: [1, 2, 3, 4])])
    }

    @Test func encodingRoundsToNearestEven() throws {
        // 1 + 2⁻¹¹ is a half tie (→ 1.0); 0x3F808000 is a bfloat16 tie (→ 0x3F80).
        let half = SafetensorsTensor(name: "h", shape: [1], floats: [1 + 0x1p-11], dtype: .F16)
        #expect(half.data == Data([0x00, 0x3C]))
        let bf = SafetensorsTensor(name: "b", shape: [2], floats: [Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000)], dtype: .BF16)
        #expect(bf.data == Data([0x80, 0x3F, 0x82, 0x3F]))
    }

    // MARK: Python-written fixture

    @Test func readsPythonFixture() throws {
        let file = try SafetensorsFile.read(path: TestPaths.fixture("reference.safetensors"))
        // The Python library orders tensors by alignment; file order is ascending offset.
        #expect(file.tensors.map(\.name) == ["steps", "fc.weight", "scale", "fc.bias"])
        #expect(file.metadata == ["format": "np", "source": "scripts/make-safetensors-fixture.py"])

        let weight = try #require(file["fc.weight"])
        #expect(weight.dtype == .F32 && weight.shape == [3, 4])
        #expect(try weight.floats() == (0..<12).map { (Float($0) - 5) / 4 })

        let bias = try #require(file["fc.bias"])
        #expect(bias.dtype == .F16 && bias.shape == [5])
        #expect(try bias.floats() == [-0.5, 0.25, 1.0, 65504, 0x1p-24])

        let scale = try #require(file["scale"])
        #expect(scale.dtype == .BF16 && scale.shape == [4])
        #expect(try scale.floats() == [1.0, -2.5, 3.140625, 0.0])

        let steps = try #require(file["steps"])
        #expect(steps.dtype == .I64 && steps.shape == [2, 2])
        let integers = steps.data.withUnsafeBytes { raw in
            (0..<4).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
        }
        #expect(integers == [-1, 0, 1, 1 << 40])
        #expect(throws: SafetensorsError(path: "", kind: .notFloatingPoint(tensor: "steps", dtype: .I64))) { try steps.floats() }
        #expect(throws: SafetensorsError.self) { try file.floatTensors() }

        // Re-serializing and re-reading gives identical tensors.
        let again = try SafetensorsFile(data: file.serialized(), path: "again")
        #expect(again == file)
    }

    // MARK: Malformed files, one per rule

    @Test func fileShorterThanEightBytes() {
        #expect(kind(Data([1, 2, 3])) == .fileTooShort(size: 3))
        #expect(message(Data([1, 2, 3])) == "m.safetensors: file is 3 bytes, too short for the 8-byte safetensors header length")
        // A file of another kind is named for what it is (FileKind), the fault kept in `kind`.
        #expect(kind(Data()) == .fileTooShort(size: 0))
        #expect(message(Data()) == "m.safetensors: is an empty file, not a safetensors file")
    }

    @Test func headerLengthOverCap() {
        // Claims 2⁶³ bytes; must be rejected before any allocation.
        #expect(kind(file(headerBytes: [], declaredLength: 1 << 63)) == .headerTooLarge(length: 1 << 63))
        #expect(kind(file(headerBytes: [], declaredLength: 100_000_001)) == .headerTooLarge(length: 100_000_001))
    }

    @Test func headerLengthBeyondFile() {
        #expect(kind(file(headerBytes: Array("{}".utf8), declaredLength: 50)) == .headerBeyondFile(length: 50, available: 2))
    }

    @Test func headerNotUTF8() {
        #expect(kind(file(headerBytes: [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])) == .headerNotUTF8)
    }

    @Test func headerNotJSON() {
        for bad in ["", "{", #"{"a":}"#, "{} x", #"{"a":01}"#, "{'a':1}", #"{"a":"\x"}"#, #"{"a":"\ud800"}"#,
                    String(repeating: "[", count: 100) + String(repeating: "]", count: 100)] {
            guard case .headerNotJSON = kind(file(header: bad)) else {
                Issue.record("accepted or misreported bad JSON: \(bad.prefix(40))")
                continue
            }
        }
        #expect(message(file(header: "{,}"))?.hasPrefix("m.safetensors: header is not valid JSON: expected a string key at byte 1") == true)
    }

    @Test func headerNotObject() {
        #expect(kind(file(header: "[]")) == .headerNotObject)
        #expect(kind(file(header: "  7  ")) == .headerNotObject)
    }

    @Test func entryNotObject() {
        #expect(kind(file(header: #"{"w":[1]}"#)) == .entryNotObject(tensor: "w"))
    }

    @Test func missingFields() {
        #expect(kind(file(header: #"{"w":{"shape":[2],"data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)))
                == .missingField(tensor: "w", field: "dtype"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)))
                == .missingField(tensor: "w", field: "shape"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[2]}}"#, buffer: .init(repeating: 0, count: 8)))
                == .missingField(tensor: "w", field: "data_offsets"))
    }

    @Test func duplicateAndUnknownFields() {
        #expect(kind(file(header: #"{"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#))
                == .duplicateField(tensor: "w", field: "dtype"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}"#))
                == .unknownField(tensor: "w", field: "extra"))
    }

    @Test func wrongFieldTypes() {
        let zeros = [UInt8](repeating: 0, count: 8)
        #expect(kind(file(header: #"{"w":{"dtype":5,"shape":[2],"data_offsets":[0,8]}}"#, buffer: zeros))
                == .wrongFieldType(tensor: "w", field: "dtype", expected: "a string, got a number"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#, buffer: zeros))
                == .wrongFieldType(tensor: "w", field: "shape", expected: "an array of integers, got a string"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[null],"data_offsets":[0,8]}}"#, buffer: zeros))
                == .wrongFieldType(tensor: "w", field: "shape", expected: "an array of integers, got null at index 0"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":{}}}"#, buffer: zeros))
                == .wrongFieldType(tensor: "w", field: "data_offsets", expected: "an array of two integers, got an object"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}"#, buffer: zeros))
                == .wrongFieldType(tensor: "w", field: "data_offsets", expected: "an array of two integers, got 3 elements"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,"8"]}}"#, buffer: zeros))
                == .wrongFieldType(tensor: "w", field: "data_offsets", expected: "an array of two integers, got a string"))
    }

    @Test func unknownDType() {
        #expect(kind(file(header: #"{"w":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)))
                == .unknownDType(tensor: "w", dtype: "F128"))
        #expect(kind(file(header: #"{"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)))
                == .unknownDType(tensor: "w", dtype: "f32"))
    }

    @Test func invalidDimensions() {
        let zeros = [UInt8](repeating: 0, count: 8)
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, buffer: zeros))
                == .invalidDimension(tensor: "w", index: 0, value: "-2"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[1,2.0],"data_offsets":[0,8]}}"#, buffer: zeros))
                == .invalidDimension(tensor: "w", index: 1, value: "2.0"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}}"#, buffer: zeros))
                == .invalidDimension(tensor: "w", index: 0, value: "2e0"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}"#, buffer: zeros))
                == .invalidDimension(tensor: "w", index: 0, value: "99999999999999999999"))
        #expect(message(file(header: #"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, buffer: zeros))
                == "m.safetensors: tensor 'w': shape dimension 0 is -2, expected a non-negative integer")
    }

    @Test func elementCountOverflow() {
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#))
                == .elementCountOverflow(tensor: "w"))
        // The element count fits but the byte count (× 8) does not.
        #expect(kind(file(header: #"{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}"#))
                == .elementCountOverflow(tensor: "w"))
    }

    @Test func invalidOffsets() {
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#))
                == .invalidOffset(tensor: "w", value: "-8"))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}}"#))
                == .invalidOffset(tensor: "w", value: "8.5"))
        // 2⁵³ + 1 is kept exactly (JSONSerialization would round it to a Double).
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[9007199254740993,9007199254740993]}}"#))
                == .offsetsBeyondBuffer(tensor: "w", end: 9_007_199_254_740_993, bufferSize: 0))
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}"#))
                == .invalidOffset(tensor: "w", value: "18446744073709551616"))
    }

    @Test func offsetsBeginAfterEnd() {
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, buffer: .init(repeating: 0, count: 8)))
                == .offsetsReversed(tensor: "w", begin: 8, end: 0))
    }

    @Test func offsetsBeyondBuffer() {
        #expect(kind(file(header: #"{"w":\#(entry)}"#, buffer: [0, 0, 0, 0]))
                == .offsetsBeyondBuffer(tensor: "w", end: 8, bufferSize: 4))
        // A lying header (a billion elements over a 4-byte buffer) is rejected without allocating.
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}"#, buffer: [0, 0, 0, 0]))
                == .offsetsBeyondBuffer(tensor: "w", end: 4_000_000_000, bufferSize: 4))
    }

    @Test func byteLengthMismatch() {
        #expect(kind(file(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)))
                == .byteLengthMismatch(tensor: "w", bytes: 8, expected: 12))
        #expect(kind(file(header: #"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#, buffer: .init(repeating: 0, count: 8)))
                == .byteLengthMismatch(tensor: "w", bytes: 8, expected: 4))
    }

    @Test func notContiguous() {
        let sixteen = [UInt8](repeating: 0, count: 16)
        // Gap: the first tensor starts at 4.
        #expect(kind(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, buffer: [0, 0, 0, 0, 0, 0, 0, 0]))
                == .gap(tensor: "a", begin: 4, expected: 0))
        // Gap between tensors.
        #expect(kind(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, buffer: Array(sixteen.prefix(12))))
                == .gap(tensor: "b", begin: 8, expected: 4))
        // Overlap.
        #expect(kind(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, buffer: Array(sixteen.prefix(12))))
                == .overlap(tensor: "b", begin: 4, expected: 8))
        // Two names for the same bytes (aliasing) is an overlap too.
        #expect(kind(file(header: #"{"a":\#(entry),"b":\#(entry)}"#, buffer: Array(sixteen.prefix(8))))
                == .overlap(tensor: "b", begin: 0, expected: 8))
        // Buffer longer than the last tensor.
        #expect(kind(file(header: #"{"a":\#(entry)}"#, buffer: Array(sixteen.prefix(10))))
                == .trailingData(used: 8, bufferSize: 10))
        // No tensors but data.
        #expect(kind(file(header: "{}", buffer: [1])) == .trailingData(used: 0, bufferSize: 1))
    }

    @Test func offsetOrderDefinesFileOrder() throws {
        // Header order b, a; offsets put a first.
        let data = file(header: #"{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, buffer: [10, 20])
        let parsed = try SafetensorsFile(data: data, path: "m")
        #expect(parsed.tensors.map(\.name) == ["a", "b"])
        #expect(parsed["b"]?.data == Data([20]))
        #expect(parsed["b"]?.data.startIndex == 0)
    }

    @Test func duplicateNames() {
        #expect(kind(file(header: #"{"w":\#(entry),"w":\#(entry)}"#, buffer: .init(repeating: 0, count: 8)))
                == .duplicateTensor("w"))
        #expect(kind(file(header: #"{"__metadata__":{},"__metadata__":{}}"#)) == .duplicateTensor("__metadata__"))
    }

    @Test func invalidMetadata() {
        #expect(kind(file(header: #"{"__metadata__":{"epochs":3}}"#)) == .invalidMetadata("value of 'epochs' must be a string, got a number"))
        #expect(kind(file(header: #"{"__metadata__":["a"]}"#)) == .invalidMetadata("must be an object, got an array"))
        #expect(kind(file(header: #"{"__metadata__":{"k":"a","k":"b"}}"#)) == .invalidMetadata("key 'k' appears twice"))
        #expect(message(file(header: #"{"__metadata__":{"epochs":3}}"#)) == "m.safetensors: __metadata__ value of 'epochs' must be a string, got a number")
    }

    @Test func unreadableFile() {
        #expect(throws: SafetensorsError(path: "/nonexistent.safetensors", kind: .unreadable("no such file"))) {
            try SafetensorsFile.read(path: "/nonexistent.safetensors")
        }
    }

    @Test func acceptsPaddingAndEmptyHeader() throws {
        let padded = try SafetensorsFile(data: file(header: "{}      "), path: "m")
        #expect(padded.tensors.isEmpty && padded.metadata == nil)
        let withMetadata = try SafetensorsFile(data: file(header: #" {"__metadata__":{"a":"\u00e9\n"}} "#), path: "m")
        #expect(withMetadata.metadata == ["a": "é\n"])
    }
}
