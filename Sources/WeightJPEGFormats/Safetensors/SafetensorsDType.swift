/// An element type of a safetensors tensor; the raw value is the header's `"dtype"` string.
///
/// Only whole-byte types are listed; the sub-byte `F4`/`F6_*` types of recent safetensors
/// versions are rejected as unknown.
public enum SafetensorsDType: String, CaseIterable, Sendable {
    /// IEEE 754 binary64.
    case F64
    /// IEEE 754 binary32.
    case F32
    /// IEEE 754 binary16 (half).
    case F16
    /// bfloat16: the top 16 bits of a binary32.
    case BF16
    /// 8-bit float, 4 exponent and 3 mantissa bits.
    case F8_E4M3
    /// 8-bit float, 5 exponent and 2 mantissa bits.
    case F8_E5M2
    /// 8-bit power of two (exponent only, OCP microscaling).
    case F8_E8M0
    /// Complex of two binary32.
    case C64
    /// Signed 64-bit integer.
    case I64
    /// Signed 32-bit integer.
    case I32
    /// Signed 16-bit integer.
    case I16
    /// Signed 8-bit integer.
    case I8
    /// Unsigned 64-bit integer.
    case U64
    /// Unsigned 32-bit integer.
    case U32
    /// Unsigned 16-bit integer.
    case U16
    /// Unsigned 8-bit integer.
    case U8
    /// Boolean, one byte (0 or 1).
    case BOOL

    /// Size of one element, in bytes.
    public var byteSize: Int {
        switch self {
        case .F64, .I64, .U64, .C64: 8
        case .F32, .I32, .U32: 4
        case .F16, .BF16, .I16, .U16: 2
        case .F8_E4M3, .F8_E5M2, .F8_E8M0, .I8, .U8, .BOOL: 1
        }
    }

    /// Whether `SafetensorsTensor.floats()` can convert this type (F64, F32, F16, BF16).
    public var convertsToFloat: Bool {
        switch self {
        case .F64, .F32, .F16, .BF16: true
        default: false
        }
    }
}
