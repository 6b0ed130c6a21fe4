/* jac-analysis.c: one derivative with its sparsity and its contraction computed two ways. */
#define G_LOG_DOMAIN "jac-analysis"

#include <math.h>

#include "jac-analysis.h"
#include "jac-error.h"
#include "jac-structured-private.h"
#include "jac-verify.h"

const char *
jac_analysis_wrt_indices (const JacAnalysis *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->derivation->wrt_letters;
}

const char *
jac_analysis_out_indices (const JacAnalysis *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->derivation->out_letters;
}

/* "p = i and q = j": where term @k's δs hold; *n_deltas says how many it has. */
static char *
term_condition (const JacAnalysis *self,
                guint              k,
                guint             *n_deltas)
{
  const JacDeltaTerm *term = &self->jacobian->terms[k];
  const char *wrt_letters = jac_analysis_wrt_indices (self);
  const char *out_letters = jac_analysis_out_indices (self);
  GString *where = g_string_new (NULL);

  *n_deltas = 0;
  for (guint a = 0; a < self->jacobian->out_rank; a++)
    if (term->pair[a] >= 0)
      {
        g_string_append_printf (where, "%s%c = %c", where->len ? " and " : "",
                                wrt_letters[term->pair[a]], out_letters[a]);
        ++*n_deltas;
      }
  return g_string_free (where, FALSE);
}

/* A sum of δ patterns: "nonzero only where q = i or q = j: 18 of 24 entries". In a normalized
 * sum every term keeps a δ (one without any would have absorbed the others), and at most one has
 * δ_ip (the patterns holding it contain one another), so no block is empty: count entries. */
static char *
union_sentence (const JacAnalysis *self,
                const JacSparsity *sp)
{
  g_autoptr(GString) where = g_string_new (NULL);

  for (guint k = 0; k < self->jacobian->n_terms; k++)
    {
      guint n_deltas;
      g_autofree char *condition = term_condition (self, k, &n_deltas);

      g_string_append_printf (where, n_deltas > 1 ? "%s(%s)" : "%s%s", k > 0 ? " or " : "",
                              condition);
    }
  return g_strdup_printf ("nonzero only where %s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                          " entries", where->str, sp->n_free_entries, sp->n_entries);
}

static char *
sparsity_sentence (const JacAnalysis *self,
                   const JacSparsity *sp)
{
  const JacStructured *jac = self->jacobian;
  g_autofree char *condition = NULL;
  gsize per_block;
  guint n_deltas;

  if (jac->n_terms == 0)
    return g_strdup_printf ("identically zero: all %" G_GSIZE_FORMAT
                            " entries are forced to zero", sp->n_entries);
  /* Zeros the δs do not say, proved by the derivation: its sentence, with the counts. */
  if (jac->n_supports > 0 && jac->n_zero_partitions == 0)
    {
      g_autofree char *where = jac_entry_supports_sentence (jac->n_supports, jac->supports,
                                                            jac_analysis_out_indices (self),
                                                            jac_analysis_wrt_indices (self));

      return g_strdup_printf ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " entries", where,
                              sp->n_free_entries, sp->n_entries);
    }
  if (jac->n_zero_partitions > 0)
    {
      g_autofree char *where = jac_entry_partitions_sentence (jac->out_rank, jac->wrt_rank,
                                                              jac->n_zero_partitions,
                                                              jac->zero_partitions,
                                                              jac_analysis_out_indices (self),
                                                              jac_analysis_wrt_indices (self));

      return g_strdup_printf ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " entries", where,
                              sp->n_free_entries, sp->n_entries);
    }
  /* Every term's δs can hold together with another's everywhere, as for the 1×1 rᵀ A r. */
  if (jac->n_terms > 1 && sp->n_free_entries == sp->n_entries)
    return g_strdup ("dense: no entry is forced to zero");
  if (jac->n_terms > 1)
    return union_sentence (self, sp);

  condition = term_condition (self, 0, &n_deltas);
  if (n_deltas == 0)
    return g_strdup ("dense: no entry is forced to zero");

  per_block = sp->block_height * sp->block_width;
  if (sp->n_zero_blocks > 0)
    {
      gsize nonzero = sp->n_blocks - sp->n_zero_blocks;
      gsize free_in_block = nonzero > 0 ? sp->n_free_entries / nonzero : 0;

      if (free_in_block < per_block)
        return g_strdup_printf ("nonzero only where %s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                                " blocks, each with %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                                " entries", condition, nonzero, sp->n_blocks, free_in_block,
                                per_block);
      return g_strdup_printf ("nonzero only where %s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                              " blocks", condition, nonzero, sp->n_blocks);
    }
  return g_strdup_printf ("nonzero only where %s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                          " entries in each block", condition,
                          sp->n_blocks > 0 ? sp->n_free_entries / sp->n_blocks : 0, per_block);
}

