// The encoder's Viterbi pass of coding 6: see include/ctrellis.h and TrellisQuantizer.swift (the
// quantizers, the state machine and the cost). Every float operation is the same in both versions
// (portable and AVX2) and in the same order, so both choose the same indices.
#include "ctrellis.h"

#if defined(__x86_64__) || defined(_M_X64)
#define CT_X86 1
#include <immintrin.h>
#else
#define CT_X86 0
#endif

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
    const uint32_t m = (uint32_t)(k < 0 ? -k : k);
    const uint32_t e = 31u - (uint32_t)__builtin_clz(m | 1u);
    const uint32_t nb = m < 32 ? 0 : e - 3;
    const uint32_t token = m < 32 ? m : 32 + (e - 5) * 8 + ((m >> nb) & 7);
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
#define AVX2 __attribute__((target("avx2")))

// lrate for 8 indices; `offset` is the table's start (in floats) in `bits`.
AVX2 static inline __m256 lrate8(const float *bits, __m256i offset, __m256i k, __m256 lambda) {
    const __m256i m = _mm256_abs_epi32(k);
    // ⌊log2 m⌋ from the float exponent (exact: m < 2²⁴).
    const __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(_mm256_castps_si256(_mm256_cvtepi32_ps(_mm256_or_si256(m, _mm256_set1_epi32(1)))), 23),
                                       _mm256_set1_epi32(127));
    const __m256i big = _mm256_cmpgt_epi32(m, _mm256_set1_epi32(31));
    const __m256i nb = _mm256_and_si256(big, _mm256_sub_epi32(e, _mm256_set1_epi32(3)));
    const __m256i bigToken = _mm256_add_epi32(_mm256_add_epi32(_mm256_set1_epi32(32), _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(5)), 3)),
                                              _mm256_and_si256(_mm256_srlv_epi32(m, nb), _mm256_set1_epi32(7)));
    const __m256i token = _mm256_blendv_epi8(m, bigToken, big);
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

double ctrellis_chunk(const float *values, int64_t rows, int64_t columns, const uint8_t *row_class,
                      const int8_t *shift, int32_t k_max, const float *bits, float lambda, float step,
                      int32_t *indices, int32_t *scratch_indices, uint8_t *scratch_flags, uint32_t *histogram, double total) {
    const float inv = 1 / step;
    const float inf = __builtin_inff();
    const int simd = ctrellis_uses_avx2();
    float c0 = 0, c1 = inf, c2 = inf, c3 = inf;   // a chunk starts in state 0
    enum { BLOCK = 256 };
    float cost[4 * BLOCK];
#if CT_X86
    __m128 cv = _mm_setr_ps(0, inf, inf, inf);
#endif
    int64_t e = 0;
    for (int64_t r = 0; r < rows; r++) {
        const int32_t rc = row_class[r];
        const float *v = values + r * columns;
        for (int64_t start = 0; start < columns; start += BLOCK) {
            const int64_t count = columns - start < BLOCK ? columns - start : BLOCK;
            int32_t *k = scratch_indices + 4 * e;
            int64_t i = 0;
#if CT_X86
            if (simd) {
                for (; i + 8 <= count; i += 8)
                    candidates8(v + start + i, shift + start + i, rc, k_max, bits, lambda, inv, cost + 4 * i, k + 4 * i);
            }
#endif
            for (; i < count; i++) {
                int32_t cls = rc + shift[start + i];
                cls = cls < 0 ? 0 : (cls > k_max ? k_max : cls);
                const float *b0 = bits + (size_t)(2 * cls) * 128;
                candidates(v[start + i] * inv, b0, b0 + 128, lambda, cost + 4 * i, k + 4 * i);
            }
#if CT_X86
            if (simd) {
                cv = viterbi(cv, cost, count, scratch_flags + e);
                e += count;
                continue;
            }
#endif
            for (i = 0; i < count; i++) {
                const float *j = cost + 4 * i;   // jE0, jE1, jO0, jO1
                const float a0 = c0 + j[0], b0 = c1 + j[2];
                const float a1 = c2 + j[1], b1 = c3 + j[3];
                const float a2 = c0 + j[2], b2 = c1 + j[0];
                const float a3 = c2 + j[3], b3 = c3 + j[1];
                const int f0 = b0 < a0, f1 = b1 < a1, f2 = b2 < a2, f3 = b3 < a3;
                const float n0 = f0 ? b0 : a0, n1 = f1 ? b1 : a1, n2 = f2 ? b2 : a2, n3 = f3 ? b3 : a3;
                c0 = n0 - n0; c1 = n1 - n0; c2 = n2 - n0; c3 = n3 - n0;
                scratch_flags[e + i] = (uint8_t)(f0 | f1 << 1 | f2 << 2 | f3 << 3);
            }
            e += count;
        }
    }
#if CT_X86
    if (simd) {
        float cs[4];
        _mm_storeu_ps(cs, cv);
        c0 = cs[0]; c1 = cs[1]; c2 = cs[2]; c3 = cs[3];
    }
#endif
    // Back-track from the cheapest final state: the state before element i is 2·(st & 1) + flag,
    // its index the odd or even candidate of that state's quantizer (Q1 for targets 1 and 3). The
    // error of each element, decoded as the decoder does, is summed on the way (in reverse order).
    int st = 0;
    float best = c0;
    if (c1 < best) { best = c1; st = 1; }
    if (c2 < best) { best = c2; st = 2; }
    if (c3 < best) { best = c3; st = 3; }
    // Two chains of additions, alternating by element (in registers: `here` takes this element,
    // then the two swap). Element k of the walk (i = e − 1 − k) goes to chain k mod 2.
    double here = 0, other = 0;
    int64_t i = e - 1;
    for (int64_t r = rows - 1; r >= 0; r--) {
        const int32_t rc = row_class[r];
        for (int64_t c = columns - 1; c >= 0; c--, i--) {
            const int bit = (scratch_flags[i] >> st) & 1;
            const int q = st & 1;
            const int32_t k = scratch_indices[4 * i + 2 * q + (bit ^ (st >> 1))];
            indices[i] = k;
            const int32_t m = k < 0 ? -k : k;
            const int32_t rec = 2 * m - (q & (m != 0));
            // (−ρ)·Δ is exactly −(ρ·Δ): the decoder's value, sign included, without a branch.
            const double d = (double)values[i] - (double)((float)(k < 0 ? -rec : rec) * step);
            here += d * d;
            const double swap = here; here = other; other = swap;
            int32_t cls = rc + shift[c];
            cls = cls < 0 ? 0 : (cls > k_max ? k_max : cls);
            const uint32_t um = (uint32_t)m, ex = 31u - (uint32_t)__builtin_clz(um | 1u);
            const uint32_t token = um < 32 ? um : 32 + (ex - 5) * 8 + ((um >> (ex - 3)) & 7);
            histogram[(size_t)(2 * cls + q) * 128 + token] += 1;
            st = 2 * q + bit;
        }
    }
    // After e swaps the chain of k even is `here` when e is even, `other` when odd; a + b = b + a.
    total += here + other;
    return total;
}
