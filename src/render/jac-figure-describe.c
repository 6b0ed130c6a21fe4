/* jac-figure-describe.c: what a cell is made of, in words and as outlines in the other panels. */
#define G_LOG_DOMAIN "jac-figure"

#include <math.h>
#include <string.h>

#include "jac-figure-private.h"

/* The variable that multiplies G ⊙ S in the contraction, and J's second factor. */
static JacVariable
factor_variable (JacVariable wrt)
{
  switch (wrt)
    {
    case JAC_VAR_H_PREV:
      return JAC_VAR_W_HH;
    case JAC_VAR_X:
      return JAC_VAR_W_XH;
    case JAC_VAR_W_HH:
      return JAC_VAR_H_PREV;
    case JAC_VAR_W_XH:
      return JAC_VAR_X;
    case JAC_VAR_B:
    case JAC_N_VARS:
    default:
      return JAC_N_VARS;
    }
}

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

/* ---- descriptions ---- */

static char *
violated_deltas (const JacAnalysis  *a,
                 const JacFigureHit *hit)
{
  const JacStructured *jacobian = a->jacobian;
  const char *indices = jac_analysis_wrt_indices (a);
  gsize out[2] = { hit->block_row, hit->row };
  gsize wrt[2] = { hit->block_col, hit->col };
  GString *deltas = g_string_new (NULL);
  GString *reasons = g_string_new (NULL);

  if (jacobian->wrt_rank == 1)
    wrt[0] = hit->col;
  for (guint axis = 0; axis < MIN (jacobian->out_rank, 2); axis++)
    {
      int tied = jacobian->pair[axis];

      if (tied < 0 || tied >= (int) strlen (indices) || out[axis] == wrt[tied])
        continue;
      g_string_append_printf (deltas, "%sδ_%c%c", deltas->len > 0 ? " " : "", "ij"[axis],
                              indices[tied]);
      g_string_append_printf (reasons, "%s%c ≠ %c", reasons->len > 0 ? ", " : "", "ij"[axis],
                              indices[tied]);
    }
  if (deltas->len == 0)
    {
      g_string_free (reasons, TRUE);
      g_string_free (deltas, TRUE);
      return g_strdup ("a δ");
    }
  g_string_append_printf (deltas, ": %s", reasons->str);
  g_string_free (reasons, TRUE);
  return g_string_free (deltas, FALSE);
}

static char *
describe_jacobian (const JacAnalysis  *a,
                   const JacFigureHit *hit)
{
  const char *var = jac_variable_name (a->wrt);
  gboolean rank1 = a->jacobian->wrt_rank == 1;
  gsize i = hit->block_row, p = hit->block_col, j = hit->row, q = hit->col;
  g_autofree char *name = NULL;
  g_autofree char *partial = NULL;
  g_autofree char *value_text = NULL;
  JacVariable factor = factor_variable (a->wrt);
  const JacTensor *slope = a->rnn->slope;
  gboolean structural_zero = FALSE;
  double value;

  if (hit->block_row >= a->sparsity.n_block_rows || hit->block_col >= a->sparsity.n_block_cols
      || hit->row >= a->sparsity.block_height || hit->col >= a->sparsity.block_width)
    return NULL;

  value = jac_analysis_block_entry (a, i, p, j, q, &structural_zero);
  if (rank1)
    {
      name = g_strdup_printf ("J[%zu,%zu,%zu]", i, j, q);
      partial = g_strdup_printf ("∂h[%zu,%zu]/∂%s[%zu]", i, j, var, q);
    }
  else
    {
      name = g_strdup_printf ("J[%zu,%zu,%zu,%zu]", i, j, p, q);
      partial = g_strdup_printf ("∂h[%zu,%zu]/∂%s[%zu,%zu]", i, j, var, p, q);
    }

  if (structural_zero)
    {
      g_autofree char *why = violated_deltas (a, hit);

      return g_strdup_printf ("%s = %s = 0 (%s)", name, partial, why);
    }

  value_text = _jac_format_value (value);
  if (matrix_contains (slope, i, j) && factor != JAC_N_VARS)
    {
      const JacTensor *f = jac_rnn_value (a->rnn, factor);
      gboolean weight = a->wrt == JAC_VAR_H_PREV || a->wrt == JAC_VAR_X;
      /* J = S[i,j] · W[q,j] for the inputs, S[i,j] · h_prev[i,k] (or x[i,k]) for the weights. */
      gsize r = weight ? q : i, c = weight ? j : p;

      if (matrix_contains (f, r, c))
        {
          g_autofree char *s_text = _jac_format_value (matrix_at (slope, i, j));
          g_autofree char *f_text = _jac_format_value (matrix_at (f, r, c));

          return g_strdup_printf ("%s = %s = S[%zu,%zu] · %s[%zu,%zu] = %s × %s = %s", name,
                                  partial, i, j, jac_variable_name (factor), r, c, s_text,
                                  f_text, value_text);
        }
    }
  if (matrix_contains (slope, i, j))
    return g_strdup_printf ("%s = %s = S[%zu,%zu] = %s", name, partial, i, j, value_text);
  return g_strdup_printf ("%s = %s = %s", name, partial, value_text);
}

