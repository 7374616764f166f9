import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGModel
@testable import WeightJPEGTuning
@testable import WeightJPEGTools


/// A `sizes` MLP with random weights, then units `dead[l]` of hidden layer `l` made dead: zero
/// incoming weights and a negative bias (pre-activation −0.5 on every input).
private func synthetic(sizes: [Int], dead: [[Int]], seed: UInt64 = 7) -> MLP {
    var model = MLP(sizes: sizes, seed: seed)
    for (l, units) in dead.enumerated() {
        let layer = model.layers[l]
        for j in units {
            for c in 0..<layer.inputs { model.layers[l].weight[j, c] = 0 }
            model.layers[l].bias[j] = -0.5
        }
    }
    return model
}

/// `count × size` values uniform in ±2.
private func randomInputs(count: Int, size: Int, seed: UInt64 = 11) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<(count * size)).map { _ in rng.uniform(2) }
}

private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

@Suite struct DeadUnitTests {
    @Test func DeadUnitFinderReportsExactlyTheDeadOnes() throws {
        let model = synthetic(sizes: [20, 16, 12, 5], dead: [[0, 3, 15], [7]])
        let x = randomInputs(count: 300, size: 20)
        let reports = try model.deadUnits(inputs: x, count: 300, batchSize: 64)
        #expect(reports.map(\.layer) == [0, 1])
        #expect(reports.map(\.width) == [16, 12])
        #expect(reports.map(\.dead) == [[0, 3, 15], [7]])
        #expect(reports.allSatisfy { $0.samples == 300 })
    }

    @Test func DeadUnitRemovalKeepsLogitsAndShrinksShapes() throws {
        let model = synthetic(sizes: [20, 16, 12, 5], dead: [[0, 3, 15], [7]])
        let x = randomInputs(count: 300, size: 20)
        let (pruned, reports) = try model.removingDeadUnits(inputs: x, count: 300)
        #expect(reports.map(\.removed) == [[0, 3, 15], [7]])
        #expect(pruned.sizes == [20, 13, 11, 5])
        #expect(pruned.layers[0].weight.rows == 13 && pruned.layers[0].weight.columns == 20)
        #expect(pruned.layers[1].weight.rows == 11 && pruned.layers[1].weight.columns == 13)
        #expect(pruned.layers[2].weight.rows == 5 && pruned.layers[2].weight.columns == 11)
        // Kept rows and columns are the original values, in order.
        #expect(pruned.layers[0].weight.row(0) == model.layers[0].weight.row(1))
        #expect(pruned.layers[1].weight[0, 0] == model.layers[1].weight[0, 1])
        #expect(pruned.layers[1].weight[0, 2] == model.layers[1].weight[0, 4])
        #expect(pruned.layers[2].weight[4, 10] == model.layers[2].weight[4, 11])
        #expect(pruned.layers[1].bias == model.layers[1].bias.enumerated().filter { $0.offset != 7 }.map(\.element))
        let before = try model.logits(x, count: 300), after = try pruned.logits(x, count: 300)
        #expect(maxDifference(before, after) <= 1e-5)
        #expect(try model.predictions(x, count: 300) == pruned.predictions(x, count: 300))
        // Nothing dead is left.
        #expect(try pruned.deadUnits(inputs: x, count: 300).allSatisfy { $0.dead.isEmpty })
    }

    @Test func DeadUnitLayerThatIsAllDeadKeepsOneUnit() throws {
        let model = synthetic(sizes: [6, 4, 3], dead: [[0, 1, 2, 3]])
        let x = randomInputs(count: 50, size: 6)
        let (pruned, reports) = try model.removingDeadUnits(inputs: x, count: 50)
        #expect(reports[0].dead == [0, 1, 2, 3] && reports[0].removed == [1, 2, 3] && reports[0].remaining == 1)
        #expect(pruned.sizes == [6, 1, 3])
        #expect(maxDifference(try model.logits(x, count: 50), try pruned.logits(x, count: 50)) <= 1e-6)
    }

    @Test func DeadUnitFinderWithNoSamplesReportsNothing() throws {
        let model = synthetic(sizes: [6, 4, 3], dead: [[1]])
        #expect(try model.deadUnits(inputs: [], count: 0).map(\.dead) == [[]])
        #expect(throws: ModelError.self) { try model.deadUnits(inputs: [1, 2, 3], count: 1) }
    }

