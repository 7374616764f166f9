// The encoder's Viterbi pass of coding 6: see include/ctrellis.h and TrellisQuantizer.swift (the
// quantizers, the state machine and the cost). Every float operation is the same in both versions
// (portable and AVX2) and in the same order, so both choose the same indices.
#include "ctrellis.h"
#include "shared.h"

#define LIMIT 131071.0f   // TrellisRANS.maxMagnitude

static inline float min_f(float x, float y) { return y < x ? y : x; }
static inline float max_f(float x, float y) { return y >= x ? y : x; }

// ⌊y⌋ for |y| < 2³¹.
static inline float floor_small(float y) {
    const float t = (float)(int32_t)y;
    return t > y ? t - 1 : t;
}

// λ·rate in bits of index `k` (any sign) under the token table `table`: the token's bits plus its
// extra bits.
static inline float lrate(const float *table, float lambda, int32_t k) {
    uint32_t nb;
    const uint32_t token = ct_token((uint32_t)(k < 0 ? -k : k), &nb);
    return lambda * (table[token] + (float)nb);
}

// The candidates of one element x = w/Δ (see TrellisQuantizer.swift), written as costs
// `j = [jE0, jE1, jO0, jO1]` and indices `k = [kE0, kO0, kE1, kO1]`: Q0's even and odd index (a and
// a + 1 in some order); Q1's best even index (0, or the even one of kO/kP when strictly cheaper) and
// best odd index (the odd one of kO/kP, or around 0 the cheaper of −1 and +1).
static inline void candidates(float x, const float *b0, const float *b1, float lambda, float *j, int32_t *k) {
    const float inf = __builtin_inff();
    const float a = min_f(max_f(floor_small(min_f(max_f(x * 0.5f, -2 * LIMIT), 2 * LIMIT)), -LIMIT), LIMIT - 1);
    const int32_t ai = (int32_t)a;
    const float dA = x - 2 * a, dB = dA - 2;
    const float jA = dA * dA + lrate(b0, lambda, ai);
    const float jB = dB * dB + lrate(b0, lambda, ai + 1);
    const int aOdd = ai & 1;
    const float o = min_f(max_f(2 * floor_small(min_f(max_f((x - 1) * 0.5f, -2 * LIMIT), 2 * LIMIT)) + 1, -2 * LIMIT + 1), 2 * LIMIT - 3);
    const float kOf = o > 0 ? (o + 1) * 0.5f : (o - 1) * 0.5f;
    const float kPf = o + 2 > 0 ? (o + 3) * 0.5f : (o + 1) * 0.5f;
    const int32_t kO = (int32_t)kOf, kP = (int32_t)kPf;
    const float dO = x - o, dP = dO - 2;
    const float jO = dO * dO + lrate(b1, lambda, kO);
    const float jP = dP * dP + lrate(b1, lambda, kP);
    const float jZ = x * x + lambda * b1[0];
    const int oOdd = kO & 1, pOdd = kP & 1;
    // kO, then kP, each to its parity's slot when strictly cheaper.
    float o1 = oOdd ? jO : inf;
    int32_t ko1 = oOdd ? kO : 0;
    const int tO = !oOdd & (jO < jZ);
    float e1 = tO ? jO : jZ;
    int32_t ke1 = tO ? kO : 0;
    const int tP = pOdd & (jP < o1);
    o1 = tP ? jP : o1;
    ko1 = tP ? kP : ko1;
    const int tE = !pOdd & (jP < e1);
    e1 = tE ? jP : e1;
    ke1 = tE ? kP : ke1;
    j[0] = aOdd ? jB : jA; j[1] = e1; j[2] = aOdd ? jA : jB; j[3] = o1;
    k[0] = ai + (ai & 1); k[1] = ai + 1 - (ai & 1); k[2] = ke1; k[3] = ko1;
}

#if CT_X86

// lrate for 8 indices; `offset` is the table's start (in floats) in `bits`.
AVX2 static inline __m256 lrate8(const float *bits, __m256i offset, __m256i k, __m256 lambda) {
    __m256i nb;
    const __m256i token = ct_token8(_mm256_abs_epi32(k), &nb);
    const __m256 b = _mm256_i32gather_ps(bits, _mm256_add_epi32(offset, token), 4);
    return _mm256_mul_ps(lambda, _mm256_add_ps(b, _mm256_cvtepi32_ps(nb)));
}

