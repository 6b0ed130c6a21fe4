/* jac-structured.h: a Jacobian stored as a sum of Kronecker-delta patterns, each times a core.
 *
 * J[o, w] for an output of rank ≤ 2 and a variable of rank ≤ 2 is kept as a sum of terms
 *
 *   J[o, w] = Σ_t Π_a δ(o[a], w[pair_t[a]]) · core_t[o, w_free(t)]
 *
 * where pair_t[a] is the variable axis an output axis is tied to by a δ in term t (or -1), and
 * w_free(t) are the variable axes no δ of term t ties, in order. For h = tanh(h_prev W_hh + …) and
 * wrt h_prev there is one term, pair = {0, -1} (the δ_ip) and core[i, j, q] = S[i,j] W_hh[q,j]:
 * N·H·H numbers instead of N·H·N·H. For Y = Xᵀ X there are two, δ_iq X_pj + X_pi δ_jq, and an
 * entry is a structural zero exactly when every term's δs force it to zero.
 *
 * No two terms share a δ pattern, and none has a pattern contained in another's: a term whose δs
 * include all of another's is scattered into that one (its entries lie where the other's can be
 * nonzero, so the zeros stay exact and the storage only shrinks). That leaves at most four terms.
 */
#pragma once

#include "jac-tensor.h"

G_BEGIN_DECLS

/* Room for every δ pattern of a rank-2 output and variable; normalized sums use at most four. */
#define JAC_STRUCTURED_MAX_TERMS 7

typedef struct _JacDeltaTerm
{
  int        pair[2];   /* pair[a]: the variable axis output axis a is tied to by a δ, or -1 */
  JacTensor *core;      /* axes: the output axes, then the free variable axes */
} JacDeltaTerm;

/* A composite δ, as kron's: f(index at position a) = index at position b, with f the identity,
 * ⌊·/divisor⌋ or (· mod divisor); positions 0, 1 are the output's axes, 2, 3 the variable's. */
typedef enum
{
  JAC_TIE_EQUAL,
  JAC_TIE_DIV,
  JAC_TIE_MOD,
} JacTieKind;

typedef struct
{
  guint8     a, b;
  JacTieKind kind;
  gsize      divisor;
} JacIndexTie;

/* The entries where all of its ties hold: where one term of the derivation can be nonzero. */
#define JAC_SUPPORT_MAX_TIES 4
#define JAC_MAX_SUPPORTS 8

typedef struct
{
  guint       n_ties;
  JacIndexTie ties[JAC_SUPPORT_MAX_TIES];
} JacEntrySupport;

/* Where index axes coincide: an entry's partition of its four axis positions (0, 1: the
 * output's, 2, 3: the variable's; a position the ranks leave out is its own class), coded as one
 * class label per position, 4 bits each. Four axes have at most 15 partitions. */
#define JAC_ENTRY_MAX_PARTITIONS 15

typedef struct _JacStructured
{
  guint      out_rank;
  gsize      out_shape[2];
  guint      wrt_rank;
  gsize      wrt_shape[2];
  guint      n_terms;   /* 0: the empty sum, J = 0 for every value of the variables */
  union
  {
    JacDeltaTerm terms[JAC_STRUCTURED_MAX_TERMS];
    /* terms[0] under the names single-pattern readers use (the RNN, the figure's fast path):
     * meaningful alone only when n_terms == 1; pair is {-1, -1} and core NULL when n_terms == 0. */
    struct
    {
      int        pair[2];
      JacTensor *core;
    };
  };
  /* The partitions on which the terms cancel for every value, as the derivation proves them (S − Sᵀ
   * at i = j = p = q): structural zeros the δs alone do not force. 0: none (set by
   * jac_structured_set_zero_partitions, on a Jacobian small enough to walk). */
  guint      n_zero_partitions;
  guint      zero_partitions[JAC_ENTRY_MAX_PARTITIONS];
  /* Where the derivation's terms can be nonzero, when a term's δs are composite (kron's
   * ⌊i/p⌋ = k): every entry outside all of them is a structural zero too. 0: no such bound (set
   * by jac_structured_set_supports, on a Jacobian small enough to walk). */
  guint      n_supports;
  JacEntrySupport supports[JAC_MAX_SUPPORTS];
} JacStructured;

JacStructured *jac_structured_new_identity   (guint                 rank,
                                              const gsize          *shape);
/* One term with the δs @pair (NULL: none) and a core of zeros. */
JacStructured *jac_structured_new            (guint                 out_rank,
                                              const gsize          *out_shape,
                                              guint                 wrt_rank,
                                              const gsize          *wrt_shape,
                                              const int            *pair,
                                              GError              **error);
