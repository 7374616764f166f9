import Foundation

/// A strict check that a page is well-formed XML and, read as HTML, means the same: every element
/// closed in order, one root, attributes quoted and not repeated, `&` only in entities, comments
/// and CDATA sections closed, and only void HTML elements (or SVG elements) written as `<x/>` (an
/// HTML parser would treat `<div/>` as an open tag).
enum XMLWellFormedness {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let voidElements: Set<String> = ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]

    static func check(_ text: String) throws {
        let s = Array(text.utf8)
        var i = 0, stack: [String] = [], roots = 0
        func fail(_ what: String) -> Failure {
            let line = s[0..<min(i, s.count)].filter { $0 == UInt8(ascii: "\n") }.count + 1
            return Failure(description: "line \(line): \(what)")
        }
        func starts(_ prefix: String, at k: Int) -> Bool {
            let p = Array(prefix.utf8)
            return k + p.count <= s.count && Array(s[k..<(k + p.count)]) == p
        }
        func find(_ marker: String, from k: Int) throws -> Int {
            var j = k
            while j < s.count { if starts(marker, at: j) { return j }; j += 1 }
            throw fail("unterminated, expected \(marker)")
        }
        func checkEntities(_ bytes: ArraySlice<UInt8>) throws {
            let t = String(decoding: bytes, as: UTF8.self)
            var rest = t[...]
            while let amp = rest.firstIndex(of: "&") {
                let after = rest[rest.index(after: amp)...]
                guard let semi = after.firstIndex(of: ";") else { throw fail("bare & in \(t.prefix(60))") }
                let name = after[..<semi]
                let ok = ["amp", "lt", "gt", "quot", "apos"].contains(name)
                    || (name.hasPrefix("#x") && name.count > 2 && name.dropFirst(2).allSatisfy(\.isHexDigit))
                    || (name.hasPrefix("#") && name.count > 1 && name.dropFirst().allSatisfy(\.isNumber))
                guard ok else { throw fail("unknown entity &\(name);") }
                rest = after[after.index(after: semi)...]
            }
        }
        func isNameByte(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F || b == 0x3A || b == 0x2E
        }
        func skipSpace(_ k: inout Int) { while k < s.count, [0x20, 0x0A, 0x09, 0x0D].contains(s[k]) { k += 1 } }

        while i < s.count {
            guard let lt = s[i...].firstIndex(of: UInt8(ascii: "<")) else {
                try checkEntities(s[i...])
                break
            }
            try checkEntities(s[i..<lt])
            if lt > i && stack.isEmpty && !s[i..<lt].allSatisfy({ [0x20, 0x0A, 0x09, 0x0D].contains($0) }) {
                throw fail("text outside the root element")
            }
            i = lt
            if starts("<!--", at: i) { i = try find("-->", from: i + 4) + 3; continue }
            if starts("<![CDATA[", at: i) {
                guard !stack.isEmpty else { throw fail("CDATA outside the root") }
                i = try find("]]>", from: i + 9) + 3
                continue
            }
            if starts("<!DOCTYPE", at: i) {
                guard roots == 0 && stack.isEmpty else { throw fail("DOCTYPE after the root") }
                i = try find(">", from: i) + 1
                continue
            }
            if starts("</", at: i) {
                var k = i + 2, name = ""
                while k < s.count, isNameByte(s[k]) { name.append(Character(UnicodeScalar(s[k]))); k += 1 }
                skipSpace(&k)
                guard k < s.count, s[k] == UInt8(ascii: ">") else { throw fail("bad end tag </\(name)") }
                guard stack.last == name else { throw fail("</\(name)> closes <\(stack.last ?? "nothing")>") }
                stack.removeLast()
                i = k + 1
                continue
            }
            var k = i + 1, name = ""
            while k < s.count, isNameByte(s[k]) { name.append(Character(UnicodeScalar(s[k]))); k += 1 }
            guard !name.isEmpty else { throw fail("< not starting a tag") }
            var attributes = Set<String>()
            while true {
                skipSpace(&k)
                guard k < s.count else { throw fail("unterminated <\(name)") }
                if s[k] == UInt8(ascii: ">") || starts("/>", at: k) { break }
                var attribute = ""
                while k < s.count, isNameByte(s[k]) { attribute.append(Character(UnicodeScalar(s[k]))); k += 1 }
                guard !attribute.isEmpty, attributes.insert(attribute).inserted else { throw fail("bad or repeated attribute in <\(name)") }
                guard k < s.count, s[k] == UInt8(ascii: "=") else { throw fail("attribute \(attribute) of <\(name)> has no value") }
                k += 1
                guard k < s.count, s[k] == UInt8(ascii: "\"") || s[k] == UInt8(ascii: "'") else { throw fail("attribute \(attribute) of <\(name)> is not quoted") }
                let quote = s[k]
                guard let end = s[(k + 1)...].firstIndex(of: quote) else { throw fail("unterminated attribute value") }
                guard !s[(k + 1)..<end].contains(UInt8(ascii: "<")) else { throw fail("< in an attribute value of <\(name)>") }
                try checkEntities(s[(k + 1)..<end])
                k = end + 1
            }
            let selfClosing = starts("/>", at: k)
            if stack.isEmpty {
                roots += 1
                guard roots == 1 else { throw fail("a second root element <\(name)>") }
            }
            if selfClosing {
                guard voidElements.contains(name) || stack.contains("svg") || name == "svg" else { throw fail("<\(name)/> is not a void HTML element") }
                i = k + 2
            } else {
                guard !voidElements.contains(name) else { throw fail("void element <\(name)> is not closed with />") }
                stack.append(name)
                i = k + 1
            }
        }
        guard stack.isEmpty else { throw fail("unclosed elements: \(stack.joined(separator: " > "))") }
        guard roots == 1 else { throw fail("no root element") }
    }
}

/// A check that a page loads nothing from outside itself: no `http:`/`https:` anywhere, no
/// `<link>`, no `<script src>`, no CSS `@import`, and every `src`, `href` and CSS `url(...)` a
/// `data:` URI or a `#fragment`.
enum SelfContainment {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func check(_ html: String) throws {
        let lower = html.lowercased()
        for forbidden in ["http:", "https:", "<link", "@import", "<iframe", "<object"] where lower.contains(forbidden) {
            throw Failure(description: "contains \(forbidden)")
        }
        for attribute in [" src=", " href=", "url("] {
            for piece in lower.components(separatedBy: attribute).dropFirst() {
                let value = piece.drop { $0 == "\"" || $0 == "'" }
                guard value.hasPrefix("data:") || value.hasPrefix("#") else {
                    throw Failure(description: "\(attribute) refers to \(value.prefix(40))")
                }
            }
        }
        if lower.range(of: "<script[^>]*src", options: .regularExpression) != nil { throw Failure(description: "a script with src") }
    }
}
