/* jac-analysis-notes.c: the sentences that answer "why": a block's formula and the transpose. */
#define G_LOG_DOMAIN "jac-analysis"

#include "jac-analysis.h"
#include "jac-derive-private.h"

/* What the derivation's steps do not say in words: how a block reads in each layout, and why the
 * contraction has the form it has. Both are read off the derivative itself when it is one term
 * without sums (JacDerivation.entry_factors), as S_ij δ_ip W_hh_qj is: a factor on the output's
 * row index and column reads as diag(S_i), one on the block's column and row indices as a matrix
 * (W_hh_qj: W_hhᵀ), one on the two row indices as a number per block (h_prev_ik). Index letters
 * follow core/jac-derive.h. The figure's caption, the window's derivation and the LaTeX take them
 * from here, in Pango markup and in LaTeX text for amsmath alone. */

/* Writes both notations at once: markup, or LaTeX text with its math in $…$. */
typedef struct
{
  gboolean latex;
  GString *s;
} Note;

static void
note_text (Note       *n,
           const char *markup,
           const char *latex)
{
  g_string_append (n->s, n->latex ? latex : markup);
}

/* An index letter: italic in markup, math in LaTeX (inside $…$ already). */
static void
note_letter (Note *n,
             char  letter)
{
  if (n->latex)
    g_string_append_c (n->s, letter);
  else
    g_string_append_printf (n->s, "<i>%c</i>", letter);
}

static void
note_math_open (Note *n)
{
  if (n->latex)
    g_string_append_c (n->s, '$');
}

static void
note_math_close (Note *n)
{
  if (n->latex)
    g_string_append_c (n->s, '$');
}

/* δ_ip as text */
static void
note_delta (Note *n,
            char  a,
            char  b)
{
  if (n->latex)
    g_string_append_printf (n->s, "$\\delta_{%c%c}$", a, b);
  else
    g_string_append_printf (n->s, "δ<sub><i>%c%c</i></sub>", a, b);
}

/* "; blocks with p ≠ i are 0 (δ_ip)" */
static void
note_off_diagonal (Note *n,
                   char  row,
                   char  col)
{
  note_text (n, "; blocks with ", "; blocks with ");
  note_math_open (n);
  note_letter (n, col);
  note_text (n, " ≠ ", " \\neq ");
  note_letter (n, row);
  note_math_close (n);
  note_text (n, " are 0 (", " are 0 (");
  note_delta (n, row, col);
  note_text (n, ")", ")");
}

typedef enum
{
  SHAPE_NONE,      /* no Kronecker-δ reading: fall back to the derivative and the sentence */
  SHAPE_ROWS,      /* δ_ip: block (i, i) dense, blocks p ≠ i zero */
  SHAPE_DIAGONAL,  /* δ_jq: every block diagonal */
  SHAPE_BOTH,      /* δ_ip δ_jq */
} BlockShape;

typedef enum
{
  ROLE_DIAG,     /* on (i, j) or (j): diag(F_i) */
  ROLE_MATRIX,   /* on the block's column and row indices: F or Fᵀ */
  ROLE_SCALAR,   /* on the row indices (i, p): one number per block */
} FactorRole;

typedef struct
{
  BlockShape        shape;
  const JacEntryFactor *matrix;      /* ROLE_MATRIX, at most one */
  gboolean          matrix_transposed;
  const JacEntryFactor *scalar;      /* ROLE_SCALAR, at most one */
  gboolean          scalar_swapped;  /* written scalar[p, i] rather than [i, p] */
  const JacEntryFactor *diag[4];
  guint             n_diag;
} BlockReading;

/* Reads the derivative as blocks, or SHAPE_NONE. Axis codes: 0 i, 1 j (output), 2 p, 3 q
 * (variable; a vector's only axis is 3, its q). */
