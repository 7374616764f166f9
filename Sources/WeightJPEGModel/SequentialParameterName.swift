/// The name of a Linear layer's parameter in a `torch.nn.Sequential` of Linear and ReLU modules,
/// as PyTorch's `state_dict` writes it: linear layer `l` sits at module position `2l` (the ReLUs at
/// odd positions), so its tensors are `"\(2l).weight"` and `"\(2l).bias"`. The one place these
/// names are built and parsed.
public struct SequentialParameterName: Hashable, Sendable, CustomStringConvertible {
    /// Which tensor of the layer.
    public enum Kind: String, Sendable {
        case weight
        case bias
    }

    /// The linear layer's index among the linear layers (module position / 2).
    public let layer: Int
    /// Whether the name ends in `.weight` or `.bias`.
    public let kind: Kind

    /// The parameter `kind` of linear layer `layer` (≥ 0).
    public init(layer: Int, kind: Kind) {
        precondition(layer >= 0, "SequentialParameterName: negative layer \(layer)")
        self.layer = layer
        self.kind = kind
    }

    /// Parses `"<even module position>.weight"` or `".bias"`; the position in canonical decimal
    /// (no sign, no leading zeros), as PyTorch writes it. Nil for any other name.
    public init?(_ name: String) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let position = Int(parts[0]), position >= 0, position % 2 == 0,
              String(position) == parts[0], let kind = Kind(rawValue: String(parts[1])) else { return nil }
        self.init(layer: position / 2, kind: kind)
    }

    /// The tensor name, e.g. `"2.weight"` for layer 1's weight.
    public var description: String { "\(2 * layer).\(kind.rawValue)" }

    /// Whether `name` is `"<module position>.<anything>"`: a parameter or buffer of some module of
    /// the same `Sequential` (e.g. a normalization layer's `"4.running_mean"`).
    public static func isModuleMember(_ name: String) -> Bool {
        guard let dot = name.firstIndex(of: ".") else { return false }
        let head = name[..<dot]
        return !head.isEmpty && head.allSatisfy(\.isASCII) && head.allSatisfy(\.isNumber)
    }
}
