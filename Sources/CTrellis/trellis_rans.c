// The rANS chunk streams of coding 6 (docs/FORMAT.md §4, "6 — entropy-trellis"): decoder and
// encoder, see include/ctrellis.h.
#include "ctrellis.h"
#include "shared.h"

// MARK: Decoding

#define RANS_L 65536u

// One rANS step of `k` ≤ 12 raw bits (k = 0 leaves x unchanged): returns the bits.
static inline uint32_t raw_bits(uint32_t *x, uint32_t k) {
    const uint32_t sh = 12 - k, slot = *x & 4095u;
    *x = ((*x >> 12) << sh) + (slot & ((1u << sh) - 1));
    return slot >> sh;
}

// Per signed symbol: the token's base magnitude (bits 0–16), its extra-bit count (bits 17–20) and
// the sign (bit 31: even non-zero symbols are negative).
static void symbol_info(uint32_t *info) {
    for (uint32_t sym = 0; sym < 256; sym++) {
        const uint32_t t = (sym + 1) >> 1;
        const uint32_t nb = t >= 32 ? 2 + ((t - 32) >> 3) : 0;
        const uint32_t base = t >= 32 ? (8u | ((t - 32) & 7)) << nb : t;
        info[sym] = base | nb << 17 | (uint32_t)(sym != 0 && (sym & 1) == 0) << 31;
    }
}

// The value of magnitude `m` with the sign of `info` in trellis state `state` (mode 1) or plain:
// the sign applied to the integer without a branch (the sign is a coin toss), then one
// conversion and one product. (-r)·step is exactly −(r·step), so this equals flipping the float's
// sign bit, without moving the float between register kinds.
static inline float value(uint32_t m, uint32_t info, uint32_t state, int dependent, float step) {
    const uint32_t rho = dependent ? 2 * m - ((state >> 1) & (m != 0)) : m;
    const int32_t negative = (int32_t)info >> 31;   // 0 or −1
    return (float)(((int32_t)rho ^ negative) - negative) * step;
}

// Renormalization without a branch (the caller guarantees 2 readable bytes at p + *pos).
static inline void renormalize(uint32_t *x, const uint8_t *p, int64_t *pos) {
    const uint32_t lt = *x < RANS_L;
    const uint32_t w = (uint32_t)p[*pos] | (uint32_t)p[*pos + 1] << 8;
    *x = (*x << (16 * lt)) | (w & (0u - lt));
    *pos += 2 * lt;
}

// The rANS step of one symbol with table `tb` (4,096 symbol bytes, then 256 entries
// `frequency | start << 16`): returns the symbol; x is left to renormalize.
static inline uint32_t symbol_step(uint32_t *x, const uint32_t *tb) {
    const uint32_t slot = *x & 4095u;
    const uint32_t sym = ((const uint8_t *)tb)[slot];
    const uint32_t e = tb[1024 + sym];
    *x = (e & 0xFFFFu) * (*x >> 12) + slot - (e >> 16);
    return sym;
}

// Words of one decoder table: 4,096 symbol bytes and 256 entries.
#define TABLE_WORDS 1280

// The trellis state after an element in state s whose magnitude has parity p: NEXT_STATE[2s + p]
// (docs/FORMAT.md §4). With the sign step of `value`, about 5 % less decoder time than a packed word
// and a float sign flip (scripts/trellis-kernel-bench).
static const uint8_t NEXT_STATE[8] = {0, 2, 2, 0, 1, 3, 3, 1};

// The first table of element c's class in a row of class `rc` (mode 1: the class's two tables).
static inline const uint32_t *class_tables(const uint32_t *slots, int32_t rc, const int8_t *shift, int64_t c,
                                           int use_shift, int32_t k_max, int64_t q) {
    int32_t cls = use_shift ? rc + shift[c] : rc;
    cls = cls < 0 ? 0 : (cls > k_max ? k_max : cls);
    return slots + (size_t)(q * cls) * TABLE_WORDS;
}

