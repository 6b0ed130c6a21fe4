/* jac-analysis.h: everything a figure shows about one derivative, computed once and checked. */
#pragma once

#include "jac-derive.h"
#include "jac-expr.h"
#include "jac-rnn.h"

G_BEGIN_DECLS

typedef enum
{
  JAC_UPSTREAM_ONES,     /* G = 1 */
  JAC_UPSTREAM_RANDOM,   /* G uniform in [-1, 1], from the seed */
  JAC_UPSTREAM_LOSS,     /* G = h − y for L = ½‖h − y‖², y drawn from the seed */
  JAC_UPSTREAM_GIVEN,    /* G given by the caller */
} JacUpstreamKind;

/* Registered GEnum types of core (jac-core-enums.h, by glib-mkenums): their nicks are the names
 * the command line and the window use ("ones", "random", "loss"). */
#include "jac-core-enums.h"

typedef struct
{
  /* Grid of blocks: block (i, p) holds J[i, :, p, :] with rows j and columns q (numerator layout).
   * A rank-1 variable is shown as one row of blocks (p = 0). A scalar output as one row. */
  gsize     n_block_rows;     /* I: output rows */
  gsize     n_block_cols;     /* P: variable rows */
  gsize     block_height;     /* J: output columns */
  gsize     block_width;      /* Q: variable columns */
  gsize     n_blocks;
  gsize     n_zero_blocks;    /* blocks every entry of which a δ forces to zero */
  gsize     n_entries;        /* entries of the dense tensor */
  gsize     n_free_entries;   /* entries no δ forces to zero */
  char     *sentence;         /* "nonzero only where p = i: 2 of 4 blocks" */
} JacSparsity;

/* Set on the analysis of a second derivative (jac-hessian.h). */
typedef struct _JacHessianInfo JacHessianInfo;

typedef struct _JacAnalysis
{
  /* One path for every expression; the RNN step is the preset jac_rnn_source (). */
  JacExpr       *expr;            /* owned */
  JacGraph      *graph;           /* expr's */
  int            wrt_node;        /* the variable's node in graph */
  const char    *output_name;     /* "h", "U", "Y", … */
  const char    *wrt_name;        /* "h_prev", "V", … */
  JacDerivation *derivation;      /* the index-notation steps, the δs and the contracted form */
  JacStructured *jacobian;
  JacSparsity    sparsity;
  JacUpstreamKind upstream_kind;
  JacTensor     *upstream;        /* G, shaped like the output */
  const char    *formula_text;    /* the contracted form: "(G ⊙ S) W_hhᵀ", "G Aᵀ" */
  const char    *slope_text;      /* what it names: "S = 1 − h ⊙ h", or NULL */
  JacTensor     *contract_formula;  /* the contracted form evaluated */
  /* The contracted form's two factors (derivation->factor_text), e.g. G ⊙ S and W_hhᵀ, or G and
   * Aᵀ; and the two parts of the one that is an element-wise product (derivation->inner_of),
   * e.g. G and S; NULL where there are none. */
  JacTensor     *factors[2];
  JacTensor     *inner[2];
  JacTensor     *slope;           /* the derivation's one named slope S, or NULL */
  JacTensor     *contract_tensor;   /* Σ G J, from the structured tensor */
  double         contract_max_diff;
  /* max |J − central finite differences| where the variable has few enough entries to perturb
   * (JAC_ANALYSIS_FD_MAX_WRT; those reaching disjoint outputs together, by the structural-zero
   * mask) and the dense tensor is small: the check shown beside the
   * contracted form's; -1 where it was not taken. fd_scale is max (1, max |J|). */
  double         fd_max_diff;
  double         fd_scale;
  double         jacobian_max_abs;  /* symmetric colour range of the Jacobian */
  /* A Hessian's analysis is that of its function's gradient (expr) w.r.t. the second variable:
   * what it is the Hessian of; NULL for a first derivative. Owned. */
  JacHessianInfo *hessian;
} JacAnalysis;

/* The finite-difference check runs for variables of at most this many entries. */
#define JAC_ANALYSIS_FD_MAX_WRT 4096

/* The RNN preset: takes @rnn, also when it fails, and analyses its expression as
 * jac_analysis_new_expr () does, naming the slope S (DESIGN.md's (G ⊙ S) W_hhᵀ). @upstream is
 * used with JAC_UPSTREAM_GIVEN and must then be (N, H). */
JacAnalysis *jac_analysis_new     (JacRnn           *rnn,
                                   JacVariable       wrt,
                                   JacUpstreamKind   upstream_kind,
                                   const JacTensor  *upstream,
                                   GError          **error);
/* Takes @expr, also when it fails; its variables must hold their values (see
 * jac_expr_draw_variables). @wrt names one of them. @upstream has the output's shape. */
JacAnalysis *jac_analysis_new_expr (JacExpr         *expr,
                                    const char      *wrt,
                                    JacUpstreamKind  upstream_kind,
                                    const JacTensor *upstream,
                                    guint32          seed,
                                    GError         **error);
/* The same with the derivation's flags (JAC_DERIVE_DIRECTION for a Hessian's V). */
JacAnalysis *jac_analysis_new_expr_flags (JacExpr         *expr,
                                          const char      *wrt,
                                          JacDeriveFlags   flags,
                                          JacUpstreamKind  upstream_kind,
                                          const JacTensor *upstream,
                                          guint32          seed,
                                          GError         **error);
