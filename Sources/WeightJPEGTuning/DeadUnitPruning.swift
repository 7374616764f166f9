import Foundation
import WeightJPEGFormats
import WeightJPEGModel

/// Removing an MLP's dead hidden units from a safetensors file (see `MLP.removingDeadUnits(inputs:count:)`).
public enum DeadUnitPruning {
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
    /// - Throws: `DeadUnitError` when `file` holds no such MLP (see `MLP.sequential(in:)`) or the
    ///   inputs do not match its input size; callers that prune opportunistically skip on it.
    public static func prune(_ file: SafetensorsFile, trainingInputs: [Float]) throws(DeadUnitError) -> (SafetensorsFile, [DeadUnitReport]) {
        let model = try MLP.sequential(in: file)
        guard model.layers.count >= 2 else { return (file, []) }
        let d = model.inputSize
        guard d > 0, trainingInputs.count % d == 0 else {
            throw .inputSize(expected: d, values: trainingInputs.count)
        }
        let reports: [DeadUnitReport]
        do { reports = try model.deadUnits(inputs: trainingInputs, count: trainingInputs.count / d) } catch {
            throw .inputSize(expected: d, values: trainingInputs.count)
        }
        let slices = zeroSlices(reports)
        let tensors = file.tensors.map { tensor -> SafetensorsTensor in
            func removed(axis: Int) -> Set<Int> { Set(slices[tensor.name]?.first { $0.axis == axis }?.indices ?? []) }
            let rows = removed(axis: 0), columns = removed(axis: 1)
            if rows.isEmpty && columns.isEmpty { return tensor }
            return cut(tensor, rows: rows, columns: columns)
        }
        return (SafetensorsFile(tensors: tensors, metadata: file.metadata), reports)
    }

    /// The zero slices that put the units of `reports` back on decompression (`ZeroSlices`), by
    /// tensor name: a removed unit `j` of layer `l` is index `j` on axis 0 of `"\(2l).weight"` and
    /// `"\(2l).bias"` and on axis 1 of `"\(2l+2).weight"`, as `prune` cut them.
    public static func zeroSlices(_ reports: [DeadUnitReport]) -> [String: [ZeroSlices]] {
        var rows: [String: [Int]] = [:], columns: [String: [Int]] = [:]
        for report in reports where !report.removed.isEmpty {
            let here = MLP.parameterNames(layer: report.layer), next = MLP.parameterNames(layer: report.layer + 1)
            let removed = report.removed.sorted()
            rows[here.weight] = removed
            rows[here.bias] = removed
            columns[next.weight] = removed
        }
        var out: [String: [ZeroSlices]] = [:]
        for name in Set(rows.keys).union(columns.keys) {
            out[name] = [rows[name].map { ZeroSlices(axis: 0, indices: $0) }, columns[name].map { ZeroSlices(axis: 1, indices: $0) }].compactMap { $0 }
        }
        return out
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

}
