/// Bisection over integer levels for a monotone test: the levels that pass form one end of the range
/// (a quality, a bit depth, a table level: coarser fails, finer passes, or the reverse). Each probe
/// may be expensive (an encode and decode, an evaluation), so only about log2(count) are made.
///
/// A probe returns its result when the level passes and nil when it fails; the search returns the
/// result at the boundary level. When the test is not exactly monotone the answer depends on which
/// levels were probed, so the probe order is part of the contract: the midpoint of `lo…hi` is
/// `⌊(lo + hi) / 2⌋` (`.down`) or `⌈(lo + hi) / 2⌉` (`.up`), and callers keep the rounding they have
/// always used so their outputs stay the same.
package enum Bisection {
    /// How the midpoint of an even-sized interval is rounded.
    package enum Midpoint: Sendable {
        case down
        case up
    }

    /// The result of the lowest level of `levels` whose probe passes, for a test that passes from
    /// some level on (nil when no level of `levels` passes, or `levels` is empty).
    package static func lowestPassing<Result, Failure: Error>(
        in levels: Range<Int>, midpoint: Midpoint = .down, _ probe: (Int) throws(Failure) -> Result?
    ) throws(Failure) -> Result? {
        try bisect(levels, midpoint, passingBelow: false, probe)
    }

    /// The result of the highest level of `levels` whose probe passes, for a test that passes up to
    /// some level (nil when no level of `levels` passes, or `levels` is empty).
    package static func highestPassing<Result, Failure: Error>(
        in levels: Range<Int>, midpoint: Midpoint = .down, _ probe: (Int) throws(Failure) -> Result?
    ) throws(Failure) -> Result? {
        try bisect(levels, midpoint, passingBelow: true, probe)
    }

    /// The loop of both searches. `passingBelow`: the passing levels are the low end of the range, so
    /// after a pass the boundary is above the probe (else below it).
    private static func bisect<Result, Failure: Error>(
        _ levels: Range<Int>, _ midpoint: Midpoint, passingBelow: Bool, _ probe: (Int) throws(Failure) -> Result?
    ) throws(Failure) -> Result? {
        var lo = levels.lowerBound, hi = levels.upperBound - 1
        var found: Result? = nil
        while lo <= hi {
            let mid = midpoint == .down ? lo + (hi - lo) / 2 : lo + (hi - lo + 1) / 2
            let result = try probe(mid)
            if result != nil { found = result }
            if (result != nil) == passingBelow { lo = mid + 1 } else { hi = mid - 1 }
        }
        return found
    }
}
