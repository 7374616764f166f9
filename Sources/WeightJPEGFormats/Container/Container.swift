import Foundation
import WeightJPEGCore

/// One tensor as the container stores it: its identity, how it is coded, and its payloads.
/// The container parses the coding (byte and parameters) once, when the file is read; the codec
/// interprets the payloads.
public struct ContainerEntry: Equatable, Sendable {
    /// The tensor's name in the source model (e.g. `0.weight`).
    public var name: String
    /// The source dtype (safetensors spelling: `F32`, `F16`, `BF16`, `I64`, …), restored on decompression.
    public var dtype: String
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// How the payloads code the tensor (stored as the coding byte and its parameter bytes).
    public var coding: TensorCoding
    /// The payloads; each is checksummed separately.
    public var payloads: [[UInt8]]
    /// Set by a salvaging read when this tensor's record cannot be used: a payload failed its
    /// checksum or bounds, its coding is invalid (then `coding` is `.exact`, a placeholder), or
    /// its shape breaks `DecodeLimits`. A damaged entry has no payloads.
    public var damage: ContainerError?
    /// Slices removed before coding (dead units) that decompression restores as zeros; `shape` is
    /// the stored shape, `restoredShape` the original one. Empty for almost every tensor.
    public var zeroSlices: [ZeroSlices] = []

    /// The shape decompression gives back: `shape` with the zero slices restored.
    public var restoredShape: [Int] { ZeroSlices.restoredShape(shape, zeroSlices) }