// 4 × 8 → 8 × 4: element i of the four vectors to out[4i … 4i + 3].
AVX2 static inline void store_transposed(float *out, __m256 v0, __m256 v1, __m256 v2, __m256 v3) {
    const __m256 t0 = _mm256_unpacklo_ps(v0, v1), t1 = _mm256_unpackhi_ps(v0, v1);
    const __m256 t2 = _mm256_unpacklo_ps(v2, v3), t3 = _mm256_unpackhi_ps(v2, v3);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(out, _mm256_permute2f128_ps(u0, u1, 0x20));
    _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
    _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
    _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
}

// `candidates` for 8 consecutive elements of one row.
AVX2 static void candidates8(const float *v, const int8_t *shift, int32_t rc, int32_t k_max, const float *bits, float lambda,
                             float inv, float *j, int32_t *k) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1), two = _mm256_set1_ps(2), three = _mm256_set1_ps(3);
    const __m256 lam = _mm256_set1_ps(lambda), inf = _mm256_set1_ps(__builtin_inff()), zero = _mm256_setzero_ps();
    const __m256i ione = _mm256_set1_epi32(1);
    __m256i cls = _mm256_add_epi32(_mm256_set1_epi32(rc), _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)shift)));
    cls = _mm256_min_epi32(_mm256_max_epi32(cls, _mm256_setzero_si256()), _mm256_set1_epi32(k_max));
    const __m256i off0 = _mm256_slli_epi32(cls, 8), off1 = _mm256_add_epi32(off0, _mm256_set1_epi32(128));
    const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(v), _mm256_set1_ps(inv));
    const __m256 lim2 = _mm256_set1_ps(2 * LIMIT);
    // Q0. (min_f(x, y) = y < x ? y : x = minps(y, x) for non-NaN; max_f likewise.)
    const __m256 a = _mm256_min_ps(_mm256_max_ps(_mm256_floor_ps(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(x, half), _mm256_set1_ps(-2 * LIMIT)), lim2)),
                                                 _mm256_set1_ps(-LIMIT)), _mm256_set1_ps(LIMIT - 1));
    const __m256i ai = _mm256_cvttps_epi32(a);
    const __m256 dA = _mm256_sub_ps(x, _mm256_mul_ps(two, a)), dB = _mm256_sub_ps(dA, two);
    const __m256 jA = _mm256_add_ps(_mm256_mul_ps(dA, dA), lrate8(bits, off0, ai, lam));
    const __m256 jB = _mm256_add_ps(_mm256_mul_ps(dB, dB), lrate8(bits, off0, _mm256_add_epi32(ai, ione), lam));
    const __m256i aLow = _mm256_and_si256(ai, ione);
    const __m256 aOdd = _mm256_castsi256_ps(_mm256_cmpeq_epi32(aLow, ione));
    // Q1.
    const __m256 fo = _mm256_floor_ps(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_sub_ps(x, one), half), _mm256_set1_ps(-2 * LIMIT)), lim2));
    const __m256 o = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(_mm256_mul_ps(two, fo), one), _mm256_set1_ps(-2 * LIMIT + 1)), _mm256_set1_ps(2 * LIMIT - 3));
    const __m256 kOf = _mm256_blendv_ps(_mm256_mul_ps(_mm256_sub_ps(o, one), half), _mm256_mul_ps(_mm256_add_ps(o, one), half), _mm256_cmp_ps(o, zero, _CMP_GT_OQ));
    const __m256 kPf = _mm256_blendv_ps(_mm256_mul_ps(_mm256_add_ps(o, one), half), _mm256_mul_ps(_mm256_add_ps(o, three), half),
                                        _mm256_cmp_ps(_mm256_add_ps(o, two), zero, _CMP_GT_OQ));
    const __m256i kO = _mm256_cvttps_epi32(kOf), kP = _mm256_cvttps_epi32(kPf);
    const __m256 dO = _mm256_sub_ps(x, o), dP = _mm256_sub_ps(dO, two);
    const __m256 jO = _mm256_add_ps(_mm256_mul_ps(dO, dO), lrate8(bits, off1, kO, lam));
    const __m256 jP = _mm256_add_ps(_mm256_mul_ps(dP, dP), lrate8(bits, off1, kP, lam));
    const __m256 b10 = _mm256_i32gather_ps(bits, off1, 4);
    const __m256 jZ = _mm256_add_ps(_mm256_mul_ps(x, x), _mm256_mul_ps(lam, b10));
    const __m256 oOdd = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(kO, ione), ione));
    const __m256 pOdd = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(kP, ione), ione));
    __m256 o1 = _mm256_blendv_ps(inf, jO, oOdd);
    __m256 ko1 = _mm256_and_ps(_mm256_castsi256_ps(kO), oOdd);
    const __m256 tO = _mm256_andnot_ps(oOdd, _mm256_cmp_ps(jO, jZ, _CMP_LT_OQ));
    __m256 e1 = _mm256_blendv_ps(jZ, jO, tO);
    __m256 ke1 = _mm256_and_ps(_mm256_castsi256_ps(kO), tO);
    const __m256 tP = _mm256_and_ps(pOdd, _mm256_cmp_ps(jP, o1, _CMP_LT_OQ));
    o1 = _mm256_blendv_ps(o1, jP, tP);
    ko1 = _mm256_blendv_ps(ko1, _mm256_castsi256_ps(kP), tP);
    const __m256 tE = _mm256_andnot_ps(pOdd, _mm256_cmp_ps(jP, e1, _CMP_LT_OQ));
    e1 = _mm256_blendv_ps(e1, jP, tE);
    ke1 = _mm256_blendv_ps(ke1, _mm256_castsi256_ps(kP), tE);
    store_transposed(j, _mm256_blendv_ps(jA, jB, aOdd), e1, _mm256_blendv_ps(jB, jA, aOdd), o1);
    const __m256i kE0 = _mm256_add_epi32(ai, aLow), kO0 = _mm256_sub_epi32(_mm256_add_epi32(ai, ione), aLow);
    store_transposed((float *)k, _mm256_castsi256_ps(kE0), _mm256_castsi256_ps(kO0), ke1, ko1);
}

