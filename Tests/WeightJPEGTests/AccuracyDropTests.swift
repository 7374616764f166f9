import Testing
@testable import WeightJPEGModel
@testable import WeightJPEG

@Suite struct AccuracyDropTests {
    /// Per image d = [reference right] − [candidate right] = 0, 0, 1, −1: mean 0, sample variance
    /// 2/3, standard error √(2/3/4) = 0.4082 (40.82 pp); two of four predictions changed.
    @Test func pairedDifferencesByHand() {
        let d = AccuracyDrop(reference: [0, 1, 2, 3], candidate: [0, 1, 0, 0], labels: [0, 1, 2, 0])
        #expect(d.points == 0)
        #expect(abs(d.standardErrorPoints - 100 * (2.0 / 3.0 / 4.0).squareRoot()) < 1e-12)
        #expect(d.disagreementPercent == 50)
        #expect(d.samples == 4)
        #expect(abs(d.upperBound(sigmas: 1.645) - 1.645 * d.standardErrorPoints) < 1e-12)
    }

    /// Three of 1,000 predictions turn wrong: drop 0.3 pp; d has three 1s, so the variance is
    /// (3 − 1000 · 0.003²)/999 and the error 0.1730 pp.
    @Test func aSmallDrop() {
        let labels = [UInt8](repeating: 1, count: 1000)
        let reference = [Int](repeating: 1, count: 1000)
        var candidate = reference
        candidate[10] = 2; candidate[500] = 0; candidate[999] = 7
        let d = AccuracyDrop(reference: reference, candidate: candidate, labels: labels)
        #expect(abs(d.points - 0.3) < 1e-12)
        let variance = (3 - 1000 * 0.003 * 0.003) / 999
        #expect(abs(d.standardErrorPoints - 100 * (variance / 1000).squareRoot()) < 1e-12)
        #expect(abs(d.disagreementPercent - 0.3) < 1e-12)
    }

    /// Identical predictions: no drop and no uncertainty, whatever the labels.
    @Test func identicalPredictionsHaveNoError() {
        let d = AccuracyDrop(reference: [3, 1, 4, 1, 5], candidate: [3, 1, 4, 1, 5], labels: [3, 0, 4, 2, 5])
        #expect(d.points == 0 && d.standardErrorPoints == 0 && d.disagreementPercent == 0)
    }

    /// Two clusters of two images: cluster differences 0+1 and 1+1, so cluster means 0.5 and 1,
    /// drop 0.75 (75 pp), sample variance of the means 0.125, standard error √(0.125/2) = 0.25
    /// (25 pp). Unclustered, the same four images give variance 0.25 and error 0.25 too; with a
    /// cluster size of 1 the result is the unclustered one.
    @Test func clustersCountOnceInTheStandardError() {
        let labels: [UInt8] = [0, 0, 0, 0], reference = [0, 0, 0, 0], candidate = [0, 1, 1, 1]
        let clustered = AccuracyDrop(reference: reference, candidate: candidate, labels: labels, clusterSize: 2)
        #expect(abs(clustered.points - 75) < 1e-12 && clustered.samples == 4 && clustered.disagreementPercent == 75)
        #expect(abs(clustered.standardErrorPoints - 25) < 1e-12)
        let plain = AccuracyDrop(reference: reference, candidate: candidate, labels: labels, clusterSize: 1)
        #expect(plain == AccuracyDrop(reference: reference, candidate: candidate, labels: labels))
        // Copies that always agree: four copies of the 1,000-image case above. Unclustered, the
        // 4,000 images would claim half the error; as clusters of 4 the error is the 1,000-image one.
        let one = [Int](repeating: 1, count: 1000)
        var wrong = one
        wrong[10] = 2; wrong[500] = 0; wrong[999] = 7
        let copies = { (a: [Int]) in a.flatMap { [Int](repeating: $0, count: 4) } }
        let single = AccuracyDrop(reference: one, candidate: wrong, labels: [UInt8](repeating: 1, count: 1000))
        let four = AccuracyDrop(reference: copies(one), candidate: copies(wrong), labels: [UInt8](repeating: 1, count: 4000),
                                clusterSize: 4)
        #expect(abs(four.points - single.points) < 1e-12 && abs(four.standardErrorPoints - single.standardErrorPoints) < 1e-12)
    }

    /// The trained-on test of the rate control: the reference model scores 99.65 % on validation
    /// images and 99.61 % on training images 0…9,999 (trained on both: looks trained on); a model
    /// trained with `--holdout 10000` scores 98.42 % against 99.9 % (unseen). Two standard errors of
    /// the difference at 10,000 images each are 0.26 pp at 98.4 %/99.9 % and 0.11 pp at 99.8 %/99.9 %.
    @Test func validationThatLooksTrainedOn() {
        #expect(DropImages.looksTrainedOn(validationAccuracy: 0.9965, fitAccuracy: 0.9961, count: 10_000))
        #expect(!DropImages.looksTrainedOn(validationAccuracy: 0.9842, fitAccuracy: 0.999, count: 10_000))
        #expect(DropImages.looksTrainedOn(validationAccuracy: 0.998, fitAccuracy: 0.999, count: 10_000))
        #expect(!DropImages.looksTrainedOn(validationAccuracy: 0.9960, fitAccuracy: 0.999, count: 10_000))
        #expect(!DropImages.looksTrainedOn(validationAccuracy: 1, fitAccuracy: 1, count: 0))
    }
}