static char *
describe_slope (const JacAnalysis *a,
                gsize              r,
                gsize              c)
{
  const JacTensor *h = jac_rnn_output (a->rnn);
  const JacTensor *z = jac_rnn_preactivation (a->rnn);
  g_autofree char *s = _jac_format_value (matrix_at (a->rnn->slope, r, c));
  g_autofree char *hv = matrix_contains (h, r, c) ? _jac_format_value (matrix_at (h, r, c)) : NULL;
  g_autofree char *one_minus = NULL;

  switch (a->rnn->config.activation)
    {
    case JAC_FUNC_TANH:
      if (hv == NULL)
        break;
      {
        gboolean negative = matrix_at (h, r, c) < 0;

        return g_strdup_printf ("S[%zu,%zu] = 1 − h[%zu,%zu]² = 1 − %s%s%s² = %s", r, c, r, c,
                                negative ? "(" : "", hv, negative ? ")" : "", s);
      }
    case JAC_FUNC_SIGMOID:
      if (hv == NULL)
        break;
      one_minus = _jac_format_value (1 - matrix_at (h, r, c));
      return g_strdup_printf ("S[%zu,%zu] = h[%zu,%zu] (1 − h[%zu,%zu]) = %s × %s = %s", r, c,
                              r, c, r, c, hv, one_minus, s);
    case JAC_FUNC_RELU:
      if (matrix_contains (z, r, c))
        {
          g_autofree char *zv = _jac_format_value (matrix_at (z, r, c));

          return g_strdup_printf ("S[%zu,%zu] = [Z[%zu,%zu] > 0] = %s (Z[%zu,%zu] = %s)", r, c,
                                  r, c, s, r, c, zv);
        }
      break;
    case JAC_FUNC_IDENTITY:
      return g_strdup_printf ("S[%zu,%zu] = 1", r, c);
    default:
      break;
    }
  return g_strdup_printf ("S[%zu,%zu] = φ′(Z[%zu,%zu]) = %s", r, c, r, c, s);
}

static char *
describe_factor (const JacAnalysis *a,
                 gsize              r,
                 gsize              c)
{
  JacVariable factor = factor_variable (a->wrt);
  g_autofree char *v = _jac_format_value (matrix_at (a->factor, r, c));

  if (factor != JAC_N_VARS && g_str_has_suffix (a->factor_name, "ᵀ"))
    return g_strdup_printf ("%s[%zu,%zu] = %s[%zu,%zu] = %s", a->factor_name, r, c,
                            jac_variable_name (factor), c, r, v);
  return g_strdup_printf ("%s[%zu,%zu] = %s", a->factor_name, r, c, v);
}