// The Viterbi step over `count` elements with the 4 path costs as one vector: targets 0…3 come
// from A = [c0 + jE0, c2 + jE1, c0 + jO0, c2 + jO1] or B = [c1 + jO0, c3 + jO1, c1 + jE0, c3 + jE1]
// (0 ← (0, even) | (1, odd); 1 ← (2, even) | (3, odd); 2 ← (0, odd) | (1, even); 3 ← (2, odd) | (3, even)),
// then every cost minus state 0's (the differences stay bounded, so float keeps its precision).
AVX2 static __m128 viterbi(__m128 c, const float *j, int64_t count, uint8_t *flags) {
    for (int64_t i = 0; i < count; i++) {
        const __m128 j1 = _mm_loadu_ps(j + 4 * i);
        const __m128 j2 = _mm_shuffle_ps(j1, j1, _MM_SHUFFLE(1, 0, 3, 2));
        const __m128 a = _mm_add_ps(_mm_shuffle_ps(c, c, _MM_SHUFFLE(2, 0, 2, 0)), j1);
        const __m128 b = _mm_add_ps(_mm_shuffle_ps(c, c, _MM_SHUFFLE(3, 1, 3, 1)), j2);
        const __m128 lt = _mm_cmplt_ps(b, a);
        flags[i] = (uint8_t)_mm_movemask_ps(lt);
        const __m128 n = _mm_blendv_ps(a, b, lt);
        c = _mm_sub_ps(n, _mm_shuffle_ps(n, n, 0));
    }
    return c;
}

