import Foundation

/// One tensor as the container stores it: its identity, how it is coded, and its payloads.
/// The container does not interpret `coding` or `parameters`: the codec does.
public struct ContainerEntry: Equatable, Sendable {
    /// The tensor's name in the source model (e.g. `0.weight`).
    public var name: String
    /// The source dtype (safetensors spelling: `F32`, `F16`, `BF16`, `I64`, …), restored on decompression.
    public var dtype: String
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// Coding identifier (see `TensorCoding`).
    public var coding: UInt8
    /// Coding parameters, opaque to the container.
    public var parameters: [UInt8]
    /// The payloads; each is checksummed separately.
    public var payloads: [[UInt8]]
    /// Set by a salvaging read when a payload of this tensor failed its checksum or bounds.
    public var damage: ContainerError?

    /// An entry; `damage` is nil.
    public init(name: String, dtype: String, shape: [Int], coding: UInt8, parameters: [UInt8], payloads: [[UInt8]]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.coding = coding
        self.parameters = parameters
        self.payloads = payloads
        self.damage = nil
    }

    /// Bytes this entry occupies in the file: its header record and its payloads.
    public var storedBytes: Int {
        Container.recordSize(self) + payloads.reduce(0) { $0 + $1.count }
    }
}

/// The `.wjpg` file: a checksummed binary header listing every tensor, then the payloads, each with
/// its own CRC-32. Specified byte by byte in docs/FORMAT.md.
public struct Container: Equatable, Sendable {
    /// The format version this code writes and reads.
    public static let version: UInt16 = 1
    /// `WJPG`.
    public static let magic: [UInt8] = Array("WJPG".utf8)
    /// Size of the fixed preamble: magic, version, flags, header length, header CRC.
    public static let preambleSize = 16
    /// The largest header accepted (64 MiB), checked before anything is allocated.
    public static let maxHeaderBytes = 64 << 20
    /// The largest rank accepted.
    public static let maxRank = 8

    /// `__metadata__` of the source safetensors file, preserved (order by key).
    public var metadata: [String: String]?
    /// The tensors, in the source file's order.
    public var entries: [ContainerEntry]

    /// A container.
    public init(metadata: [String: String]?, entries: [ContainerEntry]) {
        self.metadata = metadata
        self.entries = entries
    }

    /// The tensor named `name`.
    public subscript(name: String) -> ContainerEntry? { entries.first { $0.name == name } }

    // MARK: Writing

    /// The file's bytes.
    public func serialized() -> [UInt8] {
        var header = ByteWriter()
        let meta = (metadata ?? [:]).sorted { $0.key < $1.key }
        header.u8(metadata == nil ? 0 : 1)
        header.u32(UInt32(meta.count))
        for (k, v) in meta {
            header.string16(k)
            let utf8 = Array(v.utf8)
            header.u32(UInt32(utf8.count))
            header.append(utf8)
        }
        header.u32(UInt32(entries.count))
        var offset: UInt64 = 0
        for e in entries {
            Self.writeRecord(e, offset: &offset, into: &header)
        }
        var out = ByteWriter()
        out.append(Self.magic)
        out.u16(Self.version)
        out.u16(0)
        out.u32(UInt32(header.bytes.count))
        out.u32(CRC32.checksum(header.bytes))
        out.append(header.bytes)
        var bytes = out.bytes
        bytes.reserveCapacity(bytes.count + Int(offset))
        for e in entries { for p in e.payloads { bytes.append(contentsOf: p) } }
        return bytes
    }

    /// Writes the file atomically (temporary file, then rename).
    public func write(to path: String) throws {
        try AtomicFile.write(Data(serialized()), to: path)
    }

    private static func writeRecord(_ e: ContainerEntry, offset: inout UInt64, into w: inout ByteWriter) {
        w.string16(e.name)
        w.string16(e.dtype)
        w.u8(UInt8(e.shape.count))
        for d in e.shape { w.u64(UInt64(d)) }
        w.u8(e.coding)
        w.u32(UInt32(e.parameters.count))
        w.append(e.parameters)
        w.u32(UInt32(e.payloads.count))
        for p in e.payloads {
            w.u64(offset)
            w.u64(UInt64(p.count))
            w.u32(CRC32.checksum(p))
            offset += UInt64(p.count)
        }
    }

    static func recordSize(_ e: ContainerEntry) -> Int {
        var w = ByteWriter()
        var offset: UInt64 = 0
        writeRecord(e, offset: &offset, into: &w)
        return w.bytes.count
    }

    // MARK: Reading

    /// Reads a `.wjpg` file. With `salvage`, a payload that fails its checksum or bounds marks its
    /// entry's `damage` (and empties its payloads) instead of failing the whole read; damage to the
    /// header itself always fails.
    public static func read(path: String, salvage: Bool = false) throws -> Container {
        let data = try FileInput.read(path)
        return try Container(bytes: [UInt8](data), path: path, salvage: salvage)
    }

