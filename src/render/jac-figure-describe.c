/* jac-figure-describe.c: what a cell is made of, in words and as outlines in the other panels.
 *
 * Everything is read off the analysis of the expression: the derivative's factors
 * (JacDerivation.entry_factors) name the factors of a Jacobian entry, S[1,2] · W_hh[0,2], and
 * the contracted form's factors (G ⊙ S, W_hhᵀ) those of the panels beside the grid. */
#define G_LOG_DOMAIN "jac-figure"

#include <math.h>
#include <string.h>

#include "jac-figure-private.h"

static double
matrix_at (const JacTensor *tensor,
           gsize            row,
           gsize            col)
{
  if (tensor->rank == 2)
    return JAC_AT2 (tensor, row, col);
  return tensor->data[col];
}

static gboolean
matrix_contains (const JacTensor *tensor,
                 gsize            row,
                 gsize            col)
{
  if (tensor == NULL)
    return FALSE;
  if (tensor->rank == 2)
    return row < tensor->shape[0] && col < tensor->shape[1];
  if (tensor->rank == 0)
    return row == 0 && col == 0;
  return tensor->rank == 1 && row == 0 && col < tensor->shape[0];
}

/* "[1,2]" for a rank-2 result, "[2]" for a rank-1 one, "" for a scalar. */
static char *
result_index (const JacTensor *tensor,
              gsize            row,
              gsize            col)
{
  if (tensor->rank == 0)
    return g_strdup ("");
  if (tensor->rank == 2)
    return g_strdup_printf ("[%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT "]", row, col);
  return g_strdup_printf ("[%" G_GSIZE_FORMAT "]", col);
}

/* ---- expressions ---- */

/* The output's (or the variable's) own indices of a cell of the grid: block and entry for a
 * matrix, the entry alone for a vector, none for a scalar. */
static guint
grid_index (guint  rank,
            gsize  block,
            gsize  entry,
            gsize *index)
{
  if (rank == 2)
    {
      index[0] = block;
      index[1] = entry;
    }
  else if (rank == 1)
    index[0] = entry;
  return rank;
}

/* The indices of the cell (@row, @col) of a panel holding a tensor of @rank. */
static guint
panel_index (guint  rank,
             gsize  row,
             gsize  col,
             gsize *index)
{
  return grid_index (rank, row, col, index);
}

/* "1,2" */
static void
append_numbers (GString     *s,
                guint        rank,
                const gsize *index)
{
  for (guint a = 0; a < rank; a++)
    g_string_append_printf (s, "%s%" G_GSIZE_FORMAT, a > 0 ? "," : "", index[a]);
}

/* "U[1,2]", or "U" for a scalar. */
static char *
indexed_name (const char  *name,
              guint        rank,
              const gsize *index)
{
  GString *s = g_string_new (name);

  if (rank > 0)
    {
      g_string_append_c (s, '[');
      append_numbers (s, rank, index);
      g_string_append_c (s, ']');
    }
  return g_string_free (s, FALSE);
}

/* "δ_ip: i ≠ p" for the δs that force this entry to zero. */
static char *
expr_violated_deltas (const JacAnalysis *a,
                      const gsize       *out,
                      const gsize       *wrt)
{
  const JacStructured *jac = a->jacobian;
  const char *o = jac_analysis_out_indices (a);
  const char *w = jac_analysis_wrt_indices (a);
  g_autoptr(GString) deltas = g_string_new (NULL);
  g_autoptr(GString) reasons = g_string_new (NULL);

  /* A sum of terms is zero where every term's δs are: name each term's broken δs once. */
  for (guint k = 0; k < jac->n_terms; k++)
    for (guint axis = 0; axis < MIN (jac->out_rank, 2); axis++)
      {
        int tied = jac->terms[k].pair[axis];
        g_autofree char *delta = NULL;

        if (tied < 0 || tied >= (int) jac->wrt_rank || out[axis] == wrt[tied]
            || axis >= strlen (o) || tied >= (int) strlen (w))
          continue;
        delta = g_strdup_printf ("δ_%c%c", o[axis], w[tied]);
        if (strstr (deltas->str, delta) != NULL)
          continue;
        g_string_append_printf (deltas, "%s%s", deltas->len > 0 ? " " : "", delta);
        g_string_append_printf (reasons, "%s%c ≠ %c", reasons->len > 0 ? ", " : "", o[axis],
                                w[tied]);
      }
  if (deltas->len == 0)
    return g_strdup ("a δ");
  return g_strdup_printf ("%s: %s", deltas->str, reasons->str);
}

