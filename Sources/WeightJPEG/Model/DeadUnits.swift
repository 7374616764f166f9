import Foundation

/// The never-active ("dead") units of one hidden layer of an `MLP`, found on a set of inputs.
///
/// Hidden layer `layer` is the output of linear layer `layer` (its weight's rows, named
/// `"\(2·layer).weight"`), which is the input of linear layer `layer + 1` (its weight's columns).
public struct DeadUnitReport: Equatable, Sendable {
    /// Index of the linear layer whose outputs are these hidden units (0 = the first hidden layer).
    public let layer: Int
    /// Number of units the hidden layer had before removal.
    public let width: Int
    /// Indices (ascending, in `0..<width`) of the units whose pre-activation is ≤ 0 on every sample.
    public let dead: [Int]
    /// Number of samples the units were observed on.
    public let samples: Int

    /// A report; `dead` must be ascending and within `0..<width`.
    public init(layer: Int, width: Int, dead: [Int], samples: Int) {
        precondition(zip(dead, dead.dropFirst()).allSatisfy { $0 < $1 } && dead.allSatisfy { (0..<width).contains($0) },
                     "dead units must be ascending indices below \(width)")
        self.layer = layer
        self.width = width
        self.dead = dead
        self.samples = samples
    }

    /// The units removal deletes: every dead unit, except that a layer whose units are all dead
    /// keeps its first one (a layer of width 0 cannot be stored or multiplied; the kept unit still
    /// outputs 0 on every sample, so the function is the same).
    public var removed: [Int] { dead.count == width ? Array(dead.dropFirst()) : dead }
    /// Width of the hidden layer after removal.
    public var remaining: Int { width - removed.count }
}

// MARK: - Finding and removing dead units

extension MLP {
    /// For each hidden layer (every linear layer but the last, whose outputs go through a ReLU), the
    /// units whose pre-activation `W x + b` is ≤ 0 for every one of the `count` samples in `inputs`
    /// (row-major, `count × inputSize`): their ReLU output is exactly 0 on all of them. Computed on
    /// the original model for all layers at once, in batches of `batchSize` through BLAS.
    ///
    /// A NaN pre-activation counts as active (it is not ≤ 0), so such a unit is never reported.
    /// With `count == 0` nothing has been observed and no unit is reported.
    public func deadUnits(inputs: [Float], count: Int, batchSize: Int = 1000) throws(ModelError) -> [DeadUnitReport] {
        guard count >= 0, inputs.count == count * inputSize else {
            throw .inputSize(expected: inputSize, found: count > 0 ? inputs.count / count : inputs.count)
        }
        let hiddenLayers = layers.dropLast()
        guard count > 0 else {
            return hiddenLayers.enumerated().map { DeadUnitReport(layer: $0, width: $1.outputs, dead: [], samples: 0) }
        }
        // active[l][j]: unit j of hidden layer l had a positive pre-activation on some sample.
        var active = hiddenLayers.map { [Bool](repeating: false, count: $0.outputs) }
        let batchSize = max(1, min(batchSize, count))
        let widest = hiddenLayers.map(\.outputs).max() ?? 0
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, 2 * batchSize * widest))
        defer { scratch.deallocate() }
        inputs.withUnsafeBufferPointer { x in
            var start = 0
            while start < count {
                let b = min(batchSize, count - start)
                var input = x.baseAddress! + start * inputSize
                for (l, layer) in hiddenLayers.enumerated() {
                    let h = scratch + (l % 2) * batchSize * widest
                    layer.forward(input, batch: b, into: h)
                    let n = layer.outputs
                    active[l].withUnsafeMutableBufferPointer { seen in
                        for r in 0..<b {
                            let row = h + r * n
                            for j in 0..<n where !(row[j] <= 0) { seen[j] = true }
                        }
                    }
                    Activation.relu(h, count: b * n)
                    input = UnsafePointer(h)
                }
                start += b
            }
        }
        return active.enumerated().map { l, seen in
            DeadUnitReport(layer: l, width: seen.count, dead: seen.indices.filter { !seen[$0] }, samples: count)
        }
    }

    /// The model without the units `reports` list as removed (`DeadUnitReport.removed`): row `j`
    /// of layer `l`'s weight and entry `j` of its bias, and column `j` of layer `l + 1`'s weight.
    /// Every other value is kept bit for bit, in order.
    public func removingUnits(_ reports: [DeadUnitReport]) -> MLP {
        var removed = [Set<Int>](repeating: [], count: layers.count)
        for report in reports {
            precondition(report.layer >= 0 && report.layer < layers.count - 1, "layer \(report.layer) is not a hidden layer")
            precondition(report.width == layers[report.layer].outputs, "report width \(report.width) ≠ layer width")
            removed[report.layer].formUnion(report.removed)
        }
        var result: [DenseLayer] = []
        for (l, layer) in layers.enumerated() {
            let rows = (0..<layer.outputs).filter { !removed[l].contains($0) }
            let columns = l == 0 ? Array(0..<layer.inputs) : (0..<layer.inputs).filter { !removed[l - 1].contains($0) }
            var storage: [Float] = []
            storage.reserveCapacity(rows.count * columns.count)
            for r in rows {
                let base = r * layer.inputs
                if columns.count == layer.inputs {
                    storage.append(contentsOf: layer.weight.storage[base..<(base + layer.inputs)])
                } else {
                    for c in columns { storage.append(layer.weight.storage[base + c]) }
                }
            }
            result.append(DenseLayer(weight: Matrix(rows: rows.count, columns: columns.count, storage: storage),
                                     bias: rows.map { layer.bias[$0] }))
        }
        return MLP(layers: result)
    }

    /// Removes the hidden units that never activate on `inputs` (`count` samples, normally the whole
    /// training set) and returns the smaller model with one report per hidden layer.
    ///
    /// **Exactness.** Unit `j` of hidden layer `l` is removed only if its pre-activation is ≤ 0 on
    /// every sample, so its ReLU output `a_j` is exactly 0 on every sample. Its only use is the term
    /// `W[l+1][:, j] · a_j` in the next layer's pre-activation, which is then `w · 0 = 0` for finite
    /// weights, and adding an exact 0 changes no sum. So on these samples every later activation and
    /// every logit is the same — bit for bit except that BLAS may add the remaining terms in another
    /// order once the inner dimension shrinks (differences of a few ulps). Dead units of deeper
    /// layers are found on the original model; removing shallower ones leaves their inputs unchanged
    /// on the samples (up to that summation order), so all layers are pruned in one pass.
    ///
    /// **Only on these samples.** On an input outside the set a removed unit might have activated,
    /// so the pruned model can differ there. The removal is exact on the training set; on unseen
    /// data it is an approximation to be measured (MNIST reference MLPs: 23–32 of 512 units removed,
    /// no test prediction changes).
    ///
    /// Assumes, as `MLP` does everywhere, that a ReLU follows every linear layer but the last.
    public func removingDeadUnits(inputs: [Float], count: Int) throws(ModelError) -> (MLP, [DeadUnitReport]) {
        let reports = try deadUnits(inputs: inputs, count: count)
        return (removingUnits(reports), reports)
    }
}