// One chunk stream being decoded: its bytes, read position, rANS state and trellis state.
typedef struct {
    const uint8_t *p;
    int64_t pos, end;
    uint32_t x, state;
} lane_t;

#define ALWAYS_INLINE static inline __attribute__((always_inline))

// Starts a lane: 0, or 1 when the stream is shorter than its state or the state is out of range.
ALWAYS_INLINE int lane_start(lane_t *l, const uint8_t *bytes, int64_t length) {
    if (length < 4) return 1;
    l->p = bytes;
    l->x = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
    l->pos = 4; l->end = length; l->state = 0;
    return l->x < RANS_L;
}

// Whether the lane ended exactly: every word read and the state back at 2¹⁶ (0), else 1.
ALWAYS_INLINE int lane_finished(const lane_t *l) { return l->pos == l->end && l->x == RANS_L ? 0 : 1; }

// The first table of the element's class, then (mode 1) the one of the state's quantizer.
ALWAYS_INLINE const uint32_t *element_table(const lane_t *l, const uint32_t *slots, int32_t rc, const int8_t *shift, int64_t c,
                                             const int use_shift, int32_t k_max, const int dependent) {
    return class_tables(slots, rc, shift, c, use_shift, k_max, dependent ? 2 : 1) + (dependent ? (l->state >> 1) * TABLE_WORDS : 0);
}

// Decodes one element without bounds checks: the caller guarantees 6 readable bytes at pos (at
// most 3 renormalizations of 2 bytes).
ALWAYS_INLINE float lane_fast(lane_t *l, const uint32_t *tb, const uint32_t *info, const int dependent, float step) {
    const uint32_t sym = symbol_step(&l->x, tb);
    renormalize(&l->x, l->p, &l->pos);
    const uint32_t in = info[sym];
    uint32_t nb = (in >> 17) & 15, extra = 0;
    if (nb > 12) {   // magnitudes of 2¹⁶ and more: rare
        extra = raw_bits(&l->x, nb - 12);
        renormalize(&l->x, l->p, &l->pos);
        nb = 12;
    }
    extra = extra << nb | raw_bits(&l->x, nb);
    renormalize(&l->x, l->p, &l->pos);
    const uint32_t m = (in & 0x1FFFFu) | extra;
    const float v = value(m, in, l->state, dependent, step);
    l->state = NEXT_STATE[2 * l->state + (m & 1)];
    return v;
}

// Decodes one element, checking every word read: 0, or 1 when the stream ends early.
ALWAYS_INLINE int lane_checked(lane_t *l, const uint32_t *tb, const uint32_t *info, const int dependent, float step, float *out) {
    const uint32_t sym = symbol_step(&l->x, tb);
    if (l->x < RANS_L) {
        if (l->pos + 2 > l->end) return 1;
        l->x = l->x << 16 | (uint32_t)l->p[l->pos] | (uint32_t)l->p[l->pos + 1] << 8;
        l->pos += 2;
    }
    const uint32_t in = info[sym];
    uint32_t nb = (in >> 17) & 15, extra = 0;
    while (nb > 0) {
        const uint32_t k = nb > 12 ? nb - 12 : nb;
        extra = extra << k | raw_bits(&l->x, k);
        if (l->x < RANS_L) {
            if (l->pos + 2 > l->end) return 1;
            l->x = l->x << 16 | (uint32_t)l->p[l->pos] | (uint32_t)l->p[l->pos + 1] << 8;
            l->pos += 2;
        }
        nb -= k;
    }
    const uint32_t m = (in & 0x1FFFFu) | extra;
    *out = value(m, in, l->state, dependent, step);
    l->state = NEXT_STATE[2 * l->state + (m & 1)];
    return 0;
}

enum { BLOCK = 16 };

