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

G_END_DECLS