static void
compute_sparsity (JacAnalysis *self)
{
  const JacStructured *jac = self->jacobian;
  JacSparsity *sp = &self->sparsity;

  /* A matrix output gives rows of blocks; a vector or scalar one row. Likewise the variable. */
  sp->n_block_rows = jac->out_rank == 2 ? jac->out_shape[0] : 1;
  sp->block_height = jac->out_rank > 0 ? jac->out_shape[jac->out_rank - 1] : 1;
  sp->n_block_cols = jac->wrt_rank == 2 ? jac->wrt_shape[0] : 1;
  sp->block_width = jac->wrt_rank > 0 ? jac->wrt_shape[jac->wrt_rank - 1] : 1;
  sp->n_blocks = sp->n_block_rows * sp->n_block_cols;
  sp->n_zero_blocks = 0;
  for (gsize i = 0; i < sp->n_block_rows; i++)
    for (gsize p = 0; p < sp->n_block_cols; p++)
      sp->n_zero_blocks += jac_analysis_block_is_zero (self, i, p);
  sp->n_entries = jac_structured_dense_count (jac);
  sp->n_free_entries = jac_structured_free_count (jac);
  sp->sentence = sparsity_sentence (self, sp);
}

static JacTensor *
make_upstream (const JacAnalysis  *self,
               JacUpstreamKind     kind,
               const JacTensor    *given,
               guint32             seed,
               GError            **error)
{
  const JacTensor *out = jac_graph_node (self->graph, self->graph->output)->value;
  JacTensor *g;

  if (kind == JAC_UPSTREAM_GIVEN)
    {
      if (given == NULL || !jac_tensor_same_shape (given, out))
        {
          g_autofree char *want = jac_tensor_shape_string (out);
          g_autofree char *have = given != NULL ? jac_tensor_shape_string (given) : NULL;

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                       "the upstream gradient G must have the shape of %s, %s, not %s",
                       self->output_name, want, have != NULL ? have : "nothing");
          return NULL;
        }
      return jac_tensor_copy (given);
    }

  /* The output's shape is the expression's: G past the memory is an error of the analysis. */
  if ((g = jac_tensor_try_new (out->rank, out->shape, error)) == NULL)
    return NULL;
  if (kind == JAC_UPSTREAM_ONES)
    jac_tensor_fill (g, 1.0);
  else
    {
      guint32 seeds[2] = { seed, 1000 + kind };

      jac_tensor_fill_uniform_seeded (g, seeds, 2, 1.0);
      if (kind == JAC_UPSTREAM_LOSS)
        /* L = ½‖out − y‖² with the target y drawn above: G = out − y. */
        for (gsize n = 0; n < g->size; n++)
          g->data[n] = out->data[n] - g->data[n];
    }
  return g;
}

/* What both kinds share: the Jacobian, its structure, G and the contraction from the tensor. */
static gsize count_value_zeros_dense (const JacStructured *jac);
static double dense_max_abs (const JacStructured *jac);

/* The colour range: where terms overlap their values add, so a sum's range is read from its
 * entries (an upper bound, the sum of the terms' ranges, past a few million). */
static double
jacobian_max_abs (const JacStructured *jac)
{
  double sum = 0, largest = 0;

  for (guint k = 0; k < jac->n_terms; k++)
    {
      double m = jac_tensor_max_abs (jac->terms[k].core);

      sum += m;
      largest = MAX (largest, m);
    }
  if (jac->n_terms <= 1)
    return largest;
  return MIN (sum, dense_max_abs (jac));
}

static gboolean
analyse (JacAnalysis      *self,
         JacUpstreamKind   upstream_kind,
         const JacTensor  *upstream,
         guint32           seed,
         GError          **error)
{
  self->upstream_kind = upstream_kind;
  self->upstream = make_upstream (self, upstream_kind, upstream, seed, error);
  if (self->upstream == NULL)
    return FALSE;

  /* Σ G·J from the tensor, with the colour range: taken as the core is written where its
   * product allows (∂h/∂h_prev: no pass over the 512 MiB core of its own at H = 1024), else in
   * one read of the core. */
  self->jacobian = jac_graph_jacobian_contract_try (self->graph, self->wrt_node, self->upstream,
                                                    &self->contract_tensor,
                                                    &self->jacobian_max_abs, error);
  if (self->jacobian == NULL)
    return FALSE;
  if (self->contract_tensor == NULL)
    self->contract_tensor = jac_structured_contract_max_abs (self->jacobian, self->upstream,
                                                             &self->jacobian_max_abs);
  if (self->jacobian_max_abs < 0)
    self->jacobian_max_abs = jacobian_max_abs (self->jacobian);
  compute_sparsity (self);
  return TRUE;
}

static void reconcile_structure (JacAnalysis *self);

/* The tensor against central differences of the forward pass, for what a student types and the
 * gallery (a few thousand entries of the variable, two forward passes for each group of entries
 * that reach disjoint outputs); the window and the derivation show it beside the contracted
 * form's check. The values are put back after. */
