/* jac-verify.h: one check of a Jacobian against the independent paths, for `jacscope check`
 * (expressions and the RNN step), the analysis's tests and any caller that states a verdict.
 *
 * The structured Jacobian is materialized and held against central finite differences of the
 * forward pass (tolerance 1e-6 of its scale), its contraction with G against the contracted form
 * evaluated from its formula (1e-10), and, where one is given, against a closed form (1e-10);
 * the scale is max (1, max |J|). */
#pragma once

#include "jac-graph.h"

G_BEGIN_DECLS

#define JAC_VERIFY_FD_TOLERANCE      1e-6
#define JAC_VERIFY_EXACT_TOLERANCE   1e-10

typedef struct
{
  guint    rank;
  gsize    shape[4];
  double   scale;          /* max (1, max |J|) */
  double   fd_error;       /* max |J − central differences| */
  double   vjp_error;      /* max |formula − Σ G·J from the tensor|; INFINITY without a formula */
  double   closed_error;   /* max |J − closed form|, or -1 when none was given */
  gboolean ok;             /* every error within its tolerance */
} JacVerification;

/* max |@dense − central finite differences of the forward pass| for ∂output/∂@variable, the
 * values put back after: the check jac_verify_jacobian () and the analysis both state. With
 * @zero_mask (nullable; the structured Jacobian's, see jac_graph_finite_difference_grouped ())
 * the entries that reach disjoint outputs are perturbed together. */
double   jac_verify_finite_differences (JacGraph        *graph,
                                        int              variable,
                                        const JacTensor *dense,
                                        const guint8    *zero_mask);

/* Checks ∂output/∂@variable of @graph (forward pass done): @formula (nullable) is Σ G·J as the
 * contracted form computes it with @upstream as G, @closed (nullable) the dense Jacobian by a
 * closed form. FALSE with @error set only when the dense Jacobian is past @budget_bytes (0: no
 * budget) or memory; a failed check is *@out's verdict, not an error. */
gboolean jac_verify_jacobian (JacGraph         *graph,
                              int               variable,
                              const JacTensor  *upstream,
                              const JacTensor  *formula,
                              const JacTensor  *closed,
                              gsize             budget_bytes,
                              JacVerification  *out,
                              GError          **error);

G_END_DECLS
