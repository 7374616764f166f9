import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel

/// Loading and saving whole models, whatever the file format.
public enum ModelFile {
    /// Whether `path` starts with the `.wjpg` magic.
    public static func isContainer(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)).map { [UInt8]($0) == Container.magic } ?? false
    }

    /// Loads an `MLP` from a safetensors or `.wjpg` file (decoding the JPEGs to floats), with every
    /// fault reported against `path`.
    public static func load(_ path: String) throws -> MLP {
        if isContainer(path) { return try load(Container.read(path: path), path: path) }
        return try model(SafetensorsFile.read(path: path).floatTensors(), path: path)
    }

    /// Loads an `MLP` from a `.wjpg` container already in memory (decoding the JPEGs to floats),
    /// with every fault reported against `path`.
    public static func load(_ container: Container, path: String) throws -> MLP {
        try model(ModelCodec.floatTensors(container, path: path), path: path)
    }

    /// The MLP the tensors describe; its faults reported against `path`.
    private static func model(_ tensors: [String: FloatTensor], path: String) throws -> MLP {
        do {
            return try MLP(tensors: tensors)
        } catch {
            throw ModelFileError(path: path, reason: error.description)
        }
    }

    /// Saves `model` as float32 safetensors with `torch.nn.Sequential` names, atomically.
    public static func save(_ model: MLP, to path: String) throws {
        let tensors = model.namedTensors.map { SafetensorsTensor(name: $0.name, shape: $0.tensor.shape, floats: $0.tensor.values) }
        try SafetensorsFile(tensors: tensors, metadata: ["format": "pt"]).write(to: path)
    }
}
