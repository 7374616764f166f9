/// Bit-level conversions between `Float` and the two 16-bit float formats that weight files use:
/// IEEE 754 binary16 ("half", safetensors `F16`) and bfloat16 (safetensors `BF16`).
///
/// Written by hand rather than with `Float16` because `Float16` is unavailable on some platforms
/// (macOS on x86_64), and a file format must read the same everywhere. Narrowing rounds to nearest,
/// ties to even, exactly like a hardware conversion; infinities stay infinities, NaNs stay NaNs
/// (quieted, payload truncated), subnormals are produced and read correctly.
public enum HalfPrecision {
    // MARK: binary16

    /// The binary16 bit pattern nearest to `value` (ties to even). Magnitudes of 65520 and above
    /// become infinity; magnitudes at or below 2⁻²⁵ become (signed) zero.
    public static func halfBits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF

        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            // NaN: keep the top payload bits and force the quiet bit so the result cannot become Inf.
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        // Unbiased exponent rebiased for binary16 (bias 15 instead of 127).
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }  // ≥ 2¹⁶: overflow to infinity
        if halfExponent <= 0 {
            // Result is subnormal (or zero): value / 2⁻²⁴, rounded. Below 2⁻²⁵ it is always zero.
            if halfExponent < -10 { return sign }
            let significand = mantissa | 0x80_0000  // restore the implicit leading 1
            let shift = UInt32(14 - halfExponent)  // 14...24
            return sign | UInt16(truncatingIfNeeded: roundShift(significand, by: shift))
        }
        // Normal: drop 13 mantissa bits with rounding; a carry may ripple into the exponent, which
        // correctly turns 65520 and above into infinity (0x7C00).
        let combined = (UInt32(halfExponent) << 23) | mantissa
        return sign | UInt16(truncatingIfNeeded: roundShift(combined, by: 13))
    }

    /// The `Float` exactly equal to the binary16 bit pattern `bits` (every half is representable).
    public static func float(fromHalfBits bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32((bits >> 10) & 0x1F)
        let mantissa = UInt32(bits & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa × 2⁻²⁴, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            // Infinity or NaN; the payload moves to the top of the Float mantissa (quiet bit stays quiet).
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
        }
    }

    // MARK: bfloat16

    /// The bfloat16 bit pattern nearest to `value` (ties to even): the top 16 bits of the Float,
    /// rounded. Values past the largest bfloat16 become infinity; NaNs stay (quiet) NaNs.
    public static func bfloat16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN {
            // Truncating could clear every payload bit and yield Inf, so set the quiet bit.
            return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        }
        return UInt16(truncatingIfNeeded: roundShift(bits, by: 16))
    }

    /// The `Float` exactly equal to the bfloat16 bit pattern `bits` (bfloat16 is a truncated Float).
    public static func float(fromBFloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// `x >> shift` rounded to nearest, ties to even; `shift` in 1...31. Never overflows for the
    /// operands used here (the top bits are free or the carry is the intended rounding).
    @inline(__always)
    private static func roundShift(_ x: UInt32, by shift: UInt32) -> UInt32 {
        let quotient = x >> shift
        let remainder = x & ((1 << shift) - 1)
        let half: UInt32 = 1 << (shift - 1)
        if remainder > half || (remainder == half && quotient & 1 == 1) { return quotient &+ 1 }
        return quotient
    }
}