static void
check_finite_differences (JacAnalysis *self)
{
  const JacNode *var = jac_graph_node (self->graph, self->wrt_node);
  g_autoptr(JacTensor) dense = NULL;
  g_autofree guint8 *mask = NULL;
  gsize shape[JAC_MAX_RANK * 2];
  guint rank;

  self->fd_max_diff = -1;
  self->fd_scale = 1;
  if (var->value == NULL || var->value->size > JAC_ANALYSIS_FD_MAX_WRT ||
      jac_structured_dense_count (self->jacobian) > ((gsize) 1 << 20))
    return;
  dense = jac_structured_to_dense (self->jacobian, 0, NULL);
  if (dense == NULL)
    return;
  self->fd_scale = MAX (1.0, jac_tensor_max_abs (dense));
  /* The variable's entries that reach disjoint outputs perturbed together (N=8, H=64 wrt
   * h_prev: 8 entries a pair of forward passes instead of 1). */
  mask = jac_analysis_structural_zero_mask (self, &rank, shape, NULL);
  self->fd_max_diff = jac_verify_finite_differences (self->graph, self->wrt_node, dense, mask);
}

static JacAnalysis *
analysis_new (JacExpr          *expr,
              gboolean          forwarded,
              const char       *wrt,
              JacDeriveFlags    flags,
              JacUpstreamKind   upstream_kind,
              const JacTensor  *upstream,
              guint32           seed,
              GError          **error)
{
  g_autoptr(JacAnalysis) self = g_new0 (JacAnalysis, 1);
  gboolean partitioned, supported;

  self->expr = expr;
  self->graph = expr->graph;
  self->output_name = expr->output_name;
  if (!forwarded)
    jac_graph_forward (self->graph);
  self->derivation = jac_derive (expr, wrt, flags, error);
  if (self->derivation == NULL)
    return NULL;
  self->wrt_node = self->derivation->variable;
  self->wrt_name = jac_graph_node (self->graph, self->wrt_node)->name;
  if (!analyse (self, upstream_kind, upstream, seed, error))
    return NULL;

  self->formula_text = self->derivation->contracted_text;
  self->slope_text = self->derivation->where_text;
  /* The contracted form evaluated from its printed formula: an independent path to Σ G·J. */
  self->contract_formula = jac_derivation_evaluate (self->derivation, self->graph,
                                                    self->upstream, error);
  if (self->contract_formula == NULL)
    return NULL;
  self->contract_max_diff = jac_tensor_max_abs_diff (self->contract_formula,
                                                     self->contract_tensor);
  jac_derivation_evaluate_factors (self->derivation, self->graph, self->upstream, self->factors);
  jac_derivation_evaluate_inner (self->derivation, self->graph, self->upstream, self->inner);
  self->slope = jac_derivation_evaluate_slope (self->derivation, self->graph);
  /* One source of truth: the terms take the derivation's δ patterns, order and cancellations. */
  reconcile_structure (self);
  check_finite_differences (self);
  /* Both bounds are tried: a Jacobian can have partitions and supports. */
  partitioned = self->derivation->n_zero_partitions > 0 &&
                jac_structured_set_zero_partitions (self->jacobian,
                                                    self->derivation->n_zero_partitions,
                                                    self->derivation->zero_partitions);
  supported = self->derivation->n_supports > 0 &&
              jac_structured_set_supports (self->jacobian, self->derivation->n_supports,
                                           self->derivation->supports);
  if (partitioned || supported)
    {
      jac_sparsity_clear (&self->sparsity);
      compute_sparsity (self);
    }
  return g_steal_pointer (&self);
}

JacAnalysis *
jac_analysis_new_expr (JacExpr          *expr,
                       const char       *wrt,
                       JacUpstreamKind   upstream_kind,
                       const JacTensor  *upstream,
                       guint32           seed,
                       GError          **error)
{
  g_return_val_if_fail (expr != NULL && wrt != NULL, NULL);
  return analysis_new (expr, FALSE, wrt, JAC_DERIVE_DEFAULT, upstream_kind, upstream, seed,
                       error);
}

JacAnalysis *
jac_analysis_new_expr_flags (JacExpr          *expr,
                             const char       *wrt,
                             JacDeriveFlags    flags,
                             JacUpstreamKind   upstream_kind,
                             const JacTensor  *upstream,
                             guint32           seed,
                             GError          **error)
{
  g_return_val_if_fail (expr != NULL && wrt != NULL, NULL);
  return analysis_new (expr, FALSE, wrt, flags, upstream_kind, upstream, seed, error);
}

JacAnalysis *
jac_analysis_new (JacRnn           *rnn,
                  JacVariable       wrt,
                  JacUpstreamKind   upstream_kind,
                  const JacTensor  *upstream,
                  GError          **error)
{
  g_autoptr(JacRnn) owned = rnn;
  JacExpr *expr;

  g_return_val_if_fail (rnn != NULL && wrt < JAC_N_VARS, NULL);

  expr = g_steal_pointer (&owned->expr);
  owned->graph = NULL;
  /* jac_rnn_new ran the forward pass on the values it drew or loaded. */
  return analysis_new (expr, TRUE, jac_variable_name (wrt), JAC_DERIVE_NAME_SLOPES, upstream_kind,
                       upstream, owned->config.seed, error);
}

typedef enum
{
  DOMAIN_ANY = 0,        /* drawn in [−1, 1] */
  DOMAIN_POSITIVE = 1,   /* [0.5, 1.5]: log, sqrt, a power with a non-integer or negative p */
  DOMAIN_UNIT = 2,       /* [−0.5, 0.5]: arcsin and arccos, away from their infinite slopes */
  /* both: [0.2, 0.8] */
  DOMAIN_INVERTIBLE = 4, /* det, logdet, inv: drawn, then n I added (diagonally dominant) */
} Domain;

