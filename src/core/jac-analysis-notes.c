/* jac-analysis-notes.c: the sentences that answer "why": a block's formula and the transpose. */
#define G_LOG_DOMAIN "jac-analysis"

#include "jac-analysis.h"
#include "jac-derive-private.h"

/* What the derivation's steps do not say in words: how a block reads in each layout, and why the
 * contraction has the form it has. Index letters follow core/jac-derive.h. The figure's caption,
 * the window's derivation and the LaTeX all take them from here, in Pango markup (W<sub>hh</sub>ᵀ)
 * and in LaTeX text for amsmath alone ($W_{hh}^{\top}$), each table beside its twin. */
typedef struct
{
  const char *block_num;   /* numerator layout: block (i, p) with rows j and columns q */
  const char *block_den;   /* denominator layout: the whole figure transposed */
  const char *why;
} JacNotes;

#define DIAG_S "diag(S<sub><i>i</i></sub>)"
#define OFF_IP "; blocks with <i>p</i> ≠ <i>i</i> are 0 (δ<sub><i>ip</i></sub>)"

static const JacNotes notes_h_prev = {
  "block (<i>i</i>, <i>i</i>) = " DIAG_S " W<sub>hh</sub>ᵀ" OFF_IP,
  "block (<i>i</i>, <i>i</i>) = W<sub>hh</sub> " DIAG_S OFF_IP
  " — the chain rule’s “(1 − tanh²) W<sub>hh</sub>”, read in this layout",
  "why the transpose: δ<sub><i>ip</i></sub> collapses the sum over <i>i</i>; the sum left runs "
  "over W<sub>hh</sub>’s <i>second</i> index <i>j</i>, so Σ G·J = (G ⊙ S) W<sub>hh</sub>ᵀ",
};

static const JacNotes notes_x = {
  "block (<i>i</i>, <i>i</i>) = " DIAG_S " W<sub>xh</sub>ᵀ" OFF_IP,
  "block (<i>i</i>, <i>i</i>) = W<sub>xh</sub> " DIAG_S OFF_IP,
  "why the transpose: δ<sub><i>ip</i></sub> collapses the sum over <i>i</i>; the sum left runs "
  "over W<sub>xh</sub>’s <i>second</i> index <i>j</i>, so Σ G·J = (G ⊙ S) W<sub>xh</sub>ᵀ",
};

static const JacNotes notes_w_hh = {
  "block (<i>i</i>, <i>k</i>) = h<sub>prev</sub>[<i>i</i>, <i>k</i>] " DIAG_S
  ": only <i>l</i> = <i>j</i> is nonzero (δ<sub><i>jl</i></sub>)",
  "block (<i>k</i>, <i>i</i>) = h<sub>prev</sub>[<i>i</i>, <i>k</i>] " DIAG_S
  ": diagonal (δ<sub><i>jl</i></sub>), so the same as in numerator layout",
  "why h<sub>prev</sub>ᵀ on the left: δ<sub><i>jl</i></sub> collapses the sum over <i>j</i>; "
  "the sum left runs over the batch index <i>i</i>, h<sub>prev</sub>’s <i>first</i> index",
};

static const JacNotes notes_w_xh = {
  "block (<i>i</i>, <i>k</i>) = x[<i>i</i>, <i>k</i>] " DIAG_S
  ": only <i>l</i> = <i>j</i> is nonzero (δ<sub><i>jl</i></sub>)",
  "block (<i>k</i>, <i>i</i>) = x[<i>i</i>, <i>k</i>] " DIAG_S
  ": diagonal (δ<sub><i>jl</i></sub>), so the same as in numerator layout",
  "why xᵀ on the left: δ<sub><i>jl</i></sub> collapses the sum over <i>j</i>; the sum left "
  "runs over the batch index <i>i</i>, x’s <i>first</i> index",
};

static const JacNotes notes_b_vector = {
  "block <i>i</i> = " DIAG_S ": only <i>q</i> = <i>j</i> is nonzero (δ<sub><i>jq</i></sub>)",
  "block <i>i</i> = " DIAG_S ": diagonal (δ<sub><i>jq</i></sub>), so the same as in numerator "
  "layout",
  "b is shared by every batch row, so its gradient sums G ⊙ S over the rows: 1ᵀ (G ⊙ S)",
};

static const JacNotes notes_b_matrix = {
  "block (<i>i</i>, <i>i</i>) = " DIAG_S OFF_IP,
  "block (<i>i</i>, <i>i</i>) = " DIAG_S OFF_IP,
  "both δs collapse their sums: nothing is left to multiply, so no transpose appears: G ⊙ S",
};

#define DIAG_S_TEX "\\operatorname{diag}(S_{i})"
#define OFF_IP_TEX "; blocks with $p \\neq i$ are 0 ($\\delta_{ip}$)"

static const JacNotes latex_h_prev = {
  "block $(i, i) = " DIAG_S_TEX " \\, W_{hh}^{\\top}$" OFF_IP_TEX,
  "block $(i, i) = W_{hh} \\, " DIAG_S_TEX "$" OFF_IP_TEX
  " --- the chain rule's ``$(1 - \\tanh^{2}) \\, W_{hh}$'', read in this layout",
  "why the transpose: $\\delta_{ip}$ collapses the sum over~$i$; the sum left runs over "
  "$W_{hh}$'s \\emph{second} index~$j$, so $\\sum G \\cdot J = (G \\odot S) \\, W_{hh}^{\\top}$",
};

