// See CBLAS.h for why OpenBLAS is opened at run time.
#define _GNU_SOURCE
#include "CBLAS.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- Function pointer types (prototypes of OpenBLAS / reference LAPACK) ----
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *,
                         int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef char *(*corename_fn)(void);
typedef void (*setthreads_fn)(int);
typedef int (*getthreads_fn)(void);
typedef void (*sgesdd_fn)(const char *, const int *, const int *, float *, const int *, float *, float *, const int *,
                          float *, const int *, float *, const int *, int *, int *, size_t);
typedef void (*sgeqrf_fn)(const int *, const int *, float *, const int *, float *, float *, const int *, int *);
typedef void (*sorgqr_fn)(const int *, const int *, const int *, float *, const int *, const float *, float *,
                          const int *, int *);
typedef void (*ssyevd_fn)(const char *, const char *, const int *, float *, const int *, float *, float *, const int *,
                          int *, const int *, int *, size_t, size_t);
typedef void (*sgesv_fn)(const int *, const int *, float *, const int *, int *, float *, const int *, int *);
typedef void (*sgelsd_fn)(const int *, const int *, const int *, float *, const int *, float *, const int *, float *,
                          const float *, int *, float *, const int *, int *, int *);

static struct {
    sgemm_fn sgemm;
    sgemv_fn sgemv;
    corename_fn corename;
    setthreads_fn set_threads;
    getthreads_fn get_threads;
    sgesdd_fn sgesdd;
    sgeqrf_fn sgeqrf;
    sorgqr_fn sorgqr;
    ssyevd_fn ssyevd;
    sgesv_fn sgesv;
    sgelsd_fn sgelsd;
} fns;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];
static char chosen[32];
static char library[256];

/// The fastest core type whose instructions this CPU has. OpenBLAS's own detection is skipped because
/// Debian's 0.3.21 falls back to "Prescott" (SSE3) on CPUs newer than it knows.
static const char *best_coretype(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SKYLAKEX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "HASWELL";
    return NULL;
}

#define BIND(field, name)                                                                                       \
    do {                                                                                                          \
        fns.field = (typeof(fns.field))dlsym(handle, name);                                                       \
        if (!fns.field) {                                                                                         \
            snprintf(load_error, sizeof load_error, "%s has no symbol %s", library, name);                        \
            return;                                                                                               \
        }                                                                                                         \
    } while (0)

static void load_once(void) {
    const char *user = getenv("OPENBLAS_CORETYPE");
    if (user == NULL || user[0] == 0) {
        const char *best = best_coretype();
        if (best) {
            // Must happen before dlopen: OpenBLAS reads it in its constructor.
            setenv("OPENBLAS_CORETYPE", best, 1);
            snprintf(chosen, sizeof chosen, "%s", best);
        }
    }
    const char *override = getenv("LOUPE_BLAS_LIB");
    const char *candidates[] = {override, "libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.3.21.so"};
    void *handle = NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && !handle; i++) {
        if (!candidates[i] || !candidates[i][0]) continue;
        handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (handle) snprintf(library, sizeof library, "%s", candidates[i]);
    }
    if (!handle) {
        snprintf(load_error, sizeof load_error,
                 "cannot open OpenBLAS (libopenblas.so.0): %s. Install it with: apt-get install libopenblas-dev",
                 dlerror());
        return;
    }
    BIND(sgemm, "cblas_sgemm");
    BIND(sgemv, "cblas_sgemv");
    BIND(corename, "openblas_get_corename");
    BIND(set_threads, "openblas_set_num_threads");
    BIND(get_threads, "openblas_get_num_threads");
    BIND(sgesdd, "sgesdd_");
    BIND(sgeqrf, "sgeqrf_");
    BIND(sorgqr, "sorgqr_");
    BIND(ssyevd, "ssyevd_");
    BIND(sgesv, "sgesv_");
    BIND(sgelsd, "sgelsd_");
}

int loupe_blas_load(char *err, size_t errlen) {
    pthread_once(&once, load_once);
    if (load_error[0]) {
        if (err && errlen) snprintf(err, errlen, "%s", load_error);
        return 1;
    }
    return 0;
}

const char *loupe_blas_corename(void) { return fns.corename ? fns.corename() : ""; }
const char *loupe_blas_coretype_chosen(void) { return chosen; }
const char *loupe_blas_library(void) { return library; }
void loupe_blas_set_threads(int n) {
    if (fns.set_threads) fns.set_threads(n);
}
int loupe_blas_get_threads(void) { return fns.get_threads ? fns.get_threads() : 0; }

// ---- BLAS ----
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

void loupe_sgemm(int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                 int ldb, float beta, float *c, int ldc) {
    fns.sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}

void loupe_sgemv(int trans, int m, int n, float alpha, const float *a, int lda, const float *x, float beta,
                 float *y) {
    fns.sgemv(RowMajor, trans ? Trans : NoTrans, m, n, alpha, a, lda, x, 1, beta, y, 1);
}

// ---- LAPACK ----
// gfortran passes the length of each CHARACTER argument as a hidden trailing size_t; omitting it is undefined
// behaviour that has corrupted stacks in practice, so the prototypes above include it.
int loupe_sgesdd(char jobz, int m, int n, float *a, int lda, float *s, float *u, int ldu, float *vt, int ldvt,
                 float *work, int lwork, int *iwork) {
    int info = 0;
    fns.sgesdd(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, &info, 1);
    return info;
}

int loupe_sgeqrf(int m, int n, float *a, int lda, float *tau, float *work, int lwork) {
    int info = 0;
    fns.sgeqrf(&m, &n, a, &lda, tau, work, &lwork, &info);
    return info;
}

int loupe_sorgqr(int m, int n, int k, float *a, int lda, const float *tau, float *work, int lwork) {
    int info = 0;
    fns.sorgqr(&m, &n, &k, a, &lda, tau, work, &lwork, &info);
    return info;
}

int loupe_ssyevd(char jobz, char uplo, int n, float *a, int lda, float *w, float *work, int lwork, int *iwork,
                 int liwork) {
    int info = 0;
    fns.ssyevd(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    return info;
}

int loupe_sgesv(int n, int nrhs, float *a, int lda, int *ipiv, float *b, int ldb) {
    int info = 0;
    fns.sgesv(&n, &nrhs, a, &lda, ipiv, b, &ldb, &info);
    return info;
}

int loupe_sgelsd(int m, int n, int nrhs, float *a, int lda, float *b, int ldb, float *s, float rcond, int *rank,
                 float *work, int lwork, int *iwork) {
    int info = 0;
    fns.sgelsd(&m, &n, &nrhs, a, &lda, b, &ldb, s, &rcond, rank, work, &lwork, iwork, &info);
    return info;
}
