/* jac-blas.c: CBLAS behind one function, and the naive loop it is tested against. */
#define G_LOG_DOMAIN "jac-blas"

#include <cblas.h>

#include "jac-blas.h"

void
jac_gemm (gboolean      trans_a,
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
          gsize         ldc)
{
  if (m == 0 || n == 0)
    return;
  g_return_if_fail (m <= G_MAXINT && n <= G_MAXINT && k <= G_MAXINT);
  /* BLAS insists on leading dimensions of at least 1 even when a matrix is empty. */
  cblas_dgemm (CblasRowMajor,
               trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans,
               (int) m, (int) n, (int) k, alpha,
               a, (int) MAX (lda, 1), b, (int) MAX (ldb, 1),
               beta, c, (int) MAX (ldc, 1));
}

void
jac_gemm_naive (gboolean      trans_a,
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
                gsize         ldc)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      {
        double sum = 0.0;

        for (gsize l = 0; l < k; l++)
          {
            double av = trans_a ? a[l * lda + i] : a[i * lda + l];
            double bv = trans_b ? b[j * ldb + l] : b[l * ldb + j];

            sum += av * bv;
          }
        c[i * ldc + j] = alpha * sum + (beta == 0.0 ? 0.0 : beta * c[i * ldc + j]);
      }
}

void
jac_blas_set_threads (int n_threads)
{
  openblas_set_num_threads (MAX (n_threads, 1));
}

int
jac_blas_get_threads (void)
{
  return openblas_get_num_threads ();
}
