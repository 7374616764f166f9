import Foundation
import WeightJPEG

/// The speed of plain libjpeg-turbo on one 8-bit pixel per weight of a checkpoint: the reference the
/// whole-model pipeline is compared with (`weightjpeg bench model`).
///
/// Pixels: every float tensor of rank ≥ 2 viewed as `rows × columns` (as the codec does) and mapped
/// to 0…255 with the tensor's min/max (the codec's per-tensor mapping), cut into images of at most
/// 4096 rows. These are the weights' pixels as the codec's `matrix` layouts place them, in plain
/// row-major images rather than a mosaic of tiles (same pixel count, same content). The loops are
/// the plain C ones of `JPEGRawBenchmark` (no Swift in the loop), run on `jobs` threads.
public struct RawJPEGReference {
    /// One image: width, height and pixels.
    public struct Image: Sendable {
        public let width: Int
        public let height: Int
        public let pixels: [UInt8]
    }

    /// The gray images coded by both encoders.
    public let images: [Image]
    /// Input bytes (as stored in the checkpoint) of the tensors the images cover.
    public let coveredBytes: Int

    /// The images of every float tensor of rank ≥ 2 of the checkpoint at `path`.
    public init(checkpoint path: String) throws {
        let reader = try SafetensorsReader(path: path)
        var images: [Image] = []
        var covered = 0
        for i in 0..<reader.count {
            let t = reader.tensor(i)
            defer { reader.release(i) }
            guard t.dtype.convertsToFloat, t.shape.count >= 2, t.shape[0] > 0, t.count > 0 else { continue }
            let values = try t.floats()
            let rows = t.shape[0], columns = t.count / rows
            guard columns <= JPEG.maxDimension else { continue }
            covered += t.data.count
            var lo = values[0], hi = values[0]
            for v in values { lo = min(lo, v); hi = max(hi, v) }
            let mapping = PixelMapping(lo: lo, hi: hi)
            for band in stride(from: 0, to: rows, by: 4096) {
                let h = min(4096, rows - band)
                let pixels = (0..<(h * columns)).map { mapping.pixel(values[band * columns + $0]) }
                images.append(Image(width: columns, height: h, pixels: pixels))
            }
        }
        self.images = images
        coveredBytes = covered
    }

    /// Pixels in all images.
    public var pixelCount: Int { images.reduce(0) { $0 + $1.pixels.count } }

    /// Wall and CPU seconds (CPU: of this whole process, all threads, over the same interval).
    public struct Timing: Sendable {
        /// Wall time in seconds.
        public let seconds: Double
        /// CPU time of the process over the interval.
        public let cpuSeconds: Double

        /// A timing (e.g. a median of several).
        public init(seconds: Double, cpuSeconds: Double) {
            self.seconds = seconds
            self.cpuSeconds = cpuSeconds
        }
    }

    static func processCPUSeconds() -> Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    /// Encodes every image on `jobs` threads; returns the times and the streams.
    public func encode(quality: Int, optimize: Bool, jobs: Int) throws -> (timing: Timing, streams: [[UInt8]]) {
        let images = self.images
        var streams = [[UInt8]](repeating: [], count: images.count)
        let start = DispatchTime.now().uptimeNanoseconds, cpu = Self.processCPUSeconds()
        try OrderedParallelMap.run(
            count: images.count, jobs: jobs, window: 4 * jobs, budget: .max, cost: { _ in 1 },
            makeWorker: { () },
            work: { _, i in
                try JPEGRawBenchmark.encode(tiles: images[i].pixels, width: images[i].width, height: images[i].height,
                                            quality: quality, optimize: optimize).bytes
            },
            consume: { i, s in streams[i] = s })
        return (Timing(seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, cpuSeconds: Self.processCPUSeconds() - cpu), streams)
    }

    /// Decodes `streams` (from `encode`) on `jobs` threads; returns the times.
    public func decode(_ streams: [[UInt8]], jobs: Int) throws -> Timing {
        let images = self.images
        let start = DispatchTime.now().uptimeNanoseconds, cpu = Self.processCPUSeconds()
        try OrderedParallelMap.run(
            count: images.count, jobs: jobs, window: 4 * jobs, budget: .max, cost: { _ in 1 },
            makeWorker: { () },
            work: { _, i in
                try JPEGRawBenchmark.decode(bytes: streams[i], offsets: [0], sizes: [streams[i].count],
                                            width: images[i].width, height: images[i].height).count
            },
            consume: { _, _ in })
        return Timing(seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, cpuSeconds: Self.processCPUSeconds() - cpu)
    }
}