// Decodes a lane's elements from row r0, column c0 to the end of row `rows − 1`: 0, or 1 when
// the stream ends early.
ALWAYS_INLINE int lane_rest(lane_t *l, int64_t r0, int64_t c0, int64_t rows, int64_t columns, const uint8_t *row_class,
                            const int8_t *shift, int32_t k_max, const int dependent, const int use_shift,
                            const uint32_t *slots, const uint32_t *info, float step, float *out) {
    for (int64_t r = r0; r < rows; r++) {
        const int32_t rc = row_class[r];
        float *o = out + r * columns;
        int64_t c = r == r0 ? c0 : 0;
        while (c < columns) {
            const int64_t stop = columns - c < BLOCK ? columns : c + BLOCK;
            if (l->end - l->pos >= 6 * BLOCK) {
                for (; c < stop; c++)
                    o[c] = lane_fast(l, element_table(l, slots, rc, shift, c, use_shift, k_max, dependent), info, dependent, step);
            } else {
                // Near the end of the stream: every word read is checked.
                for (; c < stop; c++)
                    if (lane_checked(l, element_table(l, slots, rc, shift, c, use_shift, k_max, dependent), info, dependent, step, o + c))
                        return 1;
            }
        }
    }
    return 0;
}

ALWAYS_INLINE int decode_chunk(const uint8_t *bytes, int64_t length, int64_t rows, int64_t columns, const uint8_t *row_class,
                               const int8_t *shift, int32_t k_max, const int dependent, const int use_shift,
                               const uint32_t *slots, float step, float *out) {
    lane_t l;
    if (lane_start(&l, bytes, length)) return 1;
    uint32_t info[256];
    symbol_info(info);
    if (lane_rest(&l, 0, 0, rows, columns, row_class, shift, k_max, dependent, use_shift, slots, info, step, out)) return 1;
    return lane_finished(&l);
}

static int uses_shift(const int8_t *shift, int64_t columns) {
    int use = 0;
    for (int64_t c = 0; c < columns; c++) use |= shift[c] != 0;
    return use;
}

int ctrellis_decode_chunk(const uint8_t *bytes, int64_t length, int64_t rows, int64_t columns,
                          const uint8_t *row_class, const int8_t *shift, int32_t k_max, int dependent,
                          const uint32_t *slots, float step, float *out) {
    // One specialized loop per mode and per kind of class model (column shifts or one class per row).
    if (dependent)
        return uses_shift(shift, columns) ? decode_chunk(bytes, length, rows, columns, row_class, shift, k_max, 1, 1, slots, step, out)
                                          : decode_chunk(bytes, length, rows, columns, row_class, shift, k_max, 1, 0, slots, step, out);
    return uses_shift(shift, columns) ? decode_chunk(bytes, length, rows, columns, row_class, shift, k_max, 0, 1, slots, step, out)
                                      : decode_chunk(bytes, length, rows, columns, row_class, shift, k_max, 0, 0, slots, step, out);
}

