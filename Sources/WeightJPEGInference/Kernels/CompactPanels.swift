import WeightJPEGCore
import WeightJPEGCodec

/// The coefficients of `CompactKernel`, grouped into panels of 16 neurons.
///
/// Neurons are ordered so that a panel's neurons share their nonzero frequencies (`panelOrder`); a
/// panel stores only the frequency rows nonzero in one of its neurons, each row 16 consecutive
/// entries, entry `l` belonging to the panel's neuron `l` (`neuronOrder[16 p + l]`), so that the C
/// kernels widen a row with `vpmovsxbd`/`vpmovsxwd` straight into lane order. Rows of frequencies
/// whose `|q|` fits in 127 are Int8 (`q8`), the others Int16 (`q16`).
struct CompactPanels: Sendable {
    /// Neurons per panel: the kernel computes this many outputs together.
    static let lanes = 16

    /// Panel slot `16 p + l` → neuron (`outputs` or more for the padding of the last panel).
    let neuronOrder: PinnedArray<UInt16>
    /// `panelCount + 1` offsets into `index8` (rows of `q8`), and into `index16` (rows of `q16`).
    let start8: PinnedArray<Int32>
    let start16: PinnedArray<Int32>
    /// Per stored row, its frequency (column of the gathered input, `0..<K`).
    let index8: PinnedArray<UInt16>
    let index16: PinnedArray<UInt16>
    /// 16 bytes per stored row: neuron lane `l` at `byteSlot(l)`.
    let q8: PinnedArray<Int8>
    /// 16 halfwords per stored row: neuron lane `l` at `wordSlot(l)`.
    let q16: PinnedArray<Int16>

    /// Number of panels (the last one padded to 16 slots).
    var panelCount: Int { neuronOrder.count / Self.lanes }

    /// Byte offset, inside a panel's 16-byte Int8 row, of neuron lane `l`.
    @inline(__always)
    static func byteSlot(_ l: Int) -> Int { l }
    /// Halfword index, inside a panel's 16-entry Int16 row, of neuron lane `l`.
    @inline(__always)
    static func wordSlot(_ l: Int) -> Int { l }

    /// The panels of `s` over the frequencies `kept` (positions; the first `int8Rows` fit in Int8).
    init(_ s: CoefficientTensor, kept: [Int], int8Rows k8: Int) {
        let lanes = Self.lanes
        var column = [Int](repeating: -1, count: s.positionCount)
        for (c, p) in kept.enumerated() { column[p] = c }
        let order = Self.panelOrder(s, column: column, width: kept.count)
        let panels = order.count / lanes
        var start8: [Int32] = [0], start16: [Int32] = [0], index8: [UInt16] = [], index16: [UInt16] = []
        var q8: [Int8] = [], q16: [Int16] = []
        var row = [Int16](repeating: 0, count: lanes * kept.count)  // one panel, lane-major
        for p in 0..<panels {
            for i in row.indices { row[i] = 0 }
            var used = [Bool](repeating: false, count: kept.count)
            for l in 0..<lanes where Int(order[p * lanes + l]) < s.rows {
                let j = Int(order[p * lanes + l])
                for e in Int(s.rowStart[j])..<Int(s.rowStart[j + 1]) {
                    let c = column[Int(s.positions[e])]
                    row[l * kept.count + c] = s.values[e]
                    used[c] = true
                }
            }
            for c in 0..<kept.count where used[c] {
                if c < k8 {
                    index8.append(UInt16(c))
                    var r = [Int8](repeating: 0, count: lanes)
                    for l in 0..<lanes { r[Self.byteSlot(l)] = Int8(row[l * kept.count + c]) }
                    q8 += r
                } else {
                    index16.append(UInt16(c))
                    var r = [Int16](repeating: 0, count: lanes)
                    for l in 0..<lanes { r[Self.wordSlot(l)] = row[l * kept.count + c] }
                    q16 += r
                }
            }
            start8.append(Int32(index8.count))
            start16.append(Int32(index16.count))
        }
        neuronOrder = PinnedArray(order)
        (self.start8, self.start16) = (PinnedArray(start8), PinnedArray(start16))
        (self.index8, self.index16) = (PinnedArray(index8), PinnedArray(index16))
        (self.q8, self.q16) = (PinnedArray(q8), PinnedArray(q16))
    }

    /// Neurons in panel order: greedily, each panel starts from the remaining neuron with the most
    /// nonzero frequencies and adds the neuron that adds the fewest new frequencies to the panel's
    /// union (bitsets over the K kept frequencies). Padded with `rows, rows + 1, …` to whole panels.
    static func panelOrder(_ s: CoefficientTensor, column: [Int], width: Int) -> [UInt16] {
        let words = (width + 63) / 64, lanes = Self.lanes
        var bits = [UInt64](repeating: 0, count: s.rows * max(words, 1))
        for j in 0..<s.rows {
            for e in Int(s.rowStart[j])..<Int(s.rowStart[j + 1]) {
                let c = column[Int(s.positions[e])]
                bits[j * words + c / 64] |= 1 << UInt64(c % 64)
            }
        }
        func size(_ j: Int) -> Int { (0..<words).reduce(0) { $0 + bits[j * words + $1].nonzeroBitCount } }
        var left = Array(0..<s.rows), order: [UInt16] = []
        var union = [UInt64](repeating: 0, count: words)
        while !left.isEmpty {
            let seed = left.indices.max { size(left[$0]) < size(left[$1]) }!
            let first = left.remove(at: seed)
            order.append(UInt16(first))
            for w in 0..<words { union[w] = bits[first * words + w] }
            for _ in 1..<lanes where !left.isEmpty {
                var best = 0, bestNew = Int.max
                for (i, j) in left.enumerated() {
                    var new = 0
                    for w in 0..<words { new += (bits[j * words + w] & ~union[w]).nonzeroBitCount }
                    if new < bestNew { (best, bestNew) = (i, new) }
                }
                let j = left.remove(at: best)
                order.append(UInt16(j))
                for w in 0..<words { union[w] |= bits[j * words + w] }
            }
        }
        while order.count % lanes != 0 { order.append(UInt16(s.rows + order.count % lanes)) }
        return order
    }

    /// The coefficients of panel slots `slots` (whole panels) as float32 rows, `slots.count × columns`
    /// row-major, zero where a panel stores no row.
    func expand(slots: Range<Int>, columns k: Int, into weights: UnsafeMutablePointer<Float>) {
        let lanes = Self.lanes
        let (s8, s16, i8, i16, w8, w16) = (start8.base, start16.base, index8.base, index16.base, q8.base, q16.base)
        weights.update(repeating: 0, count: slots.count * k)
        for p in (slots.lowerBound / lanes)..<(slots.upperBound / lanes) {
            let base = weights + (p * lanes - slots.lowerBound) * k
            for r in Int(s8[p])..<Int(s8[p + 1]) {
                let c = Int(i8[r])
                for l in 0..<lanes { base[l * k + c] = Float(w8[16 * r + Self.byteSlot(l)]) }
            }
            for r in Int(s16[p])..<Int(s16[p + 1]) {
                let c = Int(i16[r])
                for l in 0..<lanes { base[l * k + c] = Float(w16[16 * r + Self.wordSlot(l)]) }
            }
        }
    }
}
