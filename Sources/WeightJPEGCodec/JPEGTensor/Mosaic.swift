/// Where tiles sit in mosaic images: tiles padded to whole 8×8 blocks (`slotHeight × slotWidth`),
/// placed left to right, top to bottom, `columns` per row, at most `tilesPerImage` per image.
package struct Mosaic: Equatable {
    let tileCount: Int
    let slotHeight: Int
    let slotWidth: Int
    let columns: Int
    let tilesPerImage: Int

    package init(tileCount: Int, slotHeight: Int, slotWidth: Int, columns: Int, tilesPerImage: Int) {
        self.tileCount = tileCount
        self.slotHeight = slotHeight
        self.slotWidth = slotWidth
        self.columns = columns
        self.tilesPerImage = tilesPerImage
    }

    /// The largest side, in pixels, of a mosaic image the encoder writes (unless one tile's slot is
    /// larger). A tensor of more than about 2048² pixels is split into several images, so that
    /// libjpeg's whole-image buffers (the pixels, and two bytes per coefficient for the optimized
    /// Huffman tables' second pass) stay near 12 MB per worker however large the tensor; each
    /// further image costs its headers and tables (about 0.26 KB each on the 32,000 × 768 embedding
    /// of `bench model`'s checkpoint: six images instead of one, 1,291 B more).
    static let maximumSide = 2048

    /// The layout the encoder chooses: a near-square grid of images of at most `maximumSide` (and
    /// JPEG's 65,500) pixels a side.
    static func choose(tileCount: Int, slotHeight: Int, slotWidth: Int) -> Mosaic {
        let limit = min(JPEG.maxDimension, maximumSide)
        var columns = max(1, Int(Double(tileCount).squareRoot().rounded(.up)))
        columns = min(columns, max(1, limit / slotWidth))
        let rowsNeeded = (tileCount + columns - 1) / columns
        let rowsPerImage = max(1, min(rowsNeeded, limit / slotHeight))
        return Mosaic(tileCount: tileCount, slotHeight: slotHeight, slotWidth: slotWidth,
                      columns: columns, tilesPerImage: columns * rowsPerImage)
    }

    package var imageCount: Int { (tileCount + tilesPerImage - 1) / tilesPerImage }

    /// Tiles in image `k`.
    package func tiles(inImage k: Int) -> Range<Int> {
        (k * tilesPerImage)..<min(tileCount, (k + 1) * tilesPerImage)
    }

    /// Pixel size of image `k`.
    package func size(ofImage k: Int) -> (width: Int, height: Int) {
        let n = tiles(inImage: k).count
        let rows = (n + columns - 1) / columns
        return (min(n, columns) * slotWidth, rows * slotHeight)
    }

    /// Top-left pixel of tile `t` within its image.
    @inline(__always)
    package func origin(ofTile t: Int) -> (x: Int, y: Int) {
        let local = t % tilesPerImage
        return ((local % columns) * slotWidth, (local / columns) * slotHeight)
    }
}
