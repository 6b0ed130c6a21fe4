/* jac-sequence-lapack.c: singular values, eigenvalues and QR from LAPACK, which OpenBLAS ships. */
#define G_LOG_DOMAIN "jac-sequence"

#include <math.h>

#include "jac-error.h"
#include "jac-sequence-private.h"

/* LAPACK's Fortran interface (gfortran ABI: hidden lengths of character arguments last). No
 * header declares them on Debian 12's OpenBLAS. */
extern void dgesvd_ (const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
                     const int *lda, double *s, double *u, const int *ldu, double *vt,
                     const int *ldvt, double *work, const int *lwork, int *info,
                     size_t jobu_len, size_t jobvt_len);
extern void dgeev_ (const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda,
                    double *wr, double *wi, double *vl, const int *ldvl, double *vr,
                    const int *ldvr, double *work, const int *lwork, int *info,
                    size_t jobvl_len, size_t jobvr_len);
extern void dgeqrf_ (const int *m, const int *n, double *a, const int *lda, double *tau,
                     double *work, const int *lwork, int *info);
extern void dorgqr_ (const int *m, const int *n, const int *k, double *a, const int *lda,
                     const double *tau, double *work, const int *lwork, int *info);

static gboolean
check_order (gsize    n,
             GError **error)
{
  if (n == 0 || n > 46340)  /* n² must fit LAPACK's int */
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                   "a %" G_GSIZE_FORMAT " × %" G_GSIZE_FORMAT " matrix is out of LAPACK's range",
                   n, n);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_info (const char  *routine,
            int          info,
            GError     **error)
{
  if (info == 0)
    return TRUE;
  g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
               info > 0 ? "LAPACK's %s did not converge (info %d)"
                        : "LAPACK's %s rejected argument %d", routine, ABS (info));
  return FALSE;
}

/* A workspace size as LAPACK reports it from a query with lwork = −1. */
static int
workspace_size (double query)
{
  return (int) MAX (1, ceil (query));
}

/* The singular values of A and Aᵀ agree, so the row-major matrix is handed over as it is. */
gboolean
_jac_lapack_singular_values (double   *matrix,
                             gsize     n,
                             double   *values,
                             GError  **error)
{
  g_autofree double *work = NULL;
  int order, lwork = -1, one = 1, info = 0;
  double query = 0, dummy = 0;

  if (!check_order (n, error))
    return FALSE;
  order = (int) n;
  dgesvd_ ("N", "N", &order, &order, matrix, &order, values, &dummy, &one, &dummy, &one,
           &query, &lwork, &info, 1, 1);
  if (!check_info ("dgesvd", info, error))
    return FALSE;
  lwork = workspace_size (query);
  work = g_new (double, lwork);
  dgesvd_ ("N", "N", &order, &order, matrix, &order, values, &dummy, &one, &dummy, &one,
           work, &lwork, &info, 1, 1);
  return check_info ("dgesvd", info, error);
}

gboolean
jac_spectral_radius (const double  *matrix,
                     gsize          n,
                     double        *radius,
                     GError       **error)
{
  g_autofree double *a = NULL;
  g_autofree double *wr = NULL;
  g_autofree double *wi = NULL;
  g_autofree double *work = NULL;
  int order, lwork = -1, one = 1, info = 0;
  double query = 0, dummy = 0, best = 0;

  g_return_val_if_fail (matrix != NULL && radius != NULL, FALSE);

  if (!check_order (n, error))
    return FALSE;
  order = (int) n;
  /* Mᵀ has M's eigenvalues: the row-major matrix goes over as it is. */
  a = g_memdup2 (matrix, n * n * sizeof (double));
  wr = g_new (double, n);
  wi = g_new (double, n);
  dgeev_ ("N", "N", &order, a, &order, wr, wi, &dummy, &one, &dummy, &one, &query, &lwork,
          &info, 1, 1);
  if (!check_info ("dgeev", info, error))
    return FALSE;
  lwork = workspace_size (query);
  work = g_new (double, lwork);
  dgeev_ ("N", "N", &order, a, &order, wr, wi, &dummy, &one, &dummy, &one, work, &lwork,
          &info, 1, 1);
  if (!check_info ("dgeev", info, error))
    return FALSE;
  for (gsize e = 0; e < n; e++)
    best = MAX (best, hypot (wr[e], wi[e]));
  *radius = best;
  return TRUE;
}

gboolean
_jac_lapack_orthogonalize (double  *matrix,
                           gsize    n,
                           GError **error)
{
  g_autofree double *tau = NULL;
  g_autofree double *work = NULL;
  g_autofree double *sign = NULL;
  int order, lwork = -1, info = 0;
  double query = 0;

  if (!check_order (n, error))
    return FALSE;
  order = (int) n;
  tau = g_new (double, n);
  sign = g_new (double, n);
  dgeqrf_ (&order, &order, matrix, &order, tau, &query, &lwork, &info);
  if (!check_info ("dgeqrf", info, error))
    return FALSE;
  lwork = workspace_size (query);
  work = g_new (double, lwork);
  dgeqrf_ (&order, &order, matrix, &order, tau, work, &lwork, &info);
  if (!check_info ("dgeqrf", info, error))
    return FALSE;
  /* Column-major: R's diagonal entry c is at c·n + c. */
  for (gsize c = 0; c < n; c++)
    sign[c] = matrix[c * n + c] < 0 ? -1.0 : 1.0;
  g_clear_pointer (&work, g_free);
  lwork = -1;
  dorgqr_ (&order, &order, &order, matrix, &order, tau, &query, &lwork, &info);
  if (!check_info ("dorgqr", info, error))
    return FALSE;
  lwork = workspace_size (query);
  work = g_new (double, lwork);
  dorgqr_ (&order, &order, &order, matrix, &order, tau, work, &lwork, &info);
  if (!check_info ("dorgqr", info, error))
    return FALSE;
  /* Q·diag(sign) column-major; read row-major it is its transpose, orthogonal all the same. */
  for (gsize c = 0; c < n; c++)
    for (gsize r = 0; r < n; r++)
      matrix[c * n + r] *= sign[c];
  return TRUE;
}
