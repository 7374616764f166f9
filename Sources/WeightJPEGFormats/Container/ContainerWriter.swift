import Foundation
import WeightJPEGCore

/// Writes a `.wjpg` file entry by entry without holding the container in memory, in the unchanged
/// format of docs/FORMAT.md (header with every payload's offset first, then the payloads).
///
/// Design: the header can only be written once every payload's length is known, so payloads are
/// spilled, as they arrive, to an anonymous temporary file in the output's directory (in TMPDIR for a stream output) (created and
/// unlinked at once: nothing is left behind even if the process dies). `finish()` writes preamble +
/// header to the atomic output file, copies the spilled payloads after it (4 MiB at a time), and renames it into place. Memory held: the header records (a few hundred
/// bytes per tensor). Disk: the compressed size twice, briefly. The bytes equal `Container.serialized()`.
public final class ContainerWriter {
    /// The target path.
    public let path: String
    private let metadata: [String: String]?
    private var records: [ContainerRecord] = []
    private var spill: Int32
    private var spilled = 0
    private var names = Set<String>()

    /// Starts writing `path`; `metadata` is the source's `__metadata__`.
    public init(path: String, metadata: [String: String]?) throws(AtomicFile.WriteError) {
        self.path = path
        self.metadata = metadata
        spill = try AtomicFile.openScratchFile(for: path)
    }

    deinit { if spill >= 0 { close(spill) } }

    /// Number of entries appended.
    public var count: Int { records.count }
    /// Payload bytes appended so far.
    public var payloadBytes: Int { spilled }

    /// Appends `entry` (names must be unique): its payloads go to the spill file, its record is kept.
    public func append(_ entry: ContainerEntry) throws(AtomicFile.WriteError) {
        guard spill >= 0 else { throw AtomicFile.WriteError(path: path, reason: "writer already finished") }
        guard names.insert(entry.name).inserted else { throw AtomicFile.WriteError(path: path, reason: "duplicate tensor '\(entry.name)'") }
        for p in entry.payloads {
            let spill = self.spill, path = self.path
            try p.withUnsafeBytes { raw in
                Result { () throws(AtomicFile.WriteError) in try FileDescriptorIO.writeAll(spill, raw, path: path) }
            }.get()
            spilled += p.count
        }
        records.append(ContainerRecord(entry))
    }

    /// Writes the file (header, then the payloads) atomically and releases the spill file.
    /// On error nothing is left at `path` (an existing file there is untouched).
    @discardableResult
    public func finish() throws(AtomicFile.WriteError) -> Int {
        guard spill >= 0 else { throw AtomicFile.WriteError(path: path, reason: "writer already finished") }
        defer { close(spill); spill = -1 }
        let out = try AtomicFileWriter(path: path)
        try out.write(Container.preambleAndHeader(metadata: metadata, records: records))
        try out.copy(from: spill, offset: 0, count: spilled)
        let size = out.bytesWritten
        try out.commit()
        return size
    }
}