// Two chunks in lockstep: row r, column c of chunk a, then of chunk b, so that their two serial
// chains of rANS steps overlap in the CPU (one chain alone leaves most execution units idle:
// measured 9.5 ns per element alone, 6.2 paired). Near the end of either stream, and for the rows
// of a that b does not have, each goes on alone.
ALWAYS_INLINE void decode_pair(const uint8_t *bytes_a, int64_t length_a, int64_t rows_a, const uint8_t *row_class_a, float *out_a,
                               const uint8_t *bytes_b, int64_t length_b, int64_t rows_b, const uint8_t *row_class_b, float *out_b,
                               int64_t columns, const int8_t *shift, int32_t k_max, const int dependent, const int use_shift,
                               const uint32_t *slots, float step, int32_t *status) {
    lane_t a, b;
    uint32_t info[256];
    symbol_info(info);
    status[0] = lane_start(&a, bytes_a, length_a);
    status[1] = lane_start(&b, bytes_b, length_b);
    int64_t r = 0, c = 0;
    if (status[0] == 0 && status[1] == 0) {
        const int64_t paired = rows_a < rows_b ? rows_a : rows_b;
        for (; r < paired; r++) {
            const int32_t rca = row_class_a[r], rcb = row_class_b[r];
            float *oa = out_a + r * columns, *ob = out_b + r * columns;
            for (c = 0; c < columns;) {
                if (a.end - a.pos < 6 * BLOCK || b.end - b.pos < 6 * BLOCK) goto alone;
                const int64_t stop = columns - c < BLOCK ? columns : c + BLOCK;
                for (; c < stop; c++) {
                    oa[c] = lane_fast(&a, element_table(&a, slots, rca, shift, c, use_shift, k_max, dependent), info, dependent, step);
                    ob[c] = lane_fast(&b, element_table(&b, slots, rcb, shift, c, use_shift, k_max, dependent), info, dependent, step);
                }
            }
        }
        c = 0;
    }
alone:
    if (status[0] == 0)
        status[0] = lane_rest(&a, r, c, rows_a, columns, row_class_a, shift, k_max, dependent, use_shift, slots, info, step, out_a)
                    || lane_finished(&a);
    if (status[1] == 0)
        status[1] = lane_rest(&b, r, c, rows_b, columns, row_class_b, shift, k_max, dependent, use_shift, slots, info, step, out_b)
                    || lane_finished(&b);
}

void ctrellis_decode_chunk_pair(const uint8_t *bytes_a, int64_t length_a, int64_t rows_a, const uint8_t *row_class_a, float *out_a,
                                const uint8_t *bytes_b, int64_t length_b, int64_t rows_b, const uint8_t *row_class_b, float *out_b,
                                int64_t columns, const int8_t *shift, int32_t k_max, int dependent, const uint32_t *slots,
                                float step, int32_t *status) {
#define PAIR(dep, sh) decode_pair(bytes_a, length_a, rows_a, row_class_a, out_a, bytes_b, length_b, rows_b, row_class_b, out_b, \
                                  columns, shift, k_max, dep, sh, slots, step, status)
    if (dependent) {
        if (uses_shift(shift, columns)) PAIR(1, 1); else PAIR(1, 0);
    } else {
        if (uses_shift(shift, columns)) PAIR(0, 1); else PAIR(0, 0);
    }
#undef PAIR
}

// MARK: Encoding

// Before coding a symbol whose state limit is `limit`: emits the low 16 bits of x when x ≥ limit,
// without a branch (the word is always stored, the count moves only when it is emitted).
static inline void flush(uint32_t *x, uint64_t limit, uint16_t *words, int64_t *count) {
    const uint32_t out = *x >= limit;
    words[*count] = (uint16_t)*x;
    *count += out;
    *x >>= 16 * out;
}

// Codes `bits` ≤ 12 raw bits `v` (bits = 0 leaves x unchanged: its limit is 2³²).
static inline void put_raw(uint32_t *x, uint32_t v, uint32_t bits, uint16_t *words, int64_t *count) {
    const uint32_t sh = 12 - bits;
    flush(x, (uint64_t)1 << (sh + 20), words, count);
    *x = ((*x >> sh) << 12) + (*x & ((1u << sh) - 1)) + (v << sh);
}

uint64_t ctrellis_reciprocal(uint32_t f) { return f == 0 ? 0 : (((uint64_t)1 << 63) + f - 1) / f; }

// One chunk being encoded: the rANS state and the words emitted so far (in reverse order).
typedef struct {
    uint32_t x;
    int64_t count;
    uint16_t *words;
} encoder_lane_t;

// NEXT_STATE packed two bits per entry: the step is then a shift and a mask, no load, which
// shortens the serial chain below.
#define NEXT_STATE_PACKED (0u | 2u << 2 | 2u << 4 | 0u << 6 | 1u << 8 | 3u << 10 | 3u << 12 | 1u << 14)

