import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats

// Writes through a temporary file and a rename: an existing file is replaced whole or kept, and a
// failed write leaves nothing behind.

// MARK: - Atomic writes

private func leftovers(in directory: URL, except keep: Set<String>) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !keep.contains($0) }
}

@Test func atomicWriteReplacesAnExistingFile() throws {
    let dir = try temporaryDirectoryURL("atomic")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("model.wjpg").path
    try AtomicFile.write(Data(repeating: 1, count: 1000), to: path)
    #expect(FileManager.default.contents(atPath: path) == Data(repeating: 1, count: 1000))
    try AtomicFile.write(Data([9, 8, 7]), to: path)
    #expect(FileManager.default.contents(atPath: path) == Data([9, 8, 7]))
    try AtomicFile.write(Data(), to: path)
    #expect(FileManager.default.contents(atPath: path) == Data())
    #expect(try leftovers(in: dir, except: ["model.wjpg"]).isEmpty)
}

@Test func failedAtomicWritesLeaveNothingBehind() throws {
    let dir = try temporaryDirectoryURL("atomic-fail")
    defer { try? FileManager.default.removeItem(at: dir) }
    let old = dir.appendingPathComponent("old.wjpg").path
    try AtomicFile.write(Data("old contents".utf8), to: old)

    // Into a directory that does not exist.
    let missing = dir.appendingPathComponent("no/such/dir/model.wjpg").path
    do {
        try AtomicFile.write(Data([1, 2, 3]), to: missing)
        Issue.record("write into a missing directory succeeded")
    } catch {
        #expect(error.path == missing)
        #expect(!error.reason.isEmpty)
        #expect(error.description.contains(missing))
    }
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("no").path))

    // Over a directory: the temporary file is written, the rename fails, and it must be removed.
    let occupied = dir.appendingPathComponent("occupied")
    try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: false)
    try Data("inside".utf8).write(to: occupied.appendingPathComponent("keep"))
    #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write(Data([4, 5, 6]), to: occupied.path) }
    #expect(FileManager.default.contents(atPath: occupied.appendingPathComponent("keep").path) == Data("inside".utf8))
    #expect(try leftovers(in: dir, except: ["old.wjpg", "occupied"]).isEmpty)

    // A failed container write leaves the old file intact.
    let container = Container(metadata: nil, entries: [])
    #expect(throws: AtomicFile.WriteError.self) { try container.write(to: occupied.path) }
    #expect(throws: AtomicFile.WriteError.self) { try container.write(to: old + "/child.wjpg") }  // parent is a file
    #expect(FileManager.default.contents(atPath: old) == Data("old contents".utf8))
    #expect(try leftovers(in: dir, except: ["old.wjpg", "occupied"]).isEmpty)
}

@Test func aFailedWriteOverAnExistingFileKeepsIt() throws {
    // A name close to the 255-byte limit: the temporary name (".<name>.<pid>.<random>.tmp") cannot be
    // created. Whether or not the writer copes, the target must hold either the old or the new bytes.
    let dir = try temporaryDirectoryURL("atomic-long")
    defer { try? FileManager.default.removeItem(at: dir) }
    let name = String(repeating: "m", count: 250) + ".wjpg"
    let path = dir.appendingPathComponent(name).path
    guard FileManager.default.createFile(atPath: path, contents: Data("old".utf8)) else { return }
    do {
        try AtomicFile.write(Data("new".utf8), to: path)
        #expect(FileManager.default.contents(atPath: path) == Data("new".utf8))
    } catch {
        #expect(FileManager.default.contents(atPath: path) == Data("old".utf8))
    }
    #expect(try leftovers(in: dir, except: [name]).isEmpty)
}