/* " S[1,2] · W_hh[0,2] = 0.36 × −0.22 = −0.08": the factors of a Jacobian entry when the derivative
 * is one term without sums, each at its indices; NULL otherwise. @value_text is the entry. */
static char *
entry_factors_text (const JacAnalysis *a,
                    const gsize       *out,
                    const gsize       *wrt,
                    const char        *value_text)
{
  const JacDerivation *d = a->derivation;
  g_autoptr(GString) names = g_string_new (NULL);
  g_autoptr(GString) values = g_string_new (NULL);

  if (d->n_entry_factors == 0 || a->jacobian->n_terms != 1)
    return NULL;
  if (d->entry_coef != 1.0)
    {
      g_autofree char *coef = _jac_format_value (d->entry_coef);

      g_string_append_printf (names, "%s", coef);
      g_string_append_printf (values, "%s", coef);
    }
  for (guint f = 0; f < d->n_entry_factors; f++)
    {
      const JacEntryFactor *e = &d->entry_factors[f];
      double v = jac_entry_factor_value (e, a->graph, out, wrt);
      g_autofree char *vt = _jac_format_value (v);

      if (names->len > 0)
        {
          g_string_append (names, " · ");
          g_string_append (values, " × ");
        }
      g_string_append (names, e->name);
      if (e->rank > 0)
        {
          g_string_append_c (names, '[');
          for (guint k = 0; k < e->rank && k < 2; k++)
            {
              int axis = e->axis[k];
              gsize i = axis < 0 ? 0 : axis < 2 ? out[axis] : wrt[axis - 2];

              g_string_append_printf (names, "%s%" G_GSIZE_FORMAT, k > 0 ? "," : "", i);
            }
          g_string_append_c (names, ']');
        }
      if (e->power != 1)
        g_string_append_printf (names, "^%d", e->power);
      g_string_append (values, vt);
    }
  if (d->n_entry_factors == 1 && d->entry_coef == 1.0)
    return g_strdup_printf ("%s = %s", names->str, value_text);
  return g_strdup_printf ("%s = %s = %s", names->str, values->str, value_text);
}

static char *
describe_expr_jacobian (const JacAnalysis  *a,
                        const JacFigureHit *hit)
{
  const JacStructured *jac = a->jacobian;
  gsize out[2] = { 0 }, wrt[2] = { 0 }, all[4];
  guint out_rank = grid_index (jac->out_rank, hit->block_row, hit->row, out);
  guint wrt_rank = grid_index (jac->wrt_rank, hit->block_col, hit->col, wrt);
  g_autofree char *name = NULL;
  g_autofree char *numerator = NULL;
  g_autofree char *denominator = NULL;
  g_autofree char *value_text = NULL;
  gboolean structural_zero = FALSE;
  double value;

  if (hit->block_row >= a->sparsity.n_block_rows || hit->block_col >= a->sparsity.n_block_cols
      || hit->row >= a->sparsity.block_height || hit->col >= a->sparsity.block_width)
    return NULL;

  value = jac_analysis_block_entry (a, hit->block_row, hit->block_col, hit->row, hit->col,
                                    &structural_zero);
  memcpy (all, out, out_rank * sizeof (gsize));
  memcpy (all + out_rank, wrt, wrt_rank * sizeof (gsize));
  name = indexed_name ("J", out_rank + wrt_rank, all);
  numerator = indexed_name (a->output_name, out_rank, out);
  denominator = indexed_name (a->wrt_name, wrt_rank, wrt);
  if (structural_zero)
    {
      g_autofree char *why = expr_violated_deltas (a, out, wrt);

      return g_strdup_printf ("%s = ∂%s/∂%s = 0 (%s)", name, numerator, denominator, why);
    }
  value_text = _jac_format_value (value);
  {
    g_autofree char *factors = entry_factors_text (a, out, wrt, value_text);

    if (factors != NULL)
      return g_strdup_printf ("%s = ∂%s/∂%s = %s", name, numerator, denominator, factors);
  }
  return g_strdup_printf ("%s = ∂%s/∂%s = %s", name, numerator, denominator, value_text);
}

