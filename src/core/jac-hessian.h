/* jac-hessian.h: second derivatives of a scalar expression, as the Jacobian of its gradient.
 *
 * The gradient ∂f/∂X comes out of the symbolic back-propagation as a matrix expression
 * (Xᵀ (X W − Y) for ½‖X W − Y‖² w.r.t. W). It is written back in the expression language
 * ("grad = (X.T @ ((X @ W) - Y))"), parsed, and analysed like any expression with respect to the
 * second variable: so the Hessian keeps its Kronecker δs, its structure, its derivation, its
 * figure and its contracted form.
 *
 * Conventions:
 * - H = ∂/∂Y (∂f/∂X): shape X.shape + Y.shape, H[p, q, r, s] = ∂²f/∂X_pq ∂Y_rs; Y = X unless a
 *   second variable is given (the mixed Hessian).
 * - The contracted form is Σ_pq V_pq H[p, q, :, :] with a direction V shaped like X (default:
 *   ones): ∂/∂Y ⟨V, ∂f/∂X⟩, which is the Hessian-vector product. For Y = X it is H V (H is
 *   symmetric); for a mixed Hessian it is the block ∂²f/∂Y∂X applied to V, shaped like Y.
 * - The language cannot spell an identity or a matrix of ones: the gradient names them as
 *   constants (I_3, ones_2x3), which are variables of the gradient expression holding those
 *   values. A gradient that does not involve Y gets "+ 0 * sum(Y)": its Hessian is zero.
 */
#pragma once

#include "jac-analysis.h"

G_BEGIN_DECLS

struct _JacHessianInfo
{
  char   *function_source;   /* f, as it was parsed */
  char   *function_name;     /* its output's name: "L", "Y" */
  char   *wrt;               /* X: the variable of the gradient */
  char   *wrt2;              /* Y: the second variable (X itself unless mixed) */
  char   *gradient_source;   /* what is differentiated again: "grad = (X.T @ …)" */
  char   *gradient_text;     /* the gradient in matrix notation, as f's derivation has it
                              * with G = 1: "Xᵀ Z", and where_text "Z = X W − Y" */
  char   *gradient_where;    /* or NULL */
  GStrv   constants;         /* the named constants it uses ("I_3"), or an empty list */
  double  gradient_max_diff; /* max |gradient expression − back-propagation of f| */
};

/* Takes @expr, also when it fails; its variables must hold their values. Its output must be a
 * scalar. @wrt2 NULL (or @wrt) for ∂²f/∂X∂X. @direction (nullable, shaped like @wrt) is the V
 * of the contracted form when @upstream_kind is JAC_UPSTREAM_GIVEN; ONES, RANDOM and LOSS draw
 * it as jac_analysis_new_expr () draws G. The analysis' hessian member is set. */
JacAnalysis *jac_analysis_new_hessian (JacExpr         *expr,
                                       const char      *wrt,
                                       const char      *wrt2,
                                       JacUpstreamKind  upstream_kind,
                                       const JacTensor *direction,
                                       guint32          seed,
                                       GError         **error);

G_END_DECLS