    /// An entry; `damage` is nil.
    public init(name: String, dtype: String, shape: [Int], coding: TensorCoding, payloads: [[UInt8]]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.coding = coding
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
    /// Preamble flag bit 0: every tensor record ends with its zero slices (docs/FORMAT.md §3). Set
    /// only when some tensor has them, so every other file is byte for byte what version 1 always wrote.
    public static let zeroSlicesFlag: UInt16 = 1
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

    /// Gives every entry the zero slices `slices` holds for its name (the removed dead units a
    /// decoder restores as zeros), and none to the others.
    public mutating func record(_ slices: [String: [ZeroSlices]]) {
        for i in entries.indices { entries[i].zeroSlices = slices[entries[i].name] ?? [] }
    }

    // MARK: Writing

    /// The file's bytes.
    public func serialized() -> [UInt8] {
        var bytes = Self.preambleAndHeader(metadata: metadata, records: entries.map(ContainerRecord.init))
        bytes.reserveCapacity(bytes.count + entries.reduce(0) { $0 + $1.payloads.reduce(0) { $0 + $1.count } })
        for e in entries { for p in e.payloads { bytes.append(contentsOf: p) } }
        return bytes
    }

    /// Writes the file atomically (temporary file, then rename).
    public func write(to path: String) throws {
        try AtomicFile.write(Data(serialized()), to: path)
    }

    /// Preamble and header of a file holding `records` (payload offsets are assigned here, back to
    /// back in record order; the records' own offsets are ignored).
    static func preambleAndHeader(metadata: [String: String]?, records: [ContainerRecord]) -> [UInt8] {
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
        header.u32(UInt32(records.count))
        let flags = records.contains { !$0.zeroSlices.isEmpty } ? Self.zeroSlicesFlag : 0
        var offset: UInt64 = 0
        for r in records {
            writeRecord(r, offset: &offset, flags: flags, into: &header)
        }
        var out = ByteWriter()
        out.append(Self.magic)
        out.u16(Self.version)
        out.u16(flags)
        out.u32(UInt32(header.bytes.count))
        out.u32(CRC32.checksum(header.bytes))
        out.append(header.bytes)
        return out.bytes
    }

    private static func writeRecord(_ e: ContainerRecord, offset: inout UInt64, flags: UInt16, into w: inout ByteWriter) {
        w.string16(e.name)
        w.string16(e.dtype)
        w.u8(UInt8(e.shape.count))
        for d in e.shape { w.u64(UInt64(d)) }
        let parameters = e.coding.parameterBytes
        w.u8(e.coding.code)
        w.u32(UInt32(parameters.count))
        w.append(parameters)
        w.u32(UInt32(e.payloads.count))
        for p in e.payloads {
            w.u64(offset)
            w.u64(p.length)
            w.u32(p.crc)
            offset += p.length
        }
        if flags & zeroSlicesFlag != 0 {
            w.u8(UInt8(e.zeroSlices.count))
            for s in e.zeroSlices {
                w.u8(UInt8(s.axis))
                w.u32(UInt32(s.indices.count))
                for i in s.indices { w.u32(UInt32(i)) }
            }
        }
    }

    /// The bytes that the zero-slice records `slices` (by entry name) add to the header of a file
    /// whose entries are named `names`: none when no entry has one; else, as `writeRecord` writes
    /// them, a count byte for every entry and, per record, its axis, length and indices.
    public static func zeroSliceBytes(_ slices: [String: [ZeroSlices]], entries names: [String]) -> Int {
        guard names.contains(where: { !(slices[$0] ?? []).isEmpty }) else { return 0 }
        return names.reduce(0) { total, name in total + 1 + (slices[name] ?? []).reduce(0) { $0 + 5 + 4 * $1.indices.count } }
    }

    static func recordSize(_ e: ContainerEntry) -> Int {
        var w = ByteWriter()
        var offset: UInt64 = 0
        writeRecord(ContainerRecord(e), offset: &offset, flags: e.zeroSlices.isEmpty ? 0 : zeroSlicesFlag, into: &w)
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
        let parsed = try bytes.withUnsafeBytes { raw in
            Result { () throws(ContainerError) in try Self.parseHeader(raw, path: path, salvage: salvage) }
        }.get()
        metadata = parsed.metadata
        var entries: [ContainerEntry] = []
        entries.reserveCapacity(parsed.records.count)
        for record in parsed.records {
            var damage = record.damage
            var payloads: [[UInt8]] = []
            for (p, payload) in record.payloads.enumerated() where payload.inBounds {
                let range = (parsed.areaStart + Int(payload.offset))..<(parsed.areaStart + Int(payload.offset + payload.length))
                let actual = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[range])) }
                if actual != payload.crc {
                    let error = ContainerError(path: path, tensor: record.name,
                                               fault: .payloadChecksum(index: p, declared: payload.crc, computed: actual))
                    if salvage { damage = damage ?? error; continue }
                    throw error
                }
                payloads.append(Array(bytes[range]))
            }
            var entry = ContainerEntry(name: record.name, dtype: record.dtype, shape: record.shape, coding: record.coding,
                                       payloads: damage == nil ? payloads : [])
            entry.damage = damage
            entry.zeroSlices = record.zeroSlices
            entries.append(entry)
        }
        self.entries = entries
    }

    /// Validates the preamble and header of the file whose bytes are `bytes` (all of them: payload
    /// bounds are checked against the file size) and returns its records. Payload checksums are
    /// not checked here; each record's coding is parsed and its size checked against `DecodeLimits`.
    /// With `salvage`, an out-of-bounds payload, an invalid coding or a size beyond the limits
    /// marks its record's `damage`.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String, salvage: Bool)
        throws(ContainerError) -> (metadata: [String: String]?, records: [ContainerRecord], areaStart: Int) {
        func fail(_ f: ContainerError.Fault, _ tensor: String? = nil) -> ContainerError {
            ContainerError(path: path, tensor: tensor, fault: f)
        }
        guard bytes.count >= Self.preambleSize else {
            throw ContainerError(path: path, fault: .tooShort(size: bytes.count), found: FileKind.sniff(bytes))
        }
        guard Array(bytes[0..<4]) == Self.magic else {
            throw ContainerError(path: path, fault: .badMagic(found: Array(bytes[0..<4])), found: FileKind.sniff(bytes))
        }
        var pre = ByteReader(Array(bytes[0..<Self.preambleSize]), offset: 4)
        do {
            let version = try pre.u16()
            guard version == Self.version else { throw fail(.unsupportedVersion(Int(version))) }
            let flags = try pre.u16()
            guard flags & ~Self.zeroSlicesFlag == 0 else { throw fail(.unsupportedFlags(flags)) }
            let headerLength = try pre.u32()
            let declaredCRC = try pre.u32()
            let available = bytes.count - Self.preambleSize
            guard headerLength <= Self.maxHeaderBytes, Int(headerLength) <= available else {
                throw fail(.headerLength(declared: UInt64(headerLength), available: min(available, Self.maxHeaderBytes)))
            }
            let headerRange = Self.preambleSize..<(Self.preambleSize + Int(headerLength))
            let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[headerRange]))
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
                let count = Int(try r.u32())
                // A record takes at least 17 bytes.
                guard count <= r.remaining / 17 else { throw fail(.invalidHeader("\(count) tensors cannot fit in a \(header.count)-byte header")) }
                var names = Set<String>()
                var expectedOffset: UInt64 = 0
                var parsed: [ContainerRecord] = []
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
                    let code = try r.u8()
                    let parameterCount = Int(try r.u32())
                    let parameters = Array(try r.take(parameterCount))
                    var damage: ContainerError?
                    let coding: TensorCoding
                    do {
                        coding = try TensorCoding(code: code, parameters: parameters)
                    } catch {
                        guard salvage else { throw fail(.invalidCoding(error), name) }
                        damage = fail(.invalidCoding(error), name)
                        coding = .exact
                    }
                    let payloadCount = Int(try r.u32())
                    guard payloadCount <= r.remaining / 20 else { throw fail(.invalidHeader("\(payloadCount) payloads cannot fit"), name) }
                    var payloads: [ContainerRecord.Payload] = []
                    for p in 0..<payloadCount {
                        let offset = try r.u64(), length = try r.u64(), crc = try r.u32()
                        guard offset == expectedOffset, length <= UInt64(areaSize), offset <= UInt64(areaSize) - length else {
                            let error = fail(.payloadBounds(index: p, offset: offset, length: length, areaSize: areaSize), name)
                            if salvage && offset == expectedOffset {
                                damage = damage ?? error
                                expectedOffset = offset &+ length
                                payloads.append(.init(offset: offset, length: length, crc: crc, inBounds: false))
                                continue
                            }
                            throw error
                        }
                        expectedOffset = offset + length
                        payloads.append(.init(offset: offset, length: length, crc: crc, inBounds: true))
                    }
                    var zeroSlices: [ZeroSlices] = []
                    if flags & Self.zeroSlicesFlag != 0 {
                        let count = Int(try r.u8())
                        for _ in 0..<count {
                            let axis = Int(try r.u8())
                            let n = Int(try r.u32())
                            guard n <= r.remaining / 4 else { throw fail(.invalidHeader("\(n) zero-slice indices cannot fit"), name) }
                            zeroSlices.append(ZeroSlices(axis: axis, indices: try (0..<n).map { _ in Int(try r.u32()) }))
                        }
                        if let refusal = ZeroSlices.refusal(zeroSlices, shape: shape) { throw fail(.invalidHeader(refusal), name) }
                    }
                    // Before any payload is read or output allocated: a small file must not claim a huge
                    // tensor, stored or restored (an index of 4 bytes restores a whole slice).
                    // (Only undamaged records: a salvaged out-of-bounds length may not even fit an Int.)
                    let payloadBytes = damage == nil ? payloads.reduce(0) { $0 + Int($1.length) } : 0
                    if damage == nil, let refusal = DecodeLimits.refusal(coding: coding, shape: shape, payloadBytes: payloadBytes)
                        ?? DecodeLimits.restoredRefusal(shape: ZeroSlices.restoredShape(shape, zeroSlices),
                                                        payloadBytes: payloadBytes + 4 * zeroSlices.reduce(0) { $0 + $1.indices.count }) {
                        guard salvage else { throw fail(.corruptPayload(refusal), name) }
                        damage = fail(.corruptPayload(refusal), name)
                    }
                    parsed.append(ContainerRecord(name: name, dtype: dtype, shape: shape, coding: coding,
                                                  payloads: payloads, damage: damage, zeroSlices: zeroSlices))
                }
                guard r.remaining == 0 else { throw fail(.invalidHeader("\(r.remaining) unused bytes at the end of the header")) }
                if expectedOffset < UInt64(areaSize) {
                    throw fail(.trailingBytes(count: areaSize - Int(expectedOffset)))
                }
                return (hasMetadata == 1 ? meta : nil, parsed, areaStart)
            } catch let e as ByteReader.Failure {
                throw fail(.truncatedHeader(at: Self.preambleSize + e.offset))
            }
        } catch let e as ContainerError {
            throw e
        } catch {
            throw fail(.tooShort(size: bytes.count))
        }
    }
}

/// One tensor record of the header, with its payloads' places but not their bytes.
package struct ContainerRecord: Sendable {
    /// A payload's place, length and checksum.
    struct Payload: Sendable {
        /// Offset from the start of the payload area.
        var offset: UInt64
        /// Length in bytes.
        var length: UInt64
        /// CRC-32 of the payload.
        var crc: UInt32
        /// Whether the payload lies within the file (false only in a salvaging read).
        var inBounds: Bool
    }
    var name: String
    var dtype: String
    var shape: [Int]
    var coding: TensorCoding
    var payloads: [Payload]
    var damage: ContainerError?
    var zeroSlices: [ZeroSlices] = []
}

extension ContainerRecord {
    /// The record of `entry` (offsets left 0: the writer assigns them).
    init(_ entry: ContainerEntry) {
        self.init(name: entry.name, dtype: entry.dtype, shape: entry.shape, coding: entry.coding,
                  payloads: entry.payloads.map { Payload(offset: 0, length: UInt64($0.count), crc: CRC32.checksum($0), inBounds: true) },
                  damage: nil, zeroSlices: entry.zeroSlices)
    }
}
