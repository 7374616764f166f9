import WeightJPEGCore
import WeightJPEGFormats

/// Why the tensors of a file are not a `torch.nn.Sequential` Linear–ReLU MLP (or cannot be pruned as one).
public enum DeadUnitError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `torch.nn.Sequential` tensors do not form an `MLP`.
    case notAnMLP(ModelError)
    /// Tensor `name` belongs to a module of the same `Sequential` that is not a Linear layer (e.g. a
    /// normalization layer's `4.running_mean`); removing units could change its input.
    case otherModule(name: String)
    /// The samples have a size the model does not take.
    case inputSize(expected: Int, values: Int)

    public var description: String {
        switch self {
        case .notAnMLP(let error): "not a Linear–ReLU MLP: \(error.description)"
        case .otherModule(let name): "tensor '\(name)' belongs to a module other than Linear or ReLU"
        case .inputSize(let expected, let values): "the model takes \(expected) inputs, the \(values) sample values are not a multiple of that"
        }
    }
}

extension MLP {
    /// The `MLP` stored in `file` under `torch.nn.Sequential` names (`0.weight`, `0.bias`,
    /// `2.weight`, …; floating-point tensors only). Throws when the tensors do not form one, or when
    /// another tensor named like a member of the same `Sequential` (`"<index>.<anything>"`, e.g. a
    /// normalization layer's `4.running_mean`) suggests modules other than Linear and ReLU, whose
    /// inputs pruning would silently change.
    public static func sequential(in file: SafetensorsFile) throws(DeadUnitError) -> MLP {
        var tensors: [String: FloatTensor] = [:]
        for tensor in file.tensors where tensor.dtype.convertsToFloat && SequentialParameterName(tensor.name) != nil {
            guard let t = try? tensor.floatTensor() else { continue }
            tensors[tensor.name] = t
        }
        let model: MLP
        do { model = try MLP(tensors: tensors) } catch { throw .notAnMLP(error) }
        let names = Set((0..<model.layers.count).flatMap { l -> [String] in
            let n = MLP.parameterNames(layer: l)
            return [n.weight, n.bias]
        })
        if let stray = file.tensors.first(where: { !names.contains($0.name) && SequentialParameterName.isModuleMember($0.name) }) {
            throw .otherModule(name: stray.name)
        }
        return model
    }
}
