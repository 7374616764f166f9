/// How much a candidate model's accuracy falls below a reference model's on the same labelled
/// images, with the statistical uncertainty of that estimate.
///
/// The two models are scored on the same images, so the drop is a paired difference: per image,
/// `dᵢ = [reference right] − [candidate right]` ∈ {−1, 0, 1}, and the drop is their mean. Its
/// standard error `sd(d)/√n` depends on how many predictions changed, not on the accuracy: on
/// 10,000 images with 1 % changed predictions it is about 0.1 percentage points, as large as the
/// drops a user asks for. `upperBound(sigmas:)` is what a choice must compare with a bound if the
/// bound is to hold on unseen images drawn like these.
public struct AccuracyDrop: Equatable, Sendable, Codable {
    /// Mean drop in percentage points (reference accuracy − candidate accuracy; negative when the
    /// candidate is better).
    public let points: Double
    /// Standard error of `points` in percentage points (paired; 0 when no prediction changed).
    public let standardErrorPoints: Double
    /// Share of images whose prediction changed, in percent (an upper bound of |points|).
    public let disagreementPercent: Double
    /// Images compared.
    public let samples: Int

    /// The drop from `reference` to `candidate` predictions (class indices) on images labelled
    /// `labels` (class indices of any integer type: `UInt8` from IDX files, or `Int` predictions of
    /// another model, which makes the drop a disagreement with it); the three arrays are parallel
    /// and must have equal lengths.
    ///
    /// `clusterSize` consecutive images that are not independent (e.g. the shifted copies of one
    /// image, `Dataset.shiftedCopies`) count as one sample for the standard error: it is computed
    /// from the per-cluster mean differences. `labels.count` must be a multiple of it.
    public init<Label: BinaryInteger>(reference: [Int], candidate: [Int], labels: [Label], clusterSize: Int = 1) {
        precondition(reference.count == candidate.count && candidate.count == labels.count,
                     "AccuracyDrop needs parallel arrays of equal length")
        precondition(clusterSize >= 1 && labels.count % clusterSize == 0,
                     "\(labels.count) images are not clusters of \(clusterSize)")
        var sum = 0, sumOfSquares = 0, changed = 0
        for start in stride(from: 0, to: labels.count, by: clusterSize) {
            var clusterSum = 0
            for i in start..<(start + clusterSize) {
                let label = Int(labels[i])
                clusterSum += (reference[i] == label ? 1 : 0) - (candidate[i] == label ? 1 : 0)
                if reference[i] != candidate[i] { changed += 1 }
            }
            sum += clusterSum
            sumOfSquares += clusterSum * clusterSum
        }
        let n = Double(max(labels.count, 1))
        let clusters = Double(max(labels.count / clusterSize, 1))
        let mean = Double(sum) / n
        // Sample variance of the cluster means, with Bessel's correction (0 for a single cluster).
        let k = Double(clusterSize)
        let variance = labels.count > clusterSize
            ? max(0, (Double(sumOfSquares) / (k * k) - clusters * mean * mean) / (clusters - 1)) : 0
        points = 100 * mean
        standardErrorPoints = 100 * (variance / clusters).squareRoot()
        disagreementPercent = 100 * Double(changed) / n
        samples = labels.count
    }

    /// `points + sigmas · standardErrorPoints`: with `sigmas` 1.645, the drop on unseen images
    /// drawn like these exceeds this with about 5 % probability (normal approximation).
    public func upperBound(sigmas: Double) -> Double { points + sigmas * standardErrorPoints }
}
