/* jac-structured-private.h: the algebra of structured Jacobians that the graph's chain rule uses. */
#pragma once

#include "jac-structured.h"

G_BEGIN_DECLS

/* Every function returns a new Jacobian and leaves its operands alone. A NULL Jacobian stands for
 * an output that does not depend on the variable; the functions that take one say so. Those
 * that allocate return NULL with @error set when the memory budget refuses the result. The chain
 * rule is linear, so each works term by term and sums the images (see _jac_structured_add). */

/* Whether cores are written with the AVX2 row writer where the processor has it (the default),
 * or with the two-lane one, for tests that compare the two; returns the setting before. */
gboolean       _jac_structured_set_avx2     (gboolean             use);
/* Steps (@o, @w), an output and a variable index, to the next entry of @self in row-major order
 * (the variable's last axis fastest); FALSE after the last, with both back at 0. */
gboolean       _jac_structured_entry_next   (const JacStructured *self,
                                             gsize               *o,
                                             gsize               *w);
JacStructured *_jac_structured_try_copy     (const JacStructured *self,
                                             GError             **error);
/* jac_structured_new () with a core the caller writes in full: not zeroed first. */
JacStructured *_jac_structured_new_uninitialized (guint            out_rank,
                                             const gsize         *out_shape,
                                             guint                wrt_rank,
                                             const gsize         *wrt_shape,
                                             const int           *pair,
                                             GError             **error);

/* J with each term keeping only those of its δ pairs that @keep names; the others become explicit
 * in its core. */
JacStructured *_jac_structured_relax        (const JacStructured *self,
                                             const int           *keep,
                                             GError             **error);
/* J scaled entry-wise by @factor, a tensor of the output's shape: core[o, ·] *= factor[o]. */
JacStructured *_jac_structured_scale        (const JacStructured *self,
                                             const JacTensor     *factor,
                                             GError             **error);
void           _jac_structured_scale_inplace (JacStructured      *self,
                                             const JacTensor     *factor);
void           _jac_structured_multiply_scalar (JacStructured    *self,
                                             double               factor);
/* J of an operand broadcast (NumPy rules) to an output of @rank and @shape. Consumes @self. */
JacStructured *_jac_structured_broadcast    (JacStructured       *self,
                                             guint                rank,
                                             const gsize         *shape,
                                             GError             **error);
/* a + sign·b; either may be NULL (zero); both NULL gives NULL. Consumes @a and @b. Terms with the
 * same δs merge; a term whose δs include all of another's is scattered into that one; the rest
 * stay separate terms, so no δ is lost to the sum. */
JacStructured *_jac_structured_add          (JacStructured       *a,
                                             JacStructured       *b,
                                             double               sign,
                                             GError             **error);
/* ∂(A B) through A: J_A contracted with B on A's column index, then scaled entry-wise by @scale
 * (nullable; a tensor of the product's shape) as it is written: the same numbers as
 * _jac_structured_scale_inplace afterwards, in one pass over the result instead of two. */
JacStructured *_jac_structured_matmul_left  (const JacStructured *ja,
                                             const JacTensor     *b,
                                             const JacTensor     *scale,
                                             GError             **error);
/* The same, and when the result is one term with δ_ip written in whole rows (∂h/∂h_prev of the
 * RNN step), *@vjp = Σ_o G[o] J[o, w] with @upstream as G and *@max_abs the largest |entry|,
 * taken as the core is written; *@vjp stays NULL otherwise. */
JacStructured *_jac_structured_matmul_left_contract (const JacStructured *ja,
                                             const JacTensor     *b,
                                             const JacTensor     *scale,
                                             const JacTensor     *upstream,
                                             JacTensor          **vjp,
                                             double              *max_abs,
                                             GError             **error);
/* ∂(A B) through B: A contracted with J_B on B's row index, scaled as above. */
JacStructured *_jac_structured_matmul_right (const JacTensor     *a,
                                             const JacStructured *jb,
                                             const JacTensor     *scale,
                                             GError             **error);
JacStructured *_jac_structured_transpose    (const JacStructured *self,
                                             GError             **error);
JacStructured *_jac_structured_sum          (const JacStructured *self,
                                             GError             **error);
/* ∂softmax(A) through A, row-wise, given Y = softmax(A). */
JacStructured *_jac_structured_softmax      (const JacStructured *self,
                                             const JacTensor     *y,
                                             GError             **error);

/* The language's matrix functions, by the generic path (small operands). */
/* Σ along output axis @axis, which is removed (NumPy's sum (X, axis)). */
JacStructured *_jac_structured_sum_axis     (const JacStructured *self,
                                             guint                axis,
                                             GError             **error);
/* Σ_k J[k, k, ·]: the trace of a square output. */
JacStructured *_jac_structured_trace        (const JacStructured *self,
                                             GError             **error);
/* diag of a square output (its diagonal, a vector) or of a vector output (a diagonal matrix). */
JacStructured *_jac_structured_diag         (const JacStructured *self,
                                             GError             **error);
/* ∂kron(A, B) = ∂A ⊗ B + A ⊗ ∂B; either Jacobian may be NULL (independent). */
JacStructured *_jac_structured_kron         (const JacStructured *ja,
                                             const JacTensor     *a,
                                             const JacStructured *jb,
                                             const JacTensor     *b,
                                             GError             **error);

/* The same Jacobian for an output with a unit axis added at @axis (rank 1 → 2) or removed from
 * it (2 → 1; 2 → 0 removes both; 0 → 2 adds both). */
JacStructured *_jac_structured_reshape      (const JacStructured *self,
                                             guint                rank,
                                             const gsize         *shape,
                                             guint                axis,
                                             GError             **error);

G_END_DECLS
