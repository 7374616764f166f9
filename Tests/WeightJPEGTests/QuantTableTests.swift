import Foundation
import Testing
@testable import WeightJPEGCore
@testable import WeightJPEGFormats
@testable import WeightJPEGCodec
@testable import WeightJPEGTools

/// A smooth-ish `rows × 784` tensor: each row a blurred random 28×28 pattern plus noise.
private func weights(rows: Int, seed: UInt64 = 3) -> [Float] {
    var rng = RandomSource(seed: seed)
    var out: [Float] = []
    for _ in 0..<rows {
        let a = rng.uniform(1), b = rng.uniform(1)
        for y in 0..<28 {
            for x in 0..<28 {
                out.append(0.05 * (a * sin(Float(x) / 4) + b * cos(Float(y) / 5)) + 0.005 * rng.uniform(1))
            }
        }
    }
    return out
}

@Suite struct QuantTableTests {
    @Test func flatTablesAreBaselineAndConstant() {
        for step in [-3, 0, 1, 7, 255, 1000] {
            let t = QuantizationTables.flat(step: step)
            #expect(QuantizationTables.isBaseline(t))
            #expect(Set(t).count == 1)
        }
        #expect(QuantizationTables.flat(step: 7).first == 7)
        #expect(QuantizationTables.flat(step: 1000).first == 255)
    }

    @Test func dctIsOrthonormal() {
        // Parseval: a block's energy equals its coefficients' energy.
        var rng = RandomSource(seed: 5)
        let block = (0..<64).map { _ in Double(rng.uniform(100)) }
        let c = QuantizationTables.dct8x8(block, stride: 8, origin: 0)
        let e1 = block.reduce(0) { $0 + $1 * $1 }, e2 = c.reduce(0) { $0 + $1 * $1 }
        #expect(abs(e1 - e2) < 1e-6 * e1)
        // A constant block has only a DC coefficient, 8 × the value.
        let dc = QuantizationTables.dct8x8([Double](repeating: 3, count: 64), stride: 8, origin: 0)
        #expect(abs(dc[0] - 24) < 1e-9)
        #expect(dc.dropFirst().allSatisfy { abs($0) < 1e-9 })
    }

    @Test func spectrumTablesAreValidDeterministicAndFollowEnergy() {
        let w = weights(rows: 40)
        let layout = TileLayout.rows(height: 28, width: 28)
        let rms = QuantizationTables.coefficientRMS(w, rows: 40, columns: 784, layout: layout)
        #expect(rms.count == 64 && rms.allSatisfy { $0 >= 0 && $0.isFinite })
        for exponent in [0.0, 0.25, 0.5, 1.0, 2.0] {
            for step in [0.5, 1.0, 10.0, 50.0, 400.0] {
                let t = QuantizationTables.spectrum(of: w, rows: 40, columns: 784, layout: layout, step: step, exponent: exponent)
                #expect(QuantizationTables.isBaseline(t))
                #expect(t == QuantizationTables.spectrum(of: w, rows: 40, columns: 784, layout: layout, step: step, exponent: exponent))
            }
        }
        // Exponent 0 is flat; with exponent > 0 the most energetic frequency gets the finest step
        // and the least energetic the coarsest (natural order: index = 8·row + column).
        #expect(Set(QuantizationTables.spectrum(rms: rms, step: 20, exponent: 0)) == [20])
        let t = QuantizationTables.spectrum(rms: rms, step: 20, exponent: 1)
        let loud = rms.indices.max { rms[$0] < rms[$1] }!, quiet = rms.indices.min { rms[$0] < rms[$1] }!
        #expect(t[loud] == t.min()!)
        #expect(t[quiet] == t.max()!)
        // Natural order: a horizontal-only pattern has energy in row 0 (vertical frequency 0) only.
        var stripes: [Float] = []
        for _ in 0..<8 { for _ in 0..<28 { for x in 0..<28 { stripes.append(x % 2 == 0 ? 1 : -1) } } }
        let r = QuantizationTables.coefficientRMS(stripes, rows: 8, columns: 784, layout: layout)
        #expect(r[7] > 10 * max(r[8 * 7], 1e-9))
    }

    @Test func explicitTableRoundTripsAndIsInTheJPEG() throws {
        let rows = 32
        let w = weights(rows: rows)
        let layout = TileLayout.rows(height: 28, width: 28)
        let codec = try JPEGTensorCodec()
        for table in [QuantizationTables.flat(step: 6),
                      QuantizationTables.spectrum(of: w, rows: rows, columns: 784, layout: layout, step: 12, exponent: 0.5)] {
            let p = JPEGTensorParameters(layout: layout, scale: .tensor, pack: .mosaic, quality: 0)
            let coded = try codec.encode(w, rows: rows, columns: 784, parameters: p, table: table)
            #expect(coded.parameters.quality == 0)
            let coefficients = try JPEGDecoder().readCoefficients(coded.payloads[1], maxPixels: 1 << 24)
            #expect(coefficients.quantizationTable == table)
            let back = try codec.decode(coded.payloads, rows: rows, columns: 784, parameters: coded.parameters)
            #expect(back.count == w.count)
            let range = (w.max()! - w.min()!)
            let rmse = (zip(w, back).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Float(w.count)).squareRoot()
            #expect(rmse < 0.05 * range)
            // Through the container: the parameters survive serialization with quality 0.
            let coding = TensorCoding.jpeg(coded.parameters)
            let entry = ContainerEntry(name: "w", dtype: "F32", shape: [rows, 784], coding: coding,
                                       payloads: coded.payloads)
            let parsed = try Container(bytes: Container(metadata: nil, entries: [entry]).serialized(), path: "t")
            #expect(try ModelCodec.floats(of: parsed.entries[0], codec: codec, path: "t") == back)
        }
    }

    @Test func rateSettingLevelsMapToSteps() {
        #expect(abs(RateSetting(kind: .flat, level: 100).step - 1) < 1e-9)
        #expect(abs(RateSetting(kind: .flat, level: 1).step - 255) < 1e-9)
        #expect(TableKind("spectrum") == .defaultSpectrum)
        #expect(TableKind("spectrum:1") == .spectrum(exponent: 1))
        #expect(TableKind("ijg") == .ijg && TableKind("flat") == .flat)
        #expect(TableKind("jpeg") == nil && TableKind("spectrum:x") == nil)
    }
}