// `viterbi` for two chunks in lockstep, chunk a in the low and chunk b in the high 128-bit lane:
// every lane's operations are `viterbi`'s (AVX shuffles and the broadcast stay within a lane), so
// each chunk gets the same flags as alone, while the two serial chains of additions overlap.
AVX2 static __m256 viterbi2(__m256 c, const float *ja, const float *jb, int64_t count, uint8_t *fa, uint8_t *fb) {
    for (int64_t i = 0; i < count; i++) {
        const __m256 j1 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(ja + 4 * i)), _mm_loadu_ps(jb + 4 * i), 1);
        const __m256 j2 = _mm256_shuffle_ps(j1, j1, _MM_SHUFFLE(1, 0, 3, 2));
        const __m256 a = _mm256_add_ps(_mm256_shuffle_ps(c, c, _MM_SHUFFLE(2, 0, 2, 0)), j1);
        const __m256 b = _mm256_add_ps(_mm256_shuffle_ps(c, c, _MM_SHUFFLE(3, 1, 3, 1)), j2);
        const __m256 lt = _mm256_cmp_ps(b, a, _CMP_LT_OS);   // _mm_cmplt_ps's predicate
        const int m = _mm256_movemask_ps(lt);
        fa[i] = (uint8_t)(m & 15);
        fb[i] = (uint8_t)(m >> 4);
        const __m256 n = _mm256_blendv_ps(a, b, lt);
        c = _mm256_sub_ps(n, _mm256_shuffle_ps(n, n, 0));
    }
    return c;
}

static int has_avx2(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") ? 1 : 0;
    return cached;
}
#endif

static int forced_generic = 0;

void ctrellis_set_portable(int portable) { forced_generic = portable; }

int ctrellis_uses_avx2(void) {
#if CT_X86
    return !forced_generic && has_avx2();
#else
    return 0;
#endif
}

enum { BLOCK = 256 };

// The candidates of `count` ≤ BLOCK consecutive elements of one row (row class `rc`; `v` and
// `shift` start at the block) into `cost` (4 per element) and `k`.
static inline void fill_block(const float *v, const int8_t *shift, int32_t rc, int32_t k_max, const float *bits, float lambda,
                              float inv, int64_t count, int simd, float *cost, int32_t *k) {
    int64_t i = 0;
#if CT_X86
    if (simd) {
        for (; i + 8 <= count; i += 8) candidates8(v + i, shift + i, rc, k_max, bits, lambda, inv, cost + 4 * i, k + 4 * i);
    }
#else
    (void)simd;
#endif
    for (; i < count; i++) {
        int32_t cls = rc + shift[i];
        cls = cls < 0 ? 0 : (cls > k_max ? k_max : cls);
        const float *b0 = bits + (size_t)(2 * cls) * 128;
        candidates(v[i] * inv, b0, b0 + 128, lambda, cost + 4 * i, k + 4 * i);
    }
}

// The portable Viterbi step (the same operations as `viterbi`), path costs in `c`.
static inline void viterbi_portable(float *c, const float *cost, int64_t count, uint8_t *flags) {
    float c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
    for (int64_t i = 0; i < count; i++) {
        const float *j = cost + 4 * i;   // jE0, jE1, jO0, jO1
        const float a0 = c0 + j[0], b0 = c1 + j[2];
        const float a1 = c2 + j[1], b1 = c3 + j[3];
        const float a2 = c0 + j[2], b2 = c1 + j[0];
        const float a3 = c2 + j[3], b3 = c3 + j[1];
        const int f0 = b0 < a0, f1 = b1 < a1, f2 = b2 < a2, f3 = b3 < a3;
        const float n0 = f0 ? b0 : a0, n1 = f1 ? b1 : a1, n2 = f2 ? b2 : a2, n3 = f3 ? b3 : a3;
        c0 = n0 - n0; c1 = n1 - n0; c2 = n2 - n0; c3 = n3 - n0;
        flags[i] = (uint8_t)(f0 | f1 << 1 | f2 << 2 | f3 << 3);
    }
    c[0] = c0; c[1] = c1; c[2] = c2; c[3] = c3;
}