/* "Σ_ij G[i,j] J[i,j,1,0]", with the output's letters and the variable's numbers. */
static char *
expr_sum_text (const JacAnalysis *a,
               gsize              r,
               gsize              c)
{
  const char *o = jac_analysis_out_indices (a);
  gsize wrt[2] = { 0 };
  guint wrt_rank = panel_index (a->jacobian->wrt_rank, r, c, wrt);
  GString *s = g_string_new (NULL);
  GString *letters = g_string_new (NULL);

  for (const char *l = o; *l != '\0'; l++)
    g_string_append_printf (letters, "%s%c", l > o ? "," : "", *l);
  if (*o != '\0')
    g_string_append_printf (s, "Σ_%s G[%s] J[%s", o, letters->str, letters->str);
  else
    g_string_append (s, "G J[");
  if (wrt_rank > 0 && *o != '\0')
    g_string_append_c (s, ',');
  append_numbers (s, wrt_rank, wrt);
  g_string_append_c (s, ']');
  if (letters->len == 0 && wrt_rank == 0)
    g_string_truncate (s, s->len - 2);   /* "G J" */
  g_string_free (letters, TRUE);
  return g_string_free (s, FALSE);
}

/* The letter the contracted form's matrix product sums over, as the derivation's contraction
 * writes it: the output's index that no δ ties (j in Σ_j G_pj S_pj W_hh_qj). */
static char
summed_letter (const JacAnalysis *a)
{
  const JacStructured *jac = a->jacobian;
  const char *o = jac_analysis_out_indices (a);
  char letter = 'k';
  guint n_free = 0;

  if (jac->n_terms != 1)
    return letter;
  for (guint axis = 0; axis < jac->out_rank && axis < strlen (o); axis++)
    if (jac->pair[axis] < 0)
      {
        letter = o[axis];
        n_free++;
      }
  return n_free == 1 ? letter : 'k';
}

/* A factor's entry in words: "W_hh[0,j]" for W_hhᵀ[j,0] of a variable, "(G ⊙ S)[1,j]", "S[1,2]";
 * NULL for a row or column of ones (1ᵀ), which only sums. */
static char *
factor_entry_text (const JacAnalysis *a,
                   const char        *text,
                   const JacTensor   *tensor,
                   const char        *row,
                   const char        *col)
{
  gsize len = strlen (text);
  const char *t = "ᵀ";

  if (g_str_equal (text, "1ᵀ") || g_str_equal (text, "1"))
    return NULL;
  if (len > strlen (t) && g_str_has_suffix (text, t))
    {
      g_autofree char *base = g_strndup (text, len - strlen (t));

      if (jac_graph_find_variable (a->graph, base) >= 0)
        return tensor->rank == 2 ? g_strdup_printf ("%s[%s,%s]", base, col, row)
                                 : g_strdup_printf ("%s[%s]", base, col);
    }
  if (tensor->rank < 2)
    return g_strdup_printf (strchr (text, ' ') ? "(%s)[%s]" : "%s[%s]", text, col);
  return g_strdup_printf (strchr (text, ' ') ? "(%s)[%s,%s]" : "%s[%s,%s]", text, row, col);
}

static char *
number (gsize n)
{
  return g_strdup_printf ("%" G_GSIZE_FORMAT, n);
}

/* "(G ⊙ S)[1,2] = G[1,2] · S[1,2] = 0.5 × 0.36 = 0.18" for an element-wise product of two. */
static char *
hadamard_text (const char      *whole,
               const char      *left,
               const char      *right,
               const JacTensor *lt,
               const JacTensor *rt,
               const JacTensor *result,
               gsize            r,
               gsize            c)
{
  g_autofree char *index = result_index (result, r, c);
  g_autofree char *li = result_index (lt, r, c);
  g_autofree char *ri = result_index (rt, r, c);
  g_autofree char *lv = _jac_format_value (matrix_at (lt, lt->rank == 2 ? r : 0, c));
  g_autofree char *rv = _jac_format_value (matrix_at (rt, rt->rank == 2 ? r : 0, c));
  g_autofree char *v = _jac_format_value (matrix_at (result, r, c));

  return g_strdup_printf (strchr (whole, ' ') ? "(%s)%s = %s%s · %s%s = %s × %s = %s"
                                              : "%s%s = %s%s · %s%s = %s × %s = %s",
                          whole, index, left, li, right, ri, lv, rv, v);
}

