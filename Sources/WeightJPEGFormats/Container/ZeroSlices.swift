import Foundation

/// Slices of a tensor that were removed before coding because they are all zero in effect (the
/// rows and columns of dead hidden units: a unit that never activates contributes nothing), and that
/// decompression puts back as zeros so that every tensor has its original shape.
///
/// `indices` are positions along `axis` in the original tensor, strictly ascending; the stored
/// tensor has `indices.count` fewer entries along that axis. A tensor may carry one record per axis
/// (a middle layer loses rows for its own dead units and columns for the previous layer's).
/// Zero bytes are zero in every dtype the container stores, so restoring works on raw bytes.
/// docs/FORMAT.md §3 ("zero slices") gives the bytes.
public struct ZeroSlices: Equatable, Sendable {
    /// The dimension the slices run across (0: rows of a weight matrix or entries of a bias; 1: columns).
    public var axis: Int
    /// Positions of the removed slices in the original tensor, strictly ascending.
    public var indices: [Int]

    /// Slices along `axis` at `indices` (ascending, distinct).
    public init(axis: Int, indices: [Int]) {
        self.axis = axis
        self.indices = indices
    }

    /// The original shape of a tensor stored as `shape` with `slices` removed.
    public static func restoredShape(_ shape: [Int], _ slices: [ZeroSlices]) -> [Int] {
        var out = shape
        for s in slices where s.axis < out.count { out[s.axis] += s.indices.count }
        return out
    }

    /// Why `slices` cannot describe a tensor stored as `shape`, or nil: axes in range, ascending and
    /// distinct, each record non-empty with strictly ascending indices below the restored length,
    /// restored dimensions ≤ 2³¹−1 and restored element count ≤ 2⁴⁰.
    public static func refusal(_ slices: [ZeroSlices], shape: [Int]) -> String? {
        var previousAxis = -1
        for s in slices {
            guard s.axis > previousAxis, s.axis < shape.count else {
                return "zero slices on axis \(s.axis) of a rank-\(shape.count) tensor (axes must be ascending and below the rank)"
            }
            previousAxis = s.axis
            guard !s.indices.isEmpty else { return "empty zero-slice record on axis \(s.axis)" }
            let (length, overflow) = shape[s.axis].addingReportingOverflow(s.indices.count)
            guard !overflow, length <= Int(Int32.max) else { return "restored dimension on axis \(s.axis) is too large" }
            var previous = -1
            for i in s.indices {
                guard i > previous, i < length else {
                    return "zero-slice index \(i) on axis \(s.axis) is not ascending or not below the restored length \(length)"
                }
                previous = i
            }
        }
        var elements = 1
        for d in restoredShape(shape, slices) {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow, p <= 1 << 40 else { return "restored element count overflows" }
            elements = p
        }
        return nil
    }

    /// The bytes of the restored tensor: `stored` (row-major, `shape`, `elementSize` bytes per
    /// element) with zero slices inserted, written to `out` (exactly the restored size). `slices`
    /// must have passed `refusal(_:shape:)`.
    public static func restore(_ stored: UnsafeRawBufferPointer, shape: [Int], elementSize: Int,
                               slices: [ZeroSlices], into out: UnsafeMutableRawBufferPointer) {
        var current = Data(stored)
        var currentShape = shape
        for s in slices {
            let outer = currentShape[..<s.axis].reduce(1, *)
            let inner = currentShape[(s.axis + 1)...].reduce(1, *) * elementSize
            let storedLength = currentShape[s.axis], restoredLength = storedLength + s.indices.count
            var next = Data(count: outer * restoredLength * inner)
            if inner > 0 && outer > 0 {
                current.withUnsafeBytes { src in
                    next.withUnsafeMutableBytes { dst in
                        let removed = Set(s.indices)
                        var from = 0
                        for to in 0..<restoredLength where !removed.contains(to) {
                            for o in 0..<outer {
                                dst.baseAddress!.advanced(by: (o * restoredLength + to) * inner)
                                    .copyMemory(from: src.baseAddress!.advanced(by: (o * storedLength + from) * inner), byteCount: inner)
                            }
                            from += 1
                        }
                    }
                }
            }
            currentShape[s.axis] = restoredLength
            current = next
        }
        precondition(current.count == out.count, "restored tensor has \(current.count) bytes, output buffer \(out.count)")
        if !current.isEmpty { current.withUnsafeBytes { out.copyMemory(from: $0) } }
    }
}
