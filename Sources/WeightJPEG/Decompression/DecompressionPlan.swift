import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec

/// What `decompress` does, as a value: restore the `.wjpg` file `input` to the safetensors file
/// `output`, streamed and in parallel (`ModelPipeline`), or with `salvage` every undamaged tensor of
/// a damaged file. `run()` returns a `DecompressionReport`.
///
/// Nothing is ever lost: the output is checked against the input before anything is read (the same
/// file, through any link, is refused: `OutputError`); `-` reads standard input and writes standard
/// output; a salvage that recovers no tensor writes nothing (`DecompressionError.nothingRecovered`).
public struct DecompressionPlan: Sendable {
    /// The `.wjpg` file (`-`: standard input).
    public var input: String
    /// Where the safetensors file is written (`-`: standard output; see `OutputTarget`).
    public var output: String
    /// Jobs and progress of the streamed pipeline.
    public var pipeline = ModelPipeline.Options()
    /// Write every undamaged tensor even if others are damaged (`DecompressionReport.damaged` lists
    /// the rest) instead of failing on the first damaged one.
    public var salvage = false

    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }

    /// Runs the plan and writes `output`.
    ///
    /// - Throws: `OutputError` (an output that is the input, a directory, …) before reading;
    ///   `FileInput.ReadError` for an unreadable standard input; `ContainerError` for a damaged or
    ///   foreign file (naming what it is: `FileKind`); `DecompressionError.nothingRecovered` when a
    ///   salvage finds no intact tensor (the output is then untouched). Errors about standard input
    ///   name it as such (`InputFile.naming`).
    public func run() throws -> DecompressionReport {
        let target = try OutputTarget.resolve(output, inputs: [input])
        let source = try InputFile(input)
        return try source.naming {
            guard salvage else {
                let summary = try ModelPipeline.decompress(input: source.path, output: output, options: pipeline)
                return DecompressionReport(input: input, output: output, tensors: summary.tensors, tensorsInFile: summary.tensors,
                                           inputBytes: summary.inputBytes, outputBytes: summary.outputBytes, damaged: [])
            }
            let bytes = try FileInput.read(source.path)
            let container = try Container(bytes: [UInt8](bytes), path: source.path, salvage: true)
            let result = try ModelCodec.salvage(container, path: source.path)
            let damaged = result.damaged.map { DecompressionReport.DamagedTensor(name: $0.tensor ?? "?", reason: source.describe($0)) }
            if result.file.tensors.isEmpty && !container.entries.isEmpty {
                throw DecompressionError.nothingRecovered(input: source.displayName, damaged: damaged)
            }
            let serialized = result.file.serialized()
            try target.write(serialized)
            return DecompressionReport(input: input, output: output, tensors: result.file.tensors.count,
                                       tensorsInFile: container.entries.count, inputBytes: bytes.count,
                                       outputBytes: serialized.count, damaged: damaged)
        }
    }
}

/// What `DecompressionPlan.run` wrote; `Codable` (camelCase keys) for `decompress --json`.
public struct DecompressionReport: Codable, Sendable, Equatable {
    /// A tensor a salvage could not restore.
    public struct DamagedTensor: Codable, Sendable, Equatable {
        public var name: String
        /// The fault, naming the file and the tensor.
        public var reason: String

        public init(name: String, reason: String) {
            self.name = name
            self.reason = reason
        }
    }

    public var input: String
    public var output: String
    /// Tensors written.
    public var tensors: Int
    /// Tensors in the `.wjpg` file.
    public var tensorsInFile: Int
    /// Size of the `.wjpg` file in bytes.
    public var inputBytes: Int
    /// Size of the written safetensors file in bytes.
    public var outputBytes: Int
    /// Tensors left out by a salvage (empty when every tensor was restored).
    public var damaged: [DamagedTensor]

    /// Whether every tensor was restored.
    public var isComplete: Bool { damaged.isEmpty }
}

/// Why a decompression wrote nothing.
public enum DecompressionError: Error, CustomStringConvertible, Equatable {
    /// A salvage found no intact tensor in `input`: nothing was written, an existing output is kept.
    case nothingRecovered(input: String, damaged: [DecompressionReport.DamagedTensor])

    public var description: String {
        switch self {
        case .nothingRecovered(let input, let damaged):
            let listed = damaged.prefix(5).map { "\n  \($0.name): \($0.reason)" }.joined()
            let more = damaged.count > 5 ? "\n  … and \(damaged.count - 5) more" : ""
            return "\(input): no tensor could be recovered (all \(damaged.count) damaged); nothing written\(listed)\(more)"
        }
    }
}
