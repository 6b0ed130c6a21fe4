/* jac-kron.h: the matricized Jacobian ∂vec(out)/∂vec(wrt) and its Kronecker form.
 *
 * With the output padded to a matrix N×H (a vector is 1×H, a scalar 1×1) and the variable to
 * P×Q, the matricized Jacobian is the (N·H)×(P·Q) matrix M[(i, j), (p, q)] = J[i, j, p, q], rows
 * and columns in row-major vec order (row i·H + j, column p·Q + q), as NumPy's reshape gives it.
 * A structured Jacobian whose δs tie the rows (δ_ip) or the columns (δ_jq) has a Kronecker form
 * when its core splits into an element-wise scale times a matrix that does not depend on the tied
 * index:
 *
 *   δ_ip, core S[i,j] A[j,q]   →  M = diag(vec S) (I_N ⊗ A)      column-major: diag(vec S) (A ⊗ I_N)
 *   δ_jq, core S[i,j] A[i,p]   →  M = diag(vec S) (A ⊗ I_H)      column-major: diag(vec S) (I_H ⊗ A)
 *   δ_ip δ_jq, core S[i,j]     →  M = diag(vec S)                 (both conventions)
 *
 * (column-major vec is Magnus and Neudecker's: rows j·N + i). For h = tanh(h_prev W_hh + …) wrt
 * h_prev this is diag(vec S) (I_N ⊗ W_hhᵀ); wrt W_hh, diag(vec S) (h_prev ⊗ I_H). The split
 * S ⊙ A is found numerically from the entries, so it holds for the values at hand, and checked to
 * reproduce every entry; A is named after a variable (or its transpose) it equals up to a scale
 * per row, S after a variable or the RNN's slope it equals. */
#pragma once

#include "jac-analysis.h"
#include "jac-structured.h"

G_BEGIN_DECLS

typedef enum
{
  JAC_KRON_NONE,            /* no Kronecker form: no δ, δs across (δ_iq), or a core that does
                             * not split */
  JAC_KRON_DIAGONAL,        /* δ_ip δ_jq: diag(vec S) */
  JAC_KRON_IDENTITY_LEFT,   /* δ_ip: diag(vec S) (I_N ⊗ A), A of shape H×Q */
  JAC_KRON_IDENTITY_RIGHT,  /* δ_jq: diag(vec S) (A ⊗ I_H), A of shape N×P */
} JacKronKind;

typedef enum
{
  JAC_KRON_TEXT,    /* plain Unicode: "diag(vec S) (I_2 ⊗ W_hhᵀ)" */
  JAC_KRON_MARKUP,  /* Pango markup: "diag(vec <i>S</i>) (<i>I</i><sub>2</sub> ⊗ …)" */
  JAC_KRON_LATEX,   /* math mode for amsmath alone: "\operatorname{diag}(\operatorname{vec} S) …" */
} JacKronNotation;

typedef struct _JacKron
{
  JacKronKind kind;
  gsize       n_rows, n_cols;   /* the output as a matrix: N×H */
  gsize       wrt_rows, wrt_cols;  /* the variable as a matrix: P×Q */
  JacTensor  *scale;            /* S, N×H; NULL when every entry is 1 (or for JAC_KRON_NONE) */
  JacTensor  *factor;           /* A: H×Q (left), N×P (right); NULL for diagonal and none */
  char       *scale_name;       /* "S", "Y", … (plain; a variable's name, or "S") */
  char       *factor_name;      /* "W_hh", "h_prev", "1" (ones), or "M" when no variable fits */
  gboolean    factor_transposed;  /* A is the transpose of the variable factor_name */
  gboolean    scale_generic;    /* S is no variable nor the RNN's slope: the identity says so */
  gboolean    factor_generic;   /* A is no variable: named "M" (or "K") */
  /* A is a factor of the contracted form (Xᵀ X of the Hessian Xᵀ X V): written as it is there,
   * in each notation (JacKronNotation's order), instead of factor_name; NULL otherwise. */
  char       *factor_forms[3];
} JacKron;

