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

    /// The layout the encoder chooses: a near-square grid within JPEG's 65,500-pixel limit.
    static func choose(tileCount: Int, slotHeight: Int, slotWidth: Int) -> Mosaic {
        let limit = JPEG.maxDimension
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