/* " = a×b + c×d" when the sum is short enough to read, else "". */
static char *
written_sum (const JacAnalysis *a,
             gsize              r,
             gsize              c)
{
  const JacTensor *g = a->gated;
  GString *s;
  gsize n;

  if (a->factor == NULL)
    return g_strdup ("");
  n = a->factor_on_left ? g->shape[0] : g->shape[1];
  if (n > 3)
    return g_strdup ("");
  s = g_string_new (" =");
  for (gsize k = 0; k < n; k++)
    {
      double gv = a->factor_on_left ? JAC_AT2 (g, k, c) : JAC_AT2 (g, r, k);
      double fv = a->factor_on_left ? matrix_at (a->factor, r, k) : matrix_at (a->factor, k, c);
      /* Terms in the formula's order; a negative first factor turns "+ −a" into "− a". */
      double first = a->wrt == JAC_VAR_B ? gv : a->factor_on_left ? fv : gv;
      double second = a->factor_on_left ? gv : fv;
      g_autofree char *first_text = _jac_format_value (k > 0 ? fabs (first) : first);
      g_autofree char *second_text = _jac_format_value (second);
      const char *sign = k == 0 ? "" : first < 0 ? " −" : " +";

      if (a->wrt == JAC_VAR_B)
        g_string_append_printf (s, "%s %s", sign, first_text);
      else
        g_string_append_printf (s, "%s %s × %s", sign, first_text, second_text);
    }
  return g_string_free (s, FALSE);
}

static char *
describe_formula (const JacAnalysis *a,
                  gsize              r,
                  gsize              c)
{
  const JacTensor *result = a->contract_formula;
  g_autofree char *index = result_index (result, r, c);
  g_autofree char *v = _jac_format_value (matrix_at (result, r, c));
  g_autofree char *terms = written_sum (a, r, c);
  JacVariable factor = factor_variable (a->wrt);
  const char *f = factor != JAC_N_VARS ? jac_variable_name (factor) : NULL;

  if (a->factor == NULL)
    {
      g_autofree char *g = _jac_format_value (JAC_AT2 (a->upstream, r, c));
      g_autofree char *s = _jac_format_value (JAC_AT2 (a->rnn->slope, r, c));

      return g_strdup_printf ("(%s)%s = G[%zu,%zu] · S[%zu,%zu] = %s × %s = %s", a->formula_text,
                              index, r, c, r, c, g, s, v);
    }
  if (a->wrt == JAC_VAR_B)
    return g_strdup_printf ("(%s)%s = Σ_i (G⊙S)[i,%zu]%s = %s", a->formula_text, index, c,
                            terms, v);
  if (a->factor_on_left)
    return g_strdup_printf ("(%s)%s = Σ_i %s[i,%zu] (G⊙S)[i,%zu]%s = %s", a->formula_text,
                            index, f, r, c, terms, v);
  return g_strdup_printf ("(%s)%s = Σ_j (G⊙S)[%zu,j] %s[%zu,j]%s = %s", a->formula_text, index,
                          r, f, c, terms, v);
}

static char *
describe_contraction (const JacAnalysis *a,
                      gsize              r,
                      gsize              c)
{
  g_autofree char *v = _jac_format_value (matrix_at (a->contract_tensor, r, c));
  g_autofree char *formula = _jac_format_value (matrix_at (a->contract_formula, r, c));
  double diff = fabs (matrix_at (a->contract_tensor, r, c) - matrix_at (a->contract_formula, r, c));
  g_autofree char *d = _jac_format_value (diff);

  if (a->contract_tensor->rank == 1)
    return g_strdup_printf ("Σ_ij G[i,j] J[i,j,%zu] = %s (formula %s: %s, |difference| %s)", c,
                            v, a->formula_text, formula, d);
  return g_strdup_printf ("Σ_ij G[i,j] J[i,j,%zu,%zu] = %s (formula %s: %s, |difference| %s)",
                          r, c, v, a->formula_text, formula, d);
}

