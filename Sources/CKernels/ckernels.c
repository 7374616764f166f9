// DCT-domain inference kernels: see include/ckernels.h.
#include "ckernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define CK_X86 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define CK_X86 0
#endif

// MARK: Portable versions

static float block_dct_generic(const float *image, int height, int width, const float *basis, float *out) {
    const int down = (height + 7) / 8, across = (width + 7) / 8;
    float dc = 0;
    for (int by = 0; by < down; by++) {
        const int rows = height - 8 * by < 8 ? height - 8 * by : 8;
        for (int bx = 0; bx < across; bx++) {
            const int columns = width - 8 * bx < 8 ? width - 8 * bx : 8;
            const float *origin = image + (size_t)(8 * by) * width + 8 * bx;
            float a[64] = {0};
            for (int y = 0; y < rows; y++) {
                const float *r = origin + (size_t)y * width;
                float t[8] = {0};
                for (int x = 0; x < columns; x++)
                    for (int u = 0; u < 8; u++) t[u] += r[x] * basis[8 * x + u];
                for (int v = 0; v < 8; v++)
                    for (int u = 0; u < 8; u++) a[8 * v + u] += basis[8 * y + v] * t[u];
            }
            dc += a[0];
            memcpy(out + 64 * (by * across + bx), a, sizeof a);
        }
    }
    return 8 * dc;
}

static void compact_panels_generic(const int8_t *q8, const uint16_t *index8, const int32_t *start8,
                                   const int16_t *q16, const uint16_t *index16, const int32_t *start16,
                                   size_t panels, const float *x, float *acc) {
    for (size_t p = 0; p < panels; p++) {
        float a[16] = {0};
        for (int32_t r = start8[p]; r < start8[p + 1]; r++) {
            const float s = x[index8[r]];
            const int8_t *q = q8 + 16 * (size_t)r;
            for (int l = 0; l < 16; l++) a[l] += s * (float)q[l];
        }
        for (int32_t r = start16[p]; r < start16[p + 1]; r++) {
            const float s = x[index16[r]];
            const int16_t *q = q16 + 16 * (size_t)r;
            for (int l = 0; l < 16; l++) a[l] += s * (float)q[l];
        }
        memcpy(acc + 16 * p, a, sizeof a);
    }
}

#if CK_X86

// MARK: AVX2 + FMA

__attribute__((target("avx2,fma")))
static float block_dct_avx2(const float *image, int height, int width, const float *basis, float *out) {
    const int down = (height + 7) / 8, across = (width + 7) / 8;
    __m256 c[8];
    for (int x = 0; x < 8; x++) c[x] = _mm256_loadu_ps(basis + 8 * x);
    float dc = 0;
    for (int by = 0; by < down; by++) {
        const int rows = height - 8 * by < 8 ? height - 8 * by : 8;
        for (int bx = 0; bx < across; bx++) {
            const int columns = width - 8 * bx < 8 ? width - 8 * bx : 8;
            const float *origin = image + (size_t)(8 * by) * width + 8 * bx;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int y = 0; y < rows; y++) {
                const float *r = origin + (size_t)y * width;
                // Row pass: t[u] = Σ_x f(x, y) c(u, x), two partial sums.
                __m256 t, t1;
                if (columns == 8) {
                    t = _mm256_mul_ps(_mm256_broadcast_ss(r + 0), c[0]);
                    t1 = _mm256_mul_ps(_mm256_broadcast_ss(r + 1), c[1]);
                    t = _mm256_fmadd_ps(_mm256_broadcast_ss(r + 2), c[2], t);
                    t1 = _mm256_fmadd_ps(_mm256_broadcast_ss(r + 3), c[3], t1);
                    t = _mm256_fmadd_ps(_mm256_broadcast_ss(r + 4), c[4], t);
                    t1 = _mm256_fmadd_ps(_mm256_broadcast_ss(r + 5), c[5], t1);
                    t = _mm256_fmadd_ps(_mm256_broadcast_ss(r + 6), c[6], t);
                    t1 = _mm256_fmadd_ps(_mm256_broadcast_ss(r + 7), c[7], t1);
                    t = _mm256_add_ps(t, t1);
                } else {
                    t = _mm256_setzero_ps();
                    for (int x = 0; x < columns; x++) t = _mm256_fmadd_ps(_mm256_broadcast_ss(r + x), c[x], t);
                }
                // Column pass: F_v[u] += c(v, y) t[u].
                const float *cy = basis + 8 * y;
                a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(cy + 0), t, a0);
                a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(cy + 1), t, a1);
                a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(cy + 2), t, a2);
                a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(cy + 3), t, a3);
                a4 = _mm256_fmadd_ps(_mm256_broadcast_ss(cy + 4), t, a4);
                a5 = _mm256_fmadd_ps(_mm256_broadcast_ss(cy + 5), t, a5);
                a6 = _mm256_fmadd_ps(_mm256_broadcast_ss(cy + 6), t, a6);
                a7 = _mm256_fmadd_ps(_mm256_broadcast_ss(cy + 7), t, a7);
            }
            dc += _mm256_cvtss_f32(a0);
            float *o = out + 64 * (by * across + bx);
            _mm256_storeu_ps(o + 0, a0);
            _mm256_storeu_ps(o + 8, a1);
            _mm256_storeu_ps(o + 16, a2);
            _mm256_storeu_ps(o + 24, a3);
            _mm256_storeu_ps(o + 32, a4);
            _mm256_storeu_ps(o + 40, a5);
            _mm256_storeu_ps(o + 48, a6);
            _mm256_storeu_ps(o + 56, a7);
        }
    }
    return 8 * dc;
}

