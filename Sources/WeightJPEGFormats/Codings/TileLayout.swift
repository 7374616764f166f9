/// How a 2-D tensor (`rows × columns`) is cut into image tiles for JPEG.
public enum TileLayout: Equatable, Sendable, CustomStringConvertible {
    /// Each row is one `height × width` image (`columns == height * width`): the founding view, where
    /// row j of a `Linear(784, n)` weight is neuron j's 28×28 receptive field.
    case rows(height: Int, width: Int)
    /// The tensor as one image cut into tiles of at most `tileHeight × tileWidth`.
    case matrix(tileHeight: Int, tileWidth: Int)

    /// The default tile size of the matrix layout.
    public static let defaultMatrix = TileLayout.matrix(tileHeight: 64, tileWidth: 64)

    public var description: String {
        switch self {
        case .rows(let h, let w): return "rows:\(h)x\(w)"
        case .matrix(let h, let w): return "matrix:\(h)x\(w)"
        }
    }

    /// Parses `rows:28x28`, `matrix` or `matrix:64x64`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        func size(_ s: String) -> (Int, Int)? {
            let pieces = s.lowercased().split(separator: "x", omittingEmptySubsequences: false)
            let hw = pieces.compactMap { Int($0) }
            guard pieces.count == 2, hw.count == 2, (1...4096).contains(hw[0]), (1...4096).contains(hw[1]) else { return nil }
            return (hw[0], hw[1])
        }
        switch parts.first {
        case "rows":
            guard parts.count == 2, let (h, w) = size(parts[1]) else { return nil }
            self = .rows(height: h, width: w)
        case "matrix":
            if parts.count == 1 { self = Self.defaultMatrix; return }
            guard let (h, w) = size(parts[1]) else { return nil }
            self = .matrix(tileHeight: h, tileWidth: w)
        default:
            return nil
        }
    }

    /// Whether a `rows × columns` tensor can be laid out this way.
    public func fits(rows: Int, columns: Int) -> Bool {
        switch self {
        case .rows(let h, let w): return rows > 0 && columns == h * w
        case .matrix: return rows > 0 && columns > 0
        }
    }

    /// The grid of tiles for a `rows × columns` tensor: tiles per column and per row of the grid.
    public func grid(rows: Int, columns: Int) -> (down: Int, across: Int) {
        switch self {
        case .rows: return (rows, 1)
        case .matrix(let th, let tw): return ((rows + th - 1) / th, (columns + tw - 1) / tw)
        }
    }

    /// Number of tiles that cover a `rows × columns` tensor (edge tiles may be partial).
    public func tileCount(rows: Int, columns: Int) -> Int {
        let g = grid(rows: rows, columns: columns)
        return g.down * g.across
    }

    /// The full tile size (before padding): every tile has this size except, in the matrix layout,
    /// the last ones of the grid, which may be smaller.
    public var tileSize: (height: Int, width: Int) {
        switch self {
        case .rows(let h, let w): return (h, w)
        case .matrix(let h, let w): return (h, w)
        }
    }

    /// The size of tile `t` of a `rows × columns` tensor.
    public func size(ofTile t: Int, rows: Int, columns: Int) -> (height: Int, width: Int) {
        switch self {
        case .rows(let h, let w): return (h, w)
        case .matrix(let th, let tw):
            let g = grid(rows: rows, columns: columns)
            let (i, j) = (t / g.across, t % g.across)
            return (min(th, rows - i * th), min(tw, columns - j * tw))
        }
    }

    /// The position in the tensor's row-major storage of element `(y, x)` of tile `t`.
    @inline(__always)
    public func elementIndex(tile t: Int, y: Int, x: Int, columns: Int, across: Int) -> Int {
        switch self {
        case .rows(_, let w): return t * columns + y * w + x
        case .matrix(let th, let tw): return ((t / across) * th + y) * columns + (t % across) * tw + x
        }
    }

    /// The range of row-major storage covered by the row of tiles that holds tile `t` (its tensor
    /// row in the rows layout; its band of `tileHeight` rows in the matrix layout): contiguous, and
    /// in increasing order of `t`.
    public func band(ofTile t: Int, rows: Int, columns: Int) -> Range<Int> {
        switch self {
        case .rows: return t * columns ..< (t + 1) * columns
        case .matrix(let th, _):
            let i = t / grid(rows: rows, columns: columns).across
            return i * th * columns ..< min((i + 1) * th, rows) * columns
        }
    }

    /// The storage index of element `(y, 0)` of tile `t`: each tile row is contiguous in storage.
    @inline(__always)
    public func rowStart(tile t: Int, y: Int, columns: Int, across: Int) -> Int {
        elementIndex(tile: t, y: y, x: 0, columns: columns, across: across)
    }

    /// Calls `body(y, x, index)` for every element of tile `t`, where `index` is the element's
    /// position in the tensor's row-major storage.
    @inline(__always)
    public func forEachElement(ofTile t: Int, rows: Int, columns: Int, _ body: (Int, Int, Int) -> Void) {
        switch self {
        case .rows(let h, let w):
            let base = t * columns
            for y in 0..<h { for x in 0..<w { body(y, x, base + y * w + x) } }
        case .matrix(let th, let tw):
            let g = grid(rows: rows, columns: columns)
            let (i, j) = (t / g.across, t % g.across)
            let (h, w) = size(ofTile: t, rows: rows, columns: columns)
            for y in 0..<h {
                let base = (i * th + y) * columns + j * tw
                for x in 0..<w { body(y, x, base + x) }
            }
        }
    }
}

/// Rounds up to a multiple of 8, the JPEG block size.
@inline(__always)
package func roundUpToBlock(_ n: Int) -> Int { (n + 7) & ~7 }