/* Fills every variable of @expr not in @loaded (name → JacTensor) with seeded uniform values in
 * [−1, 1], or [0.5, 1.5] for an operand of log or sqrt; a loaded tensor must fit its variable. */
gboolean     jac_expr_draw_variables (JacExpr     *expr,
                                      GHashTable  *loaded,
                                      guint32      seed,
                                      GError     **error);
/* The rule jac_expr_draw_variables draws @variable by, for the functions it is the direct
 * operand of: uniform within @half_width of @centre, then @diagonal_shift added to the diagonal
 * (an operand of det, logdet or inv; else 0). */
void         jac_expr_variable_range (const JacGraph *graph,
                                      int             variable,
                                      double         *centre,
                                      double         *half_width,
                                      double         *diagonal_shift);
void         jac_analysis_free    (JacAnalysis      *self);
void         jac_hessian_info_free (JacHessianInfo  *info);
/* Block (i, p) of the grid is forced to zero. */
gboolean     jac_analysis_block_is_zero (const JacAnalysis *self,
                                         gsize              block_row,
                                         gsize              block_col);
/* Entry (j, q) of block (i, p), and whether a δ forces it to zero. */
double       jac_analysis_block_entry   (const JacAnalysis *self,
                                         gsize              block_row,
                                         gsize              block_col,
                                         gsize              row,
                                         gsize              col,
                                         gboolean          *structural_zero);
/* Index letters of the output's and the variable's axes, as the derivation writes them: "ij";
 * "pq" (h_prev, x, b of shape (N, H)), "kl" (weights), "q" (b of shape (H)). */
const char  *jac_analysis_out_indices   (const JacAnalysis *self);
const char  *jac_analysis_wrt_indices   (const JacAnalysis *self);

/* jac-analysis-notes.c. Whether the derivative is one term whose factors read as blocks: diag(S_i)
 * times a matrix (δ_ip), a number per block times diag(S_i) (δ_jq), or diag(S_i) alone. Then
 * the block formula and the why line below say so; otherwise they fall back to the derivative and
 * its sparsity. */
gboolean     jac_analysis_reads_as_blocks (const JacAnalysis *self);
/* Pango markup of the figure's caption: block (i, i)'s formula in the
 * layout asked for, "block (i, i) = diag(S_i) W_hhᵀ; blocks with p ≠ i are 0 (δ_ip)" */
char        *jac_analysis_block_markup  (const JacAnalysis *self,
                                         gboolean           denominator_layout);
/* Pango markup of the one-line reason for the contracted form's shape (the transpose). */
char        *jac_analysis_why_markup    (const JacAnalysis *self);
/* The same two as LaTeX text (inline math in $…$) for amsmath alone. */
char        *jac_analysis_block_latex   (const JacAnalysis *self,
                                         gboolean           denominator_layout);
char        *jac_analysis_why_latex     (const JacAnalysis *self);
/* jac-derive-latex.c. The whole derivation as LaTeX, the one the CLI's derive --latex prints and
 * the window's Copy as LaTeX copies: every step, the sparsity, the block formula in the layout
 * asked for, why the contracted form has its shape, and the contracted form, fitting the text
 * width of \documentclass{article} with \usepackage{amsmath} only. @standalone: a complete
 * document. Pure ASCII. */
char        *jac_analysis_latex         (const JacAnalysis *self,
                                         gboolean           denominator_layout,
                                         gboolean           standalone);

void         jac_sparsity_clear   (JacSparsity      *sparsity);

/* ---- zeros that depend on the values, the zero mask and the per-sample view ---- */

/* The structural-zero mask over out.shape + wrt.shape in C order: 1 where the δs force the entry
 * to 0 for every value of the variables. Sets @rank and @shape; NULL with JAC_ERROR_TOO_LARGE
 * when one byte per entry does not fit the memory budget. Free with g_free (). */
guint8      *jac_analysis_structural_zero_mask (const JacAnalysis *self,
                                                guint             *rank,
                                                gsize             *shape,
                                                GError           **error);
/* Entries exactly 0 for the current values that no δ forces to 0. */
gsize        jac_analysis_count_value_zeros    (const JacAnalysis *self);
/* Why entries of this expression can be 0 for these values: "ReLU off", "a zero in the data",
 * "tanh saturated", joined with "or"; NULL when no such cause is in sight. */
char        *jac_analysis_value_zero_reason    (const JacAnalysis *self);
/* "; 5 more entries are 0 for these values: ReLU off", or "" when there are none. */
char        *jac_analysis_value_zero_sentence  (const JacAnalysis *self);
/* Whether the Jacobian is zero off p = i: out and variable both matrices with as many rows, and
 * every block (i, p ≠ i) forced to zero. Else an error naming the offending structure. */
gboolean     jac_analysis_is_batch_diagonal    (const JacAnalysis *self,
                                                GError           **error);
/* The N diagonal blocks J[i, :, i, :], shape (N, J, Q): what vmap(jacrev(f)) returns. */
JacTensor   *jac_analysis_per_sample           (const JacAnalysis *self,
                                                GError           **error);
/* "dense 2.0 GiB · stored 32.0 MiB": the dense tensor against the per-sample blocks. */
char        *jac_analysis_per_sample_memory_text (const JacAnalysis *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacAnalysis, jac_analysis_free)

G_END_DECLS
