import Foundation
import Testing
@testable import WeightJPEGFormats
@testable import WeightJPEGModel

/// The repository's `data/mnist`, located from this source file (CI runs scripts/fetch-mnist first).

/// Fashion-MNIST as installed by the Debian package dataset-fashion-mnist (gzipped IDX files).
private let fashionDirectory = "/usr/share/datasets/fashion-mnist"

private func directoryExists(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
}

/// IDX bytes of unsigned bytes with the given dimensions.
private func idx(_ dimensions: [UInt32], _ payload: [UInt8]) -> Data {
    var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
    for d in dimensions { bytes += [UInt8(d >> 24), UInt8((d >> 16) & 0xFF), UInt8((d >> 8) & 0xFF), UInt8(d & 0xFF)] }
    return Data(bytes + payload)
}

/// A temporary directory holding `files` (name → contents).
private func directory(with files: [String: Data]) throws -> String {
    let path = NSTemporaryDirectory() + "dataset-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    for (name, contents) in files { try contents.write(to: URL(fileURLWithPath: path + "/" + name)) }
    return path
}

/// The `DatasetError` thrown by loading `split` from `directory`, or nil.
private func loadError(_ directory: String, _ split: Dataset.Split = .train) -> DatasetError? {
    do {
        _ = try Dataset.load(directory: directory, split: split)
        return nil
    } catch {
        return error
    }
}

/// Per-class label counts.
private func histogram(_ labels: [UInt8]) -> [Int] {
    var counts = [Int](repeating: 0, count: 10)
    for label in labels { counts[Int(label)] += 1 }
    return counts
}

@Suite struct DatasetTests {
    // Three 2 × 3 images.
    let pixels: [UInt8] = (0..<18).map { UInt8($0 * 15) }
    let labels: [UInt8] = [7, 0, 9]