static BlockReading
read_blocks (const JacAnalysis *self)
{
  const JacDerivation *d = self->derivation;
  const JacStructured *jac = self->jacobian;
  BlockReading r = { SHAPE_NONE, NULL, FALSE, NULL, FALSE, { NULL }, 0 };
  gboolean row_tie, col_tie;

  if (jac->n_terms != 1 || jac->out_rank != 2 || jac->wrt_rank < 1 || d->entry_coef == 0
      || d->entry_coef != 1.0)
    return r;
  row_tie = jac->wrt_rank == 2 && jac->pair[0] == 0;
  col_tie = jac->pair[1] == (int) jac->wrt_rank - 1;
  if (jac->pair[0] >= 0 && !row_tie)
    return r;
  if (jac->pair[1] >= 0 && !col_tie)
    return r;
  r.shape = row_tie && col_tie ? SHAPE_BOTH : row_tie ? SHAPE_ROWS : col_tie ? SHAPE_DIAGONAL
                                                                           : SHAPE_NONE;
  if (r.shape == SHAPE_NONE)
    return r;

  for (guint f = 0; f < d->n_entry_factors; f++)
    {
      const JacEntryFactor *e = &d->entry_factors[f];
      int code[2] = { -1, -1 };

      for (guint a = 0; a < e->rank && a < 2; a++)
        {
          int c = e->axis[a];

          if (c >= 2 && jac->wrt_rank == 1)
            c = 3;
          /* A tied variable axis is the output's. */
          if (c == 2 && row_tie)
            c = 0;
          if (c == 3 && col_tie)
            c = 1;
          code[a] = c;
        }
      if (e->rank == 2 && ((code[0] == 0 && code[1] == 1) || (code[0] == -1 && code[1] == 1)))
        r.diag[r.n_diag++] = e;
      else if (e->rank == 1 && code[0] == 1)
        r.diag[r.n_diag++] = e;
      else if (e->rank == 2 && r.shape == SHAPE_ROWS && r.matrix == NULL
               && ((code[0] == 3 && code[1] == 1) || (code[0] == 1 && code[1] == 3)))
        {
          r.matrix = e;
          r.matrix_transposed = code[0] == 3;
        }
      else if (e->rank == 2 && r.shape == SHAPE_DIAGONAL && r.scalar == NULL
               && ((code[0] == 0 && code[1] == 2) || (code[0] == 2 && code[1] == 0)))
        {
          r.scalar = e;
          r.scalar_swapped = code[0] == 2;
        }
      else
        {
          r.shape = SHAPE_NONE;
          return r;
        }
      if (r.n_diag >= G_N_ELEMENTS (r.diag))
        {
          r.shape = SHAPE_NONE;
          return r;
        }
    }
  return r;
}

static void
note_name (Note                 *n,
           const JacEntryFactor *e)
{
  g_string_append (n->s, n->latex ? e->latex : e->markup);
}

static void
note_transpose (Note *n)
{
  note_text (n, "ᵀ", "^{\\top}");
}

/* diag(S_i) for each diagonal factor (math in LaTeX). */
static void
note_diags (Note               *n,
            const BlockReading *r,
            char                row)
{
  for (guint k = 0; k < r->n_diag; k++)
    {
      const JacEntryFactor *e = r->diag[k];

      note_text (n, k > 0 ? " " : "", k > 0 ? " \\, " : "");
      note_text (n, "diag(", "\\operatorname{diag}(");
      note_name (n, e);
      if (e->rank == 2 && e->axis[0] >= 0)
        {
          note_text (n, "<sub>", "_{");
          note_letter (n, row);
          note_text (n, "</sub>", "}");
        }
      note_text (n, ")", ")");
    }
}

/* "h_prev[i, k]" */
static void
note_scalar (Note               *n,
             const BlockReading *r,
             const char         *o,
             const char         *w)
{
  note_name (n, r->scalar);
  note_text (n, "[", "[");
  note_letter (n, r->scalar_swapped ? w[0] : o[0]);
  note_text (n, ", ", ", ");
  note_letter (n, r->scalar_swapped ? o[0] : w[0]);
  note_text (n, "]", "]");
}

