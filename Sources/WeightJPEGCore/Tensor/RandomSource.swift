/// A small, fast, seeded generator (SplitMix64) so that training and tests are bitwise reproducible
/// on every platform, independent of the standard library's generator.
public struct RandomSource: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose whole sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed &+ 0x9E37_79B9_7F4A_7C15
    }

    /// The next 64 random bits; the sequence is fixed by the seed.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform `Float` in `[-bound, bound)`, from 24 random bits (the same on every platform).
    public mutating func uniform(_ bound: Float) -> Float {
        let unit = Float(next() >> 40) * (1.0 / 16_777_216.0)
        return (unit * 2 - 1) * bound
    }

    /// A Fisher–Yates shuffle of `0..<n` that depends only on the seed.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            p.swapAt(i, j)
        }
        return p
    }
}
