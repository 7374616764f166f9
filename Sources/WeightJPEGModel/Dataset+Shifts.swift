extension Dataset {
    /// The one-pixel translations `shiftedCopies()` makes of each image, as (down, right) offsets:
    /// down, up, right, left.
    public static let shiftOffsets: [(rows: Int, columns: Int)] = [(1, 0), (-1, 0), (0, 1), (0, -1)]

    /// Every image moved by one pixel in each of the four directions of `shiftOffsets` (the pixels
    /// moved in are background, 0), image after image: copies `4i…4i+3` are image `i`'s, with its
    /// label.
    ///
    /// A model trained on an image has not seen its shifted copies: for the MNIST MLPs trained on
    /// all 60,000 training images that docs/results/rate-promise.txt measures, accuracy on images
    /// 50,000…59,999 is 98.8–100 % (memorized), on their shifted copies 95.4–98.0 %, on the test set
    /// 97.0–98.5 %. So the copies stand in for unseen images when a model was trained on every
    /// labelled image there is. Four copies of one image are not independent samples: group them
    /// (`AccuracyDrop`'s `clusterSize`) when estimating a standard error.
    public func shiftedCopies() -> Dataset { translatedCopies(Self.shiftOffsets) }

    /// Every image followed by its `shiftedCopies()` (image `i` is image `5i`, its copies `5i+1…5i+4`),
    /// for a drop measured on unseen images and slightly moved ones together: group each five
    /// (`AccuracyDrop`'s `clusterSize`) when estimating a standard error.
    public func withShiftedCopies() -> Dataset { translatedCopies([(0, 0)] + Self.shiftOffsets) }

    /// Each image moved by every offset of `offsets` in turn (the pixels moved in are background, 0;
    /// offset (0, 0) is the image itself), copies of one image adjacent, each with its label.
    func translatedCopies(_ offsets: [(rows: Int, columns: Int)]) -> Dataset {
        let r = rows, c = columns, size = pixelsPerImage
        var moved = [UInt8](repeating: 0, count: images.count * offsets.count)
        images.withUnsafeBufferPointer { source in
            moved.withUnsafeMutableBufferPointer { target in
                for image in 0..<count {
                    let from = image * size
                    for (k, offset) in offsets.enumerated() {
                        let to = (image * offsets.count + k) * size
                        for y in max(0, offset.rows)..<min(r, r + offset.rows) {
                            let sourceRow = from + (y - offset.rows) * c
                            for x in max(0, offset.columns)..<min(c, c + offset.columns) {
                                target[to + y * c + x] = source[sourceRow + x - offset.columns]
                            }
                        }
                    }
                }
            }
        }
        let labels = self.labels.flatMap { [UInt8](repeating: $0, count: offsets.count) }
        return Dataset(images: moved, labels: labels, rows: rows, columns: columns)
    }
}
