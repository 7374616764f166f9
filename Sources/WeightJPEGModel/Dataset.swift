import Foundation
import WeightJPEGFormats

/// Why a dataset could not be loaded; `description` is one line naming the file or directory.
public enum DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The directory does not exist (or is not a directory).
    case missingDirectory(String)
    /// None of the accepted spellings of a file exists in `directory`; `candidates` lists them,
    /// preferred first.
    case missingFile(directory: String, candidates: [String])
    /// An IDX file is unreadable or malformed (including a wrong rank: images need 3, labels 1).
    case file(IDXError)
    /// The image and label files disagree on the number of samples.
    case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
    /// A label outside 0...9, at sample `index`.
    case badLabel(path: String, index: Int, value: UInt8)

    public var description: String {
        switch self {
        case .missingDirectory(let directory):
            "\(directory): no such directory; run scripts/fetch-mnist to download MNIST"
        case .missingFile(let directory, let candidates):
            "\(directory): missing \(candidates.first ?? "file")"
                + (candidates.count > 1 ? " (also looked for \(candidates.dropFirst().joined(separator: ", ")))" : "")
                + "; run scripts/fetch-mnist to download MNIST"
        case .file(let error):
            error.description
        case .countMismatch(let imagesPath, let images, let labelsPath, let labels):
            "\(imagesPath) has \(images) images but \(labelsPath) has \(labels) labels"
        case .badLabel(let path, let index, let value):
            "\(path): label \(index) is \(value), expected 0...9"
        }
    }
}

/// An MNIST-style image classification set (MNIST, Fashion-MNIST): 8-bit grayscale images with
/// labels 0...9, read from the four standard IDX files.
public struct Dataset: Equatable, Sendable {
    /// Which half of the standard split.
    public enum Split: Sendable {
        /// The 60,000 training samples (`train-*` files).
        case train
        /// The 10,000 test samples (`t10k-*` files).
        case test
    }

    /// `count × rows × columns` pixels, 0 (background) to 255, image after image, row-major.
    public let images: [UInt8]
    /// `count` labels, each in 0...9.
    public let labels: [UInt8]
    /// Number of samples.
    public let count: Int
    /// Image height, in pixels.
    public let rows: Int
    /// Image width, in pixels.
    public let columns: Int

    /// Classes of an MNIST-style data set: labels are 0...9 (`load` rejects others), so a model
    /// evaluated on it must have 10 outputs.
    public static let classCount = 10

    /// Mean of MNIST training pixels scaled to 0...1 (PyTorch's MNIST normalization constant).
    public static let mean: Float = 0.1307
    /// Standard deviation of MNIST training pixels scaled to 0...1 (PyTorch's constant).
    public static let standardDeviation: Float = 0.3081

    /// A dataset over existing arrays; `images.count` must be `labels.count × rows × columns`.
    public init(images: [UInt8], labels: [UInt8], rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0, "negative image shape")
        precondition(images.count == labels.count * rows * columns,
                     "\(images.count) pixels for \(labels.count) images of \(rows) × \(columns)")
        self.images = images
        self.labels = labels
        self.count = labels.count
        self.rows = rows
        self.columns = columns
    }

    /// Pixels per image, `rows × columns`.
    public var pixelsPerImage: Int { rows * columns }

    /// Loads one split from `directory`, which holds the standard IDX files
    /// (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
    /// `t10k-labels-idx1-ubyte`), each possibly gzipped with a `.gz` suffix, and also accepted in
    /// the `train-images.idx3-ubyte` spelling.
    public static func load(directory: String, split: Split) throws(DatasetError) -> Dataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingDirectory(directory)
        }
        let prefix = split == .train ? "train" : "t10k"
        let imagesPath = try locate(directory: directory, stem: "\(prefix)-images", rank: 3)
        let labelsPath = try locate(directory: directory, stem: "\(prefix)-labels", rank: 1)

        let imageFile: IDXFile, labelFile: IDXFile
        do {
            imageFile = try IDXFile.read(path: imagesPath, rank: 3)
            labelFile = try IDXFile.read(path: labelsPath, rank: 1)
        } catch {
            throw .file(error)
        }
        let count = imageFile.dimensions[0]
        guard labelFile.dimensions[0] == count else {
            throw .countMismatch(imagesPath: imagesPath, images: count, labelsPath: labelsPath, labels: labelFile.dimensions[0])
        }
        if let bad = labelFile.bytes.firstIndex(where: { Int($0) >= classCount }) {
            throw .badLabel(path: labelsPath, index: bad, value: labelFile.bytes[bad])
        }
        return Dataset(images: imageFile.bytes, labels: labelFile.bytes,
                       rows: imageFile.dimensions[1], columns: imageFile.dimensions[2])
    }

    /// The path of the first existing spelling of `stem` (e.g. `train-images`) in `directory`.
    private static func locate(directory: String, stem: String, rank: Int) throws(DatasetError) -> String {
        let kind = "idx\(rank)-ubyte"
        let candidates = ["\(stem)-\(kind)", "\(stem)-\(kind).gz", "\(stem).\(kind)", "\(stem).\(kind).gz"]
        for name in candidates {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw .missingFile(directory: directory, candidates: candidates)
    }

    /// The normalized value of one pixel, PyTorch's MNIST recipe `(pixel / 255 − 0.1307) / 0.3081`,
    /// computed in `Float` in exactly that order.
    @inlinable
    public static func normalize(_ pixel: UInt8) -> Float {
        (Float(pixel) / 255 - 0.1307) / 0.3081
    }

    /// All images as normalized floats (`count × rows × columns`, see `normalize(_:)`).
    public func normalized() -> [Float] {
        // 256 possible inputs: a table gives bit-identical results to `normalize` at memcpy speed.
        let table = (0...255).map { Self.normalize(UInt8($0)) }
        return [Float](unsafeUninitializedCapacity: images.count) { output, initialized in
            table.withUnsafeBufferPointer { table in
                images.withUnsafeBufferPointer { pixels in
                    for i in 0..<pixels.count { output[i] = table[Int(pixels[i])] }
                }
            }
            initialized = images.count
        }
    }

    /// The samples whose indices are in `range` (which must lie within `0..<count`).
    public func subset(_ range: Range<Int>) -> Dataset {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "subset \(range) outside 0..<\(count)")
        let size = pixelsPerImage
        return Dataset(images: Array(images[(range.lowerBound * size)..<(range.upperBound * size)]),
                       labels: Array(labels[range]), rows: rows, columns: columns)
    }
}