    @Test func DeadUnitPruningOfAFileKeepsOrderNamesDtypesAndMetadata() throws {
        let model = synthetic(sizes: [20, 16, 5], dead: [[2, 9]])
        let x = randomInputs(count: 200, size: 20)
        let names = ["2.bias", "0.weight", "extra", "0.bias", "2.weight"]
        let dtypes: [String: SafetensorsDType] = ["0.weight": .F32, "0.bias": .F16, "2.weight": .BF16, "2.bias": .F32]
        var tensors: [SafetensorsTensor] = []
        for name in names {
            if name == "extra" {
                tensors.append(SafetensorsTensor(name: "extra", dtype: .I64, shape: [2], data: Data(count: 16)))
                continue
            }
            let l = name.hasPrefix("0.") ? 0 : 1
            let layer = model.layers[l]
            let isWeight = name.hasSuffix("weight")
            tensors.append(SafetensorsTensor(name: name, shape: isWeight ? [layer.outputs, layer.inputs] : [layer.outputs],
                                             floats: isWeight ? layer.weight.storage : layer.bias, dtype: dtypes[name]!))
        }
        let file = SafetensorsFile(tensors: tensors, metadata: ["format": "pt"])
        let (pruned, reports) = try DeadUnitPruning.prune(file, trainingInputs: x)
        #expect(reports.map(\.dead) == [[2, 9]])
        #expect(pruned.tensors.map(\.name) == names)
        #expect(pruned.tensors.map(\.dtype) == file.tensors.map(\.dtype))
        #expect(pruned.metadata == ["format": "pt"])
        #expect(pruned["0.weight"]?.shape == [14, 20] && pruned["0.bias"]?.shape == [14])
        #expect(pruned["2.weight"]?.shape == [5, 14] && pruned["2.bias"] == file["2.bias"])
        #expect(pruned["extra"] == file["extra"])
        // The file's model equals the in-memory removal of the same (dtype-rounded) model.
        func floats(_ f: SafetensorsFile) throws -> [String: FloatTensor] {
            try SafetensorsFile(tensors: f.tensors.filter { $0.dtype.convertsToFloat }).floatTensors()
        }
        let fromFile = try MLP(tensors: floats(pruned))
        let (expected, _) = try MLP(tensors: floats(file)).removingDeadUnits(inputs: x, count: 200)
        #expect(fromFile == expected)
        // Round trip through serialization.
        #expect(try SafetensorsFile(data: pruned.serialized(), path: "p.safetensors") == pruned)
    }

    @Test func DeadUnitPruningRefusesWhatIsNotAPlainMLP() throws {
        let model = synthetic(sizes: [20, 16, 5], dead: [[2]])
        let x = randomInputs(count: 10, size: 20)
        var tensors = model.namedTensors.map { SafetensorsTensor(name: $0.name, tensor: $0.tensor) }
        let notMLP = SafetensorsFile(tensors: [SafetensorsTensor(name: "fc.weight", shape: [2, 2], floats: [1, 2, 3, 4])])
        #expect(throws: DeadUnitError.notAnMLP(.noLayers)) { try DeadUnitPruning.prune(notMLP, trainingInputs: x) }
        tensors.append(SafetensorsTensor(name: "3.running_mean", shape: [16], floats: .init(repeating: 0, count: 16)))
        #expect(throws: DeadUnitError.otherModule(name: "3.running_mean")) {
            try DeadUnitPruning.prune(SafetensorsFile(tensors: tensors), trainingInputs: x)
        }
        let plain = SafetensorsFile(tensors: Array(tensors.dropLast()))
        #expect(throws: DeadUnitError.inputSize(expected: 20, values: 7)) {
            try DeadUnitPruning.prune(plain, trainingInputs: [Float](repeating: 0, count: 7))
        }
        // A single linear layer has no hidden units: unchanged.
        let single = SafetensorsFile(tensors: Array(tensors.prefix(2)))
        let (same, reports) = try DeadUnitPruning.prune(single, trainingInputs: x)
        #expect(same == single && reports.isEmpty)
    }

    @Test(.enabled(if: TestPaths.hasTrainingSet, "data/mnist missing; run scripts/fetch-mnist"))
    func DeadUnitsOfTheReferenceModelOnMNIST() throws {
        let file = try SafetensorsFile.read(path: TestPaths.referenceMLP)
        let train = try Dataset.load(directory: TestPaths.mnist, split: .train)
        let test = try Dataset.load(directory: TestPaths.mnist, split: .test)
        let trainInputs = train.normalized(), testInputs = test.normalized()
        let (pruned, reports) = try DeadUnitPruning.prune(file, trainingInputs: trainInputs)
        #expect(reports.count == 1)
        let dead = reports[0].dead.count
        #expect((23...32).contains(dead))
        #expect(pruned["0.weight"]?.shape == [512 - dead, 784])
        #expect(pruned["2.weight"]?.shape == [10, 512 - dead])
        let original = try MLP(tensors: file.floatTensors()), smaller = try MLP(tensors: pruned.floatTensors())
        // Same function on the training set (up to summation order) …
        let sample = Array(trainInputs.prefix(5000 * 784))
        #expect(maxDifference(try original.logits(sample, count: 5000), try smaller.logits(sample, count: 5000)) <= 1e-4)
        #expect(try original.predictions(trainInputs, count: train.count) == smaller.predictions(trainInputs, count: train.count))
        // … and, measured, no prediction changes on the test set.
        #expect(try original.predictions(testInputs, count: test.count) == smaller.predictions(testInputs, count: test.count))
    }
}
