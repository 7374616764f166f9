import Foundation
import WeightJPEGCore

/// A `.wjpg` file opened for streaming: memory-mapped (or a private copy of bytes already in
/// memory), preamble and header validated (same rules as `Container(bytes:)`, every payload's bounds
/// included) before anything else, and entries handed out one at a time with their payloads'
/// checksums verified then. Thread-safe.
public final class ContainerReader: @unchecked Sendable {
    /// The file.
    public let path: String
    /// `__metadata__` of the source, or `nil`.
    public let metadata: [String: String]?
    private let records: [ContainerRecord]
    private let areaStart: Int
    /// The mapping, or nil for bytes read from memory (then `copy` owns them).
    private let file: MappedFile?
    private let copy: UnsafeMutableRawBufferPointer?
    private let bytes: UnsafeRawBufferPointer

    /// Maps and validates `path`.
    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        let parsed = try Container.parseHeader(file.bytes, path: path, salvage: false)
        self.file = file
        copy = nil
        bytes = file.bytes
        metadata = parsed.metadata
        records = parsed.records
        areaStart = parsed.areaStart
    }

    /// Validates a copy of `contents`, the bytes of a whole `.wjpg` file; `label` stands for the
    /// file in errors (e.g. `<memory>`).
    public init(copying contents: UnsafeRawBufferPointer, label: String) throws(ContainerError) {
        path = label
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(contents.count, 1), alignment: 16)
        if let source = contents.baseAddress, contents.count > 0 { copy.baseAddress!.copyMemory(from: source, byteCount: contents.count) }
        let bytes = UnsafeRawBufferPointer(start: copy.baseAddress, count: contents.count)
        let parsed: (metadata: [String: String]?, records: [ContainerRecord], areaStart: Int)
        do { parsed = try Container.parseHeader(bytes, path: label, salvage: false) } catch {
            copy.deallocate()
            throw error
        }
        file = nil
        self.copy = copy
        self.bytes = bytes
        metadata = parsed.metadata
        records = parsed.records
        areaStart = parsed.areaStart
    }

    deinit { copy?.deallocate() }

    /// Number of tensors.
    public var count: Int { records.count }
    /// Size of the file in bytes.
    public var fileSize: Int { bytes.count }

    /// Name, dtype (as stored), stored shape and coding of entry `index`, and the shape decompression
    /// restores (`ContainerEntry.restoredShape`), without touching its payloads.
    public func declaration(_ index: Int) -> (name: String, dtype: String, shape: [Int], coding: TensorCoding, restoredShape: [Int]) {
        let r = records[index]
        return (r.name, r.dtype, r.shape, r.coding, ZeroSlices.restoredShape(r.shape, r.zeroSlices))
    }

    /// Bytes of entry `index`'s payloads.
    public func payloadBytes(_ index: Int) -> Int {
        records[index].payloads.reduce(0) { $0 + Int($1.length) }
    }

    /// Entry `index` with its payloads copied out of the mapping; a checksum mismatch throws
    /// (`ContainerError.payloadChecksum`, naming the file and tensor).
    public func entry(_ index: Int) throws(ContainerError) -> ContainerEntry {
        let r = records[index]
        var payloads: [[UInt8]] = []
        payloads.reserveCapacity(r.payloads.count)
        for (p, payload) in r.payloads.enumerated() {
            let range = (areaStart + Int(payload.offset))..<(areaStart + Int(payload.offset + payload.length))
            let slice = UnsafeRawBufferPointer(rebasing: bytes[range])
            let actual = CRC32.checksum(slice)
            guard actual == payload.crc else {
                throw ContainerError(path: path, tensor: r.name, fault: .payloadChecksum(index: p, declared: payload.crc, computed: actual))
            }
            payloads.append([UInt8](slice))
        }
        var entry = ContainerEntry(name: r.name, dtype: r.dtype, shape: r.shape, coding: r.coding, payloads: payloads)
        entry.zeroSlices = r.zeroSlices
        return entry
    }

    /// Drops the resident pages of entry `index`'s payloads (no effect on bytes read from memory).
    public func release(_ index: Int) {
        guard let file else { return }
        let r = records[index]
        guard let first = r.payloads.first, let last = r.payloads.last else { return }
        file.release((areaStart + Int(first.offset))..<(areaStart + Int(last.offset + last.length)))
    }
}
