import Foundation

/// Every command's `--json` and every JSON file the tools write: one `JSONEncoder` over the command's `Codable` report, camelCase keys
/// (Swift's own property names), sorted and pretty-printed, one document per run.
package enum JSONOutput {
    package static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    /// Prints `value` as JSON on standard output.
    package static func print(_ value: some Encodable) throws {
        Swift.print(String(decoding: try encoder().encode(value), as: UTF8.self))
    }
}