static inline uint32_t next_state(uint32_t st, int32_t k) {
    return (NEXT_STATE_PACKED >> (4 * st + 2 * ((uint32_t)k & 1))) & 3;   // k's parity is |k|'s
}

// Trellis states before each of `n` elements, forwards from state 0 (mode 1 only).
static void trellis_states(const int32_t *q, int64_t n, uint8_t *states) {
    uint32_t st = 0;
    for (int64_t i = 0; i < n; i++) {
        states[i] = (uint8_t)st;
        st = next_state(st, q[i]);
    }
}

// `trellis_states` of two chunks (n_b ≤ n_a), their two serial chains side by side.
static void trellis_states_pair(const int32_t *q_a, int64_t n_a, uint8_t *states_a, const int32_t *q_b, int64_t n_b, uint8_t *states_b) {
    uint32_t sa = 0, sb = 0;
    int64_t i = 0;
    for (; i < n_b; i++) {
        states_a[i] = (uint8_t)sa;
        states_b[i] = (uint8_t)sb;
        sa = next_state(sa, q_a[i]);
        sb = next_state(sb, q_b[i]);
    }
    for (; i < n_a; i++) {
        states_a[i] = (uint8_t)sa;
        sa = next_state(sa, q_a[i]);
    }
}

// The encoder works on blocks of up to EBLOCK elements of one row: first each element's rANS
// inputs, with no chain between elements (AVX2 where the CPU has it), then the serial rANS steps
// over the block from its last element to its first.
enum { EBLOCK = 256 };

// What the serial steps need of one element: `idx` = table · 256 + signed symbol (the entry and
// reciprocal to use) and `raw` = extra bits | their count << 16.
static inline void prepare_one(int32_t v, int32_t rc, int8_t sh, uint8_t state, int32_t k_max, int dependent,
                               uint32_t *idx, uint32_t *raw) {
    const uint32_t m = (uint32_t)(v < 0 ? -v : v);
    uint32_t nb;
    const uint32_t token = ct_token(m, &nb);
    const uint32_t sym = 2 * token - (uint32_t)(v > 0);   // 0 for 0; odd positive, even negative
    int32_t cls = rc + sh;
    cls = cls < 0 ? 0 : (cls > k_max ? k_max : cls);
    const uint32_t table = dependent ? 2 * (uint32_t)cls + (state >> 1) : (uint32_t)cls;
    *idx = table * 256 + sym;
    *raw = (m & ((1u << nb) - 1)) | nb << 16;
}

#if CT_X86

// `prepare_one` for 8 consecutive elements of one row.
AVX2 static inline void prepare8(const int32_t *q, const uint8_t *states, const int8_t *shift, int32_t rc, int32_t k_max,
                                 int dependent, uint32_t *idx, uint32_t *raw) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)q);
    const __m256i m = _mm256_abs_epi32(v);
    __m256i nb;
    const __m256i token = ct_token8(m, &nb);
    // 2·token − (v > 0): the comparison is −1 where v > 0.
    const __m256i sym = _mm256_add_epi32(_mm256_add_epi32(token, token), _mm256_cmpgt_epi32(v, _mm256_setzero_si256()));
    __m256i cls = _mm256_add_epi32(_mm256_set1_epi32(rc), _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)shift)));
    cls = _mm256_min_epi32(_mm256_max_epi32(cls, _mm256_setzero_si256()), _mm256_set1_epi32(k_max));
    __m256i table = cls;
    if (dependent) {
        const __m256i st = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)states));
        table = _mm256_add_epi32(_mm256_add_epi32(cls, cls), _mm256_srli_epi32(st, 1));
    }
    _mm256_storeu_si256((__m256i *)idx, _mm256_add_epi32(_mm256_slli_epi32(table, 8), sym));
    const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(_mm256_set1_epi32(1), nb), _mm256_set1_epi32(1));
    _mm256_storeu_si256((__m256i *)raw, _mm256_or_si256(_mm256_and_si256(m, mask), _mm256_slli_epi32(nb, 16)));
}
#endif