static const JacTensor *
panel_tensor (const JacAnalysis *a,
              JacPanel           panel)
{
  switch (panel)
    {
    case JAC_PANEL_UPSTREAM:
      return a->upstream;
    case JAC_PANEL_SLOPE:
      return a->rnn != NULL ? a->rnn->slope : NULL;
    case JAC_PANEL_GATED:
      return a->rnn != NULL ? a->gated : a->expr_factors[0];
    case JAC_PANEL_FACTOR:
      return a->rnn != NULL ? a->factor : a->expr_factors[1];
    case JAC_PANEL_FORMULA:
      return a->contract_formula;
    case JAC_PANEL_CONTRACTION:
      return a->contract_tensor;
    case JAC_PANEL_NONE:
    case JAC_PANEL_JACOBIAN:
    case JAC_N_PANELS:
    default:
      return NULL;
    }
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

static char *
describe_expr_panel (const JacAnalysis *a,
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
    case JAC_PANEL_FORMULA:
      {
        g_autofree char *index = result_index (a->contract_formula, r, c);
        g_autofree char *v = _jac_format_value (matrix_at (a->contract_formula, r, c));
        g_autofree char *sum = expr_sum_text (a, r, c);
        g_autofree char *t = _jac_format_value (matrix_at (a->contract_tensor, r, c));

        return g_strdup_printf ("(%s)%s = %s   (from the tensor: %s = %s)", formula, index, v,
                                sum, t);
      }
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
      {
        /* The factors of a contracted form G Aᵀ: (Aᵀ)[1,2] = 0.24. */
        guint k = panel == JAC_PANEL_GATED ? 0 : 1;
        const JacTensor *factor = a->expr_factors[k];
        g_autofree char *index = NULL;
        g_autofree char *v = NULL;

        if (factor == NULL || a->derivation->factor_text[k] == NULL)
          return NULL;
        index = result_index (factor, r, c);
        v = _jac_format_value (matrix_at (factor, r, c));
        return g_strdup_printf ("(%s)%s = %s   (%s factor of the contracted form %s)",
                                a->derivation->factor_text[k], index, v,
                                k == 0 ? "left" : "right", formula);
      }
    case JAC_PANEL_NONE:
    case JAC_PANEL_JACOBIAN:
    case JAC_PANEL_SLOPE:
    case JAC_N_PANELS:
    default:
      return NULL;
    }
}

