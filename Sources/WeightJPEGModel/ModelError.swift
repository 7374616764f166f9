/// What can be wrong with a set of tensors offered as a model.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// No tensor named `name` was found, and the model needs it.
    case missingTensor(name: String)
    /// Tensor `name` has shape `found`; the model needs `expected`.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// The tensors describe no linear layer at all.
    case noLayers
    /// Tensor `name` holds a NaN or infinite value at flat index `index`.
    case nonFinite(name: String, index: Int)
    /// The input size `found` does not match the model's first layer (`expected`).
    case inputSize(expected: Int, found: Int)
    /// The model has `outputs` classes, the labels need `classes` (a label `classes - 1` exists, or
    /// the data set declares that many): accuracy would be meaningless.
    case classCount(outputs: Int, classes: Int)

    public var description: String {
        switch self {
        case .missingTensor(let name): return "tensor '\(name)' is missing"
        case .shapeMismatch(let name, let expected, let found):
            return "tensor '\(name)' has shape \(found), expected \(expected)"
        case .noLayers: return "no linear layers found (expected tensors named '0.weight', '0.bias', '2.weight', …)"
        case .nonFinite(let name, let index): return "tensor '\(name)' holds a NaN or infinite value at index \(index)"
        case .inputSize(let expected, let found): return "the model takes \(expected) inputs, the data has \(found) per sample"
        case .classCount(let outputs, let classes):
            return "the model has \(outputs) outputs (classes), the data has \(classes) classes (labels 0-\(classes - 1)); evaluate it on data with \(outputs) classes"
        }
    }
}