/* Where @variable's data must lie for the functions it is the direct operand of (Domain
 * flags). */
static int
needs_positive (const JacGraph *graph,
                int             variable)
{
  int domain = DOMAIN_ANY;

  for (guint n = 0; n < graph->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (graph, n);

      if ((node->op == JAC_OP_DET || node->op == JAC_OP_LOGDET || node->op == JAC_OP_INV) &&
          node->lhs == variable)
        domain |= DOMAIN_INVERTIBLE;
      if (node->op != JAC_OP_APPLY || node->lhs != variable)
        continue;
      if (node->func == JAC_FUNC_LOG || node->func == JAC_FUNC_SQRT ||
          (node->func == JAC_FUNC_POWER &&
           (node->constant != round (node->constant) || node->constant < 0)))
        domain |= DOMAIN_POSITIVE;
      if (node->func == JAC_FUNC_ARCSIN || node->func == JAC_FUNC_ARCCOS)
        domain |= DOMAIN_UNIT;
    }
  return domain;
}

void
jac_expr_variable_range (const JacGraph *graph,
                         int             variable,
                         double         *centre,
                         double         *half_width,
                         double         *diagonal_shift)
{
  const JacNode *node;
  int domain;

  g_return_if_fail (graph != NULL && centre != NULL && half_width != NULL
                    && diagonal_shift != NULL);

  node = jac_graph_node (graph, variable);
  domain = needs_positive (graph, variable);
  /* Every off-diagonal row sum is below n − 1: X + n I is diagonally dominant, so invertible
   * with a positive determinant. */
  *diagonal_shift = (domain & DOMAIN_INVERTIBLE) && node->rank == 2
                    && node->shape[0] == node->shape[1] ? (double) node->shape[0] : 0.0;
  domain &= ~DOMAIN_INVERTIBLE;
  *half_width = domain == DOMAIN_ANY ? 1.0 : domain == DOMAIN_POSITIVE ? 0.5 :
                domain == DOMAIN_UNIT ? 0.5 : 0.3;
  *centre = domain == DOMAIN_POSITIVE ? 1.0 :
            domain == (DOMAIN_POSITIVE | DOMAIN_UNIT) ? 0.5 : 0.0;
}

gboolean
jac_expr_draw_variables (JacExpr     *expr,
                         GHashTable  *loaded,
                         guint32      seed,
                         GError     **error)
{
  g_return_val_if_fail (expr != NULL, FALSE);

  JacGraph *graph = expr->graph;

  for (guint n = 0; n < graph->nodes->len; n++)
    {
      JacNode *node = jac_graph_node (graph, n);
      const JacTensor *value;

      if (node->op != JAC_OP_VARIABLE)
        continue;
      value = loaded != NULL ? g_hash_table_lookup (loaded, node->name) : NULL;
      if (value != NULL)
        {
          if (!jac_graph_set_value (graph, n, value, error))
            return FALSE;
        }
      else
        {
          /* Each variable draws from a stream of its own, keyed by its name. */
          guint32 seeds[2] = { seed, g_str_hash (node->name) };
          double centre, half_width, shift;

          jac_expr_variable_range (graph, n, &centre, &half_width, &shift);
          node = jac_graph_node (graph, n);
          jac_tensor_fill_uniform_seeded (node->value, seeds, 2, half_width);
          if (centre != 0.0)
            for (gsize e = 0; e < node->value->size; e++)
              node->value->data[e] += centre;
          for (gsize i = 0; shift > 0 && i < node->shape[0]; i++)
            JAC_AT2 (node->value, i, i) += shift;
        }
    }
  jac_graph_forward (graph);
  return TRUE;
}

void
jac_sparsity_clear (JacSparsity *sparsity)
{
  g_return_if_fail (sparsity != NULL);

  g_clear_pointer (&sparsity->sentence, g_free);
}

void
jac_analysis_free (JacAnalysis *self)
{
  if (self == NULL)
    return;
  jac_expr_free (self->expr);
  jac_derivation_free (self->derivation);
  jac_structured_free (self->jacobian);
  jac_sparsity_clear (&self->sparsity);
  jac_tensor_free (self->upstream);
  jac_tensor_free (self->contract_formula);
  for (guint k = 0; k < 2; k++)
    {
      jac_tensor_free (self->factors[k]);
      jac_tensor_free (self->inner[k]);
    }
  jac_tensor_free (self->slope);
  jac_tensor_free (self->contract_tensor);
  jac_hessian_info_free (self->hessian);
  g_free (self);
}

/* Only a δ between the output's row i and the variable's row p empties whole blocks, and only
 * when every term has it; the empty sum empties them all. */
static gboolean
block_is_forced_zero (const JacStructured *jac,
                      gsize                block_row,
                      gsize                block_col)
{
  if (jac->out_rank != 2 || jac->wrt_rank != 2)
    return jac->n_terms == 0;
  for (guint k = 0; k < jac->n_terms; k++)
    if (jac->terms[k].pair[0] != 0)
      return FALSE;
  return jac->n_terms == 0 || block_row != block_col;
}

