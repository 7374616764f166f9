/// A small strict JSON (RFC 8259) reader and string quoter for safetensors headers.
///
/// Why not `JSONSerialization`: it turns numbers into `Double`/`NSNumber` (offsets above 2⁵³ would
/// silently round, and `2.0` would pass as a dimension), it lets duplicate keys overwrite each
/// other silently, and it loses key order. This reader keeps every number's literal text, keeps
/// objects as ordered key/value lists (duplicates included, so the caller can reject them), and
/// caps nesting depth so hostile input cannot overflow the stack.
package enum SafetensorsJSON {
    /// A parsed JSON value.
    enum Value {
        case null
        case bool(Bool)
        /// The literal text and, when the literal is an integer (no fraction or exponent) that fits
        /// in `Int`, its exact value.
        case number(text: String, integer: Int?)
        case string(String)
        case array([Value])
        /// Members in document order, duplicates kept.
        case object([(key: String, value: Value)])

        /// The JSON type's name, for error messages.
        var typeName: String {
            switch self {
            case .null: "null"
            case .bool: "a boolean"
            case .number: "a number"
            case .string: "a string"
            case .array: "an array"
            case .object: "an object"
            }
        }
    }

    /// A syntax error at byte `offset` of the header.
    struct ParseError: Error, CustomStringConvertible {
        let message: String
        let offset: Int
        var description: String { "\(message) at byte \(offset)" }
    }

    /// Deepest array/object nesting accepted (safetensors headers need 3).
    static let maximumDepth = 64

    /// Parses one JSON value surrounded by optional whitespace, nothing else.
    static func parse(_ bytes: [UInt8]) throws(ParseError) -> Value {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected data after the JSON value") }
        return value
    }

    /// `text` as a JSON string literal, quotes included (escapes `"`, `\` and control characters).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ message: String) -> ParseError { ParseError(message: message, offset: position) }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
        }

        mutating func expect(_ literal: String) throws(ParseError) {
            for byte in literal.utf8 {
                guard current == byte else { throw error("invalid literal, expected '\(literal)'") }
                position += 1
            }
        }

        mutating func value(depth: Int) throws(ParseError) -> Value {
            guard let c = current else { throw error("unexpected end of input") }
            switch c {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
            }
        }

        mutating func object(depth: Int) throws(ParseError) -> Value {
            guard depth <= SafetensorsJSON.maximumDepth else { throw error("nesting deeper than \(SafetensorsJSON.maximumDepth)") }
            position += 1  // {
            var members: [(key: String, value: Value)] = []
            skipWhitespace()
            if current == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try string()
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
                position += 1
                skipWhitespace()
                let member = try value(depth: depth)
                members.append((key, member))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "}"): position += 1; return .object(members)
                default: throw error("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws(ParseError) -> Value {
            guard depth <= SafetensorsJSON.maximumDepth else { throw error("nesting deeper than \(SafetensorsJSON.maximumDepth)") }
            position += 1  // [
            var elements: [Value] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
            while true {
                skipWhitespace()
                elements.append(try value(depth: depth))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "]"): position += 1; return .array(elements)
                default: throw error("expected ',' or ']'")
                }
            }
        }

        /// A string literal starting at the opening quote. The caller has validated the whole
        /// header as UTF-8, so raw bytes can be copied through.
        mutating func string() throws(ParseError) -> String {
            position += 1  // opening quote
            var utf8: [UInt8] = []
            while true {
                guard let c = current else { throw error("unterminated string") }
                switch c {
                case UInt8(ascii: "\""):
                    position += 1
                    return String(decoding: utf8, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    position += 1
                    guard let e = current else { throw error("unterminated escape") }
                    position += 1
                    switch e {
                    case UInt8(ascii: "\""): utf8.append(0x22)
                    case UInt8(ascii: "\\"): utf8.append(0x5C)
                    case UInt8(ascii: "/"): utf8.append(0x2F)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalarValue = try hex4()
                        if (0xD800...0xDBFF).contains(scalarValue) {
                            // A high surrogate must be followed by an escaped low surrogate.
                            guard current == UInt8(ascii: "\\") else { throw error("unpaired surrogate") }
                            position += 1
                            guard current == UInt8(ascii: "u") else { throw error("unpaired surrogate") }
                            position += 1
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                            scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalarValue) {
                            throw error("unpaired surrogate")
                        }
                        guard let scalar = Unicode.Scalar(scalarValue) else { throw error("invalid \\u escape") }
                        utf8.append(contentsOf: String(Character(scalar)).utf8)
                    default:
                        throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
                    }
                case 0x00..<0x20:
                    throw error("unescaped control character in string")
                default:
                    utf8.append(c)
                    position += 1
                }
            }
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            var result: UInt32 = 0
            for _ in 0..<4 {
                guard let c = current else { throw error("truncated \\u escape") }
                let digit: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw error("invalid hex digit in \\u escape")
                }
                result = result << 4 | digit
                position += 1
            }
            return result
        }

        /// A number per the JSON grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
        mutating func number() throws(ParseError) -> Value {
            let start = position
            var negative = false
            if current == UInt8(ascii: "-") { negative = true; position += 1 }
            guard let first = current, isDigit(first) else { throw error("expected a digit") }
            // Accumulate the integer part exactly, noting overflow instead of trapping.
            var magnitude = 0
            var overflow = false
            if first == UInt8(ascii: "0") {
                position += 1
                if let next = current, isDigit(next) { throw error("leading zero in number") }
            } else {
                while let c = current, isDigit(c) {
                    let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (m2, o2) = m1.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
                    overflow = overflow || o1 || o2
                    magnitude = m2
                    position += 1
                }
            }
            var isInteger = true
            if current == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                guard let c = current, isDigit(c) else { throw error("expected a digit after '.'") }
                while let c = current, isDigit(c) { position += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isInteger = false
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                guard let c = current, isDigit(c) else { throw error("expected a digit in the exponent") }
                while let c = current, isDigit(c) { position += 1 }
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            // Int.min's magnitude overflows a positive Int; dimensions and offsets never need it.
            let integer = isInteger && !overflow ? (negative ? -magnitude : magnitude) : nil
            return .number(text: text, integer: integer)
        }

        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    }
}