// The rANS inputs of elements [c0, c1) of row r (`q` and `states` are the chunk's).
static inline void prepare(const int32_t *q, const uint8_t *states, int64_t r, int64_t c0, int64_t c1, int64_t columns,
                           const uint8_t *row_class, const int8_t *shift, int32_t k_max, int dependent, uint32_t *idx, uint32_t *raw) {
    const int64_t base = r * columns;
    const int32_t rc = row_class[r];
    int64_t c = c0;
#if CT_X86
    if (ctrellis_uses_avx2())
        for (; c + 8 <= c1; c += 8)
            prepare8(q + base + c, states + base + c, shift + c, rc, k_max, dependent, idx + (c - c0), raw + (c - c0));
#endif
    for (; c < c1; c++)
        prepare_one(q[base + c], rc, shift[c], dependent ? states[base + c] : 0, k_max, dependent, idx + (c - c0), raw + (c - c0));
}

// Codes one prepared element: rANS codes last in, first out, so the low extra bits first, then the
// high ones, then the symbol. Raw bits: a piece of `bits` ≤ 12 bits is a symbol of frequency
// 2^(12 − bits); the low 12 first when there are more (rare: magnitudes of 2¹⁶ and more).
ALWAYS_INLINE void encode_element(encoder_lane_t *l, uint32_t idx, uint32_t raw, const uint32_t *entries, const uint64_t *reciprocals) {
    uint32_t nb = raw >> 16, extra = raw & 0xFFFFu;
    if (nb > 12) {
        put_raw(&l->x, extra & 4095u, 12, l->words, &l->count);
        extra >>= 12;
        nb -= 12;
    }
    put_raw(&l->x, extra, nb, l->words, &l->count);
    const uint32_t entry = entries[idx];
    const uint32_t f = entry & 0xFFFFu, start = entry >> 16;
    flush(&l->x, (uint64_t)f << 20, l->words, &l->count);
    const uint32_t quotient = (uint32_t)(((unsigned __int128)l->x * reciprocals[idx]) >> 63);   // x / f
    l->x = (quotient << 12) + (l->x - quotient * f) + start;
}

// Codes rows [r0, r1) of a chunk, from the last element to the first.
ALWAYS_INLINE void encode_rows(encoder_lane_t *l, const int32_t *q, const uint8_t *states, int64_t r0, int64_t r1, int64_t columns,
                               const uint8_t *row_class, const int8_t *shift, int32_t k_max, const int dependent,
                               const uint32_t *entries, const uint64_t *reciprocals) {
    uint32_t idx[EBLOCK], raw[EBLOCK];
    for (int64_t r = r1 - 1; r >= r0; r--)
        for (int64_t end = columns; end > 0; end -= EBLOCK) {
            const int64_t start = end > EBLOCK ? end - EBLOCK : 0;
            prepare(q, states, r, start, end, columns, row_class, shift, k_max, dependent, idx, raw);
            for (int64_t c = end - 1; c >= start; c--) encode_element(l, idx[c - start], raw[c - start], entries, reciprocals);
        }
}

// The stream: the final state, then the words in the order the decoder reads them. Returns its length.
static int64_t write_stream(const encoder_lane_t *l, uint8_t *out) {
    out[0] = (uint8_t)l->x; out[1] = (uint8_t)(l->x >> 8); out[2] = (uint8_t)(l->x >> 16); out[3] = (uint8_t)(l->x >> 24);
    for (int64_t w = 0; w < l->count; w++) {
        const uint16_t word = l->words[l->count - 1 - w];
        out[4 + 2 * w] = (uint8_t)word;
        out[5 + 2 * w] = (uint8_t)(word >> 8);
    }
    return 4 + 2 * l->count;
}