/* (L R)[r,c] = Σ_k L[r,k] R[k,c] = a × b + … = v, the factors named as they are drawn. */
static char *
matmul_text (const JacAnalysis *a,
             gsize              r,
             gsize              c)
{
  const JacDerivation *d = a->derivation;
  const JacTensor *l = a->factors[0], *rt = a->factors[1];
  const JacTensor *result = a->contract_formula;
  g_autofree char *index = result_index (result, r, c);
  g_autofree char *v = _jac_format_value (matrix_at (result, r, c));
  char k_letter[2] = { summed_letter (a), '\0' };
  g_autofree char *rs = number (r), *cs = number (c);
  g_autofree char *lt = factor_entry_text (a, d->factor_text[0], l, rs, k_letter);
  g_autofree char *rtext = factor_entry_text (a, d->factor_text[1], rt, k_letter, cs);
  gsize n = l->rank == 2 ? l->shape[1] : l->rank == 1 ? l->shape[0] : 1;
  g_autoptr(GString) terms = g_string_new (NULL);

  if (l->rank != 2 || rt->rank != 2 || n != rt->shape[0])
    return NULL;
  if (n <= 3)
    for (gsize k = 0; k < n; k++)
      {
        double lv = JAC_AT2 (l, r, k), rv = JAC_AT2 (rt, k, c);
        /* Terms in the formula's order; a negative first factor turns "+ −a" into "− a"; a row
         * of ones only sums. */
        gboolean ones_left = lt == NULL, ones_right = rtext == NULL;
        double first = ones_left ? rv : lv;
        g_autofree char *first_text = _jac_format_value (k > 0 ? fabs (first) : first);
        g_autofree char *second_text = _jac_format_value (rv);
        const char *sign = k == 0 ? " =" : first < 0 ? " −" : " +";

        if (ones_left || ones_right)
          g_string_append_printf (terms, "%s %s", sign, first_text);
        else
          g_string_append_printf (terms, "%s %s × %s", sign, first_text, second_text);
      }
  return g_strdup_printf ("(%s)%s = Σ_%s %s%s%s%s = %s", a->formula_text, index, k_letter,
                          lt != NULL ? lt : "", lt != NULL && rtext != NULL ? " " : "",
                          rtext != NULL ? rtext : "", terms->str, v);
}

static char *
describe_formula (const JacAnalysis *a,
                  gsize              r,
                  gsize              c)
{
  const JacDerivation *d = a->derivation;
  g_autofree char *index = result_index (a->contract_formula, r, c);
  g_autofree char *v = _jac_format_value (matrix_at (a->contract_formula, r, c));
  g_autofree char *sum = expr_sum_text (a, r, c);
  g_autofree char *t = _jac_format_value (matrix_at (a->contract_tensor, r, c));
  char *text = NULL;

  if (d->factors_op == '@' && a->factors[0] != NULL && a->factors[1] != NULL)
    text = matmul_text (a, r, c);
  else if (d->factors_op == '*' && a->factors[0] != NULL && a->factors[1] != NULL
           && matrix_contains (a->factors[0], a->factors[0]->rank == 2 ? r : 0, c)
           && matrix_contains (a->factors[1], a->factors[1]->rank == 2 ? r : 0, c))
    text = hadamard_text (a->formula_text, d->factor_text[0], d->factor_text[1], a->factors[0],
                          a->factors[1], a->contract_formula, r, c);
  if (text != NULL)
    return text;
  return g_strdup_printf ("(%s)%s = %s   (from the tensor: %s = %s)", a->formula_text, index, v,
                          sum, t);
}