// MARK: - On safetensors files

/// Why the tensors of a file cannot be pruned; callers that prune opportunistically skip on it.
public enum DeadUnitError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `torch.nn.Sequential` tensors do not form an `MLP`.
    case notAnMLP(ModelError)
    /// Tensor `name` belongs to a module of the same `Sequential` that is not a Linear layer (e.g. a
    /// normalization layer's `4.running_mean`); removing units could change its input.
    case otherModule(name: String)
    /// The samples have a size the model does not take.
    case inputSize(expected: Int, values: Int)

    public var description: String {
        switch self {
        case .notAnMLP(let error): "not a Linear–ReLU MLP: \(error.description)"
        case .otherModule(let name): "tensor '\(name)' belongs to a module other than Linear or ReLU"
        case .inputSize(let expected, let values): "the model takes \(expected) inputs, the \(values) sample values are not a multiple of that"
        }
    }
}

extension ModelCodec {
    /// The `MLP` stored in `file` under `torch.nn.Sequential` names (`0.weight`, `0.bias`,
    /// `2.weight`, …; floating-point tensors only). Throws when the tensors do not form one, or when
    /// another tensor named like a member of the same `Sequential` (`"<index>.<anything>"`, e.g. a
    /// normalization layer's `4.running_mean`) suggests modules other than Linear and ReLU, whose
    /// inputs pruning would silently change.
    public static func sequentialMLP(in file: SafetensorsFile) throws(DeadUnitError) -> MLP {
        var tensors: [String: FloatTensor] = [:]
        for tensor in file.tensors where tensor.dtype.convertsToFloat && isSequentialParameter(tensor.name) {
            guard let t = try? tensor.floatTensor() else { continue }
            tensors[tensor.name] = t
        }
        let model: MLP
        do { model = try MLP(tensors: tensors) } catch { throw .notAnMLP(error) }
        let names = Set((0..<model.layers.count).flatMap { l -> [String] in
            let n = MLP.parameterNames(layer: l)
            return [n.weight, n.bias]
        })
        if let stray = file.tensors.first(where: { !names.contains($0.name) && isSequentialMember($0.name) }) {
            throw .otherModule(name: stray.name)
        }
        return model
    }

