/* jac-verify.c: one check of a Jacobian against the independent paths (see jac-verify.h). */
#define G_LOG_DOMAIN "jac-verify"

#include <math.h>

#include "jac-structured.h"
#include "jac-verify.h"

double
jac_verify_finite_differences (JacGraph        *graph,
                               int              variable,
                               const JacTensor *dense,
                               const guint8    *zero_mask)
{
  g_autoptr(JacTensor) fd = NULL;

  g_return_val_if_fail (graph != NULL && dense != NULL, INFINITY);

  fd = jac_graph_finite_difference_grouped (graph, variable, 1e-6, zero_mask);
  return jac_tensor_max_abs_diff (dense, fd);
}

gboolean
jac_verify_jacobian (JacGraph         *graph,
                     int               variable,
                     const JacTensor  *upstream,
                     const JacTensor  *formula,
                     const JacTensor  *closed,
                     gsize             budget_bytes,
                     JacVerification  *out,
                     GError          **error)
{
  g_autoptr(JacStructured) jac = NULL;
  g_autoptr(JacTensor) dense = NULL;
  g_autoptr(JacTensor) contracted = NULL;

  g_return_val_if_fail (graph != NULL && out != NULL, FALSE);
  g_return_val_if_fail (upstream != NULL, FALSE);

  jac = jac_graph_jacobian_try (graph, variable, error);
  dense = jac != NULL ? jac_structured_to_dense (jac, budget_bytes, error) : NULL;
  if (dense == NULL)
    return FALSE;
  contracted = jac_structured_contract (jac, upstream);

  out->rank = jac_structured_dense_shape (jac, out->shape);
  out->scale = MAX (1.0, jac_tensor_max_abs (dense));
  /* One entry at a time: `jacscope check` trusts no structure. */
  out->fd_error = jac_verify_finite_differences (graph, variable, dense, NULL);
  out->vjp_error = formula != NULL ? jac_tensor_max_abs_diff (formula, contracted) : INFINITY;
  out->closed_error = closed != NULL ? jac_tensor_max_abs_diff (dense, closed) : -1;
  out->ok = out->fd_error <= JAC_VERIFY_FD_TOLERANCE * out->scale &&
            out->vjp_error <= JAC_VERIFY_EXACT_TOLERANCE * out->scale &&
            (closed == NULL || out->closed_error <= JAC_VERIFY_EXACT_TOLERANCE * out->scale);
  return TRUE;
}
