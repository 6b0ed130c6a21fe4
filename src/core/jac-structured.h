/* jac-structured.h: a Jacobian stored as its Kronecker-delta pattern plus the entries that can be nonzero.
 *
 * J[o, w] for an output of rank ≤ 2 and a variable of rank ≤ 2 is kept as
 *
 *   J[o, w] = Π_a δ(o[a], w[pair[a]]) · core[o, w_free]
 *
 * where pair[a] is the variable axis an output axis is tied to by a δ (or -1), and w_free are the
 * variable axes no δ ties, in order. For h = tanh(h_prev W_hh + …) and wrt h_prev, pair = {0, -1}
 * (the δ_ip) and core[i, j, q] = S[i,j] W_hh[q,j]: N·H·H numbers instead of N·H·N·H.
 */
#pragma once

#include "jac-tensor.h"

G_BEGIN_DECLS

typedef struct _JacStructured
{
  guint      out_rank;
  gsize      out_shape[2];
  guint      wrt_rank;
  gsize      wrt_shape[2];
  int        pair[2];   /* pair[a]: the variable axis output axis a is tied to by a δ, or -1 */
  JacTensor *core;      /* axes: the output axes, then the free variable axes */
} JacStructured;

JacStructured *jac_structured_new_identity   (guint                 rank,
                                              const gsize          *shape);
JacStructured *jac_structured_new            (guint                 out_rank,
                                              const gsize          *out_shape,
                                              guint                 wrt_rank,
                                              const gsize          *wrt_shape,
                                              const int            *pair,
                                              GError              **error);
JacStructured *jac_structured_copy           (const JacStructured  *self);
void           jac_structured_free           (JacStructured        *self);

gboolean       jac_structured_wrt_axis_is_free (const JacStructured *self,
                                                guint                axis);
/* The value J[out_index, wrt_index]; *structural_zero (nullable) says a δ forces it to 0. */
double         jac_structured_get            (const JacStructured  *self,
                                              const gsize          *out_index,
                                              const gsize          *wrt_index,
                                              gboolean             *structural_zero);
gboolean       jac_structured_is_structural_zero (const JacStructured *self,
                                                  const gsize         *out_index,
                                                  const gsize         *wrt_index);
/* Rank and shape of the dense tensor: out.shape + wrt.shape. */
guint          jac_structured_dense_shape    (const JacStructured  *self,
                                              gsize                *shape);
/* Refuses with JAC_ERROR_TOO_LARGE, naming the size, when the dense tensor needs more than
 * @budget_bytes (0: no budget). */
JacTensor     *jac_structured_to_dense       (const JacStructured  *self,
                                              gsize                 budget_bytes,
                                              GError              **error);
/* Σ_o G[o] J[o, w]: the vector-Jacobian product, shape wrt.shape. */
JacTensor     *jac_structured_contract       (const JacStructured  *self,
                                              const JacTensor      *upstream);
/* The same contraction from a dense tensor of shape out.shape + wrt.shape. */
JacTensor     *jac_dense_contract            (const JacTensor      *dense,
                                              guint                 out_rank,
                                              const JacTensor      *upstream);
/* Number of entries stored in the core and in the dense tensor. */
gsize          jac_structured_stored_count   (const JacStructured  *self);
gsize          jac_structured_dense_count    (const JacStructured  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacStructured, jac_structured_free)

G_END_DECLS
