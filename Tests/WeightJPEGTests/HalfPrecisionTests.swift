import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGCodec

@Suite struct HalfPrecisionTests {
    @Test func halfKnownValues() {
        #expect(HalfPrecision.halfBits(from: 0) == 0x0000)
        #expect(HalfPrecision.halfBits(from: -0.0) == 0x8000)
        #expect(HalfPrecision.halfBits(from: 1) == 0x3C00)
        #expect(HalfPrecision.halfBits(from: -2) == 0xC000)
        #expect(HalfPrecision.halfBits(from: 65504) == 0x7BFF)  // largest finite half
        #expect(HalfPrecision.halfBits(from: .infinity) == 0x7C00)
        #expect(HalfPrecision.halfBits(from: -.infinity) == 0xFC00)
        #expect(HalfPrecision.halfBits(from: 0x1p-14) == 0x0400)  // smallest normal
        #expect(HalfPrecision.halfBits(from: 0x1p-24) == 0x0001)  // smallest subnormal
        #expect(HalfPrecision.float(fromHalfBits: 0x0001) == 0x1p-24)
        #expect(HalfPrecision.float(fromHalfBits: 0x03FF) == 1023 * 0x1p-24)
        #expect(HalfPrecision.float(fromHalfBits: 0x7BFF) == 65504)
        #expect(HalfPrecision.float(fromHalfBits: 0xFC00) == -.infinity)
        #expect(HalfPrecision.float(fromHalfBits: 0x8000).sign == .minus)
    }

    @Test func halfRoundsToNearestEven() {
        // Halfway between 1 and 1 + 2⁻¹⁰ goes down to the even 1; halfway above 1 + 2⁻¹⁰ goes up.
        #expect(HalfPrecision.halfBits(from: 1 + 0x1p-11) == 0x3C00)
        #expect(HalfPrecision.halfBits(from: 1 + 3 * 0x1p-11) == 0x3C02)
        #expect(HalfPrecision.halfBits(from: (1 + 0x1p-11).nextUp) == 0x3C01)
        // Overflow threshold: 65520 is the tie between 65504 and 2¹⁶ (odd mantissa), so it becomes Inf.
        #expect(HalfPrecision.halfBits(from: Float(65520).nextDown) == 0x7BFF)
        #expect(HalfPrecision.halfBits(from: 65520) == 0x7C00)
        #expect(HalfPrecision.halfBits(from: 1e10) == 0x7C00)
        // Underflow: 2⁻²⁵ is the tie between 0 and the smallest subnormal and rounds to even (0).
        #expect(HalfPrecision.halfBits(from: 0x1p-25) == 0x0000)
        #expect(HalfPrecision.halfBits(from: Float(0x1p-25).nextUp) == 0x0001)
        #expect(HalfPrecision.halfBits(from: 3 * 0x1p-25) == 0x0002)
        #expect(HalfPrecision.halfBits(from: -1e-10) == 0x8000)
        // Carry from the largest subnormal into the smallest normal.
        #expect(HalfPrecision.halfBits(from: 0x1p-14 - 0x1p-26) == 0x0400)
    }

    @Test func halfNaNStaysNaN() {
        #expect(HalfPrecision.float(fromHalfBits: HalfPrecision.halfBits(from: .nan)).isNaN)
        // A NaN whose payload lives only in low bits must not collapse to infinity.
        let lowPayload = Float(bitPattern: 0x7F80_0001)
        #expect(HalfPrecision.halfBits(from: lowPayload) & 0x03FF != 0)
        #expect(HalfPrecision.float(fromHalfBits: 0x7E00).isNaN)
        #expect(HalfPrecision.float(fromHalfBits: 0xFD01).isNaN)
    }

