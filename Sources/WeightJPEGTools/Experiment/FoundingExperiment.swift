import WeightJPEG
/// The founding experiment: JPEG-code a trained MLP's first layer (each of its rows a 28×28 image),
/// decode, put it back, and measure test accuracy and bytes, counted honestly.
public struct FoundingExperiment: Sendable {
    /// One coded model's outcome.
    public struct Outcome: Sendable, Codable {
        /// Short label of the coding settings.
        public let setting: String
        /// IJG quality of the first layer's JPEG (1…100).
        public let quality: Int
        /// Test accuracy of the decoded model (fraction).
        public let accuracy: Double
        /// Every byte of the `.wjpg` file.
        public let fileBytes: Int
        /// Bytes of the first layer alone (its header record and payloads).
        public let layerBytes: Int
        /// Bits per weight of the first layer.
        public let layerBitsPerWeight: Double
        /// Bits per weight of the whole model (file bytes × 8 / parameters).
        public let fileBitsPerWeight: Double
    }

    /// The trained float32 MLP whose first layer is coded.
    public let model: MLP
    /// Its safetensors form (what `compress` takes).
    public let file: SafetensorsFile
    /// Normalized test inputs and labels.
    public let testInputs: [Float]
    /// Digit labels 0…9 of `testInputs`, one per image.
    public let testLabels: [UInt8]
    /// Test accuracy of the float32 model (fraction), the reference for the drops.
    public let floatAccuracy: Double

    /// Sets up the experiment for `model` on a test set.
    public init(model: MLP, testInputs: [Float], testLabels: [UInt8]) throws {
        self.model = model
        file = SafetensorsFile(tensors: model.namedTensors.map { SafetensorsTensor(name: $0.name, shape: $0.tensor.shape, floats: $0.tensor.values) },
                               metadata: ["format": "pt"])
        self.testInputs = testInputs
        self.testLabels = testLabels
        floatAccuracy = try model.evaluate(inputs: testInputs, labels: testLabels).accuracy
    }

    /// Compresses with `policy`, decodes, evaluates. Only the first layer is JPEG-coded; the other
    /// tensors get the policy's cheap codes and count in `fileBytes`.
    public func run(policy: CompressionPolicy, setting: String) throws -> Outcome {
        let container = try ModelCodec.compress(file, policy: policy)
        let decoded = try MLP(tensors: ModelCodec.floatTensors(container, path: "<memory>"))
        let accuracy = try decoded.evaluate(inputs: testInputs, labels: testLabels).accuracy
        let fileBytes = container.serialized().count
        let first = MLP.parameterNames(layer: 0).weight
        let layerBytes = container[first]?.storedBytes ?? 0
        let layerCount = model.layers[0].weight.count
        return Outcome(setting: setting, quality: policy.quality, accuracy: accuracy, fileBytes: fileBytes, layerBytes: layerBytes,
                       layerBitsPerWeight: Double(layerBytes * 8) / Double(layerCount),
                       fileBitsPerWeight: Double(fileBytes * 8) / Double(model.parameterCount))
    }

    /// The policy of the founding post's coding (see `runStandalone`).
    public static func standalonePolicy(quality: Int) -> CompressionPolicy {
        var policy = CompressionPolicy()
        policy.quality = quality
        policy.scale = .tile
        policy.pack = .sharedTables
        policy.optimizeHuffman = false
        policy.exactPatterns = ["*bias", "[1-9]*.weight"]
        return policy
    }

    /// The first layer's weights after coding with `policy` and decoding.
    public func decodedFirstLayer(policy: CompressionPolicy) throws -> [Float] {
        let container = try ModelCodec.compress(file, policy: policy)
        let name = MLP.parameterNames(layer: 0).weight
        guard let entry = container[name] else { return model.layers[0].weight.storage }
        return try ModelCodec.floats(of: entry, codec: JPEGTensorCodec(), path: "<memory>")
    }

    /// The founding post's coding: each neuron image its own standalone JPEG with its own min/max,
    /// standard Huffman tables, everything else float32. Returns the accuracy and the bytes of the 512
    /// standalone files, as the post (and Pillow) would produce them.
    public func runStandalone(quality: Int) throws -> Outcome {
        let policy = Self.standalonePolicy(quality: quality)
        let container = try ModelCodec.compress(file, policy: policy)
        let decoded = try MLP(tensors: ModelCodec.floatTensors(container, path: "<memory>"))
        let accuracy = try decoded.evaluate(inputs: testInputs, labels: testLabels).accuracy
        // Bytes of 512 standalone files: each abbreviated stream plus the tables it would carry.
        let first = MLP.parameterNames(layer: 0).weight
        var standalone = 0
        if let entry = container[first], entry.payloads.count == 3 {
            var reader = ByteReader(entry.payloads[2])
            let tablesBody = entry.payloads[1].count - 4  // tables-only stream minus its SOI and EOI
            while let stream = try? reader.lengthPrefixed() { standalone += stream.count + tablesBody }
        }
        let otherBytes = model.parameterCount * 4 - model.layers[0].weight.count * 4
        return Outcome(setting: "standalone", quality: quality, accuracy: accuracy, fileBytes: standalone + otherBytes,
                       layerBytes: standalone, layerBitsPerWeight: Double(standalone * 8) / Double(model.layers[0].weight.count),
                       fileBitsPerWeight: Double((standalone + otherBytes) * 8) / Double(model.parameterCount))
    }
}
