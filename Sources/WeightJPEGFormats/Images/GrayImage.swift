/// An 8-bit grayscale image, rows stored top to bottom without padding.
public struct GrayImage: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// `width * height` samples, row-major.
    public var pixels: [UInt8]

    /// Creates an image from row-major samples (`pixels.count` should be `width * height`;
    /// the encoder checks it).
    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
