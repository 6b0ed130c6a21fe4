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
/* --threads: the threads of jac_parallel_for () and of a GEMM large enough to pay for BLAS's
 * own (see jac-blas.c; smaller ones always run on their caller's thread). */
void jac_blas_set_threads (int n_threads);
/* The threads a large GEMM gets: --threads, else OPENBLAS_NUM_THREADS, else one a processor. */
int  jac_blas_get_threads (void);
/* Marks the calling thread as one of several sharing a piece of work (jac_parallel_for ()'s
 * ranges are): its GEMMs stay on it whatever their size. Returns the mark before, to put back. */
gboolean _jac_blas_set_serial (gboolean serial);
gboolean _jac_blas_get_serial (void);

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
/* The same in exactly MIN (@n_ranges, @n, 16) ranges (at least one), range r being the r-th:
 * for a caller whose scratch was sized for a count of ranges taken once. */
void  jac_parallel_for_ranges (gsize        n,
                               guint        n_ranges,
                               JacRangeFunc func,
                               gpointer     data);

G_END_DECLS
