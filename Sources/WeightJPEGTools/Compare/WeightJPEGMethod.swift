import WeightJPEG
/// WeightJPEG's own rate points for `compare`: real `.wjpg` files (the container serialized to
/// bytes, decoded from those bytes), post-training or fine-tuned.
public enum WeightJPEGMethod: Hashable, Sendable, CustomStringConvertible {
    /// `compress --quality q` with the default policy (IJG table, int8 output layer).
    case postTraining(quality: Int)
    /// A rate-control setting (`--table-kinds`), with the output layer coded as `output`.
    case tables(RateSetting, output: OutputCoding)
    /// `tables`, with the first layer's bias corrected for its decoded weights (`BiasCorrection`,
    /// from training images 0..<50,000, as `compress --max-drop` does); needs training images.
    case correctedTables(RateSetting, output: OutputCoding)
    /// `compress --quality q --finetune epochs` (the chosen epoch on the validation split).
    case finetuned(quality: Int)
    /// A rate-control setting, then fine-tuned like `finetuned`.
    case finetunedTables(RateSetting, output: OutputCoding)

    public var family: String {
        switch self {
        case .postTraining: return "WeightJPEG post-training (IJG q)"
        case .tables(let s, let o): return "WeightJPEG post-training (\(s.kind.shortName) table, \(o.shortName) output)"
        case .correctedTables(let s, let o): return "WeightJPEG post-training (\(s.kind.shortName) table, \(o.shortName) output, bias-corrected)"
        case .finetuned: return "WeightJPEG fine-tuned (IJG q)"
        case .finetunedTables(let s, let o): return "WeightJPEG fine-tuned (\(s.kind.shortName) table, \(o.shortName) output)"
        }
    }

    public var setting: String {
        switch self {
        case .postTraining(let q), .finetuned(let q): return "q\(q)"
        case .tables(let s, let o), .correctedTables(let s, let o), .finetunedTables(let s, let o): return "level \(s.level)\(o == .int8PerRow ? "" : ", out \(o)")"
        }
    }

    public var description: String { "\(family), \(setting)" }
}

extension OutputCoding {
    /// `int8`, `JPEG` or `bounded` (error-bounded), for a family's name.
    var shortName: String {
        switch self {
        case .int8PerRow: return "int8"
        case .jpegFlat: return "JPEG"
        case .bounded: return "bounded"
        }
    }
}

extension TableKind {
    /// `ijg`, `flat` or `spectrum` (without the exponent).
    var shortName: String {
        switch self {
        case .ijg: return "IJG"
        case .flat: return "flat"
        case .spectrum: return "spectrum"
        }
    }
}