    /// Parses a `.wjpg` file's bytes; `path` labels errors.
    public init(bytes: [UInt8], path: String, salvage: Bool = false) throws(ContainerError) {
        func fail(_ f: ContainerError.Fault, _ tensor: String? = nil) -> ContainerError {
            ContainerError(path: path, tensor: tensor, fault: f)
        }
        guard bytes.count >= Self.preambleSize else { throw fail(.tooShort(size: bytes.count)) }
        guard Array(bytes[0..<4]) == Self.magic else { throw fail(.badMagic(found: Array(bytes[0..<4]))) }
        var pre = ByteReader(bytes, offset: 4)
        do {
            let version = try pre.u16()
            guard version == Self.version else { throw fail(.unsupportedVersion(Int(version))) }
            let flags = try pre.u16()
            guard flags == 0 else { throw fail(.unsupportedFlags(flags)) }
            let headerLength = try pre.u32()
            let declaredCRC = try pre.u32()
            let available = bytes.count - Self.preambleSize
            guard headerLength <= Self.maxHeaderBytes, Int(headerLength) <= available else {
                throw fail(.headerLength(declared: UInt64(headerLength), available: min(available, Self.maxHeaderBytes)))
            }
            let headerRange = Self.preambleSize..<(Self.preambleSize + Int(headerLength))
            let computed = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[headerRange])) }
            guard computed == declaredCRC else { throw fail(.headerChecksum(declared: declaredCRC, computed: computed)) }

            let header = Array(bytes[headerRange])
            let areaStart = headerRange.upperBound
            let areaSize = bytes.count - areaStart
            var r = ByteReader(header)
            do {
                let hasMetadata = try r.u8()
                guard hasMetadata <= 1 else { throw fail(.invalidHeader("metadata flag \(hasMetadata)")) }
                let metaCount = Int(try r.u32())
                // Each metadata pair takes at least 6 bytes: bound the count by what is left.
                guard metaCount <= r.remaining / 6 else { throw fail(.invalidHeader("\(metaCount) metadata entries cannot fit")) }
                var meta: [String: String] = [:]
                for _ in 0..<metaCount {
                    guard let k = try r.string16() else { throw fail(.invalidHeader("metadata key is not UTF-8")) }
                    let n = Int(try r.u32())
                    guard let v = String(validating: try r.take(n), as: UTF8.self) else {
                        throw fail(.invalidHeader("metadata value of '\(k)' is not UTF-8"))
                    }
                    guard meta.updateValue(v, forKey: k) == nil else { throw fail(.invalidHeader("duplicate metadata key '\(k)'")) }
                }
                metadata = hasMetadata == 1 ? meta : nil
                let count = Int(try r.u32())
                // A record takes at least 17 bytes.
                guard count <= r.remaining / 17 else { throw fail(.invalidHeader("\(count) tensors cannot fit in a \(header.count)-byte header")) }
                var names = Set<String>()
                var expectedOffset: UInt64 = 0
                var parsed: [ContainerEntry] = []
                parsed.reserveCapacity(count)
                for index in 0..<count {
                    guard let name = try r.string16() else { throw fail(.invalidHeader("name of tensor \(index) is not UTF-8")) }
                    guard names.insert(name).inserted else { throw fail(.invalidHeader("duplicate tensor name"), name) }
                    guard let dtype = try r.string16(), !dtype.isEmpty else { throw fail(.invalidHeader("dtype is not UTF-8"), name) }
                    let rank = Int(try r.u8())
                    guard rank <= Self.maxRank else { throw fail(.invalidHeader("rank \(rank) exceeds \(Self.maxRank)"), name) }
                    var shape: [Int] = []
                    var elements = 1
                    for _ in 0..<rank {
                        let d = try r.u64()
                        guard d <= UInt64(Int32.max) else { throw fail(.invalidHeader("dimension \(d) too large"), name) }
                        let (p, overflow) = elements.multipliedReportingOverflow(by: Int(d))
                        guard !overflow, p <= 1 << 40 else { throw fail(.invalidHeader("element count overflows"), name) }
                        elements = p
                        shape.append(Int(d))
                    }
                    let coding = try r.u8()
                    let parameterCount = Int(try r.u32())
                    let parameters = Array(try r.take(parameterCount))
                    let payloadCount = Int(try r.u32())
                    guard payloadCount <= r.remaining / 20 else { throw fail(.invalidHeader("\(payloadCount) payloads cannot fit"), name) }
                    var payloads: [[UInt8]] = []
                    var damage: ContainerError?
                    for p in 0..<payloadCount {
                        let offset = try r.u64(), length = try r.u64(), crc = try r.u32()
                        guard offset == expectedOffset, length <= UInt64(areaSize), offset <= UInt64(areaSize) - length else {
                            let error = fail(.payloadBounds(index: p, offset: offset, length: length, areaSize: areaSize), name)
                            if salvage && offset == expectedOffset { damage = damage ?? error; expectedOffset = offset &+ length; continue }
                            throw error
                        }
                        expectedOffset = offset + length
                        let range = (areaStart + Int(offset))..<(areaStart + Int(offset + length))
                        let actual = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[range])) }
                        if actual != crc {
                            let error = fail(.payloadChecksum(index: p, declared: crc, computed: actual), name)
                            if salvage { damage = damage ?? error; continue }
                            throw error
                        }
                        payloads.append(Array(bytes[range]))
                    }
                    var entry = ContainerEntry(name: name, dtype: dtype, shape: shape, coding: coding,
                                               parameters: parameters, payloads: damage == nil ? payloads : [])
                    entry.damage = damage
                    parsed.append(entry)
                }
                guard r.remaining == 0 else { throw fail(.invalidHeader("\(r.remaining) unused bytes at the end of the header")) }
                if expectedOffset < UInt64(areaSize) {
                    throw fail(.trailingBytes(count: areaSize - Int(expectedOffset)))
                }
                entries = parsed
            } catch let e as ByteReader.OutOfData {
                throw fail(.truncatedHeader(at: Self.preambleSize + e.offset))
            }
        } catch let e as ContainerError {
            throw e
        } catch {
            throw fail(.tooShort(size: bytes.count))
        }
    }
}
