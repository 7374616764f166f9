// Raw libjpeg reference loops for benchmarks (the tools target only; the product never links this).
#ifndef CJPEGBENCH_H
#define CJPEGBENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Encodes `count` tiles of width x height (contiguous, tile i at pixels + i*width*height) with
/// plain libjpeg (one reused compressor, jpeg_mem_dest, full streams with JFIF), storing stream i
/// at out + offsets[i] with length sizes[i]. Returns 0, or nonzero if out_cap is too small or
/// libjpeg fails.
int cjpeg_bench_raw_encode(const uint8_t *pixels, int width, int height, int count, int quality,
                           int optimize, uint8_t *out, size_t out_cap, size_t *offsets,
                           size_t *sizes);

/// Decodes `count` streams (stream i at jpegs + offsets[i], sizes[i] bytes) with plain libjpeg
/// (one reused decompressor, jpeg_mem_src) to grayscale tiles of width x height stored
/// contiguously in `pixels`. Returns 0, or nonzero on error or size mismatch.
int cjpeg_bench_raw_decode(const uint8_t *jpegs, const size_t *offsets, const size_t *sizes,
                           int count, uint8_t *pixels, int width, int height);

#ifdef __cplusplus
}
#endif
#endif
