import WeightJPEGFormats
import WeightJPEGCodec
/// What `inspect` shows: per tensor and whole-file sizes, counted honestly (header records
/// included in each tensor's bytes; the file total is every byte of the file).
public struct ContainerReport: Codable, Sendable {
    /// One tensor's line.
    public struct Tensor: Codable, Sendable {
        /// Tensor name as stored in the container.
        public let name: String
        /// Shape of the decoded tensor (zero slices restored: the input's shape).
        public let shape: [Int]
        /// Shape as stored, when dead units were removed from it (`ZeroSlices`); nil otherwise.
        public let storedShape: [Int]?
        /// Safetensors dtype the tensor decodes to (e.g. `F32`, `BF16`).
        public let dtype: String
        /// The coding with its parameters, e.g. `jpeg rows:28x28 q20 scale:tensor pack:mosaic`.
        public let coding: String
        /// JPEG quality, when JPEG-coded.
        public let quality: Int?
        /// Payload bytes plus the tensor's header record.
        public let bytes: Int
        /// `bytes × 8 / elements`.
        public let bitsPerWeight: Double
        /// float32 size / `bytes`.
        public let ratioToFloat32: Double
        /// The error against the original model, when `compare(with:)` was called (float tensors).
        public var error: WeightDistortion?
    }

    /// The `.wjpg` file as given.
    public let path: String
    /// One line per tensor, in file order.
    public private(set) var tensors: [Tensor]
    /// Size of the whole `.wjpg` file in bytes (header, payloads and checksums).
    public let fileBytes: Int
    /// Preamble, metadata and the parts of the header not attributed to a tensor.
    public let headerBytes: Int
    /// Total elements of all tensors as decompression restores them (the model's parameter count).
    public let parameters: Int
    /// Hidden units removed as dead (never active on the training data): zero rows of weight
    /// matrices that decompression restores (`ZeroSlices` on axis 0 of rank-2 tensors).
    public let removedUnits: Int
    /// `fileBytes × 8 / parameters`: every byte of the file counted.
    public let bitsPerWeight: Double
    /// float32 size of all tensors / `fileBytes`.
    public let ratioToFloat32: Double

    /// Reads and summarizes `path`.
    public init(path: String) throws {
        self.init(try Container.read(path: path), path: path)
    }

    private var container: Container? = nil

    private enum CodingKeys: String, CodingKey {
        case path, tensors, fileBytes, headerBytes, parameters, removedUnits, bitsPerWeight, ratioToFloat32
    }

    /// Decodes every float tensor and measures it against the tensor of the same name in `original`
    /// (the error stats need the original, so they are computed here rather than stored in the file).
    /// Throws when a tensor is missing from `original` or has another shape.
    ///
    /// `visit`, when given, sees every float tensor once its error is recorded: its index in
    /// `tensors`, its line (error included) and the original and decoded values (so a caller that
    /// also draws the tensors decodes each one only once).
    public mutating func compare(with original: SafetensorsFile, originalPath: String,
                                 visit: ((_ index: Int, _ line: Tensor, _ original: [Float], _ decoded: [Float]) throws -> Void)? = nil) throws {
        let container = try self.container ?? Container.read(path: path)
        let byName = Dictionary(original.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let codec = try JPEGTensorCodec()
        for (i, entry) in container.entries.enumerated() {
            guard let source = byName[entry.name] else {
                throw ModelFileError(path: originalPath, reason: "has no tensor '\(entry.name)' (it is in \(path))")
            }
            guard source.shape == entry.restoredShape else {
                throw ModelFileError(path: originalPath, reason: "tensor '\(entry.name)' has shape \(source.shape), \(path) has \(entry.restoredShape)")
            }
            guard source.dtype.convertsToFloat else {
                let decoded = try ModelCodec.decode(entry, codec: codec, path: path)
                tensors[i].error = decoded.data == source.data ? WeightDistortion(squaredError: 0, squaredNorm: 1, count: 1) : nil
                continue
            }
            let decoded = try ModelCodec.decode(entry, codec: codec, path: path).floats()
            let values = try source.floats()
            tensors[i].error = WeightDistortion(original: values, decoded: decoded)
            try visit?(i, tensors[i], values, decoded)
        }
    }

    /// Summarizes `container` (read from `path`): sizes and codings per tensor, without decoding payloads.
    public init(_ container: Container, path: String) {
        self.path = path
        self.container = container
        fileBytes = container.serialized().count
        var list: [Tensor] = []
        for e in container.entries {
            let n = e.restoredShape.reduce(1, *)
            var quality: Int?
            if case .jpeg(let p) = e.coding { quality = p.quality }
            list.append(Tensor(name: e.name, shape: e.restoredShape, storedShape: e.zeroSlices.isEmpty ? nil : e.shape,
                               dtype: e.dtype, coding: e.coding.description,
                               quality: quality, bytes: e.storedBytes, bitsPerWeight: Double(e.storedBytes * 8) / Double(max(n, 1)),
                               ratioToFloat32: Double(4 * n) / Double(max(e.storedBytes, 1))))
        }
        tensors = list
        parameters = container.entries.reduce(0) { $0 + $1.restoredShape.reduce(1, *) }
        removedUnits = container.entries.filter { $0.shape.count == 2 }
            .reduce(0) { $0 + ($1.zeroSlices.first { $0.axis == 0 }?.indices.count ?? 0) }
        headerBytes = fileBytes - list.reduce(0) { $0 + $1.bytes }
        bitsPerWeight = Double(fileBytes * 8) / Double(max(parameters, 1))
        ratioToFloat32 = Double(parameters * 4) / Double(max(fileBytes, 1))
    }
}