/// Row `r` of Int8 as two 8-lane floats.
#define CK_I8_LO(q, r) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((q) + 16 * (size_t)(r)))))
#define CK_I8_HI(q, r) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((q) + 16 * (size_t)(r) + 8))))
#define CK_I16_LO(q, r) _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)((q) + 16 * (size_t)(r)))))
#define CK_I16_HI(q, r) _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)((q) + 16 * (size_t)(r) + 8))))

__attribute__((target("avx2,fma")))
static void compact_panels_avx2(const int8_t *q8, const uint16_t *index8, const int32_t *start8,
                                const int16_t *q16, const uint16_t *index16, const int32_t *start16,
                                size_t panels, const float *x, float *acc) {
    for (size_t p = 0; p < panels; p++) {
        // Two rows per step, each with its own pair of accumulators (hides the FMA latency).
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
        int32_t r = start8[p];
        const int32_t end = start8[p + 1];
        for (; r + 2 <= end; r += 2) {
            const __m256 s = _mm256_broadcast_ss(x + index8[r]);
            const __m256 t = _mm256_broadcast_ss(x + index8[r + 1]);
            a0 = _mm256_fmadd_ps(s, CK_I8_LO(q8, r), a0);
            a1 = _mm256_fmadd_ps(s, CK_I8_HI(q8, r), a1);
            b0 = _mm256_fmadd_ps(t, CK_I8_LO(q8, r + 1), b0);
            b1 = _mm256_fmadd_ps(t, CK_I8_HI(q8, r + 1), b1);
        }
        if (r < end) {
            const __m256 s = _mm256_broadcast_ss(x + index8[r]);
            a0 = _mm256_fmadd_ps(s, CK_I8_LO(q8, r), a0);
            a1 = _mm256_fmadd_ps(s, CK_I8_HI(q8, r), a1);
        }
        for (int32_t w = start16[p]; w < start16[p + 1]; w++) {
            const __m256 s = _mm256_broadcast_ss(x + index16[w]);
            b0 = _mm256_fmadd_ps(s, CK_I16_LO(q16, w), b0);
            b1 = _mm256_fmadd_ps(s, CK_I16_HI(q16, w), b1);
        }
        _mm256_storeu_ps(acc + 16 * p, _mm256_add_ps(a0, b0));
        _mm256_storeu_ps(acc + 16 * p + 8, _mm256_add_ps(a1, b1));
    }
}

// MARK: CPU detection

static int detect_isa(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return CKERNELS_ISA_GENERIC;
    const int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!(fma && osxsave && avx)) return CKERNELS_ISA_GENERIC;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    if ((xlo & 0x6) != 0x6) return CKERNELS_ISA_GENERIC; // XMM and YMM state enabled by the OS
    if (__get_cpuid_max(0, NULL) < 7) return CKERNELS_ISA_GENERIC;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    return (ebx >> 5) & 1 ? CKERNELS_ISA_AVX2 : CKERNELS_ISA_GENERIC; // AVX2
}

#else

static int detect_isa(void) { return CKERNELS_ISA_GENERIC; }

#endif

// MARK: Dispatch

static int best_isa = -2; // -2: not detected yet
static int chosen_isa = -2;

int ckernels_best_isa(void) {
    int b = __atomic_load_n(&best_isa, __ATOMIC_RELAXED);
    if (b == -2) {
        b = detect_isa();
        const char *forced = getenv("WEIGHTJPEG_ISA"); // "generic": never use AVX2 (benchmarks)
        if (forced != NULL && strcmp(forced, "generic") == 0) b = CKERNELS_ISA_GENERIC;
        __atomic_store_n(&best_isa, b, __ATOMIC_RELAXED);
    }
    return b;
}

int ckernels_isa(void) {
    int c = __atomic_load_n(&chosen_isa, __ATOMIC_RELAXED);
    if (c == -2) {
        c = ckernels_best_isa();
        __atomic_store_n(&chosen_isa, c, __ATOMIC_RELAXED);
    }
    return c;
}

int ckernels_set_isa(int isa) {
    const int best = ckernels_best_isa();
    const int c = isa < 0 || isa > best ? best : isa;
    __atomic_store_n(&chosen_isa, c, __ATOMIC_RELAXED);
    return c;
}

float ckernels_block_dct(const float *image, int height, int width, const float *basis, float *out) {
#if CK_X86
    if (ckernels_isa() >= CKERNELS_ISA_AVX2) return block_dct_avx2(image, height, width, basis, out);
#endif
    return block_dct_generic(image, height, width, basis, out);
}

void ckernels_gather_scaled(const float *full, const uint16_t *positions, const float *table, size_t count,
                            float *xg) {
    for (size_t c = 0; c < count; c++) xg[c] = table[c] * full[positions[c]];
}

void ckernels_compact_panels(const int8_t *q8, const uint16_t *index8, const int32_t *start8,
                             const int16_t *q16, const uint16_t *index16, const int32_t *start16,
                             size_t panels, const float *x, float *acc) {
#if CK_X86
    if (ckernels_isa() >= CKERNELS_ISA_AVX2) {
        compact_panels_avx2(q8, index8, start8, q16, index16, start16, panels, x, acc);
        return;
    }
#endif
    compact_panels_generic(q8, index8, start8, q16, index16, start16, panels, x, acc);
}