/* S[1,2] = 1 − h[1,2]² = 1 − 0.5² = 0.75: the named slope from its function's value. */
static char *
describe_slope (const JacAnalysis *a,
                gsize              r,
                gsize              c)
{
  const JacDerivation *d = a->derivation;
  const JacTensor *s = _jac_panel_tensor (a, JAC_PANEL_SLOPE);
  const char *name = d->inner_text[1 - _jac_panel_inner_upstream (a)];
  const JacNode *apply = d->slope_node >= 0 ? jac_graph_node (a->graph, d->slope_node) : NULL;
  const JacTensor *h = apply != NULL ? apply->value : NULL;
  const JacTensor *z = apply != NULL ? jac_graph_node (a->graph, apply->lhs)->value : NULL;
  const char *hn = d->slope_value_name, *zn = d->slope_arg_name;
  g_autofree char *sv = _jac_format_value (matrix_at (s, r, c));

  if (apply == NULL || !g_str_equal (name, "S") || !matrix_contains (h, r, c))
    return g_strdup_printf ("%s[%zu,%zu] = %s", name, r, c, sv);
  switch (d->slope_func)
    {
    case JAC_FUNC_TANH:
      if (hn != NULL)
        {
          g_autofree char *hv = _jac_format_value (matrix_at (h, r, c));
          gboolean negative = matrix_at (h, r, c) < 0;

          return g_strdup_printf ("S[%zu,%zu] = 1 − %s[%zu,%zu]² = 1 − %s%s%s² = %s", r, c, hn,
                                  r, c, negative ? "(" : "", hv, negative ? ")" : "", sv);
        }
      break;
    case JAC_FUNC_SIGMOID:
      if (hn != NULL)
        {
          g_autofree char *hv = _jac_format_value (matrix_at (h, r, c));
          g_autofree char *one_minus = _jac_format_value (1 - matrix_at (h, r, c));

          return g_strdup_printf ("S[%zu,%zu] = %s[%zu,%zu] (1 − %s[%zu,%zu]) = %s × %s = %s", r,
                                  c, hn, r, c, hn, r, c, hv, one_minus, sv);
        }
      break;
    case JAC_FUNC_RELU:
      if (zn != NULL && matrix_contains (z, r, c))
        {
          g_autofree char *zv = _jac_format_value (matrix_at (z, r, c));

          return g_strdup_printf ("S[%zu,%zu] = [%s[%zu,%zu] > 0] = %s (%s[%zu,%zu] = %s)", r, c,
                                  zn, r, c, sv, zn, r, c, zv);
        }
      break;
    default:
      break;
    }
  if (zn != NULL)
    return g_strdup_printf ("S[%zu,%zu] = %s′(%s[%zu,%zu]) = %s", r, c,
                            jac_func_name (d->slope_func), zn, r, c, sv);
  return g_strdup_printf ("S[%zu,%zu] = %s", r, c, sv);
}

static char *
describe_factor (const JacAnalysis *a,
                 JacPanel           panel,
                 gsize              r,
                 gsize              c)
{
  const JacDerivation *d = a->derivation;
  guint k = panel == JAC_PANEL_GATED ? _jac_panel_gated_factor (a)
                                     : 1 - _jac_panel_gated_factor (a);
  const JacTensor *factor = a->factors[k];
  const char *text = d->factor_text[k];
  g_autofree char *index = NULL;
  g_autofree char *v = NULL;

  if (factor == NULL || text == NULL)
    return NULL;
  /* G ⊙ S: its parts. */
  if ((int) k == d->inner_of && _jac_panel_inner_upstream (a) >= 0)
    return hadamard_text (text, d->inner_text[0], d->inner_text[1], a->inner[0], a->inner[1],
                          factor, r, c);
  index = result_index (factor, r, c);
  v = _jac_format_value (matrix_at (factor, r, c));
  {
    g_autofree char *rs = number (r), *cs = number (c);
    g_autofree char *entry = factor_entry_text (a, text, factor, rs, cs);

    /* W_hhᵀ[2,0] = W_hh[0,2]: the transpose read back. */
    if (entry != NULL && g_str_has_suffix (text, "ᵀ") && !g_str_has_prefix (entry, "("))
      return g_strdup_printf ("%s%s = %s = %s", text, index, entry, v);
  }
  if (g_str_equal (text, "G"))
    {
      g_autofree char *out = NULL;
      gsize idx[2] = { 0 };
      guint rank = panel_index (factor->rank, r, c, idx);

      out = indexed_name (a->output_name, rank, idx);
      return g_strdup_printf ("G%s = ∂L/∂%s = %s", index, out, v);
    }
  return g_strdup_printf (strchr (text, ' ') ? "(%s)%s = %s   (%s factor of %s)"
                                             : "%s%s = %s   (%s factor of %s)",
                          text, index, v, k == 0 ? "left" : "right", a->formula_text);
}

