import Testing
@testable import WeightJPEGCore

/// `Bisection` finds the boundary of a monotone test, and probes the levels in a fixed order.
@Suite struct BisectionTests {
    @Test func findsTheBoundaryOfEveryMonotoneTest() {
        for boundary in 0...12 {
            let lowest = Bisection.lowestPassing(in: 1..<12) { $0 >= boundary ? $0 : nil }
            #expect(lowest == (boundary <= 11 ? max(boundary, 1) : nil), "lowest, boundary \(boundary)")
            let highest = Bisection.highestPassing(in: 1..<12) { $0 <= boundary ? $0 : nil }
            #expect(highest == (boundary >= 1 ? min(boundary, 11) : nil), "highest, boundary \(boundary)")
        }
        #expect(Bisection.lowestPassing(in: 2..<2) { Optional($0) } == nil)
    }

    /// The probe order is part of the contract (a test that is not exactly monotone gives answers
    /// that depend on it): `(lo + hi) / 2` rounded down, or up with `.up`.
    @Test func probesMidpointsInTheDocumentedOrder() {
        var probed: [Int] = []
        _ = Bisection.lowestPassing(in: 1..<100) { level -> Int? in probed.append(level); return level >= 30 ? level : nil }
        #expect(probed == [50, 25, 37, 31, 28, 29, 30])
        probed = []
        _ = Bisection.lowestPassing(in: 1..<100, midpoint: .up) { level -> Int? in probed.append(level); return level >= 30 ? level : nil }
        #expect(probed == [50, 25, 38, 32, 29, 31, 30])
        probed = []
        _ = Bisection.highestPassing(in: 2..<101) { level -> Int? in probed.append(level); return level <= 70 ? level : nil }
        #expect(probed == [51, 76, 63, 69, 72, 70, 71])
    }
}