gboolean
jac_analysis_block_is_zero (const JacAnalysis *self,
                            gsize              block_row,
                            gsize              block_col)
{
  g_return_val_if_fail (self != NULL, FALSE);

  const JacStructured *jac = self->jacobian;

  if (block_is_forced_zero (jac, block_row, block_col))
    return TRUE;
  /* Constants that cancel on entries can empty a block the δs leave: walk it (such Jacobians
   * are small). */
  if (jac_structured_has_proved_zeros (jac))
    {
      gsize height = jac->out_rank > 0 ? jac->out_shape[jac->out_rank - 1] : 1;
      gsize width = jac->wrt_rank > 0 ? jac->wrt_shape[jac->wrt_rank - 1] : 1;

      for (gsize j = 0; j < height; j++)
        for (gsize q = 0; q < width; q++)
          {
            gsize out_index[2] = { block_row, j }, wrt_index[2] = { block_col, q };

            if (jac->out_rank < 2)
              out_index[0] = j;
            if (jac->wrt_rank < 2)
              wrt_index[0] = q;
            if (!jac_structured_is_structural_zero (jac, out_index, wrt_index))
              return FALSE;
          }
      return TRUE;
    }
  return FALSE;
}

double
jac_analysis_block_entry (const JacAnalysis *self,
                          gsize              block_row,
                          gsize              block_col,
                          gsize              row,
                          gsize              col,
                          gboolean          *structural_zero)
{
  g_return_val_if_fail (self != NULL, 0.0);

  const JacStructured *jac = self->jacobian;
  gsize out_index[2] = { block_row, row };
  gsize wrt_index[2] = { block_col, col };

  if (jac->out_rank < 2)
    out_index[0] = row;
  if (jac->wrt_rank < 2)
    wrt_index[0] = col;
  return jac_structured_get (jac, out_index, wrt_index, structural_zero);
}

/* ---- zeros that depend on the values, the zero mask and the per-sample view ---- */

guint8 *
jac_analysis_structural_zero_mask (const JacAnalysis  *self,
                                   guint              *rank,
                                   gsize              *shape,
                                   GError            **error)
{
  const JacStructured *jac;
  gsize n_entries = 0;
  guint8 *mask;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (rank != NULL && shape != NULL, NULL);

  jac = self->jacobian;
  *rank = jac_structured_dense_shape (jac, shape);
  /* One byte per entry: the budget is the one the dense float64 tensor is held to. */
  if (!jac_tensor_size_for_shape (*rank, shape, &n_entries, NULL) ||
      n_entries > jac_get_memory_budget ())
    {
      g_autofree char *s = jac_shape_string (*rank, shape);

      g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                   "the zero mask of shape %s does not fit the memory budget", s);
      return NULL;
    }
  mask = g_malloc (MAX (n_entries, 1));
  {
    /* The entry's indices counted up as e runs, instead of divisions an entry. */
    gsize out_index[2] = { 0, 0 }, wrt_index[2] = { 0, 0 };

    for (gsize e = 0; e < n_entries; e++)
      {
        mask[e] = jac_structured_is_structural_zero (jac, out_index, wrt_index) ? 1 : 0;
        _jac_structured_entry_next (jac, out_index, wrt_index);
      }
  }
  return mask;
}

/* Entry-by-entry walks of a sum of terms stop at this many entries. */
#define DENSE_WALK_LIMIT ((gsize) 1 << 22)

typedef void (*EntryFunc) (double value, gboolean structural, gpointer data);

/* Calls @func on every entry of @jac; FALSE (and no call) past DENSE_WALK_LIMIT entries. */
static gboolean
walk_entries (const JacStructured *jac,
              EntryFunc            func,
              gpointer             data)
{
  gsize out_index[2] = { 0, 0 }, wrt_index[2] = { 0, 0 };
  gsize n_out = 1, n_wrt = 1;

  for (guint a = 0; a < jac->out_rank; a++)
    n_out *= jac->out_shape[a];
  for (guint a = 0; a < jac->wrt_rank; a++)
    n_wrt *= jac->wrt_shape[a];
  if (n_out > DENSE_WALK_LIMIT / MAX (n_wrt, 1))
    return FALSE;
  for (gsize o = 0; o < n_out; o++)
    for (gsize w = 0; w < n_wrt; w++)
      {
        gboolean structural = FALSE;
        double value;

        if (jac->out_rank == 2)
          {
            out_index[0] = o / jac->out_shape[1];
            out_index[1] = o % jac->out_shape[1];
          }
        else
          out_index[0] = o;
        if (jac->wrt_rank == 2)
          {
            wrt_index[0] = w / jac->wrt_shape[1];
            wrt_index[1] = w % jac->wrt_shape[1];
          }
        else
          wrt_index[0] = w;
        value = jac_structured_get (jac, out_index, wrt_index, &structural);
        func (value, structural, data);
      }
  return TRUE;
}

static void
count_value_zero_cb (double   value,
                     gboolean structural,
                     gpointer data)
{
  gsize *count = data;

  *count += value == 0.0 && !structural;
}