static char *
describe_panel (const JacAnalysis *a,
                JacPanel           panel,
                gsize              r,
                gsize              c)
{
  const char *formula = a->formula_text;

  switch (panel)
    {
    case JAC_PANEL_UPSTREAM:
      {
        gsize index[2] = { 0 };
        guint rank = panel_index (a->upstream->rank, r, c, index);
        g_autofree char *g = indexed_name ("G", rank, index);
        g_autofree char *out = indexed_name (a->output_name, rank, index);
        g_autofree char *v = _jac_format_value (matrix_at (a->upstream, r, c));

        return g_strdup_printf ("%s = ∂L/∂%s = %s", g, out, v);
      }
    case JAC_PANEL_SLOPE:
      return describe_slope (a, r, c);
    case JAC_PANEL_FORMULA:
      return describe_formula (a, r, c);
    case JAC_PANEL_CONTRACTION:
      {
        g_autofree char *index = result_index (a->contract_tensor, r, c);
        g_autofree char *v = _jac_format_value (matrix_at (a->contract_tensor, r, c));
        g_autofree char *sum = expr_sum_text (a, r, c);
        g_autofree char *f = _jac_format_value (matrix_at (a->contract_formula, r, c));
        double diff = fabs (matrix_at (a->contract_tensor, r, c)
                            - matrix_at (a->contract_formula, r, c));
        g_autofree char *d = _jac_format_value (diff);

        return g_strdup_printf ("%s = %s (contracted form (%s)%s: %s, |difference| %s)", sum, v,
                                formula, index, f, d);
      }
    case JAC_PANEL_GATED:
    case JAC_PANEL_FACTOR:
      return describe_factor (a, panel, r, c);
    case JAC_PANEL_NONE:
    case JAC_PANEL_JACOBIAN:
    case JAC_N_PANELS:
    default:
      return NULL;
    }
}

char *
jac_figure_describe_hit (const JacAnalysis  *analysis,
                         const JacFigureHit *hit)
{
  g_return_val_if_fail (analysis != NULL, NULL);
  g_return_val_if_fail (hit != NULL, NULL);

  if (hit->panel == JAC_PANEL_JACOBIAN)
    return describe_expr_jacobian (analysis, hit);
  if (!matrix_contains (_jac_panel_tensor (analysis, hit->panel), hit->row, hit->col))
    return NULL;
  return describe_panel (analysis, hit->panel, hit->row, hit->col);
}

/* ---- highlight marks ---- */

static void
add_mark (GArray   *marks,
          JacPanel  panel,
          gsize     block_row,
          gsize     block_col,
          gsize     row0,
          gsize     row1,
          gsize     col0,
          gsize     col1,
          gboolean  primary)
{
  JacMark mark = { panel, block_row, block_col, row0, row1, col0, col1, primary };

  g_array_append_val (marks, mark);
}

static void
add_cell (GArray   *marks,
          JacPanel  panel,
          gsize     row,
          gsize     col)
{
  add_mark (marks, panel, 0, 0, row, row + 1, col, col + 1, FALSE);
}

/* Rows [row0, row1) × columns [col0, col1) of every nonzero block (i, p) with i, p in range. */
static void
add_blocks (GArray            *marks,
            const JacAnalysis *a,
            gsize              i0,
            gsize              i1,
            gsize              p0,
            gsize              p1,
            gsize              row0,
            gsize              row1,
            gsize              col0,
            gsize              col1)
{
  for (gsize i = i0; i < i1; i++)
    for (gsize p = p0; p < p1; p++)
      if (!jac_analysis_block_is_zero (a, i, p))
        add_mark (marks, JAC_PANEL_JACOBIAN, i, p, row0, row1, col0, col1, FALSE);
}

/* The entries of J that Σ G·J sums into result cell (@r, @c), as far as the δs pin them: an
 * output axis tied to a variable axis takes that axis' index, the others run over everything.
 * The G entries weighing them are outlined too. */