/* Recognizes the Kronecker form of @jacobian (see above); never NULL: kind JAC_KRON_NONE when there
 * is none. @graph (nullable) offers its variables as names for A and S, @slope (nullable) the name
 * "S" for the RNN's φ'(Z). A split is accepted when it reproduces every entry within @tolerance
 * times the largest one (1e-12 is right for float64 of one evaluation). */
JacKron   *jac_kron_recognize        (const JacStructured *jacobian,
                                      const JacGraph      *graph,
                                      const JacTensor     *slope,
                                      double               tolerance);
/* The same for an analysis: its Jacobian, its graph's variables, and the RNN's slope. */
JacKron   *jac_kron_from_analysis    (const JacAnalysis   *analysis);
void       jac_kron_free             (JacKron             *self);

/* The (N·H)×(P·Q) matrix of @jacobian, rows and columns in row-major vec order (@column_major:
 * Magnus–Neudecker's, rows j·N + i and columns q·P + p). Refuses past @budget_bytes (0: none). */
JacTensor *jac_kron_matricize        (const JacStructured *jacobian,
                                      gboolean             column_major,
                                      gsize                budget_bytes,
                                      GError             **error);
/* The same matrix built from the recognized form, diag(vec S) (I ⊗ A) or its kin, through
 * jac_kron_product (); NULL for JAC_KRON_NONE. */
JacTensor *jac_kron_to_matrix        (const JacKron       *self,
                                      gboolean             column_major);
/* The Kronecker product A ⊗ B of two matrices: (A ⊗ B)[a·r + b, c·s + d] = A[a, c] B[b, d]. */
JacTensor *jac_kron_product          (const JacTensor     *a,
                                      const JacTensor     *b);

/* The right-hand side of the identity in one convention: "diag(vec S) (I_2 ⊗ W_hhᵀ)"; NULL for
 * JAC_KRON_NONE. */
char      *jac_kron_form             (const JacKron       *self,
                                      gboolean             column_major,
                                      JacKronNotation      notation);
/* The whole identity in both conventions, for the vec figure's caption and the derivation:
 * "∂vec(h)/∂vec(h_prev) = diag(vec S) (I_2 ⊗ W_hhᵀ) (row-major vec) = diag(vec S) (W_hhᵀ ⊗ I_2)
 * (column-major vec, Magnus–Neudecker)", with "where S = …" when S is not a variable; NULL for
 * JAC_KRON_NONE. @out_name and @wrt_name are the plain names ("h", "h_prev"). */
char      *jac_kron_identity         (const JacKron       *self,
                                      const char          *out_name,
                                      const char          *wrt_name,
                                      JacKronNotation      notation);

/* Past this many stored entries, finding the form is a pass worth taking off the path of a
 * control change (the window's 100 ms target: 64 M entries take about as long). */
#define JAC_KRON_PROMPT_ENTRIES ((gsize) 1 << 22)

/* For the derivation: the identity of @analysis's Jacobian (its output and variable names), or
 * NULL when it has no Kronecker form — or when it is still pending (below). */
char      *jac_kron_analysis_identity (const JacAnalysis  *analysis,
                                       JacKronNotation     notation);
/* Whether the form of @analysis is not known yet and its Jacobian is past
 * JAC_KRON_PROMPT_ENTRIES: then jac_kron_analysis_identity () answers NULL at once instead of
 * reading the core, and the caller finds the form with jac_kron_analysis_prepare () when it has
 * time (the window: after the frame that shows the change), then asks again. The form of the
 * last analysis found is kept, so asking again, and jac_kron_from_analysis (), cost nothing. */
gboolean   jac_kron_analysis_pending  (const JacAnalysis  *analysis);
void       jac_kron_analysis_prepare  (const JacAnalysis  *analysis);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacKron, jac_kron_free)

G_END_DECLS
