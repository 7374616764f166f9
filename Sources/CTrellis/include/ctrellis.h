#ifndef CTRELLIS_H
#define CTRELLIS_H

// Hot loops of coding 6 (entropy-trellis, Sources/WeightJPEGCodec/Codings/EntropyTrellis/): the
// encoder's Viterbi pass over the 4-state trellis, and the decoder of a chunk stream. Portable C, branch-free where the data decides
// (noise-like weights make every comparison a coin toss, so a branch would mispredict half the time).
// Pure functions of their arguments: thread-safe.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One Viterbi pass of `TrellisQuantizer` over one chunk: `rows × columns` float32 weights `values`
/// (row-major), the trellis starting in state 0. Element (r, c) has class
/// `clamp(row_class[r] + shift[c], 0, k_max)` and is rated with `bits[(2·class + quantizer)·128 + token]`
/// (bits per magnitude token, sign included) plus its extra bits, weighted by `lambda` against the
/// squared error in steps. Writes the chosen indices to `indices` (`rows × columns`) and returns
/// `total` plus Σ(w − decoded)² of the chunk, the decoded values computed exactly as the decoder
/// does (float32 `reconstruction · step`), summed in double, and adds each element's magnitude
/// token to `histogram[(2·class + quantizer)·128 + token]`. `scratch_indices` holds 4 and
/// `scratch_flags` 1 entries per element. Uses AVX2 when the CPU has it (same result).
double ctrellis_chunk(const float *values, int64_t rows, int64_t columns, const uint8_t *row_class,
                      const int8_t *shift, int32_t k_max, const float *bits, float lambda, float step,
                      int32_t *indices, int32_t *scratch_indices, uint8_t *scratch_flags, uint32_t *histogram,
                      double total);

/// Two consecutive chunks of one tensor, `a` then `b` (rows_b ≤ rows_a; each with its values, rows,
/// row classes and indices; the rest shared), passed in lockstep so that their serial chains (the
/// Viterbi additions, the back-track's states) overlap: the same indices, histogram and
/// `total` as `ctrellis_chunk` on a, then on b. `scratch_indices` holds 4 and `scratch_flags` 1
/// entries per element of the two chunks.
double ctrellis_chunk_pair(const float *values_a, int64_t rows_a, const uint8_t *row_class_a, int32_t *indices_a,
                           const float *values_b, int64_t rows_b, const uint8_t *row_class_b, int32_t *indices_b,
                           int64_t columns, const int8_t *shift, int32_t k_max, const float *bits, float lambda, float step,
                           int32_t *scratch_indices, uint8_t *scratch_flags, uint32_t *histogram, double total);

/// Encodes the indices `q` (`rows × columns`, row-major, |q| < 2¹⁷) of one chunk as its rANS stream
/// (docs/FORMAT.md §4, the inverse of `ctrellis_decode_chunk`): `entries` holds per table
/// (class-major, `dependent ? 2 : 1` tables per class) 256 entries `frequency | start << 16` per
/// signed token; every table an element uses must give its symbols non-zero frequencies, and
/// `reciprocals` (same layout) holds for each such entry `ctrellis_reciprocal(frequency)`. Writes the
/// stream to `out` (capacity at least 4 + 6 per element) and returns its length; `scratch_words`
/// holds 3 and `scratch_states` 1 entries per element.
int64_t ctrellis_encode_chunk(const int32_t *q, int64_t rows, int64_t columns, const uint8_t *row_class,
                              const int8_t *shift, int32_t k_max, int dependent, const uint32_t *entries,
                              const uint64_t *reciprocals, uint8_t *out, uint16_t *scratch_words, uint8_t *scratch_states);

/// Two consecutive chunks of one tensor, `a` then `b` (rows_b ≤ rows_a; each with its indices,
/// rows and row classes; the rest shared), encoded in lockstep so that their serial rANS chains
/// overlap: the same two streams as two calls of `ctrellis_encode_chunk`, written to `out_a` and
/// `out_b` (capacity 4 + 6 per element each), their lengths to `lengths[0]` and `lengths[1]`.
/// `scratch_words` holds 3 and `scratch_states` 1 entries per element of the two chunks.
void ctrellis_encode_chunk_pair(const int32_t *q_a, int64_t rows_a, const uint8_t *row_class_a,
                                const int32_t *q_b, int64_t rows_b, const uint8_t *row_class_b,
                                int64_t columns, const int8_t *shift, int32_t k_max, int dependent, const uint32_t *entries,
                                const uint64_t *reciprocals, uint8_t *out_a, uint8_t *out_b, uint16_t *scratch_words,
                                uint8_t *scratch_states, int64_t *lengths);

/// ⌈2⁶³ / f⌉ for a frequency 1 ≤ f ≤ 4096: `x / f` is then `(x · r) >> 63` (128-bit product) for
/// every x < 2³², exactly (the error x·(r·f − 2⁶³)/(f·2⁶³) < 2⁻³¹ cannot reach the next integer,
/// which is at least 1/f ≥ 2⁻¹² away), a multiplication where the encoder would divide.
uint64_t ctrellis_reciprocal(uint32_t f);

/// Whether `ctrellis_chunk` uses its AVX2 version (x86-64 CPUs with AVX2, unless forbidden).
int ctrellis_uses_avx2(void);
/// Non-zero: use the portable version even where AVX2 exists (tests compare both). Not thread-safe:
/// set it before any pass runs.
void ctrellis_set_portable(int portable);

/// Decodes one chunk stream of coding 6 (docs/FORMAT.md §4, "6 — entropy-trellis": rANS with
/// 12-bit probabilities and 16-bit words, magnitude tokens with extra bits, mode 0 plain or mode 1
/// trellis) of `length` bytes into `out` (`rows × columns` float32, row-major). `slots` holds, per
/// table (class-major, `dependent ? 2 : 1` tables per class), 1,280 words: the signed token of each
/// of the 4,096 slots as bytes, then 256 entries `frequency | start << 16`; every class an element
/// can reach must have its tables. Returns 0 on success and 1 on a corrupt stream (ends early, has bytes left, or ends in
/// another state than 2¹⁶); then the chunk's output is partly written. Never reads outside
/// `bytes[0 ..< length]`; work is at most three rANS steps per element.
int ctrellis_decode_chunk(const uint8_t *bytes, int64_t length, int64_t rows, int64_t columns,
                          const uint8_t *row_class, const int8_t *shift, int32_t k_max, int dependent,
                          const uint32_t *slots, float step, float *out);

/// Two chunk streams of one tensor, `a` then `b` (for each: stream, length, rows, row classes and
/// output as `ctrellis_decode_chunk` takes them; columns, shifts, tables and step shared), decoded
/// in lockstep so that their serial rANS chains overlap: the same values and verdicts as two calls
/// of `ctrellis_decode_chunk`, written to `status[0]` and `status[1]` (0 decoded, 1 corrupt). A
/// corrupt stream leaves its output partly written; the other is decoded all the same.
void ctrellis_decode_chunk_pair(const uint8_t *bytes_a, int64_t length_a, int64_t rows_a, const uint8_t *row_class_a, float *out_a,
                                const uint8_t *bytes_b, int64_t length_b, int64_t rows_b, const uint8_t *row_class_b, float *out_b,
                                int64_t columns, const int8_t *shift, int32_t k_max, int dependent, const uint32_t *slots,
                                float step, int32_t *status);

#ifdef __cplusplus
}
#endif

#endif
