// What the Viterbi pass (trellis_pass.c) and the rANS coder (trellis_rans.c) share: the x86 switch
// for their AVX2 paths, and the magnitude tokens of coding 6 (docs/FORMAT.md §4): a magnitude m
// below 32 is its own token with no extra bits; a larger one, with e = ⌊log2 m⌋, is token
// 32 + (e − 5)·8 + the three bits below its leading one, followed by its e − 3 low bits as extra bits.
#ifndef CTRELLIS_SHARED_H
#define CTRELLIS_SHARED_H

#include <stdint.h>

// CT_X86: whether AVX2 paths are compiled (chosen at run time by `ctrellis_uses_avx2()`); AVX2
// marks their functions.
#if defined(__x86_64__) || defined(_M_X64)
#define CT_X86 1
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2")))
#else
#define CT_X86 0
#endif

// The token of magnitude m, and its extra-bit count in `*nb`.
static inline uint32_t ct_token(uint32_t m, uint32_t *nb) {
    const uint32_t e = 31u - (uint32_t)__builtin_clz(m | 1u);
    *nb = m < 32 ? 0 : e - 3;
    return m < 32 ? m : 32 + (e - 5) * 8 + ((m >> *nb) & 7);
}

#if CT_X86
// `ct_token` for 8 magnitudes m < 2²⁴, from the bits of the float m (exact below 2²⁴): for m ≥ 32
// those bits >> 20 are (e + 127)·8 plus the three bits below the leading one, so the token is
// (bits >> 20) − 1024, and the count e − 3 is (bits >> 23) − 130.
AVX2 static inline __m256i ct_token8(__m256i m, __m256i *nb) {
    const __m256i f = _mm256_castps_si256(_mm256_cvtepi32_ps(m));
    const __m256i big = _mm256_cmpgt_epi32(m, _mm256_set1_epi32(31));
    *nb = _mm256_and_si256(big, _mm256_sub_epi32(_mm256_srli_epi32(f, 23), _mm256_set1_epi32(130)));
    return _mm256_blendv_epi8(m, _mm256_sub_epi32(_mm256_srli_epi32(f, 20), _mm256_set1_epi32(1024)), big);
}
#endif

#endif