// The forward pass over rows [r0, r1) of one chunk: candidates and Viterbi flags into the scratch
// entries of those rows (the chunk's own element indices), the path costs `c` read and updated.
static void forward_rows(const float *values, int64_t r0, int64_t r1, int64_t columns, const uint8_t *row_class,
                         const int8_t *shift, int32_t k_max, const float *bits, float lambda, float inv, int simd,
                         int32_t *scratch_indices, uint8_t *scratch_flags, float *c) {
    float cost[4 * BLOCK];
    int64_t e = r0 * columns;
#if CT_X86
    __m128 cv = _mm_loadu_ps(c);
#endif
    for (int64_t r = r0; r < r1; r++) {
        const float *v = values + r * columns;
        for (int64_t start = 0; start < columns; start += BLOCK) {
            const int64_t count = columns - start < BLOCK ? columns - start : BLOCK;
            fill_block(v + start, shift + start, row_class[r], k_max, bits, lambda, inv, count, simd, cost, scratch_indices + 4 * e);
#if CT_X86
            if (simd) cv = viterbi(cv, cost, count, scratch_flags + e);
            else
#endif
                viterbi_portable(c, cost, count, scratch_flags + e);
            e += count;
        }
    }
#if CT_X86
    if (simd) _mm_storeu_ps(c, cv);
#endif
}

// The back-track, in two passes. First the serial one: the cheapest final state, then for each
// element from the last one on, its candidate slot (replacing its flags: 2·quantizer + which of the
// quantizer's two candidates) and the state before it. The state before element i is
// 2·(st & 1) + flag, where st is the state after it and flag its Viterbi choice for st; its index is
// the odd or even candidate of st's quantizer (Q1 for states 1 and 3).
static inline int final_state(const float *c) {
    int st = 0;
    float best = c[0];
    if (c[1] < best) { best = c[1]; st = 1; }
    if (c[2] < best) { best = c[2]; st = 2; }
    if (c[3] < best) { st = 3; }
    return st;
}

static inline int walk_one(uint8_t *flags, int64_t i, int st) {
    const int bit = (flags[i] >> st) & 1;
    const int q = st & 1;
    flags[i] = (uint8_t)(2 * q + (bit ^ (st >> 1)));
    return 2 * q + bit;
}

static void walk(uint8_t *flags, int64_t n, int st) {
    for (int64_t i = n - 1; i >= 0; i--) st = walk_one(flags, i, st);
}

// Two chunks' walks side by side: a's elements beyond b's first, then both (two serial chains).
static void walk_pair(uint8_t *flags_a, int64_t n_a, int st_a, uint8_t *flags_b, int64_t n_b, int st_b) {
    int64_t i = n_a - 1;
    for (; i >= n_b; i--) st_a = walk_one(flags_a, i, st_a);
    for (; i >= 0; i--) {
        st_a = walk_one(flags_a, i, st_a);
        st_b = walk_one(flags_b, i, st_b);
    }
}

// Then the second pass, with no chain between elements: each element's index from its slot, its
// error decoded as the decoder does (float32 reconstruction · step), and its magnitude token counted.
// The errors are summed in double in eight chains, element (r, c) to chain c mod 8, row by row; the
// chunk's error is ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)). Both versions add in this order.
static inline double settle_one(int64_t i, int64_t column, int32_t rc, const float *values, const int8_t *shift, int32_t k_max,
                                float step, const int32_t *scratch_indices, const uint8_t *slots, int32_t *indices,
                                uint32_t *histogram) {
    const int slot = slots[i], q = slot >> 1;
    const int32_t k = scratch_indices[4 * i + slot];
    indices[i] = k;
    const int32_t m = k < 0 ? -k : k;
    const int32_t rec = 2 * m - (q & (m != 0));
    // (−ρ)·Δ is exactly −(ρ·Δ): the decoder's value, sign included, without a branch.
    const double d = (double)values[i] - (double)((float)(k < 0 ? -rec : rec) * step);
    int32_t cls = rc + shift[column];
    cls = cls < 0 ? 0 : (cls > k_max ? k_max : cls);
    uint32_t nb;
    const uint32_t token = ct_token((uint32_t)m, &nb);
    histogram[(size_t)(2 * cls + q) * 128 + token] += 1;
    return d * d;
}

static inline double chains_total(const double *s) {
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static double settle_portable(const float *values, int64_t rows, int64_t columns, const uint8_t *row_class, const int8_t *shift,
                              int32_t k_max, float step, const int32_t *scratch_indices, const uint8_t *slots, int32_t *indices,
                              uint32_t *histogram) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < columns; c++) {
            const int64_t i = r * columns + c;
            s[c & 7] += settle_one(i, c, row_class[r], values, shift, k_max, step, scratch_indices, slots, indices, histogram);
        }
    }
    return chains_total(s);
}

