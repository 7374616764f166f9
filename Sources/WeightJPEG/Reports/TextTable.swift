/// Fixed-width text cells, the one formatter behind every table the CLI and the tools print.
/// Widths count `Character`s (so "×" and "←" take one column each); a cell longer than its column
/// is kept whole and pushes the rest of its line right, unless the column truncates.
package enum TextTable {
    package enum Alignment: Sendable { case left, right }

    /// A column's width and alignment.
    package struct Column: Sendable {
        package var width: Int
        package var alignment: Alignment
        /// Cut longer cells to `width`.
        package var truncates: Bool

        package init(_ width: Int, _ alignment: Alignment = .right, truncates: Bool = false) {
            self.width = width
            self.alignment = alignment
            self.truncates = truncates
        }
    }

    /// `text` padded with spaces to `column.width` on the side its alignment leaves free.
    package static func pad(_ text: String, _ column: Column) -> String {
        let count = text.count
        if count >= column.width {
            return column.truncates ? String(text.prefix(column.width)) : text
        }
        let fill = String(repeating: " ", count: column.width - count)
        return column.alignment == .right ? fill + text : text + fill
    }

    /// `text` right-aligned in `width` columns.
    package static func right(_ text: String, _ width: Int) -> String { pad(text, Column(width, .right)) }
    /// `text` left-aligned in `width` columns.
    package static func left(_ text: String, _ width: Int) -> String { pad(text, Column(width, .left)) }
}
