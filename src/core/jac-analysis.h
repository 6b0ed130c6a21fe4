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

typedef struct _JacAnalysis
{
  /* Either the RNN step (rnn set, expr NULL) or a typed expression (expr set, rnn NULL). */
  JacRnn        *rnn;             /* owned */
  JacExpr       *expr;            /* owned */
  JacGraph      *graph;           /* the one of rnn or expr */
  JacVariable    wrt;             /* the RNN's variable; JAC_N_VARS for an expression */
  int            wrt_node;        /* the variable's node in graph */
  const char    *output_name;     /* "h", "U", "Y", … */
  const char    *wrt_name;        /* "h_prev", "V", … */
  JacDerivation *derivation;      /* the index-notation steps, the δs and the contracted form */
  JacStructured *jacobian;
  JacSparsity    sparsity;
  JacUpstreamKind upstream_kind;
  JacTensor     *upstream;        /* G, (N, H) */
  JacTensor     *gated;           /* G ⊙ S */
  /* The RNN's contracted form is drawn as G, S, G⊙S, a factor and their product; an expression's
   * as G and the contracted form of its derivation: factor and gated are NULL there. */
  JacTensor     *factor;            /* what G⊙S is multiplied by: W_hhᵀ (H×H), W_xhᵀ (H×D),
                                     * h_prevᵀ (H×N), xᵀ (D×N), a row of ones (1×N) for b of
                                     * shape (H); NULL for b of shape (N, H) */
  gboolean       factor_on_left;    /* factor · (G⊙S) rather than (G⊙S) · factor */
  const char    *factor_name;       /* "W_hhᵀ", "W_xhᵀ", "h_prevᵀ", "xᵀ", "1ᵀ" or NULL */
  const char    *formula_text;      /* "(G ⊙ S) W_hhᵀ", "h_prevᵀ (G ⊙ S)", "1ᵀ (G ⊙ S)", "G ⊙ S" */
  const char    *slope_text;        /* "S = 1 − h²", "S = h ⊙ (1 − h)", "S = [Z > 0]", "S = 1" */
  JacTensor     *contract_formula;  /* the matrix formula, e.g. (G⊙S) W_hhᵀ */
  JacTensor     *expr_factors[2];   /* an expression's: the two factors of its contracted form
                                     * (derivation->factor_text), e.g. G and Aᵀ; or NULL */
  JacTensor     *contract_tensor;   /* Σ G J, from the structured tensor */
  double         contract_max_diff;
  double         jacobian_max_abs;  /* symmetric colour range of the Jacobian */
} JacAnalysis;

/* Takes @rnn, also when it fails. @upstream is used with JAC_UPSTREAM_GIVEN and must then be (N, H). */
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
/* Fills every variable of @expr not in @loaded (name → JacTensor) with seeded uniform values in
 * [−1, 1], or [0.5, 1.5] for an operand of log or sqrt; a loaded tensor must fit its variable. */
gboolean     jac_expr_draw_variables (JacExpr     *expr,
                                      GHashTable  *loaded,
                                      guint32      seed,
                                      GError     **error);
void         jac_analysis_free    (JacAnalysis      *self);
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

/* jac-analysis-notes.c. Pango markup of the figure's caption: block (i, i)'s formula in the
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
