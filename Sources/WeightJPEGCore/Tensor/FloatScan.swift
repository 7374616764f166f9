/// Whole-array scans of float tensors written as plain integer loops the compiler vectorizes.
package enum FloatScan {
    /// The index of the first NaN or infinity of `values`, or nil when all are finite: the same
    /// answer as `values.firstIndex { !$0.isFinite }`, found with a branch-free pass over the bits
    /// (an element is not finite when its exponent bits are all ones, so `(bits & 0x7F80_0000) +
    /// 0x0080_0000` carries into bit 31 exactly then) and a search only when one exists.
    package static func firstNonFinite(_ values: [Float]) -> Int? {
        let any = values.withUnsafeBufferPointer { v -> Bool in
            guard let base = v.baseAddress else { return false }
            let bits = UnsafeRawPointer(base).assumingMemoryBound(to: UInt32.self)
            var acc: UInt32 = 0
            for i in 0..<v.count { acc |= (bits[i] & 0x7F80_0000) &+ 0x0080_0000 }
            return acc & 0x8000_0000 != 0
        }
        return any ? values.firstIndex { !$0.isFinite } : nil
    }

    /// `Σ values²` in double: element i to sum i mod 4 (four independent chains of additions
    /// instead of one), then (s0 + s1) + (s2 + s3).
    package static func squaredNorm(_ values: [Float]) -> Double {
        values.withUnsafeBufferPointer { v in
            var s = SIMD4<Double>()
            let wide = v.count & ~3
            var i = 0
            while i < wide {
                let x = SIMD4<Double>(Double(v[i]), Double(v[i + 1]), Double(v[i + 2]), Double(v[i + 3]))
                s += x * x
                i += 4
            }
            while i < v.count { s[i & 3] += Double(v[i]) * Double(v[i]); i += 1 }
            return (s[0] + s[1]) + (s[2] + s[3])
        }
    }
}