static gsize
count_value_zeros_dense (const JacStructured *jac)
{
  gsize count = 0;

  return walk_entries (jac, count_value_zero_cb, &count) ? count : 0;
}

static void
max_abs_cb (double   value,
            gboolean structural,
            gpointer data)
{
  double *max = data;

  if (isfinite (value))
    *max = MAX (*max, fabs (value));
}

static double
dense_max_abs (const JacStructured *jac)
{
  double max = 0;

  return walk_entries (jac, max_abs_cb, &max) ? max : G_MAXDOUBLE;
}

/* With one term the core holds exactly the entries no δ forces to zero, one each: its zeros
 * are the value zeros, counted in O(stored) rather than O(dense). */
gsize
jac_analysis_count_value_zeros (const JacAnalysis *self)
{
  const JacStructured *jac;
  gsize count = 0;

  g_return_val_if_fail (self != NULL, 0);

  jac = self->jacobian;
  if (jac->n_terms == 0)
    return 0;
  if (jac->n_terms == 1 && !jac_structured_has_proved_zeros (jac))
    {
      const JacTensor *core = jac->core;

      for (gsize k = 0; k < core->size; k++)
        count += core->data[k] == 0.0;
      return count;
    }
  /* Terms overlap: an entry is a value zero when no δ forces it and its sum is 0. Counted entry
   * by entry, so only for sums of modest size. */
  return count_value_zeros_dense (jac);
}

/* Whether the element-wise function of @node has slope exactly 0 somewhere on its operand. */
static gboolean
apply_has_flat_slope (const JacGraph *graph,
                      const JacNode  *node)
{
  const JacTensor *z = jac_graph_node (graph, node->lhs)->value;

  for (gsize k = 0; z != NULL && k < z->size; k++)
    if (jac_node_slope (node, z->data[k]) == 0.0)
      return TRUE;
  return FALSE;
}

static gboolean
tensor_has_zero (const JacTensor *t)
{
  for (gsize k = 0; t != NULL && k < t->size; k++)
    if (t->data[k] == 0.0)
      return TRUE;
  return FALSE;
}

static void
add_reason (GString    *reasons,
            const char *reason)
{
  if (strstr (reasons->str, reason) != NULL)
    return;
  if (reasons->len > 0)
    g_string_append (reasons, " or ");
  g_string_append (reasons, reason);
}

/* The causes in sight, not a proof per entry: a flat slope (ReLU off, a saturated tanh or
 * sigmoid) or a variable holding an exact 0 are what make an entry 0 that no δ forces. */
char *
jac_analysis_value_zero_reason (const JacAnalysis *self)
{
  g_autoptr(GString) reasons = g_string_new (NULL);

  g_return_val_if_fail (self != NULL, NULL);

  for (guint n = 0; n < self->graph->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (self->graph, n);

      if (node->op == JAC_OP_APPLY && apply_has_flat_slope (self->graph, node))
        add_reason (reasons, node->func == JAC_FUNC_RELU ? "ReLU off" :
                    node->func == JAC_FUNC_TANH ? "tanh saturated" :
                    node->func == JAC_FUNC_SIGMOID ? "sigmoid saturated" : "a flat slope");
    }
  for (guint n = 0; n < self->graph->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (self->graph, n);

      if (node->op == JAC_OP_VARIABLE && tensor_has_zero (node->value))
        add_reason (reasons, "a zero in the data");
    }
  return reasons->len > 0 ? g_strdup (reasons->str) : NULL;
}

char *
jac_analysis_value_zero_sentence (const JacAnalysis *self)
{
  gsize count;
  g_autofree char *reason = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  count = jac_analysis_count_value_zeros (self);
  if (count == 0)
    return g_strdup ("");
  reason = jac_analysis_value_zero_reason (self);
  return g_strdup_printf ("; %" G_GSIZE_FORMAT " more %s %s 0 for these values%s%s", count,
                          count == 1 ? "entry" : "entries",
                          count == 1 ? "is" : "are", reason != NULL ? ": " : "",
                          reason != NULL ? reason : "");
}

/* The first entry of block (@i, @p) that no δ forces to 0, if any. */
static gboolean
block_has_free_entry (const JacAnalysis *self,
                      gsize              i,
                      gsize              p)
{
  const JacSparsity *sp = &self->sparsity;

  if (jac_analysis_block_is_zero (self, i, p))
    return FALSE;
  for (gsize j = 0; j < sp->block_height; j++)
    for (gsize q = 0; q < sp->block_width; q++)
      {
        gsize out_index[2] = { i, j }, wrt_index[2] = { p, q };

        if (!jac_structured_is_structural_zero (self->jacobian, out_index, wrt_index))
          return TRUE;
      }
  return FALSE;
}