#if CT_X86
AVX2 static double settle_avx2(const float *values, int64_t rows, int64_t columns, const uint8_t *row_class, const int8_t *shift,
                               int32_t k_max, float step, const int32_t *scratch_indices, const uint8_t *slots, int32_t *indices,
                               uint32_t *histogram) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const __m256i lane4 = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    const __m256 vstep = _mm256_set1_ps(step);
    const int64_t wide = columns & ~(int64_t)7;
    uint32_t bins[8];
    for (int64_t r = 0; r < rows; r++) {
        const int32_t rc = row_class[r];
        __m256d lo = _mm256_loadu_pd(s), hi = _mm256_loadu_pd(s + 4);
        for (int64_t c = 0; c < wide; c += 8) {
            const int64_t i = r * columns + c;
            const __m256i slot = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(slots + i)));
            const __m256i k = _mm256_i32gather_epi32((const int *)(scratch_indices + 4 * i), _mm256_add_epi32(lane4, slot), 4);
            _mm256_storeu_si256((__m256i *)(indices + i), k);
            const __m256i m = _mm256_abs_epi32(k);
            const __m256i q = _mm256_srli_epi32(slot, 1);
            const __m256i nonzero = _mm256_cmpgt_epi32(m, _mm256_setzero_si256());
            const __m256i rec = _mm256_sub_epi32(_mm256_add_epi32(m, m), _mm256_and_si256(q, nonzero));
            const __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sign_epi32(rec, k)), vstep);
            const __m256 v = _mm256_loadu_ps(values + i);
            const __m256d dl = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_castps256_ps128(f)));
            const __m256d dh = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
            lo = _mm256_add_pd(lo, _mm256_mul_pd(dl, dl));
            hi = _mm256_add_pd(hi, _mm256_mul_pd(dh, dh));
            __m256i nb;
            const __m256i token = ct_token8(m, &nb);
            __m256i cls = _mm256_add_epi32(_mm256_set1_epi32(rc), _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(shift + c))));
            cls = _mm256_min_epi32(_mm256_max_epi32(cls, _mm256_setzero_si256()), _mm256_set1_epi32(k_max));
            const __m256i bin = _mm256_add_epi32(_mm256_slli_epi32(_mm256_add_epi32(_mm256_add_epi32(cls, cls), q), 7), token);
            _mm256_storeu_si256((__m256i *)bins, bin);
            for (int j = 0; j < 8; j++) histogram[bins[j]] += 1;
        }
        _mm256_storeu_pd(s, lo);
        _mm256_storeu_pd(s + 4, hi);
        for (int64_t c = wide; c < columns; c++) {
            const int64_t i = r * columns + c;
            s[c & 7] += settle_one(i, c, rc, values, shift, k_max, step, scratch_indices, slots, indices, histogram);
        }
    }
    return chains_total(s);
}
#endif

static double settle(const float *values, int64_t rows, int64_t columns, const uint8_t *row_class, const int8_t *shift,
                     int32_t k_max, float step, const int32_t *scratch_indices, const uint8_t *slots, int32_t *indices,
                     uint32_t *histogram, int simd) {
#if CT_X86
    if (simd) return settle_avx2(values, rows, columns, row_class, shift, k_max, step, scratch_indices, slots, indices, histogram);
#else
    (void)simd;
#endif
    return settle_portable(values, rows, columns, row_class, shift, k_max, step, scratch_indices, slots, indices, histogram);
}

double ctrellis_chunk(const float *values, int64_t rows, int64_t columns, const uint8_t *row_class,
                      const int8_t *shift, int32_t k_max, const float *bits, float lambda, float step,
                      int32_t *indices, int32_t *scratch_indices, uint8_t *scratch_flags, uint32_t *histogram, double total) {
    const float inf = __builtin_inff();
    const int simd = ctrellis_uses_avx2();
    float c[4] = {0, inf, inf, inf};   // a chunk starts in state 0
    forward_rows(values, 0, rows, columns, row_class, shift, k_max, bits, lambda, 1 / step, simd, scratch_indices, scratch_flags, c);
    walk(scratch_flags, rows * columns, final_state(c));
    return total + settle(values, rows, columns, row_class, shift, k_max, step, scratch_indices, scratch_flags, indices, histogram, simd);
}