    @Test func loadsPlainAndGzippedSpellings() throws {
        let path = try directory(with: [
            "train-images-idx3-ubyte": idx([3, 2, 3], pixels),
            "train-labels-idx1-ubyte.gz": Gzip.compress(idx([3], labels)),
            "t10k-images.idx3-ubyte.gz": Gzip.compress(idx([1, 2, 3], Array(pixels.prefix(6)))),
            "t10k-labels.idx1-ubyte": idx([1], [4]),
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let train = try Dataset.load(directory: path, split: .train)
        #expect(train.count == 3 && train.rows == 2 && train.columns == 3)
        #expect(train.images == pixels)
        #expect(train.labels == labels)
        let test = try Dataset.load(directory: path, split: .test)
        #expect(test.count == 1 && test.labels == [4] && test.images == Array(pixels.prefix(6)))
    }

    @Test func missingDirectory() {
        #expect(loadError("data/nonexistent-mnist")?.description
                == "data/nonexistent-mnist: no such directory; run scripts/fetch-mnist to download MNIST")
    }

    @Test func missingFile() throws {
        let path = try directory(with: ["train-images-idx3-ubyte": idx([3, 2, 3], pixels)])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = loadError(path)
        #expect(error == .missingFile(directory: path, candidates: [
            "train-labels-idx1-ubyte", "train-labels-idx1-ubyte.gz", "train-labels.idx1-ubyte", "train-labels.idx1-ubyte.gz",
        ]))
        #expect(error?.description.contains("missing train-labels-idx1-ubyte (also looked for train-labels-idx1-ubyte.gz") == true)
    }

    @Test func wrongRanks() throws {
        let path = try directory(with: [
            "train-images-idx3-ubyte": idx([3, 6], pixels),  // rank 2, images need 3
            "train-labels-idx1-ubyte": idx([3], labels),
            "t10k-images-idx3-ubyte": idx([1, 2, 3], Array(pixels.prefix(6))),
            "t10k-labels-idx1-ubyte": idx([1, 1], [4]),  // rank 2, labels need 1
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard case .file(let imageError) = loadError(path, .train) else {
            Issue.record("expected an IDX error for the images")
            return
        }
        #expect(imageError.kind == .wrongRank(2))
        #expect(imageError.description.hasSuffix("train-images-idx3-ubyte: magic is 0x00000802, expected 0x00000803 (unsigned byte data, rank 3); the file has rank 2"))
        guard case .file(let labelError) = loadError(path, .test) else {
            Issue.record("expected an IDX error for the labels")
            return
        }
        #expect(labelError.kind == .wrongRank(2))
    }

    @Test func countMismatch() throws {
        let path = try directory(with: [
            "train-images-idx3-ubyte": idx([3, 2, 3], pixels),
            "train-labels-idx1-ubyte": idx([2], [1, 2]),
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = loadError(path)
        #expect(error == .countMismatch(imagesPath: path + "/train-images-idx3-ubyte", images: 3,
                                        labelsPath: path + "/train-labels-idx1-ubyte", labels: 2))
    }

    @Test func badLabel() throws {
        let path = try directory(with: [
            "train-images-idx3-ubyte": idx([3, 2, 3], pixels),
            "train-labels-idx1-ubyte": idx([3], [1, 10, 2]),
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = loadError(path)
        #expect(error == .badLabel(path: path + "/train-labels-idx1-ubyte", index: 1, value: 10))
        #expect(error?.description == path + "/train-labels-idx1-ubyte: label 1 is 10, expected 0...9")
    }

    @Test func normalization() {
        #expect(Dataset.normalize(0) == (0 - Float(0.1307)) / Float(0.3081))
        #expect(abs(Dataset.normalize(0) - -0.42421) < 1e-4)
        #expect(abs(Dataset.normalize(255) - 2.82149) < 1e-4)
        let all = (0...255).map(UInt8.init)
        let set = Dataset(images: all + all.reversed(), labels: [3, 5], rows: 16, columns: 16)
        let normalized = set.normalized()
        #expect(normalized.count == 512)
        for (i, pixel) in set.images.enumerated() {
            #expect(normalized[i].bitPattern == ((Float(pixel) / 255 - 0.1307) / 0.3081).bitPattern)
        }
    }

    @Test func subset() {
        let set = Dataset(images: pixels, labels: labels, rows: 2, columns: 3)
        let middle = set.subset(1..<3)
        #expect(middle.count == 2 && middle.rows == 2 && middle.columns == 3)
        #expect(middle.labels == [0, 9])
        #expect(middle.images == Array(pixels[6..<18]))
        #expect(set.subset(0..<0).count == 0)
    }

    @Test(.enabled(if: directoryExists(TestPaths.mnist), "data/mnist missing; run scripts/fetch-mnist"))
    func realMNIST() throws {
        let train = try Dataset.load(directory: TestPaths.mnist, split: .train)
        #expect(train.count == 60000 && train.rows == 28 && train.columns == 28)
        #expect(train.images.count == 60000 * 784)
        #expect(histogram(train.labels) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        let test = try Dataset.load(directory: TestPaths.mnist, split: .test)
        #expect(test.count == 10000 && test.rows == 28 && test.columns == 28)
        #expect(histogram(test.labels) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        // Sanity: the first training digit is a 5 and has ink.
        #expect(train.labels[0] == 5)
        #expect(train.images[0..<784].contains { $0 > 200 })
    }

    @Test(.enabled(if: directoryExists(fashionDirectory), "Fashion-MNIST missing (apt-get install dataset-fashion-mnist)"))
    func fashionMNIST() throws {
        let train = try Dataset.load(directory: fashionDirectory, split: .train)
        #expect(train.count == 60000 && train.rows == 28 && train.columns == 28)
        #expect(Set(train.labels) == Set(0...9))
        // Fashion-MNIST is balanced: 6000 training and 1000 test samples per class.
        #expect(histogram(train.labels) == [Int](repeating: 6000, count: 10))
        let test = try Dataset.load(directory: fashionDirectory, split: .test)
        #expect(test.count == 10000)
        #expect(histogram(test.labels) == [Int](repeating: 1000, count: 10))
    }

    /// A 2×3 image moved one pixel down, up, right and left, background filling in; each image's
    /// four copies follow one another with its label.
    @Test func shiftedCopiesByHand() {
        let data = Dataset(images: [1, 2, 3,
                                    4, 5, 6,
                                    9, 9, 9,
                                    9, 9, 9], labels: [7, 3], rows: 2, columns: 3)
        let copies = data.shiftedCopies()
        #expect(copies.count == 8 && copies.rows == 2 && copies.columns == 3)
        #expect(copies.labels == [7, 7, 7, 7, 3, 3, 3, 3])
        #expect(Array(copies.images[0..<24]) == [0, 0, 0, 1, 2, 3,    // down
                                                 4, 5, 6, 0, 0, 0,    // up
                                                 0, 1, 2, 0, 4, 5,    // right
                                                 2, 3, 0, 5, 6, 0])   // left
        #expect(Array(copies.images[24..<30]) == [0, 0, 0, 9, 9, 9])
        // With the images: each image, then its four copies.
        let both = data.withShiftedCopies()
        #expect(both.count == 10 && both.labels == [7, 7, 7, 7, 7, 3, 3, 3, 3, 3])
        #expect(Array(both.images[0..<6]) == [1, 2, 3, 4, 5, 6])
        #expect(Array(both.images[6..<30]) == Array(copies.images[0..<24]))
        #expect(Array(both.images[30..<36]) == [9, 9, 9, 9, 9, 9])
        #expect(Array(both.images[36..<60]) == Array(copies.images[24..<48]))
    }
}
