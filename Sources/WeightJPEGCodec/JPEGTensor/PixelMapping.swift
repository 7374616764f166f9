import WeightJPEGCore
/// The affine map between a tile's floats and 8-bit pixels: `pixel = round((w − lo) / (hi − lo) · 255)`
/// and back `w = lo + pixel · (hi − lo) / 255`. A constant tile (`hi == lo`) maps to pixel 128 and
/// back to `lo` exactly.
public struct PixelMapping: Equatable, Sendable {
    /// The float that pixel 0 stands for.
    public var lo: Float
    /// The float that pixel 255 stands for.
    public var hi: Float

    /// The mapping of pixel 0 to `lo` and pixel 255 to `hi`.
    public init(lo: Float, hi: Float) {
        self.lo = lo
        self.hi = hi
    }

    /// Value per pixel step: `(hi − lo) / 255`.
    public var step: Float { (hi - lo) / 255 }

    /// Whether the tile is constant (every pixel decodes to `lo`).
    public var isConstant: Bool { hi == lo }

    /// Pixels per unit of value, `255 / (hi − lo)` (0 for a constant tile).
    public var pixelScale: Float { isConstant ? 0 : 255 / (hi - lo) }

    /// The pixel for `w`: `(w − lo) · pixelScale` clamped to 0…255 and rounded to nearest (ties to even).
    @inline(__always)
    public func pixel(_ w: Float) -> UInt8 {
        if isConstant { return 128 }
        return Self.pixel(w, lo: lo, scale: pixelScale)
    }

    /// The encoder's one definition of the mapping, shared by `pixel(_:)` and the codec's loops:
    /// clamp to 0…255 (NaN goes to 0), then round to nearest, ties to even, by adding 2²³ (where the
    /// float's spacing is 1, so the integer lands in the low mantissa bits): no libm call, no trap.
    @inline(__always)
    static func pixel(_ w: Float, lo: Float, scale: Float) -> UInt8 {
        let q = (w - lo) * scale
        let p = q >= 0 ? min(q, 255) : 0
        return UInt8(truncatingIfNeeded: (p + 0x1p23).bitPattern)
    }

    /// `pixel(_:lo:scale:)` for `count` values. (Explicit SIMD types were measured slower here: Swift's
    /// generic SIMD conversions do not compile to vector instructions on baseline x86-64.)
    @inline(__always)
    static func pixels(_ w: UnsafePointer<Float>, count: Int, lo: Float, scale: Float, into out: UnsafeMutablePointer<UInt8>) {
        for x in 0..<count { out[x] = pixel(w[x], lo: lo, scale: scale) }
    }

    /// `value(_:)` of `count` pixels, the same floats as `lookupTable[pixel]` (the same expression,
    /// `lo + Float(pixel) · step`, evaluated per element; a plain loop the compiler vectorizes,
    /// where a table lookup is a gather).
    @inline(__always)
    func values(_ pixels: UnsafePointer<UInt8>, count: Int, into out: UnsafeMutablePointer<Float>) {
        if isConstant {
            out.update(repeating: lo, count: count)
            return
        }
        let lo = self.lo, step = self.step
        for x in 0..<count { out[x] = lo + Float(pixels[x]) * step }
    }

    /// The 256 floats that the pixels decode to.
    public var lookupTable: [Float] { (0...255).map { value(UInt8($0)) } }

    /// The float for `pixel`.
    @inline(__always)
    public func value(_ pixel: UInt8) -> Float {
        isConstant ? lo : lo + Float(pixel) * step
    }

    /// The tightest mapping covering `values`, with end points rounded outward to float16 when
    /// `halfPrecision` (so the stored scales are exact and every value stays within range).
    public static func covering<C: Collection>(_ values: C, halfPrecision: Bool) -> PixelMapping where C.Element == Float {
        var lo = Float.infinity, hi = -Float.infinity
        for v in values { lo = min(lo, v); hi = max(hi, v) }
        if lo > hi { return PixelMapping(lo: 0, hi: 0) }
        guard halfPrecision, lo != hi else { return PixelMapping(lo: lo, hi: hi) }
        return PixelMapping(lo: HalfPrecision.roundedDown(lo), hi: HalfPrecision.roundedUp(hi))
    }
}

extension HalfPrecision {
    /// The largest float16 value ≤ `x` (as a Float); `x` must be finite and within float16 range.
    static func roundedDown(_ x: Float) -> Float {
        var h = float(fromHalfBits: halfBits(from: x))
        if h > x { h = float(fromHalfBits: nextHalf(halfBits(from: h), up: false)) }
        return h
    }

    /// The smallest float16 value ≥ `x` (as a Float).
    static func roundedUp(_ x: Float) -> Float {
        var h = float(fromHalfBits: halfBits(from: x))
        if h < x { h = float(fromHalfBits: nextHalf(halfBits(from: h), up: true)) }
        return h
    }

    /// Whether `x` is exactly a float16 value.
    static func isExact(_ x: Float) -> Bool { float(fromHalfBits: halfBits(from: x)) == x }

    /// The neighboring float16 bit pattern towards +∞ (`up`) or −∞.
    private static func nextHalf(_ bits: UInt16, up: Bool) -> UInt16 {
        let negative = bits & 0x8000 != 0
        if bits & 0x7FFF == 0 { return up ? 0x0001 : 0x8001 }
        // Moving away from zero increments the magnitude; towards zero decrements it.
        return (up != negative) ? bits + 1 : bits - 1
    }
}