gboolean
jac_analysis_is_batch_diagonal (const JacAnalysis  *self,
                                GError            **error)
{
  const JacStructured *jac;

  g_return_val_if_fail (self != NULL, FALSE);

  jac = self->jacobian;
  if (jac->out_rank != 2 || jac->wrt_rank != 2 || jac->out_shape[0] != jac->wrt_shape[0])
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "∂%s/∂%s is not batch-diagonal: %s and %s are not both matrices with as many "
                   "rows", self->output_name, self->wrt_name, self->output_name, self->wrt_name);
      return FALSE;
    }
  for (gsize i = 0; i < jac->out_shape[0]; i++)
    for (gsize p = 0; p < jac->wrt_shape[0]; p++)
      if (p != i && block_has_free_entry (self, i, p))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "∂%s/∂%s is not batch-diagonal: block (%" G_GSIZE_FORMAT ", %"
                       G_GSIZE_FORMAT ") is not forced to 0", self->output_name, self->wrt_name,
                       i, p);
          return FALSE;
        }
  return TRUE;
}

JacTensor *
jac_analysis_per_sample (const JacAnalysis  *self,
                         GError            **error)
{
  const JacStructured *jac;
  JacTensor *blocks;
  gsize shape[3];

  g_return_val_if_fail (self != NULL, NULL);

  if (!jac_analysis_is_batch_diagonal (self, error))
    return NULL;
  jac = self->jacobian;
  shape[0] = jac->out_shape[0];
  shape[1] = jac->out_shape[1];
  shape[2] = jac->wrt_shape[1];
  if ((blocks = jac_tensor_try_new (3, shape, error)) == NULL)
    return NULL;
  for (gsize i = 0; i < shape[0]; i++)
    for (gsize j = 0; j < shape[1]; j++)
      for (gsize q = 0; q < shape[2]; q++)
        {
          gsize out_index[2] = { i, j }, wrt_index[2] = { i, q };

          blocks->data[(i * shape[1] + j) * shape[2] + q] =
            jac_structured_get (jac, out_index, wrt_index, NULL);
        }
  return blocks;
}

char *
jac_analysis_per_sample_memory_text (const JacAnalysis *self)
{
  const JacStructured *jac;
  gsize dense, stored;
  g_autofree char *dense_text = NULL;
  g_autofree char *stored_text = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  jac = self->jacobian;
  /* Saturating: the line describes sizes that may be far past what could be allocated. */
  if (!g_size_checked_mul (&dense, jac_structured_dense_count (jac), sizeof (double)))
    dense = G_MAXSIZE;
  if (!g_size_checked_mul (&stored, jac->out_rank == 2 ? jac->out_shape[0] : 1,
                           jac->out_rank == 2 ? jac->out_shape[1] : 1) ||
      !g_size_checked_mul (&stored, stored, jac->wrt_rank == 2 ? jac->wrt_shape[1] : 1) ||
      !g_size_checked_mul (&stored, stored, sizeof (double)))
    stored = G_MAXSIZE;
  dense_text = g_format_size_full (dense, G_FORMAT_SIZE_IEC_UNITS);
  stored_text = g_format_size_full (stored, G_FORMAT_SIZE_IEC_UNITS);
  return g_strdup_printf ("dense %s · stored %s", dense_text, stored_text);
}

/* ---- one source of truth for the structure ---- */

/* The derivation and the evaluator build the same δ patterns by the same absorbing rule, but only
 * the derivation simplifies symbolically: it cancels terms that are equal and opposite only in
 * their values (X/X, whose derivative is 1/X − X/X²), which the evaluator keeps as a term with a
 * core of rounding noise. Where the two differ, the derivation proves more zeros, so the terms are
 * rebuilt on its patterns (after checking that every entry they drop is zero up to rounding), and
 * where they agree the terms are put in its order, so that the figure's sentence and the
 * derivation's Structure step name the same patterns in the same words. */

/* Reconciling is an entry-by-entry walk over the dense tensor: past this size the evaluator's
 * structure is kept as it is (it is exact, only possibly coarser). */
#define RECONCILE_LIMIT ((gsize) 1 << 24)

static gboolean
same_pattern (const int *a,
              const int *b)
{
  return a[0] == b[0] && a[1] == b[1];
}

/* Every δ of @inner is also one of @outer's, as JacStructured's pairs_within. */
static gboolean
pattern_within (const int *inner,
                const int *outer)
{
  return (inner[0] < 0 || inner[0] == outer[0]) && (inner[1] < 0 || inner[1] == outer[1]);
}

/* The derivation's patterns as a permutation of the terms: order[k] is the term of pattern k. */
static gboolean
match_patterns (const JacStructured *jac,
                const JacDerivation *d,
                guint               *order)
{
  if (jac->n_terms != d->n_patterns)
    return FALSE;
  for (guint k = 0; k < d->n_patterns; k++)
    {
      guint m = 0;

      while (m < jac->n_terms && !same_pattern (jac->terms[m].pair, d->patterns[k]))
        m++;
      if (m == jac->n_terms)
        return FALSE;
      order[k] = m;
    }
  return TRUE;
}

static gboolean
pattern_holds (const int   *pattern,
               guint        out_rank,
               const gsize *out_index,
               const gsize *wrt_index)
{
  for (guint a = 0; a < out_rank; a++)
    if (pattern[a] >= 0 && out_index[a] != wrt_index[pattern[a]])
      return FALSE;
  return TRUE;
}

/* Offset of entry (o, w) in the core of a term with @pattern: the output axes, then the variable
 * axes no δ ties, row-major. */
