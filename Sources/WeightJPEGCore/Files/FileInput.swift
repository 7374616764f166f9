import Foundation

/// Reading input files with a clear error that names the file.
public enum FileInput {
    /// Failure to read a file.
    public struct ReadError: Error, CustomStringConvertible {
        /// The file that could not be read.
        public let path: String
        /// What went wrong.
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The whole file, memory-mapped where the system allows it.
    public static func read(_ path: String) throws(ReadError) -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReadError(path: path, reason: "no such file")
        }
        if isDirectory.boolValue { throw ReadError(path: path, reason: "is a directory, expected a file") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw ReadError(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
    }
}
