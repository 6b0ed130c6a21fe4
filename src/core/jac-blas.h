/* jac-blas.h: the one thin wrapper around CBLAS, with a naive reference beside it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* C = alpha op(A) op(B) + beta C, row-major; op(A) is m×k, op(B) is k×n, C is m×n. */
void jac_gemm       (gboolean      trans_a,
                     gboolean      trans_b,
                     gsize         m,
                     gsize         n,
                     gsize         k,
                     double        alpha,
                     const double *a,
                     gsize         lda,
                     const double *b,
                     gsize         ldb,
                     double        beta,
                     double       *c,
                     gsize         ldc);
void jac_gemm_naive (gboolean      trans_a,
                     gboolean      trans_b,
                     gsize         m,
                     gsize         n,
                     gsize         k,
                     double        alpha,
                     const double *a,
                     gsize         lda,
                     const double *b,
                     gsize         ldb,
                     double        beta,
                     double       *c,
                     gsize         ldc);
void jac_blas_set_threads (int n_threads);
int  jac_blas_get_threads (void);
/* The threads a large GEMM may use (smaller ones always run on the caller's thread alone, see
 * jac-blas.c), for a caller that runs work of its own beside its GEMMs (the through-time norms);
 * jac_parallel_for () keeps --threads. Put back with the count before. */
void _jac_blas_set_gemm_threads (int n_threads);

/* Runs @func on [begin, end) ranges that cover [0, @n), one range per thread that --threads
 * allows (jac_blas_set_threads (); else one per processor), and a single range for @n below
 * 2·@grain, so that small work never pays for a thread. The ranges are contiguous and in
 * order: range r ends where range r + 1 begins. For the passes over a large core, which are
 * bound by memory bandwidth that one core of this machine does not saturate. */
typedef void (*JacRangeFunc) (gsize    begin,
                              gsize    end,
                              guint    range,
                              gpointer data);

guint jac_parallel_ranges (gsize n,
                           gsize grain);
void  jac_parallel_for     (gsize        n,
                            gsize        grain,
                            JacRangeFunc func,
                            gpointer     data);

G_END_DECLS