char *
jac_figure_describe_hit (const JacAnalysis  *analysis,
                         const JacFigureHit *hit)
{
  gsize r, c;

  g_return_val_if_fail (analysis != NULL, NULL);
  g_return_val_if_fail (hit != NULL, NULL);

  if (analysis->rnn == NULL)
    {
      if (hit->panel == JAC_PANEL_JACOBIAN)
        return describe_expr_jacobian (analysis, hit);
      if (!matrix_contains (panel_tensor (analysis, hit->panel), hit->row, hit->col))
        return NULL;
      return describe_expr_panel (analysis, hit->panel, hit->row, hit->col);
    }

  if (hit->panel == JAC_PANEL_JACOBIAN)
    return describe_jacobian (analysis, hit);
  r = hit->row;
  c = hit->col;
  if (!matrix_contains (panel_tensor (analysis, hit->panel), r, c))
    return NULL;

  switch (hit->panel)
    {
    case JAC_PANEL_UPSTREAM:
      {
        g_autofree char *v = _jac_format_value (JAC_AT2 (analysis->upstream, r, c));

        return g_strdup_printf ("G[%zu,%zu] = ∂L/∂h[%zu,%zu] = %s", r, c, r, c, v);
      }
    case JAC_PANEL_SLOPE:
      return describe_slope (analysis, r, c);
    case JAC_PANEL_GATED:
      {
        g_autofree char *g = _jac_format_value (JAC_AT2 (analysis->upstream, r, c));
        g_autofree char *s = _jac_format_value (JAC_AT2 (analysis->rnn->slope, r, c));
        g_autofree char *v = _jac_format_value (JAC_AT2 (analysis->gated, r, c));

        return g_strdup_printf ("(G⊙S)[%zu,%zu] = G[%zu,%zu] · S[%zu,%zu] = %s × %s = %s", r, c,
                                r, c, r, c, g, s, v);
      }
    case JAC_PANEL_FACTOR:
      return describe_factor (analysis, r, c);
    case JAC_PANEL_FORMULA:
      return describe_formula (analysis, r, c);
    case JAC_PANEL_CONTRACTION:
      return describe_contraction (analysis, r, c);
    case JAC_PANEL_NONE:
    case JAC_PANEL_JACOBIAN:
    case JAC_N_PANELS:
    default:
      return NULL;
    }
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

static void
marks_for_jacobian (GArray             *marks,
                    const JacAnalysis  *a,
                    const JacFigureHit *hit)
{
  gsize i = hit->block_row, p = hit->block_col, j = hit->row, q = hit->col;
  gboolean structural_zero = FALSE;

  jac_analysis_block_entry (a, i, p, j, q, &structural_zero);
  if (structural_zero)
    return;
  add_cell (marks, JAC_PANEL_UPSTREAM, i, j);
  add_cell (marks, JAC_PANEL_SLOPE, i, j);
  add_cell (marks, JAC_PANEL_GATED, i, j);
  switch (a->wrt)
    {
    case JAC_VAR_H_PREV:
    case JAC_VAR_X:
      add_cell (marks, JAC_PANEL_FACTOR, j, q);   /* Wᵀ[j,q] = W[q,j] */
      break;
    case JAC_VAR_W_HH:
    case JAC_VAR_W_XH:
      add_cell (marks, JAC_PANEL_FACTOR, p, i);   /* h_prevᵀ[k,i] = h_prev[i,k] */
      break;
    case JAC_VAR_B:
    case JAC_N_VARS:
    default:
      if (a->factor != NULL)
        add_cell (marks, JAC_PANEL_FACTOR, 0, i);
      break;
    }
  /* The entry this cell feeds in Σ G·J. */
  add_cell (marks, JAC_PANEL_FORMULA, a->contract_formula->rank == 2 ? p : 0, q);
  add_cell (marks, JAC_PANEL_CONTRACTION, a->contract_tensor->rank == 2 ? p : 0, q);
}

static void
marks_for_factor (GArray             *marks,
                  const JacAnalysis  *a,
                  gsize               r,
                  gsize               c)
{
  const JacSparsity *sp = &a->sparsity;
  gsize result_rows = a->contract_formula->rank == 2 ? a->contract_formula->shape[0] : 1;
  gsize result_cols = a->contract_formula->rank == 2 ? a->contract_formula->shape[1]
                                                     : a->contract_formula->shape[0];

  switch (a->wrt)
    {
    case JAC_VAR_H_PREV:
    case JAC_VAR_X:
      /* Wᵀ[j,q] is entry (j, q) of every diagonal block, and scales column j of G ⊙ S into
       * column q of the result. */
      for (gsize i = 0; i < MIN (sp->n_block_rows, sp->n_block_cols); i++)
        add_mark (marks, JAC_PANEL_JACOBIAN, i, i, r, r + 1, c, c + 1, FALSE);
      add_mark (marks, JAC_PANEL_GATED, 0, 0, 0, a->gated->shape[0], r, r + 1, FALSE);
      for (JacPanel panel = JAC_PANEL_FORMULA; panel <= JAC_PANEL_CONTRACTION; panel++)
        add_mark (marks, panel, 0, 0, 0, result_rows, c, c + 1, FALSE);
      break;
    case JAC_VAR_W_HH:
    case JAC_VAR_W_XH:
    case JAC_VAR_B:
    case JAC_N_VARS:
    default:
      /* h_prevᵀ[k,i] (or 1ᵀ[0,i]) scales block (i, k) and row i of G ⊙ S into row k. */
      add_blocks (marks, a, c, c + 1, a->wrt == JAC_VAR_B ? 0 : r,
                  a->wrt == JAC_VAR_B ? 1 : r + 1, 0, sp->block_height, 0, sp->block_width);
      add_mark (marks, JAC_PANEL_GATED, 0, 0, c, c + 1, 0, a->gated->shape[1], FALSE);
      for (JacPanel panel = JAC_PANEL_FORMULA; panel <= JAC_PANEL_CONTRACTION; panel++)
        add_mark (marks, panel, 0, 0, r, r + 1, 0, result_cols, FALSE);
      break;
    }
}

static void
marks_for_result (GArray             *marks,
                  const JacAnalysis  *a,
                  JacPanel            twin,
                  gsize               r,
                  gsize               c)
{
  const JacSparsity *sp = &a->sparsity;
  gsize p = a->contract_formula->rank == 2 ? r : 0;

  add_cell (marks, twin, r, c);
  if (a->factor == NULL)
    add_cell (marks, JAC_PANEL_GATED, r, c);
  else if (a->factor_on_left)
    {
      add_mark (marks, JAC_PANEL_FACTOR, 0, 0, r, r + 1, 0, a->factor->shape[1], FALSE);
      add_mark (marks, JAC_PANEL_GATED, 0, 0, 0, a->gated->shape[0], c, c + 1, FALSE);
    }
  else
    {
      add_mark (marks, JAC_PANEL_GATED, 0, 0, r, r + 1, 0, a->gated->shape[1], FALSE);
      add_mark (marks, JAC_PANEL_FACTOR, 0, 0, 0, a->factor->shape[0], c, c + 1, FALSE);
    }
  /* Σ_ij G[i,j] J[i,j,p,q]: column q of the blocks (·, p). */
  add_blocks (marks, a, 0, sp->n_block_rows, p, p + 1, 0, sp->block_height, c, c + 1);
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
      /* G[i,j] weighs this entry, and it feeds entry [p,q] of Σ G·J. */
      add_cell (marks, JAC_PANEL_UPSTREAM, hit->block_row, r);
      add_cell (marks, JAC_PANEL_FORMULA, p, c);
      add_cell (marks, JAC_PANEL_CONTRACTION, p, c);
      return marks;
    }
  if (!matrix_contains (panel_tensor (a, hit->panel), r, c))
    return marks;
  add_mark (marks, hit->panel, 0, 0, r, r + 1, c, c + 1, TRUE);
  switch (hit->panel)
    {
    case JAC_PANEL_UPSTREAM:
      /* G[i,j] weighs row j of every block (i, ·). */
      add_blocks (marks, a, r, r + 1, 0, sp->n_block_cols, c, c + 1, 0, sp->block_width);
      break;
    case JAC_PANEL_FORMULA:
      add_cell (marks, JAC_PANEL_CONTRACTION, r, c);
      expr_marks_for_result (marks, a, r, c);
      break;
    case JAC_PANEL_CONTRACTION:
      add_cell (marks, JAC_PANEL_FORMULA, r, c);
      expr_marks_for_result (marks, a, r, c);
      break;
    case JAC_PANEL_NONE:
    case JAC_PANEL_JACOBIAN:
    case JAC_PANEL_SLOPE:
    case JAC_PANEL_GATED:
    case JAC_PANEL_FACTOR:
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
  const JacSparsity *sp = &a->sparsity;
  gsize r = hit->row, c = hit->col;

  if (a->rnn == NULL)
    return expr_marks (a, hit, marks);

  if (hit->panel == JAC_PANEL_JACOBIAN)
    {
      if (hit->block_row >= sp->n_block_rows || hit->block_col >= sp->n_block_cols
          || r >= sp->block_height || c >= sp->block_width)
        return marks;
      add_mark (marks, JAC_PANEL_JACOBIAN, hit->block_row, hit->block_col, r, r + 1, c, c + 1,
                TRUE);
      marks_for_jacobian (marks, a, hit);
      return marks;
    }
  if (!matrix_contains (panel_tensor (a, hit->panel), r, c))
    return marks;

  add_mark (marks, hit->panel, 0, 0, r, r + 1, c, c + 1, TRUE);
  switch (hit->panel)
    {
    case JAC_PANEL_UPSTREAM:
    case JAC_PANEL_SLOPE:
    case JAC_PANEL_GATED:
      for (JacPanel panel = JAC_PANEL_UPSTREAM; panel <= JAC_PANEL_GATED; panel++)
        if (panel != hit->panel)
          add_cell (marks, panel, r, c);
      /* G[i,j] and S[i,j] weigh row j of every block (i, ·). */
      add_blocks (marks, a, r, r + 1, 0, sp->n_block_cols, c, c + 1, 0, sp->block_width);
      break;
    case JAC_PANEL_FACTOR:
      marks_for_factor (marks, a, r, c);
      break;
    case JAC_PANEL_FORMULA:
      marks_for_result (marks, a, JAC_PANEL_CONTRACTION, r, c);
      break;
    case JAC_PANEL_CONTRACTION:
      marks_for_result (marks, a, JAC_PANEL_FORMULA, r, c);
      break;
    case JAC_PANEL_NONE:
    case JAC_PANEL_JACOBIAN:
    case JAC_N_PANELS:
    default:
      break;
    }
  return marks;
}
