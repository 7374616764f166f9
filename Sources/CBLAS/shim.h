#include <cblas.h>

#include <stddef.h>
/* LAPACK's symmetric eigensolver (divide and conquer), exported by OpenBLAS; gfortran ABI with the
   hidden lengths of the two character arguments last. Used by the low-rank baseline of `compare`. */
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda, float *w,
             float *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t uplo_len);
