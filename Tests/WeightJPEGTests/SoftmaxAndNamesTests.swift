import Foundation
import Testing
@testable import WeightJPEGModel

/// The one softmax and the one parser of `torch.nn.Sequential` names.
@Suite struct SoftmaxAndNamesTests {
    @Test func sequentialNamesRoundTripAndRejectTheRest() {
        #expect(SequentialParameterName("0.weight") == SequentialParameterName(layer: 0, kind: .weight))
        #expect(SequentialParameterName("4.bias") == SequentialParameterName(layer: 2, kind: .bias))
        #expect(SequentialParameterName(layer: 1, kind: .weight).description == "2.weight")
        #expect(MLP.parameterNames(layer: 3) == ("6.weight", "6.bias"))
        for bad in ["1.weight", "02.weight", "+2.weight", "-2.bias", "2..weight", "2.weight.x", "fc.weight", "2.running_mean", ""] {
            #expect(SequentialParameterName(bad) == nil, "\(bad)")
        }
        #expect(SequentialParameterName.isModuleMember("4.running_mean") && !SequentialParameterName.isModuleMember("fc.weight"))
    }

    @Test func softmaxFormulasAgreeWithTheirDefinitions() {
        let row: [Float] = [1, 3, 3, -2]
        row.withUnsafeBufferPointer { p in
            #expect(Softmax.argmax(p.baseAddress!, 4) == 1)  // first of the tied maxima
            let direct = -log(exp(1.0) / [1.0, 3, 3, -2].reduce(0) { $0 + exp($1) })
            #expect(abs(Softmax.crossEntropy(p.baseAddress!, 4, label: 0) - direct) < 1e-12)
        }
        let probabilities = Softmax.probabilities(row[...])
        #expect(abs(probabilities.reduce(0, +) - 1) < 1e-12 && probabilities[1] == probabilities[2])
        var z: [Float] = [0, 1000]  // large logits must not overflow
        let loss = [UInt8(0)].withUnsafeBufferPointer { labels in
            Softmax.crossEntropyGradient(&z, labels: labels.baseAddress!, batch: 1, classes: 2)
        }
        #expect(abs(loss - 1000) < 1e-3 && abs(z[0] + 1) < 1e-6 && abs(z[1] - 1) < 1e-6)
    }
}