/* The empty sum: J = 0 everywhere, every entry a structural zero. */
JacStructured *jac_structured_new_zero       (guint                 out_rank,
                                              const gsize          *out_shape,
                                              guint                 wrt_rank,
                                              const gsize          *wrt_shape);
JacStructured *jac_structured_copy           (const JacStructured  *self);
void           jac_structured_free           (JacStructured        *self);

/* Every partition of the axes of a rank @out_rank output and a rank @wrt_rank variable into
 * @codes; returns how many. */
guint          jac_entry_partitions          (guint                 out_rank,
                                              guint                 wrt_rank,
                                              guint                *codes);
/* The partition of entry (out_index, wrt_index). */
guint          jac_entry_partition           (guint                 out_rank,
                                              guint                 wrt_rank,
                                              const gsize          *out_index,
                                              const gsize          *wrt_index);
/* Whether positions @a and @b are in one class of partition @code. */
gboolean       jac_entry_partition_ties      (guint                 code,
                                              guint                 a,
                                              guint                 b);
/* Makes the entries of the partitions @codes structural zeros too. FALSE, and nothing changed,
 * when none of them has an entry or one of those entries is not 0 up to rounding. */
gboolean       jac_structured_set_zero_partitions  (JacStructured        *self,
                                              guint                 n_codes,
                                              const guint          *codes);
/* Bounds the entries that can be nonzero by @supports (see JacStructured). FALSE, and nothing
 * changed, when the Jacobian is too large to walk or an entry outside them is not 0 up to
 * rounding. */
gboolean       jac_structured_set_supports   (JacStructured        *self,
                                              guint                 n_supports,
                                              const JacEntrySupport *supports);
/* Whether entry (@out_index, @wrt_index) lies in one of @supports. */
gboolean       jac_entry_in_supports         (guint                 n_supports,
                                              const JacEntrySupport *supports,
                                              const gsize          *out_index,
                                              const gsize          *wrt_index);
/* "⌊i/3⌋ = p and ⌊j/5⌋ = q", with "or" between supports: where they let an entry be nonzero. */
char          *jac_entry_supports_sentence   (guint                 n_supports,
                                              const JacEntrySupport *supports,
                                              const char           *out_letters,
                                              const char           *wrt_letters);
/* Whether the derivation proved zeros beyond the δ patterns (partitions or supports). */
gboolean       jac_structured_has_proved_zeros (const JacStructured *self);
/* Where a Jacobian whose zero partitions (those on which it is zero for every value) are @zero
 * can be nonzero, in words: "nonzero only where (p = i and q = j) or (q = i and p = j), except
 * where i = j = p = q", "nonzero only where p = q" (tr X), "nonzero except where i = j", or
 * "identically zero"; with @out_letters and @wrt_letters the indices' letters. A condition
 * stands for itself and every specialization of it, the most general ones listed. */
char          *jac_entry_partitions_sentence (guint                 out_rank,
                                              guint                 wrt_rank,
                                              guint                 n_zero,
                                              const guint          *zero,
                                              const char           *out_letters,
                                              const char           *wrt_letters);

/* Whether no δ of term @term ties variable axis @axis. */
gboolean       jac_structured_wrt_axis_is_free (const JacStructured *self,
                                                guint                term,
                                                guint                axis);
/* The value J[out_index, wrt_index]; *structural_zero (nullable) says every term's δs force it
 * to 0. */
double         jac_structured_get            (const JacStructured  *self,
                                              const gsize          *out_index,
                                              const gsize          *wrt_index,
                                              gboolean             *structural_zero);
gboolean       jac_structured_is_structural_zero (const JacStructured *self,
                                                  const gsize         *out_index,
                                                  const gsize         *wrt_index);
/* The δs every term has (pair[a] or -1): what a derivation that states one pattern writes. */
void           jac_structured_common_pairs   (const JacStructured  *self,
                                              int                  *pair);
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
/* The same, and the largest |entry| of a one-term Jacobian when the contraction's pass read every
 * entry (δ_ip, the ∂h/∂h_prev case): *@max_abs, else -1. */
JacTensor     *jac_structured_contract_max_abs (const JacStructured *self,
                                                const JacTensor     *upstream,
                                                double              *max_abs);
/* The same contraction from a dense tensor of shape out.shape + wrt.shape. */
JacTensor     *jac_dense_contract            (const JacTensor      *dense,
                                              guint                 out_rank,
                                              const JacTensor      *upstream);
/* Number of entries stored in the cores, entries no δ forces to zero (the union of the terms'
 * supports, counted exactly), and entries in the dense tensor. */
gsize          jac_structured_stored_count   (const JacStructured  *self);
gsize          jac_structured_free_count     (const JacStructured  *self);
gsize          jac_structured_dense_count    (const JacStructured  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacStructured, jac_structured_free)

G_END_DECLS
