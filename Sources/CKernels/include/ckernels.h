#ifndef CKERNELS_H
#define CKERNELS_H

// Hot loops of WeightJPEG's DCT-domain inference (`CompactKernel`, batch 1).
//
// Every kernel exists in a portable C version and, on x86-64, in an AVX2+FMA version compiled with
// function-level target attributes (the rest of the package builds for baseline x86-64). The
// version is chosen once, at the first call, from CPUID/XGETBV (the environment variable
// WEIGHTJPEG_ISA=generic forbids AVX2); ckernels_set_isa() overrides it (tests, benchmarks). On
// other architectures only the portable version exists.
//
// All functions are thread-safe (pure functions of their arguments).

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels of the kernels.
enum {
    CKERNELS_ISA_AUTO = -1,   ///< ckernels_set_isa(): back to the best one the CPU supports
    CKERNELS_ISA_GENERIC = 0, ///< portable C
    CKERNELS_ISA_AVX2 = 1,    ///< AVX2 + FMA
};

/// The best level this CPU supports.
int ckernels_best_isa(void);
/// The level in use.
int ckernels_isa(void);
/// Forces a level (clamped to what the CPU supports); CKERNELS_ISA_AUTO restores the default.
/// Returns the level now in use. Not meant to be called while other threads run kernels.
int ckernels_set_isa(int isa);

/// Blockwise orthonormal 8×8 DCT-II of one `height × width` image (row stride `width`), zero-padded
/// to whole blocks: `out` receives 64 coefficients per block (blocks row-major, natural order
/// `8v + u`). `basis[8x + u] = ½ C(u) cos((2x+1)uπ/16)`. Returns `Σ pixels` (as `8 Σ_b F_b(0,0)`).
float ckernels_block_dct(const float *image, int height, int width, const float *basis, float *out);

/// `xg[c] = table[c] · full[positions[c]]` for `c < count`.
void ckernels_gather_scaled(const float *full, const uint16_t *positions, const float *table, size_t count,
                            float *xg);

/// The compact kernel's panel products for `panels` panels of 16 neurons: for panel `p`,
/// `acc[16p + l] = Σ_r x[index8[r]] · q8[16r + l]` over its Int8 rows `r ∈ start8[p]..<start8[p+1]`,
/// plus the same over its Int16 rows (`q16`, `index16`, `start16`). `acc` holds `16 · panels` floats
/// (overwritten). Rows are 16 consecutive entries, lane `l` is the panel's neuron `l`.
void ckernels_compact_panels(const int8_t *q8, const uint16_t *index8, const int32_t *start8,
                             const int16_t *q16, const uint16_t *index16, const int32_t *start16,
                             size_t panels, const float *x, float *acc);

#ifdef __cplusplus
}
#endif

#endif