static gsize
core_offset (const JacStructured *jac,
             const int           *pattern,
             const gsize         *out_index,
             const gsize         *wrt_index)
{
  gsize offset = 0;

  for (guint a = 0; a < jac->out_rank; a++)
    offset = offset * jac->out_shape[a] + out_index[a];
  for (guint t = 0; t < jac->wrt_rank; t++)
    if (!(pattern[0] == (int) t && jac->out_rank > 0) && !(pattern[1] == (int) t &&
                                                           jac->out_rank > 1))
      offset = offset * jac->wrt_shape[t] + wrt_index[t];
  return offset;
}

/* The terms rebuilt on the derivation's patterns, each entry in the first term whose δs hold
 * there; NULL when an entry outside them all is not zero up to rounding (the derivation would
 * then be wrong, and the evaluator's structure, exact by construction, stays). */
static JacStructured *
rebuild_on_patterns (const JacStructured *jac,
                     const JacDerivation *d)
{
  g_autoptr(JacStructured) rebuilt = jac_structured_new_zero (jac->out_rank, jac->out_shape,
                                                              jac->wrt_rank, jac->wrt_shape);
  gsize n_entries = jac_structured_dense_count (jac);
  gsize out_index[2] = { 0, 0 }, wrt_index[2] = { 0, 0 };   /* entry e's, counted up */
  double largest = 0.0, dropped = 0.0;

  for (guint k = 0; k < d->n_patterns; k++)
    {
      gsize shape[4];
      guint rank = 0;

      for (guint a = 0; a < jac->out_rank; a++)
        shape[rank++] = jac->out_shape[a];
      for (guint t = 0; t < jac->wrt_rank; t++)
        if (!(d->patterns[k][0] == (int) t && jac->out_rank > 0) &&
            !(d->patterns[k][1] == (int) t && jac->out_rank > 1))
          shape[rank++] = jac->wrt_shape[t];
      rebuilt->terms[k].pair[0] = d->patterns[k][0];
      rebuilt->terms[k].pair[1] = d->patterns[k][1];
      rebuilt->terms[k].core = jac_tensor_new (rank, shape, NULL);
      rebuilt->n_terms = k + 1;
    }

  for (gsize e = 0; e < n_entries; e++)
    {
      double value = jac_structured_get (jac, out_index, wrt_index, NULL);
      guint k = 0;

      largest = MAX (largest, fabs (value));
      while (k < d->n_patterns && !pattern_holds (d->patterns[k], jac->out_rank, out_index,
                                                  wrt_index))
        k++;
      if (k == d->n_patterns)
        dropped = MAX (dropped, fabs (value));
      else
        rebuilt->terms[k].core->data[core_offset (jac, d->patterns[k], out_index,
                                                  wrt_index)] = value;
      _jac_structured_entry_next (jac, out_index, wrt_index);
    }
  /* Rounding of terms that cancel exactly: a few units in the last place of the values summed. */
  if (dropped > 1e-10 * MAX (1.0, largest))
    {
      g_debug ("the derivation's δ patterns drop an entry of %g: kept the evaluator's", dropped);
      return NULL;
    }
  return g_steal_pointer (&rebuilt);
}

static void
reconcile_structure (JacAnalysis *self)
{
  JacStructured *jac = self->jacobian;
  const JacDerivation *d = self->derivation;
  guint order[JAC_DERIVE_MAX_PATTERNS];
  JacStructured *rebuilt;

  if (match_patterns (jac, d, order))
    {
      JacDeltaTerm terms[JAC_DERIVE_MAX_PATTERNS];
      gboolean moved = FALSE;

      for (guint k = 0; k < d->n_patterns; k++)
        {
          terms[k] = jac->terms[order[k]];
          moved |= order[k] != k;
        }
      if (!moved)
        return;
      for (guint k = 0; k < d->n_patterns; k++)
        jac->terms[k] = terms[k];
      jac_sparsity_clear (&self->sparsity);
      compute_sparsity (self);
      return;
    }

  /* Only where the derivation's patterns lie within the evaluator's (it proves more zeros, not
   * fewer), and the walk is affordable. */
  for (guint k = 0; k < d->n_patterns; k++)
    {
      gboolean within = FALSE;

      for (guint m = 0; m < jac->n_terms && !within; m++)
        within = pattern_within (jac->terms[m].pair, d->patterns[k]);
      if (!within)
        {
          g_debug ("the derivation's δ pattern %u is not among the evaluator's", k);
          return;
        }
    }
  if (jac_structured_dense_count (jac) > RECONCILE_LIMIT)
    return;
  rebuilt = rebuild_on_patterns (jac, d);
  if (rebuilt == NULL)
    return;

  jac_structured_free (self->jacobian);
  self->jacobian = rebuilt;
  self->jacobian_max_abs = jacobian_max_abs (rebuilt);
  jac_sparsity_clear (&self->sparsity);
  compute_sparsity (self);
  jac_tensor_free (self->contract_tensor);
  self->contract_tensor = jac_structured_contract (rebuilt, self->upstream);
  if (self->contract_formula != NULL)
    self->contract_max_diff = jac_tensor_max_abs_diff (self->contract_formula,
                                                       self->contract_tensor);
}
