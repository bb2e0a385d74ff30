// OpenBLAS, opened at run time.
//
// OpenBLAS picks its kernels ("core type") once, when the library is loaded, from the environment variable
// OPENBLAS_CORETYPE or else from its own CPU detection. Debian's 0.3.21 detects some AVX-512 CPUs as "Prescott"
// and then runs sgemm ~8x slower. Linking the library at build time would freeze that choice before `main` runs,
// so Loupe opens it with dlopen after choosing the core type from the CPU's feature flags. Every entry point
// (CLI, REPL, benchmarks, tests) goes through `loupe_blas_load`, so none of them can end up on the slow kernels.
#ifndef LOUPE_CBLAS_H
#define LOUPE_CBLAS_H

#include <stddef.h>

/// Loads OpenBLAS once (thread-safe). Returns 0 on success; on failure writes a message into `err`.
int loupe_blas_load(char *err, size_t errlen);
/// The core type OpenBLAS chose, e.g. "Haswell", "Zen", "SkylakeX" (empty before loading).
const char *loupe_blas_corename(void);
/// The value Loupe put in OPENBLAS_CORETYPE, or "" when the user had set it or none was needed.
const char *loupe_blas_coretype_chosen(void);
/// The path of the library that was opened.
const char *loupe_blas_library(void);
void loupe_blas_set_threads(int n);
int loupe_blas_get_threads(void);

// CBLAS, row-major only. trans: 0 = no, 1 = transpose.
void loupe_sgemm(int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);
void loupe_sgemv(int trans, int m, int n, float alpha, const float *a, int lda, const float *x, float beta, float *y);

// LAPACK (Fortran interface: column-major, every argument by pointer). Return the `info` value.
int loupe_sgesdd(char jobz, int m, int n, float *a, int lda, float *s, float *u, int ldu, float *vt, int ldvt,
                 float *work, int lwork, int *iwork);
int loupe_sgeqrf(int m, int n, float *a, int lda, float *tau, float *work, int lwork);
int loupe_sorgqr(int m, int n, int k, float *a, int lda, const float *tau, float *work, int lwork);
int loupe_ssyevd(char jobz, char uplo, int n, float *a, int lda, float *w, float *work, int lwork, int *iwork,
                 int liwork);
int loupe_sgesv(int n, int nrhs, float *a, int lda, int *ipiv, float *b, int ldb);
int loupe_sgelsd(int m, int n, int nrhs, float *a, int lda, float *b, int ldb, float *s, float rcond, int *rank,
                 float *work, int lwork, int *iwork);

#endif
