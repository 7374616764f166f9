import CJPEG
import CJPEGBench
import WeightJPEG

/// Plain libjpeg loops (no Swift in the loop) over the same tiles the codec sees, as the
/// reference for benchmarks of `JPEGEncoder` / `JPEGDecoder`.
public enum JPEGRawBenchmark {
    /// Encodes `count` contiguous `width x height` tiles with plain libjpeg (one reused compressor,
    /// `jpeg_mem_dest`, full streams with JFIF, baseline-clamped quality tables).
    /// - Returns: all streams concatenated, with each stream's offset and size.
    /// - Throws: `JPEGError` (stage `.encode`) on bad sizes or a libjpeg error.
    public static func encode(
        tiles: [UInt8], width: Int, height: Int, quality: Int, optimize: Bool
    ) throws(JPEGError) -> (bytes: [UInt8], offsets: [Int], sizes: [Int]) {
        guard (1...JPEG.maxDimension).contains(width), (1...JPEG.maxDimension).contains(height), (1...100).contains(quality),
              tiles.count % (width * height) == 0
        else {
            throw .argument(.encode, "bad tile geometry or quality")
        }
        let tile = width * height
        let count = tiles.count / tile
        let capacity = count * (tile * 2 + 2048)
        var offsets = [Int](repeating: 0, count: count)
        var sizes = [Int](repeating: 0, count: count)
        var bytes = [UInt8](repeating: 0, count: capacity)
        let code = tiles.withUnsafeBufferPointer { src in
            bytes.withUnsafeMutableBufferPointer { dst in
                offsets.withUnsafeMutableBufferPointer { off in
                    sizes.withUnsafeMutableBufferPointer { siz in
                        cjpeg_bench_raw_encode(
                            src.baseAddress, Int32(width), Int32(height), Int32(count), Int32(quality),
                            optimize ? 1 : 0, dst.baseAddress, capacity, off.baseAddress, siz.baseAddress)
                    }
                }
            }
        }
        guard code == 0 else { throw JPEGError(stage: .encode, code: code, message: nil) }
        bytes.removeLast(capacity - (count > 0 ? offsets[count - 1] + sizes[count - 1] : 0))
        return (bytes, offsets, sizes)
    }

    /// Decodes the streams of `encode` with plain libjpeg (one reused decompressor) into
    /// contiguous `width x height` tiles.
    /// - Throws: `JPEGError` (stage `.decode`) on a libjpeg error or a size mismatch.
    public static func decode(
        bytes: [UInt8], offsets: [Int], sizes: [Int], width: Int, height: Int
    ) throws(JPEGError) -> [UInt8] {
        guard offsets.count == sizes.count, (1...JPEG.maxDimension).contains(width),
              (1...JPEG.maxDimension).contains(height),
              zip(offsets, sizes).allSatisfy({ $0 >= 0 && $1 > 0 && $1 <= bytes.count - $0 })
        else { throw .argument(.decode, "bad stream table") }
        var pixels = [UInt8](repeating: 0, count: offsets.count * width * height)
        let code = bytes.withUnsafeBufferPointer { src in
            offsets.withUnsafeBufferPointer { off in
                sizes.withUnsafeBufferPointer { siz in
                    pixels.withUnsafeMutableBufferPointer { dst in
                        cjpeg_bench_raw_decode(
                            src.baseAddress, off.baseAddress, siz.baseAddress, Int32(offsets.count),
                            dst.baseAddress, Int32(width), Int32(height))
                    }
                }
            }
        }
        guard code == 0 else { throw JPEGError(stage: .decode, code: code, message: nil) }
        return pixels
    }
}
