import Foundation
import WeightJPEGCore

/// One named tensor of a safetensors file: its element type, shape and raw little-endian bytes.
public struct SafetensorsTensor: Equatable, Sendable {
    /// The tensor's name (the header key), e.g. `"fc1.weight"`.
    public let name: String
    /// The element type.
    public let dtype: SafetensorsDType
    /// The dimensions, outermost first; `[]` is a scalar (one element).
    public let shape: [Int]
    /// `product(shape) × dtype.byteSize` bytes, little-endian, row-major; indices start at 0.
    public let data: Data

    /// A tensor over raw bytes; `data.count` must be `product(shape) × dtype.byteSize`.
    public init(name: String, dtype: SafetensorsDType, shape: [Int], data: Data) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(data.count == shape.reduce(1, *) * dtype.byteSize,
                     "tensor '\(name)': \(data.count) bytes for shape \(shape) of \(dtype.rawValue)")
        self.name = name
        self.dtype = dtype
        self.shape = shape
        // Re-base slices so that `data` indices always start at 0.
        self.data = data.startIndex == 0 ? data : Data(data)
    }

    /// A floating-point tensor encoded from `floats` as `dtype` (F32, F16, BF16 or F64); F16 and
    /// BF16 round to nearest, ties to even. `floats.count` must be `product(shape)`.
    public init(name: String, shape: [Int], floats: [Float], dtype: SafetensorsDType = .F32) {
        precondition(dtype.convertsToFloat, "cannot encode floats as \(dtype.rawValue)")
        precondition(floats.count == shape.reduce(1, *), "tensor '\(name)': \(floats.count) values for shape \(shape)")
        #if _endian(little)
        if dtype == .F32 {
            // The stored bytes are the floats' own bytes: one copy, no zero-filling pass.
            self.init(name: name, dtype: dtype, shape: shape, data: floats.withUnsafeBytes { Data($0) })
            return
        }
        #endif
        var bytes = Data(count: floats.count * dtype.byteSize)
        bytes.withUnsafeMutableBytes { (out: UnsafeMutableRawBufferPointer) in
            floats.withUnsafeBufferPointer { Self.encode($0, as: dtype, into: out) }
        }
        self.init(name: name, dtype: dtype, shape: shape, data: bytes)
    }

    /// Writes `floats` as little-endian `dtype` elements (F32, F16, BF16 or F64; F16 and BF16 round
    /// to nearest, ties to even) into `out`, which holds exactly `floats.count × dtype.byteSize` bytes.
    public static func encode(_ floats: UnsafeBufferPointer<Float>, as dtype: SafetensorsDType, into out: UnsafeMutableRawBufferPointer) {
        precondition(dtype.convertsToFloat, "cannot encode floats as \(dtype.rawValue)")
        precondition(out.count == floats.count * dtype.byteSize, "\(out.count) bytes for \(floats.count) \(dtype.rawValue) values")
        let n = floats.count, values = floats
        switch dtype {
        case .F32:
            for i in 0..<n { out.storeBytes(of: values[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        case .F64:
            for i in 0..<n { out.storeBytes(of: Double(values[i]).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
        case .F16:
            for i in 0..<n { out.storeBytes(of: HalfPrecision.halfBits(from: values[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .BF16:
            for i in 0..<n { out.storeBytes(of: HalfPrecision.bfloat16Bits(from: values[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        default:
            break
        }
    }

    /// A floating-point tensor encoded from `tensor` as `dtype` (see `init(name:shape:floats:dtype:)`).
    public init(name: String, tensor: FloatTensor, dtype: SafetensorsDType = .F32) {
        self.init(name: name, shape: tensor.shape, floats: tensor.values, dtype: dtype)
    }

    /// Number of elements, `product(shape)`.
    public var count: Int { data.count / dtype.byteSize }

    /// The elements as `Float`: F32 exactly, F16 and BF16 exactly (widening), F64 rounded to
    /// nearest. Other types throw `.notFloatingPoint`.
    public func floats() throws(SafetensorsError) -> [Float] {
        guard dtype.convertsToFloat else {
            throw SafetensorsError(path: "", kind: .notFloatingPoint(tensor: name, dtype: dtype))
        }
        let n = count
        let dtype = self.dtype
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            [Float](unsafeUninitializedCapacity: n) { out, initialized in
                LargeBuffer.adviseHugePages(UnsafeMutableRawBufferPointer(out))
                // In chunks: pages of a memory-mapped input (`MappedFile`) are dropped once converted,
                // so the input and its float copy are not both resident in full.
                let chunk = 1 << 20
                for c in stride(from: 0, to: n, by: chunk) {
                    let range = c..<min(n, c + chunk)
                    Self.convert(raw, dtype: dtype, range, into: UnsafeMutableBufferPointer(rebasing: out[range]))
                }
                initialized = n
            }
        }
    }

    /// Elements `range` as `Float`, converted as `floats()` converts them, written to the start of
    /// `out` (at least `range.count` long), with the same release of mapped pages: a caller can walk a
    /// tensor of any size in chunks without its float copy (as `WeightDistortion(original:decoded:)`
    /// for tensors does).
    public func floats(_ range: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) throws(SafetensorsError) {
        guard dtype.convertsToFloat else {
            throw SafetensorsError(path: "", kind: .notFloatingPoint(tensor: name, dtype: dtype))
        }
        precondition(range.lowerBound >= 0 && range.upperBound <= count && out.count >= range.count)
        let dtype = self.dtype
        data.withUnsafeBytes { Self.convert($0, dtype: dtype, range, into: out) }
    }

    /// Converts elements `range` of `raw` (of a float `dtype`) into `out[0..<range.count]`, then
    /// drops their pages if `raw` lies in a live `MappedFile`.
    private static func convert(_ raw: UnsafeRawBufferPointer, dtype: SafetensorsDType, _ range: Range<Int>,
                                into out: UnsafeMutableBufferPointer<Float>) {
        guard !range.isEmpty else { return }
        let size = dtype.byteSize, first = range.lowerBound
        switch dtype {
        case .F32:
            #if _endian(little)
            UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: raw.baseAddress! + 4 * first, byteCount: 4 * range.count)
            #else
            for i in range { out[i - first] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            #endif
        case .F64:
            for i in range { out[i - first] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        case .F16:
            for i in range { out[i - first] = HalfPrecision.float(fromHalfBits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .BF16:
            for i in range { out[i - first] = HalfPrecision.float(fromBFloat16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        default:
            for i in range { out[i - first] = 0 }  // unreachable: callers check convertsToFloat
        }
        MappedFile.releaseIfMapped(UnsafeRawBufferPointer(rebasing: raw[(size * range.lowerBound)..<(size * range.upperBound)]))
    }

    /// `floats()` written into `buffer`, reusing its storage when it is uniquely referenced and large
    /// enough (float32 input: no fresh pages to fault in and zero, tensor after tensor).
    package func floats(into buffer: inout [Float]) throws(SafetensorsError) {
        #if _endian(little)
        let n = count
        let aligned = data.withUnsafeBytes { Int(bitPattern: $0.baseAddress) % MemoryLayout<Float>.alignment == 0 }
        if dtype == .F32, aligned, n > 0 {
            buffer.removeAll(keepingCapacity: true)
            if buffer.capacity < n {
                buffer = [Float](unsafeUninitializedCapacity: n) { out, initialized in
                    LargeBuffer.adviseHugePages(UnsafeMutableRawBufferPointer(out))
                    initialized = 0
                }
            }
            data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let source = raw.baseAddress!.assumingMemoryBound(to: Float.self), chunk = 1 << 20
                for c in stride(from: 0, to: n, by: chunk) {
                    let m = min(chunk, n - c)
                    buffer.append(contentsOf: UnsafeBufferPointer(start: source + c, count: m))
                    MappedFile.releaseIfMapped(UnsafeRawBufferPointer(start: source + c, count: m * 4))
                }
            }
            return
        }
        #endif
        buffer = try floats()
    }

    /// The tensor as a `FloatTensor` (see `floats()`).
    public func floatTensor() throws(SafetensorsError) -> FloatTensor {
        FloatTensor(shape: shape, values: try floats())
    }
}