static const JacNotes latex_x = {
  "block $(i, i) = " DIAG_S_TEX " \\, W_{xh}^{\\top}$" OFF_IP_TEX,
  "block $(i, i) = W_{xh} \\, " DIAG_S_TEX "$" OFF_IP_TEX,
  "why the transpose: $\\delta_{ip}$ collapses the sum over~$i$; the sum left runs over "
  "$W_{xh}$'s \\emph{second} index~$j$, so $\\sum G \\cdot J = (G \\odot S) \\, W_{xh}^{\\top}$",
};

static const JacNotes latex_w_hh = {
  "block $(i, k) = h_{\\mathrm{prev}}[i, k] \\, " DIAG_S_TEX "$: only $l = j$ is nonzero "
  "($\\delta_{jl}$)",
  "block $(k, i) = h_{\\mathrm{prev}}[i, k] \\, " DIAG_S_TEX "$: diagonal ($\\delta_{jl}$), "
  "so the same as in numerator layout",
  "why $h_{\\mathrm{prev}}^{\\top}$ on the left: $\\delta_{jl}$ collapses the sum over~$j$; "
  "the sum left runs over the batch index~$i$, $h_{\\mathrm{prev}}$'s \\emph{first} index",
};

static const JacNotes latex_w_xh = {
  "block $(i, k) = x[i, k] \\, " DIAG_S_TEX "$: only $l = j$ is nonzero ($\\delta_{jl}$)",
  "block $(k, i) = x[i, k] \\, " DIAG_S_TEX "$: diagonal ($\\delta_{jl}$), so the same as in "
  "numerator layout",
  "why $x^{\\top}$ on the left: $\\delta_{jl}$ collapses the sum over~$j$; the sum left runs "
  "over the batch index~$i$, $x$'s \\emph{first} index",
};

static const JacNotes latex_b_vector = {
  "block $i = " DIAG_S_TEX "$: only $q = j$ is nonzero ($\\delta_{jq}$)",
  "block $i = " DIAG_S_TEX "$: diagonal ($\\delta_{jq}$), so the same as in numerator layout",
  "$b$ is shared by every batch row, so its gradient sums $G \\odot S$ over the rows: "
  "$\\mathbf{1}^{\\top} (G \\odot S)$",
};

static const JacNotes latex_b_matrix = {
  "block $(i, i) = " DIAG_S_TEX "$" OFF_IP_TEX,
  "block $(i, i) = " DIAG_S_TEX "$" OFF_IP_TEX,
  "both $\\delta$s collapse their sums: nothing is left to multiply, so no transpose appears: "
  "$G \\odot S$",
};

static const JacNotes *
rnn_notes (const JacAnalysis *self,
           gboolean           latex)
{
  switch (self->wrt)
    {
    case JAC_VAR_H_PREV: return latex ? &latex_h_prev : &notes_h_prev;
    case JAC_VAR_X: return latex ? &latex_x : &notes_x;
    case JAC_VAR_W_HH: return latex ? &latex_w_hh : &notes_w_hh;
    case JAC_VAR_W_XH: return latex ? &latex_w_xh : &notes_w_xh;
    case JAC_VAR_B:
      if (self->rnn->config.b_per_row)
        return latex ? &latex_b_matrix : &notes_b_matrix;
      return latex ? &latex_b_vector : &notes_b_vector;
    case JAC_N_VARS:
    default: break;
    }
  g_assert_not_reached ();
}

char *
jac_analysis_block_markup (const JacAnalysis *self,
                           gboolean           denominator_layout)
{
  const JacDerivation *d;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->rnn != NULL)
    {
      const JacNotes *notes = rnn_notes (self, FALSE);

      return g_strdup (denominator_layout ? notes->block_den : notes->block_num);
    }
  d = self->derivation;
  if (d == NULL || d->result_markup == NULL)
    return g_strdup (self->sparsity.sentence);
  return g_strdup_printf ("J = %s: %s", d->result_markup, self->sparsity.sentence);
}

char *
jac_analysis_why_markup (const JacAnalysis *self)
{
  const JacDerivation *d;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->rnn != NULL)
    return g_strdup (rnn_notes (self, FALSE)->why);
  d = self->derivation;
  if (d == NULL || d->contracted_markup == NULL)
    return g_strdup ("");
  return g_strdup_printf ("back-propagation: every δ collapses a sum, the sums left are the "
                          "matrix products: Σ G·J = %s", d->contracted_markup);
}

/* The sparsity sentence of an expression in LaTeX, its index letters italic. */
static char *
sparsity_latex (const JacAnalysis *self)
{
  const JacDerivation *d = self->derivation;
  g_autofree char *letters = g_strconcat (d->out_letters, d->wrt_letters, NULL);

  return _jac_latex_words (self->sparsity.sentence, letters, NULL, NULL);
}

char *
jac_analysis_block_latex (const JacAnalysis *self,
                          gboolean           denominator_layout)
{
  const JacDerivation *d;
  g_autofree char *sparsity = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->rnn != NULL)
    {
      const JacNotes *notes = rnn_notes (self, TRUE);

      return g_strdup (denominator_layout ? notes->block_den : notes->block_num);
    }
  d = self->derivation;
  sparsity = sparsity_latex (self);
  if (d == NULL || d->result_latex == NULL)
    return g_steal_pointer (&sparsity);
  return g_strdup_printf ("$J = %s$: %s", d->result_latex, sparsity);
}

char *
jac_analysis_why_latex (const JacAnalysis *self)
{
  const JacDerivation *d;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->rnn != NULL)
    return g_strdup (rnn_notes (self, TRUE)->why);
  d = self->derivation;
  if (d == NULL || d->contracted_latex == NULL)
    return g_strdup ("");
  return g_strdup_printf ("back-propagation: every $\\delta$ collapses a sum, the sums left are "
                          "the matrix products: $\\sum G \\cdot J = %s$", d->contracted_latex);
}