int64_t ctrellis_encode_chunk(const int32_t *q, int64_t rows, int64_t columns, const uint8_t *row_class,
                              const int8_t *shift, int32_t k_max, int dependent, const uint32_t *entries,
                              const uint64_t *reciprocals, uint8_t *out, uint16_t *scratch_words, uint8_t *scratch_states) {
    if (dependent) trellis_states(q, rows * columns, scratch_states);
    encoder_lane_t l = {RANS_L, 0, scratch_words};
    if (dependent)
        encode_rows(&l, q, scratch_states, 0, rows, columns, row_class, shift, k_max, 1, entries, reciprocals);
    else
        encode_rows(&l, q, scratch_states, 0, rows, columns, row_class, shift, k_max, 0, entries, reciprocals);
    return write_stream(&l, out);
}

// Two chunks (b no longer than a) in lockstep, as the decoder pairs them: a's rows beyond b's
// alone (they come last in a, so they are coded first), then row r, column c of a, then of b.
ALWAYS_INLINE void encode_pair(const int32_t *q_a, int64_t rows_a, const uint8_t *row_class_a, const int32_t *q_b, int64_t rows_b,
                               const uint8_t *row_class_b, int64_t columns, const int8_t *shift, int32_t k_max, const int dependent,
                               const uint32_t *entries, const uint64_t *reciprocals, encoder_lane_t *a, encoder_lane_t *b,
                               const uint8_t *states_a, const uint8_t *states_b) {
    encode_rows(a, q_a, states_a, rows_b, rows_a, columns, row_class_a, shift, k_max, dependent, entries, reciprocals);
    uint32_t idx_a[EBLOCK], raw_a[EBLOCK], idx_b[EBLOCK], raw_b[EBLOCK];
    for (int64_t r = rows_b - 1; r >= 0; r--)
        for (int64_t end = columns; end > 0; end -= EBLOCK) {
            const int64_t start = end > EBLOCK ? end - EBLOCK : 0;
            prepare(q_a, states_a, r, start, end, columns, row_class_a, shift, k_max, dependent, idx_a, raw_a);
            prepare(q_b, states_b, r, start, end, columns, row_class_b, shift, k_max, dependent, idx_b, raw_b);
            for (int64_t c = end - 1 - start; c >= 0; c--) {
                encode_element(a, idx_a[c], raw_a[c], entries, reciprocals);
                encode_element(b, idx_b[c], raw_b[c], entries, reciprocals);
            }
        }
}

void ctrellis_encode_chunk_pair(const int32_t *q_a, int64_t rows_a, const uint8_t *row_class_a,
                                const int32_t *q_b, int64_t rows_b, const uint8_t *row_class_b,
                                int64_t columns, const int8_t *shift, int32_t k_max, int dependent, const uint32_t *entries,
                                const uint64_t *reciprocals, uint8_t *out_a, uint8_t *out_b, uint16_t *scratch_words,
                                uint8_t *scratch_states, int64_t *lengths) {
    const int64_t n_a = rows_a * columns, n_b = rows_b * columns;
    uint8_t *states_a = scratch_states, *states_b = scratch_states + n_a;
    if (dependent) trellis_states_pair(q_a, n_a, states_a, q_b, n_b, states_b);
    encoder_lane_t a = {RANS_L, 0, scratch_words}, b = {RANS_L, 0, scratch_words + 3 * n_a};
    if (dependent)
        encode_pair(q_a, rows_a, row_class_a, q_b, rows_b, row_class_b, columns, shift, k_max, 1, entries, reciprocals, &a, &b, states_a, states_b);
    else
        encode_pair(q_a, rows_a, row_class_a, q_b, rows_b, row_class_b, columns, shift, k_max, 0, entries, reciprocals, &a, &b, states_a, states_b);
    lengths[0] = write_stream(&a, out_a);
    lengths[1] = write_stream(&b, out_b);
}
