import Foundation
import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec

/// Step 3's rate curves: each group's bytes at a ladder of error bounds, coded for real.
extension ErrorAllocation {
    /// The bounds a group's rate curve is measured at: `minimumError` times powers of
    /// `ladderRatio`, up to `maximumError` (included).
    static func ladder(_ options: Options) -> [Double] {
        var rungs: [Double] = []
        var e = options.minimumError
        while e < options.maximumError * 0.999 { rungs.append(e); e *= options.ladderRatio }
        return rungs + [options.maximumError]
    }

    /// Each group's whole bytes at each bound of `ladder` (`[group][rung]`), its tensors coded as
    /// `basePolicy` codes a tensor with that bound, on every core, with at most
    /// `rateCurveBytesInFlight` bytes of tensors being coded at once (a larger tensor alone).
    static func rateCurves(_ source: SafetensorsFile, groups: [Group], ladder: [Double],
                           basePolicy: CompressionPolicy) throws -> [[Int]] {
        let byName = Dictionary(source.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let items = groups.indices.flatMap { g in groups[g].tensors.flatMap { name in ladder.indices.map { (g, byName[name]!, $0) } } }
        var rates = groups.map { _ in [Int](repeating: 0, count: ladder.count) }
        try OrderedParallelMap.run(count: items.count, jobs: ProcessInfo.processInfo.activeProcessorCount, window: 64,
                                   budget: rateCurveBytesInFlight, cost: { items[$0].1.data.count }, makeWorker: { try JPEGTensorCodec() },
                                   work: { codec, i in
                                       var policy = basePolicy
                                       policy.tensorBounds[items[i].1.name] = ladder[items[i].2]
                                       return try ModelCodec.encode(items[i].1, policy: policy, codec: codec).storedBytes
                                   },
                                   consume: { i, bytes in rates[items[i].0][items[i].2] += bytes })
        return rates
    }

    /// See `rateCurves`: the coding of a tensor holds a few copies of it, so two cores on two
    /// 500 MB embeddings at once would need gigabytes.
    static let rateCurveBytesInFlight = 256 << 20

    /// The points the allocation chooses among on each curve of `rates` (`[group][rung]`): every
    /// rung, and `subdivisions − 1` points between two neighbours, the curve taken as linear in
    /// log E there (as bytes are for noise-like tensors), so that a bound need not jump by a rung.
    static func curvePoints(_ rates: [[Int]], ladder: [Double], subdivisions: Int) -> [[(error: Double, bytes: Double)]] {
        rates.map { curve in
            ladder.indices.flatMap { r in
                (0..<(r + 1 < ladder.count ? subdivisions : 1)).map { k in
                    let t = Double(k) / Double(subdivisions)
                    return k == 0 ? (ladder[r], Double(curve[r]))
                                  : (ladder[r] * pow(ladder[r + 1] / ladder[r], t), Double(curve[r]) * (1 - t) + Double(curve[r + 1]) * t)
                }
            }
        }
    }
}