static void
expr_marks_for_result (GArray            *marks,
                       const JacAnalysis *a,
                       gsize              r,
                       gsize              c)
{
  const JacStructured *jac = a->jacobian;
  const JacSparsity *sp = &a->sparsity;
  gsize wrt[2] = { 0 };
  gsize lo[2] = { 0, 0 }, hi[2] = { sp->n_block_rows, sp->block_height };
  gsize p = jac->wrt_rank == 2 ? r : 0;

  panel_index (jac->wrt_rank, r, c, wrt);
  for (guint axis = 0; axis < jac->out_rank; axis++)
    {
      /* Axis a of a matrix output is the grid's axis a; a vector's only axis is the entry. */
      guint grid_axis = jac->out_rank == 2 ? axis : 1;
      /* Only a single pattern pins the ranges; a sum of terms spreads over all of them. */
      int tied = jac->n_terms == 1 ? jac->pair[axis] : -1;

      if (tied < 0 || tied >= (int) jac->wrt_rank)
        continue;
      if (wrt[tied] >= hi[grid_axis])
        return;
      lo[grid_axis] = wrt[tied];
      hi[grid_axis] = wrt[tied] + 1;
    }
  for (gsize i = lo[0]; i < hi[0]; i++)
    if (!jac_analysis_block_is_zero (a, i, p))
      add_mark (marks, JAC_PANEL_JACOBIAN, i, p, lo[1], hi[1], c, c + 1, FALSE);
  add_mark (marks, JAC_PANEL_UPSTREAM, 0, 0, lo[0], hi[0], lo[1], hi[1], FALSE);
}

/* Whether @t is shaped like the output: its cells are the output's (i, j). */
static gboolean
output_shaped (const JacAnalysis *a,
               const JacTensor   *t)
{
  return t != NULL && jac_tensor_same_shape (t, a->upstream);
}

/* A matrix product's factors: row r of the left and column c of the right make result (r, c). */
static void
marks_for_product (GArray            *marks,
                   const JacAnalysis *a,
                   gsize              r,
                   gsize              c)
{
  const JacDerivation *d = a->derivation;
  guint gated = _jac_panel_gated_factor (a);

  for (guint k = 0; k < 2; k++)
    {
      const JacTensor *f = a->factors[k];
      JacPanel panel = k == gated ? JAC_PANEL_GATED : JAC_PANEL_FACTOR;

      if (f == NULL || f->rank != 2)
        continue;
      if (d->factors_op == '*')
        add_mark (marks, panel, 0, 0, r, r + 1, c, c + 1, FALSE);
      else if (k == 0)
        add_mark (marks, panel, 0, 0, r, r + 1, 0, f->shape[1], FALSE);
      else
        add_mark (marks, panel, 0, 0, 0, f->shape[0], c, c + 1, FALSE);
    }
}

/* The factor panels' cells a Jacobian entry is made of: W_hhᵀ[j,q] for S[i,j] W_hh[q,j]. */
static void
marks_for_entry_factors (GArray            *marks,
                         const JacAnalysis *a,
                         const gsize       *out,
                         const gsize       *wrt)
{
  const JacDerivation *d = a->derivation;
  guint gated = _jac_panel_gated_factor (a);

  for (guint f = 0; f < d->n_entry_factors; f++)
    {
      const JacEntryFactor *e = &d->entry_factors[f];
      gsize idx[2] = { 0, 0 };

      if (e->rank != 2)
        continue;
      for (guint k = 0; k < 2; k++)
        idx[k] = e->axis[k] < 0 ? 0 : e->axis[k] < 2 ? out[e->axis[k]] : wrt[e->axis[k] - 2];
      for (guint k = 0; k < 2; k++)
        {
          const char *text = d->factor_text[k];
          g_autofree char *transposed = g_strdup_printf ("%sᵀ", e->name);
          JacPanel panel = k == gated ? JAC_PANEL_GATED : JAC_PANEL_FACTOR;

          if (text == NULL || a->factors[k] == NULL)
            continue;
          if (g_str_equal (text, transposed))
            add_cell (marks, panel, idx[1], idx[0]);
          else if (g_str_equal (text, e->name))
            add_cell (marks, panel, idx[0], idx[1]);
        }
    }
}

