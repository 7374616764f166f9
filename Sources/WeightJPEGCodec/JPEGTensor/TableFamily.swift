import Foundation
import WeightJPEGFormats

/// Which quantization table a JPEG-coded tensor gets.
public enum TableKind: Hashable, Sendable, CustomStringConvertible {
    /// libjpeg's IJG-scaled luminance table (the level is the IJG quality).
    case ijg
    /// All 64 entries equal.
    case flat
    /// Derived from the tensor's own DCT spectrum, `Q(k) ∝ rms(k)^(−exponent)`.
    case spectrum(exponent: Double)

    /// The spectrum kind with the exponent chosen on the validation split (see docs in the report).
    public static let defaultSpectrum = TableKind.spectrum(exponent: 0.5)

    public var description: String {
        switch self {
        case .ijg: return "ijg"
        case .flat: return "flat"
        case .spectrum(let e): return "spectrum:\(e)"
        }
    }

    /// Parses `ijg`, `flat`, `spectrum` or `spectrum:E`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch parts.first {
        case "ijg" where parts.count == 1: self = .ijg
        case "flat" where parts.count == 1: self = .flat
        case "spectrum":
            if parts.count == 1 { self = Self.defaultSpectrum; return }
            guard let e = Double(parts[1]), e >= 0, e <= 4 else { return nil }
            self = .spectrum(exponent: e)
        default: return nil
        }
    }
}

/// One point of a table family: `level` 1…100, higher is finer (more bytes). For `ijg` the level is
/// the IJG quality; for `flat` and `spectrum` it maps to a step `255^((100 − level)/99)` (level 100 →
/// step 1, level 1 → step 255) on a log scale.
public struct RateSetting: Hashable, Sendable, CustomStringConvertible {
    /// Which table family: IJG-scaled, flat or spectrum.
    public var kind: TableKind
    /// 1…100, higher is finer; for `ijg` this is the IJG quality itself.
    public var level: Int

    /// A setting; `level` must be in 1…100.
    public init(kind: TableKind, level: Int) {
        precondition((1...100).contains(level))
        self.kind = kind
        self.level = level
    }

    /// The flat or spectrum step for the level.
    public var step: Double { pow(255, Double(100 - level) / 99) }

    public var description: String {
        switch kind {
        case .ijg: return "ijg q\(level)"
        case .flat: return "flat step \(fixed2(step))"
        case .spectrum(let e): return "spectrum^\(e) step \(fixed2(step))"
        }
    }

    /// The explicit table for a tensor (nil for `ijg`, which uses the quality).
    public func table(values: [Float], rows: Int, columns: Int, layout: TileLayout, rms: [Double]? = nil) -> [UInt16]? {
        switch kind {
        case .ijg: return nil
        case .flat: return QuantizationTables.flat(step: Int(step.rounded()))
        case .spectrum(let e):
            let r = rms ?? QuantizationTables.coefficientRMS(values, rows: rows, columns: columns, layout: layout)
            return QuantizationTables.spectrum(rms: r, step: step, exponent: e)
        }
    }
}

private func fixed2(_ x: Double) -> String { String(format: "%.2f", x) }

/// One rung of a tensor's ladder of JPEG codings: a table kind and level on a tile layout
/// (`CompressionPolicy.tensorJPEGSettings`).
public struct JPEGLadderRung: Equatable, Sendable, CustomStringConvertible {
    /// How the tensor is cut into images.
    public var layout: TileLayout
    /// The table kind and level.
    public var setting: RateSetting

    public init(layout: TileLayout, setting: RateSetting) {
        self.layout = layout
        self.setting = setting
    }

    public var description: String { "JPEG \(setting) on \(layout)" }
}