    /// Removes the dead hidden units (see `MLP.removingDeadUnits(inputs:count:)`) of the MLP in
    /// `file`, found on `trainingInputs` (normalized, `samples × inputSize`, row-major).
    ///
    /// The result keeps the tensor order, names, dtypes and metadata of `file`; only the MLP's
    /// weights and biases change shape (a removed unit deletes row `j` of `"\(2l).weight"` and
    /// `"\(2l).bias"` and column `j` of `"\(2l+2).weight"`), and every kept element keeps its exact
    /// bytes (the rows and columns are cut from the raw data, so F16, BF16 and F64 stay exact too).
    /// Other tensors are untouched. A single-layer model has no hidden units: the file comes back
    /// unchanged with no reports.
    ///
    /// - Throws: `DeadUnitError` when `file` holds no such MLP (see `sequentialMLP(in:)`) or the
    ///   inputs do not match its input size; callers that prune opportunistically skip on it.
    public static func pruneDeadUnits(_ file: SafetensorsFile, trainingInputs: [Float]) throws(DeadUnitError) -> (SafetensorsFile, [DeadUnitReport]) {
        let model = try sequentialMLP(in: file)
        guard model.layers.count >= 2 else { return (file, []) }
        let d = model.inputSize
        guard d > 0, trainingInputs.count % d == 0 else {
            throw .inputSize(expected: d, values: trainingInputs.count)
        }
        let reports: [DeadUnitReport]
        do { reports = try model.deadUnits(inputs: trainingInputs, count: trainingInputs.count / d) } catch {
            throw .inputSize(expected: d, values: trainingInputs.count)
        }
        var removedRows: [String: Set<Int>] = [:], removedColumns: [String: Set<Int>] = [:]
        for report in reports where !report.removed.isEmpty {
            let here = MLP.parameterNames(layer: report.layer), next = MLP.parameterNames(layer: report.layer + 1)
            removedRows[here.weight] = Set(report.removed)
            removedRows[here.bias] = Set(report.removed)
            removedColumns[next.weight] = Set(report.removed)
        }
        let tensors = file.tensors.map { tensor -> SafetensorsTensor in
            let rows = removedRows[tensor.name] ?? [], columns = removedColumns[tensor.name] ?? []
            if rows.isEmpty && columns.isEmpty { return tensor }
            return cut(tensor, rows: rows, columns: columns)
        }
        return (SafetensorsFile(tensors: tensors, metadata: file.metadata), reports)
    }

    /// `tensor` (1-D or 2-D) without the given rows (first dimension) and columns (second), cut from
    /// its raw bytes.
    private static func cut(_ tensor: SafetensorsTensor, rows: Set<Int>, columns: Set<Int>) -> SafetensorsTensor {
        let size = tensor.dtype.byteSize
        let rowCount = tensor.shape[0]
        let columnCount = tensor.shape.count == 2 ? tensor.shape[1] : 1
        let keptRows = (0..<rowCount).filter { !rows.contains($0) }
        let keptColumns = (0..<columnCount).filter { !columns.contains($0) }
        var out = Data(capacity: keptRows.count * keptColumns.count * size)
        tensor.data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let bytes = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            for r in keptRows {
                let rowStart = r * columnCount * size
                if keptColumns.count == columnCount {
                    out.append(bytes + rowStart, count: columnCount * size)
                } else {
                    for c in keptColumns { out.append(bytes + rowStart + c * size, count: size) }
                }
            }
        }
        let shape = tensor.shape.count == 2 ? [keptRows.count, keptColumns.count] : [keptRows.count]
        return SafetensorsTensor(name: tensor.name, dtype: tensor.dtype, shape: shape, data: out)
    }

    /// `"<even index>.weight"` or `"<even index>.bias"`.
    private static func isSequentialParameter(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), i >= 0, i % 2 == 0, String(i) == parts[0] else { return false }
        return parts[1] == "weight" || parts[1] == "bias"
    }

    /// `"<index>.<anything>"`: a parameter or buffer of a module in the same `Sequential`.
    private static func isSequentialMember(_ name: String) -> Bool {
        guard let dot = name.firstIndex(of: ".") else { return false }
        let head = name[..<dot]
        return !head.isEmpty && head.allSatisfy(\.isASCII) && head.allSatisfy(\.isNumber)
    }
}