static char *
block_note (const JacAnalysis *self,
            gboolean           denominator_layout,
            gboolean           latex)
{
  const JacDerivation *d = self->derivation;
  BlockReading r = read_blocks (self);
  const char *o = d->out_letters, *w = d->wrt_letters;
  Note n = { latex, NULL };
  gboolean vector = self->jacobian->wrt_rank == 1;

  if (r.shape == SHAPE_NONE)
    return NULL;
  n.s = g_string_new ("block ");
  note_math_open (&n);
  if (vector)
    note_letter (&n, o[0]);
  else
    {
      char row = o[0], col = r.shape == SHAPE_DIAGONAL ? w[0] : o[0];

      note_text (&n, "(", "(");
      note_letter (&n, denominator_layout ? col : row);
      note_text (&n, ", ", ", ");
      note_letter (&n, denominator_layout ? row : col);
      note_text (&n, ")", ")");
    }
  note_text (&n, " = ", " = ");
  switch (r.shape)
    {
    case SHAPE_ROWS:
      if (r.matrix == NULL && r.n_diag == 0)
        note_text (&n, "<i>I</i>", "I");
      if (!denominator_layout)
        note_diags (&n, &r, o[0]);
      if (r.matrix != NULL)
        {
          note_text (&n, r.n_diag > 0 && !denominator_layout ? " " : "",
                     r.n_diag > 0 && !denominator_layout ? " \\, " : "");
          note_name (&n, r.matrix);
          if (r.matrix_transposed != denominator_layout)
            note_transpose (&n);
        }
      if (denominator_layout)
        {
          note_text (&n, r.matrix != NULL && r.n_diag > 0 ? " " : "",
                     r.matrix != NULL && r.n_diag > 0 ? " \\, " : "");
          note_diags (&n, &r, o[0]);
        }
      note_math_close (&n);
      note_off_diagonal (&n, o[0], w[0]);
      break;
    case SHAPE_BOTH:
      if (r.n_diag == 0)
        note_text (&n, "<i>I</i>", "I");
      note_diags (&n, &r, o[0]);
      note_math_close (&n);
      note_off_diagonal (&n, o[0], w[0]);
      break;
    case SHAPE_DIAGONAL:
      if (r.scalar != NULL)
        {
          note_scalar (&n, &r, o, w);
          note_text (&n, " ", " \\, ");
        }
      if (r.n_diag == 0)
        note_text (&n, "<i>I</i>", "I");
      note_diags (&n, &r, o[0]);
      note_math_close (&n);
      {
        char q = w[vector ? 0 : 1];

        if (denominator_layout)
          {
            note_text (&n, ": diagonal (", ": diagonal (");
            note_delta (&n, o[1], q);
            note_text (&n, "), so the same as in numerator layout",
                       "), so the same as in numerator layout");
          }
        else
          {
            note_text (&n, ": only ", ": only ");
            note_math_open (&n);
            note_letter (&n, q);
            note_text (&n, " = ", " = ");
            note_letter (&n, o[1]);
            note_math_close (&n);
            note_text (&n, " is nonzero (", " is nonzero (");
            note_delta (&n, o[1], q);
            note_text (&n, ")", ")");
          }
      }
      break;
    case SHAPE_NONE:
    default:
      g_assert_not_reached ();
    }
  return g_string_free (n.s, FALSE);
}

/* The contracted form in the note's notation: math in LaTeX. */
static void
note_formula (Note                *n,
              const JacDerivation *d)
{
  if (n->latex)
    g_string_append_printf (n->s, "$\\sum G \\cdot J = %s$", d->contracted_latex);
  else
    g_string_append_printf (n->s, "Σ G·J = %s", d->contracted_markup);
}