    @Test func everyHalfRoundTrips() {
        for bits in UInt16.min...UInt16.max {
            let value = HalfPrecision.float(fromHalfBits: bits)
            if value.isNaN {
                #expect(HalfPrecision.halfBits(from: value) & 0x7C00 == 0x7C00)
            } else if HalfPrecision.halfBits(from: value) != bits {
                Issue.record("half 0x\(String(bits, radix: 16)) → \(value) → 0x\(String(HalfPrecision.halfBits(from: value), radix: 16))")
                return
            }
        }
    }

    #if !(os(macOS) && arch(x86_64))
    /// Cross-check against the platform's `Float16` where it exists (it is unavailable on Intel Macs).
    @Test func matchesPlatformFloat16() {
        for bits in UInt16.min...UInt16.max {
            let ours = HalfPrecision.float(fromHalfBits: bits)
            let theirs = Float(Float16(bitPattern: bits))
            guard ours.bitPattern == theirs.bitPattern || (ours.isNaN && theirs.isNaN) else {
                Issue.record("half 0x\(String(bits, radix: 16)): \(ours) vs \(theirs)")
                return
            }
        }
        // A deterministic stride through all 2³² float bit patterns (a prime step hits every
        // exponent and many rounding positions).
        var pattern: UInt32 = 0
        for _ in 0..<400_000 {
            let value = Float(bitPattern: pattern)
            let ours = HalfPrecision.halfBits(from: value)
            let theirs = Float16(value).bitPattern
            guard ours == theirs || (value.isNaN && Float16(bitPattern: ours).isNaN) else {
                Issue.record("float \(value) (0x\(String(pattern, radix: 16))): ours 0x\(String(ours, radix: 16)), Float16 0x\(String(theirs, radix: 16))")
                return
            }
            pattern &+= 10_739
        }
    }
    #endif

    @Test func bfloat16KnownValues() {
        #expect(HalfPrecision.bfloat16Bits(from: 1) == 0x3F80)
        #expect(HalfPrecision.bfloat16Bits(from: -2.5) == 0xC020)
        #expect(HalfPrecision.bfloat16Bits(from: 0) == 0x0000)
        #expect(HalfPrecision.bfloat16Bits(from: -0.0) == 0x8000)
        #expect(HalfPrecision.bfloat16Bits(from: .infinity) == 0x7F80)
        #expect(HalfPrecision.bfloat16Bits(from: -.infinity) == 0xFF80)
        // Ties to even: 0x3F80_8000 is halfway between 0x3F80 and 0x3F81.
        #expect(HalfPrecision.bfloat16Bits(from: Float(bitPattern: 0x3F80_8000)) == 0x3F80)
        #expect(HalfPrecision.bfloat16Bits(from: Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        #expect(HalfPrecision.bfloat16Bits(from: Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(HalfPrecision.bfloat16Bits(from: Float(bitPattern: 0x3F80_7FFF)) == 0x3F80)
        // The largest Float rounds past the largest bfloat16 to infinity.
        #expect(HalfPrecision.bfloat16Bits(from: .greatestFiniteMagnitude) == 0x7F80)
        #expect(HalfPrecision.bfloat16Bits(from: -.greatestFiniteMagnitude) == 0xFF80)
        // Subnormals keep their top bits.
        #expect(HalfPrecision.bfloat16Bits(from: Float(bitPattern: 0x0001_0000)) == 0x0001)
        // NaN with payload only in the low 16 bits stays NaN.
        #expect(HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: Float(bitPattern: 0x7F80_0001))).isNaN)
        #expect(HalfPrecision.float(fromBFloat16Bits: 0x4049) == 3.140625)
    }

    @Test func everyBFloat16RoundTrips() {
        for bits in UInt16.min...UInt16.max {
            let value = HalfPrecision.float(fromBFloat16Bits: bits)
            #expect(value.bitPattern == UInt32(bits) << 16)
            if !value.isNaN && HalfPrecision.bfloat16Bits(from: value) != bits {
                Issue.record("bfloat16 0x\(String(bits, radix: 16)) does not round-trip")
                return
            }
        }
    }
}
