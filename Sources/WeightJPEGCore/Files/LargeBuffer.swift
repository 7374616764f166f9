import Foundation

/// An uninitialized byte buffer for one tensor's output, handed over to a `Data` without a copy.
/// Buffers of 4 MiB or more are mapped directly and marked for transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`, where the kernel offers them), so filling a large tensor costs one
/// page fault per 2 MiB instead of one per 4 KiB; smaller ones come from the allocator.
package final class LargeBuffer {
    /// The bytes (uninitialized).
    package let bytes: UnsafeMutableRawBufferPointer
    private let mapped: Bool
    private var owned = true

    static let mappingThreshold = 4 << 20

    /// A buffer of `byteCount` bytes.
    package init(byteCount: Int) {
        precondition(byteCount >= 0)
        if byteCount >= Self.mappingThreshold,
           let p = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
           p != UnsafeMutableRawPointer(bitPattern: -1) {
            #if os(Linux)
            _ = madvise(p, byteCount, 14)  // MADV_HUGEPAGE
            #endif
            bytes = UnsafeMutableRawBufferPointer(start: p, count: byteCount)
            mapped = true
        } else {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
            bytes = UnsafeMutableRawBufferPointer(start: p, count: byteCount)
            mapped = false
        }
    }

    /// Marks the 2 MiB-aligned interior of a large buffer (at least `mappingThreshold` bytes, not yet
    /// touched) for transparent huge pages; no effect on smaller buffers or off Linux.
    package static func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard buffer.count >= mappingThreshold, let base = buffer.baseAddress else { return }
        let huge = 2 << 20
        let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: base) + buffer.count) & ~(huge - 1)
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, 14) }  // MADV_HUGEPAGE
        #endif
    }

    deinit {
        if owned { Self.free(bytes.baseAddress!, count: bytes.count, mapped: mapped) }
    }

    private static func free(_ p: UnsafeMutableRawPointer, count: Int, mapped: Bool) {
        if mapped { munmap(p, count) } else { p.deallocate() }
    }

    /// The first `bytes.count` bytes as a `Data` that owns the buffer (freed with it); call once.
    package func data() -> Data {
        precondition(owned, "LargeBuffer.data() called twice")
        owned = false
        let mapped = self.mapped
        let count = bytes.count
        guard count > 0 else {
            Self.free(bytes.baseAddress!, count: count, mapped: mapped)
            return Data()
        }
        return Data(bytesNoCopy: bytes.baseAddress!, count: count, deallocator: .custom { p, _ in
            Self.free(p, count: count, mapped: mapped)
        })
    }
}