static GArray *
expr_marks (const JacAnalysis  *a,
            const JacFigureHit *hit,
            GArray             *marks)
{
  const JacSparsity *sp = &a->sparsity;
  gsize r = hit->row, c = hit->col;

  if (hit->panel == JAC_PANEL_JACOBIAN)
    {
      gboolean structural_zero = FALSE;
      gsize p = a->jacobian->wrt_rank == 2 ? hit->block_col : 0;

      if (hit->block_row >= sp->n_block_rows || hit->block_col >= sp->n_block_cols
          || r >= sp->block_height || c >= sp->block_width)
        return marks;
      add_mark (marks, JAC_PANEL_JACOBIAN, hit->block_row, hit->block_col, r, r + 1, c, c + 1,
                TRUE);
      jac_analysis_block_entry (a, hit->block_row, hit->block_col, r, c, &structural_zero);
      if (structural_zero)
        return marks;
      /* G[i,j] weighs this entry (and S[i,j], G ⊙ S[i,j] where drawn), its factors are the
       * cells named in its description, and it feeds entry [p,q] of Σ G·J. */
      {
        gsize out[2] = { 0 }, wrt[2] = { 0 };
        guint out_rank = grid_index (a->jacobian->out_rank, hit->block_row, r, out);
        gsize orow = out_rank == 2 ? out[0] : 0, ocol = out_rank > 0 ? out[out_rank - 1] : 0;

        grid_index (a->jacobian->wrt_rank, hit->block_col, c, wrt);
        add_cell (marks, JAC_PANEL_UPSTREAM, orow, ocol);
        if (output_shaped (a, _jac_panel_tensor (a, JAC_PANEL_SLOPE)))
          add_cell (marks, JAC_PANEL_SLOPE, orow, ocol);
        if (output_shaped (a, _jac_panel_tensor (a, JAC_PANEL_GATED)))
          add_cell (marks, JAC_PANEL_GATED, orow, ocol);
        marks_for_entry_factors (marks, a, out, wrt);
      }
      add_cell (marks, JAC_PANEL_FORMULA, p, c);
      add_cell (marks, JAC_PANEL_CONTRACTION, p, c);
      return marks;
    }
  if (!matrix_contains (_jac_panel_tensor (a, hit->panel), r, c))
    return marks;
  add_mark (marks, hit->panel, 0, 0, r, r + 1, c, c + 1, TRUE);
  if (output_shaped (a, _jac_panel_tensor (a, hit->panel)) && hit->panel != JAC_PANEL_FORMULA
      && hit->panel != JAC_PANEL_CONTRACTION)
    {
      /* G[i,j] (S[i,j], (G ⊙ S)[i,j]) weighs row j of every block (i, ·). */
      for (JacPanel panel = JAC_PANEL_UPSTREAM; panel <= JAC_PANEL_GATED; panel++)
        if (panel != hit->panel && output_shaped (a, _jac_panel_tensor (a, panel)))
          add_cell (marks, panel, r, c);
      if (a->jacobian->out_rank == 2)
        add_blocks (marks, a, r, r + 1, 0, sp->n_block_cols, c, c + 1, 0, sp->block_width);
      else
        add_blocks (marks, a, 0, 1, 0, sp->n_block_cols, c, c + 1, 0, sp->block_width);
    }
  switch (hit->panel)
    {
    case JAC_PANEL_GATED:
    case JAC_PANEL_FACTOR:
      if (a->derivation->factors_op == '@' && a->contract_formula->rank == 2)
        {
          guint k = hit->panel == JAC_PANEL_GATED ? _jac_panel_gated_factor (a)
                                                  : 1 - _jac_panel_gated_factor (a);
          const JacTensor *result = a->contract_formula;

          for (JacPanel panel = JAC_PANEL_FORMULA; panel <= JAC_PANEL_CONTRACTION; panel++)
            if (k == 0)
              add_mark (marks, panel, 0, 0, r, r + 1, 0, result->shape[1], FALSE);
            else
              add_mark (marks, panel, 0, 0, 0, result->shape[0], c, c + 1, FALSE);
        }
      break;
    case JAC_PANEL_FORMULA:
      add_cell (marks, JAC_PANEL_CONTRACTION, r, c);
      marks_for_product (marks, a, r, c);
      expr_marks_for_result (marks, a, r, c);
      break;
    case JAC_PANEL_CONTRACTION:
      add_cell (marks, JAC_PANEL_FORMULA, r, c);
      marks_for_product (marks, a, r, c);
      expr_marks_for_result (marks, a, r, c);
      break;
    case JAC_PANEL_NONE:
    case JAC_PANEL_JACOBIAN:
    case JAC_PANEL_UPSTREAM:
    case JAC_PANEL_SLOPE:
    case JAC_N_PANELS:
    default:
      break;
    }
  return marks;
}

GArray *
_jac_figure_marks (const JacAnalysis  *a,
                   const JacFigureHit *hit)
{
  GArray *marks = g_array_new (FALSE, FALSE, sizeof (JacMark));

  return expr_marks (a, hit, marks);
}