static char *
why_note (const JacAnalysis *self,
          gboolean           latex)
{
  const JacDerivation *d = self->derivation;
  BlockReading r = read_blocks (self);
  const char *o = d->out_letters, *w = d->wrt_letters;
  Note n = { latex, NULL };

  if (r.shape == SHAPE_NONE || d->contracted_markup == NULL || d->contracted_latex == NULL)
    return NULL;
  n.s = g_string_new (NULL);
  switch (r.shape)
    {
    case SHAPE_ROWS:
      if (r.matrix == NULL)
        {
          g_string_free (n.s, TRUE);
          return NULL;
        }
      note_text (&n, r.matrix_transposed ? "why the transpose: " : "no transpose: ",
                 r.matrix_transposed ? "why the transpose: " : "no transpose: ");
      note_delta (&n, o[0], w[0]);
      note_text (&n, " collapses the sum over ", " collapses the sum over~");
      note_math_open (&n);
      note_letter (&n, o[0]);
      note_math_close (&n);
      note_text (&n, "; the sum left runs over ", "; the sum left runs over ");
      note_math_open (&n);
      note_name (&n, r.matrix);
      note_math_close (&n);
      note_text (&n, "’s ", "'s ");
      note_text (&n, r.matrix_transposed ? "<i>second</i>" : "<i>first</i>",
                 r.matrix_transposed ? "\\emph{second}" : "\\emph{first}");
      note_text (&n, " index ", " index~");
      note_math_open (&n);
      note_letter (&n, o[1]);
      note_math_close (&n);
      note_text (&n, ", so ", ", so ");
      note_formula (&n, d);
      break;
    case SHAPE_DIAGONAL:
      if (r.scalar == NULL)
        {
          /* A vector the rows broadcast over: its gradient sums them. */
          {
            g_autofree char *name = latex ? _jac_latex_name (self->wrt_name, FALSE)
                                          : g_markup_escape_text (self->wrt_name, -1);

            note_math_open (&n);
            g_string_append (n.s, name);
            note_math_close (&n);
          }
          note_text (&n, " is shared by every row ", " is shared by every row~");
          note_math_open (&n);
          note_letter (&n, o[0]);
          note_math_close (&n);
          note_text (&n, ", so its gradient sums over the rows: ",
                     ", so its gradient sums over the rows: ");
          note_formula (&n, d);
          break;
        }
      note_text (&n, "why ", "why ");
      note_math_open (&n);
      note_name (&n, r.scalar);
      if (!r.scalar_swapped)
        note_transpose (&n);
      note_math_close (&n);
      note_text (&n, " on the left: ", " on the left: ");
      note_delta (&n, o[1], w[1]);
      note_text (&n, " collapses the sum over ", " collapses the sum over~");
      note_math_open (&n);
      note_letter (&n, o[1]);
      note_math_close (&n);
      note_text (&n, "; the sum left runs over ", "; the sum left runs over ");
      note_math_open (&n);
      note_letter (&n, o[0]);
      note_math_close (&n);
      note_text (&n, ", ", ", ");
      note_math_open (&n);
      note_name (&n, r.scalar);
      note_math_close (&n);
      note_text (&n, "’s ", "'s ");
      note_text (&n, r.scalar_swapped ? "<i>second</i>" : "<i>first</i>",
                 r.scalar_swapped ? "\\emph{second}" : "\\emph{first}");
      note_text (&n, " index, so ", " index, so ");
      note_formula (&n, d);
      break;
    case SHAPE_BOTH:
      note_text (&n, "both δs collapse their sums: nothing is left to multiply, so no transpose "
                 "appears: ", "both $\\delta$s collapse their sums: nothing is left to multiply, "
                 "so no transpose appears: ");
      note_formula (&n, d);
      break;
    case SHAPE_NONE:
    default:
      g_assert_not_reached ();
    }
  return g_string_free (n.s, FALSE);
}

gboolean
jac_analysis_reads_as_blocks (const JacAnalysis *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return read_blocks (self).shape != SHAPE_NONE;
}

char *
jac_analysis_block_markup (const JacAnalysis *self,
                           gboolean           denominator_layout)
{
  const JacDerivation *d;

  g_return_val_if_fail (self != NULL, NULL);

  {
    char *note = block_note (self, denominator_layout, FALSE);

    if (note != NULL)
      return note;
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

  {
    char *note = why_note (self, FALSE);

    if (note != NULL)
      return note;
  }
  d = self->derivation;
  if (d == NULL || d->contracted_markup == NULL)
    return g_strdup ("");
  if (self->hessian != NULL)
    return g_strdup_printf ("the Hessian-vector product: every δ collapses a sum, the sums left "
                            "are the matrix products: Σ V·J = %s", d->contracted_markup);
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

  {
    char *note = block_note (self, denominator_layout, TRUE);

    if (note != NULL)
      return note;
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

  {
    char *note = why_note (self, TRUE);

    if (note != NULL)
      return note;
  }
  d = self->derivation;
  if (d == NULL || d->contracted_latex == NULL)
    return g_strdup ("");
  if (self->hessian != NULL)
    return g_strdup_printf ("the Hessian-vector product: every $\\delta$ collapses a sum, the "
                            "sums left are the matrix products: $\\sum V \\cdot J = %s$",
                            d->contracted_latex);
  return g_strdup_printf ("back-propagation: every $\\delta$ collapses a sum, the sums left are "
                          "the matrix products: $\\sum G \\cdot J = %s$", d->contracted_latex);
}
