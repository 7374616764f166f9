/// An immutable array whose elements stay at one address for its whole lifetime, so a hot loop can
/// read a plain pointer instead of nesting one `withUnsafeBufferPointer` closure per array.
///
/// The elements are copied once, in `init`, and never written again; that is what makes sharing the
/// storage between copies (a class) and between threads (`Sendable`) safe.
package final class PinnedArray<Element: BitwiseCopyable>: @unchecked Sendable {
    /// The first element; valid for `count` elements (never nil: an empty array still owns one slot).
    package let base: UnsafePointer<Element>
    /// Number of elements.
    package let count: Int

    /// A pinned copy of `elements`.
    package init(_ elements: [Element]) {
        let storage = UnsafeMutablePointer<Element>.allocate(capacity: max(elements.count, 1))
        elements.withUnsafeBufferPointer { source in
            if let start = source.baseAddress { storage.initialize(from: start, count: source.count) }
        }
        base = UnsafePointer(storage)
        count = elements.count
    }

    deinit { UnsafeMutablePointer(mutating: base).deallocate() }

    /// Element `i` (unchecked beyond the pointer's own debug checks).
    @inline(__always)
    package subscript(i: Int) -> Element { base[i] }
}
