import Foundation

/// `1234567` → `"1,234,567"` (thousands grouped with commas whatever the locale, as every report prints counts).
package func grouped(_ n: Int) -> String {
    let s = String(n.magnitude)
    var out = ""
    for (i, ch) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return n < 0 ? "-" + out : out
}

/// `x` with `digits` decimals (C's `%.Nf`: rounding half to even on the binary value, no locale).
package func fixed(_ x: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", x)
}