#if CT_X86
// `ctrellis_chunk_pair` with AVX2 (rows_b ≤ rows_a): the forward pass of both chunks in lockstep
// while b lasts, then a's remaining rows alone; the walks side by side.
AVX2 static double chunk_pair_avx2(const float *values_a, int64_t rows_a, const uint8_t *row_class_a, int32_t *indices_a,
                                   const float *values_b, int64_t rows_b, const uint8_t *row_class_b, int32_t *indices_b,
                                   int64_t columns, const int8_t *shift, int32_t k_max, const float *bits, float lambda, float step,
                                   int32_t *scratch_indices, uint8_t *scratch_flags, uint32_t *histogram, double total) {
    const float inf = __builtin_inff(), inv = 1 / step;
    const int64_t na = rows_a * columns;
    int32_t *ka = scratch_indices, *kb = scratch_indices + 4 * na;
    uint8_t *fa = scratch_flags, *fb = scratch_flags + na;
    float cost_a[4 * BLOCK], cost_b[4 * BLOCK];
    __m256 cv = _mm256_setr_ps(0, inf, inf, inf, 0, inf, inf, inf);   // both chunks start in state 0
    int64_t e = 0;
    for (int64_t r = 0; r < rows_b; r++) {
        const float *va = values_a + r * columns, *vb = values_b + r * columns;
        for (int64_t start = 0; start < columns; start += BLOCK) {
            const int64_t count = columns - start < BLOCK ? columns - start : BLOCK;
            fill_block(va + start, shift + start, row_class_a[r], k_max, bits, lambda, inv, count, 1, cost_a, ka + 4 * e);
            fill_block(vb + start, shift + start, row_class_b[r], k_max, bits, lambda, inv, count, 1, cost_b, kb + 4 * e);
            cv = viterbi2(cv, cost_a, cost_b, count, fa + e, fb + e);
            e += count;
        }
    }
    float c_a[4], c_b[4];
    _mm_storeu_ps(c_a, _mm256_castps256_ps128(cv));
    _mm_storeu_ps(c_b, _mm256_extractf128_ps(cv, 1));
    forward_rows(values_a, rows_b, rows_a, columns, row_class_a, shift, k_max, bits, lambda, inv, 1, ka, fa, c_a);
    walk_pair(fa, na, final_state(c_a), fb, rows_b * columns, final_state(c_b));
    total += settle_avx2(values_a, rows_a, columns, row_class_a, shift, k_max, step, ka, fa, indices_a, histogram);
    return total + settle_avx2(values_b, rows_b, columns, row_class_b, shift, k_max, step, kb, fb, indices_b, histogram);
}
#endif

double ctrellis_chunk_pair(const float *values_a, int64_t rows_a, const uint8_t *row_class_a, int32_t *indices_a,
                           const float *values_b, int64_t rows_b, const uint8_t *row_class_b, int32_t *indices_b,
                           int64_t columns, const int8_t *shift, int32_t k_max, const float *bits, float lambda, float step,
                           int32_t *scratch_indices, uint8_t *scratch_flags, uint32_t *histogram, double total) {
#if CT_X86
    if (ctrellis_uses_avx2() && rows_b <= rows_a)
        return chunk_pair_avx2(values_a, rows_a, row_class_a, indices_a, values_b, rows_b, row_class_b, indices_b, columns, shift,
                               k_max, bits, lambda, step, scratch_indices, scratch_flags, histogram, total);
#endif
    total = ctrellis_chunk(values_a, rows_a, columns, row_class_a, shift, k_max, bits, lambda, step, indices_a,
                           scratch_indices, scratch_flags, histogram, total);
    return ctrellis_chunk(values_b, rows_b, columns, row_class_b, shift, k_max, bits, lambda, step, indices_b,
                          scratch_indices, scratch_flags, histogram, total);
}
