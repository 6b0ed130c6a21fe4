/* jac-analysis.c: one derivative with its sparsity and its contraction computed two ways. */
#define G_LOG_DOMAIN "jac-analysis"

#include <math.h>

#include "jac-error.h"
#include "jac-analysis.h"

typedef struct
{
  const char *factor_name;
  const char *formula_text;
  gboolean    factor_on_left;
} ContractedForm;

static const ContractedForm contracted_forms[JAC_N_VARS] = {
  [JAC_VAR_H_PREV] = { "W_hhᵀ", "(G ⊙ S) W_hhᵀ", FALSE },
  [JAC_VAR_X] = { "W_xhᵀ", "(G ⊙ S) W_xhᵀ", FALSE },
  [JAC_VAR_W_HH] = { "h_prevᵀ", "h_prevᵀ (G ⊙ S)", TRUE },
  [JAC_VAR_W_XH] = { "xᵀ", "xᵀ (G ⊙ S)", TRUE },
  [JAC_VAR_B] = { "1ᵀ", "1ᵀ (G ⊙ S)", TRUE },
};

static const char *
slope_text (JacFunc activation)
{
  switch (activation)
    {
    case JAC_FUNC_TANH: return "S = 1 − h ⊙ h";
    case JAC_FUNC_SIGMOID: return "S = h ⊙ (1 − h)";
    case JAC_FUNC_RELU: return "S = [Z > 0]";
    case JAC_FUNC_IDENTITY: return "S = 1";
    default: return "S = φ′(Z)";
    }
}

const char *
jac_analysis_wrt_indices (const JacAnalysis *self)
{
  return jac_variable_index_names (self->rnn, self->wrt);
}

static char *
sparsity_sentence (const JacAnalysis *self,
                   const JacSparsity *sp)
{
  const JacStructured *jac = self->jacobian;
  const char *wrt_letters = jac_analysis_wrt_indices (self);
  const char *out_letters = "ij";
  g_autoptr(GString) where = g_string_new (NULL);
  gsize per_block;

  for (guint a = 0; a < jac->out_rank; a++)
    if (jac->pair[a] >= 0)
      g_string_append_printf (where, "%s%c = %c", where->len ? " and " : "",
                              wrt_letters[jac->pair[a]], out_letters[a]);

  if (where->len == 0)
    return g_strdup ("dense: no entry is forced to zero");

  per_block = sp->block_height * sp->block_width;
  if (sp->n_zero_blocks > 0)
    {
      gsize nonzero = sp->n_blocks - sp->n_zero_blocks;
      gsize free_in_block = nonzero > 0 ? sp->n_free_entries / nonzero : 0;

      if (free_in_block < per_block)
        return g_strdup_printf ("nonzero only where %s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                                " blocks, each with %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                                " entries", where->str, nonzero, sp->n_blocks, free_in_block,
                                per_block);
      return g_strdup_printf ("nonzero only where %s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                              " blocks", where->str, nonzero, sp->n_blocks);
    }
  return g_strdup_printf ("nonzero only where %s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                          " entries in each block", where->str,
                          sp->n_blocks > 0 ? sp->n_free_entries / sp->n_blocks : 0, per_block);
}

static void
compute_sparsity (JacAnalysis *self)
{
  const JacStructured *jac = self->jacobian;
  JacSparsity *sp = &self->sparsity;

  sp->n_block_rows = jac->out_shape[0];
  sp->block_height = jac->out_shape[1];
  sp->n_block_cols = jac->wrt_rank == 2 ? jac->wrt_shape[0] : 1;
  sp->block_width = jac->wrt_shape[jac->wrt_rank - 1];
  sp->n_blocks = sp->n_block_rows * sp->n_block_cols;
  sp->n_zero_blocks = 0;
  for (gsize i = 0; i < sp->n_block_rows; i++)
    for (gsize p = 0; p < sp->n_block_cols; p++)
      sp->n_zero_blocks += jac_analysis_block_is_zero (self, i, p);
  sp->n_entries = jac_structured_dense_count (jac);
  sp->n_free_entries = jac_structured_stored_count (jac);
  sp->sentence = sparsity_sentence (self, sp);
}

static JacTensor *
make_upstream (const JacAnalysis  *self,
               JacUpstreamKind     kind,
               const JacTensor    *given,
               GError            **error)
{
  const JacTensor *h = jac_rnn_output (self->rnn);
  JacTensor *g;

  if (kind == JAC_UPSTREAM_GIVEN)
    {
      if (given == NULL || !jac_tensor_same_shape (given, h))
        {
          g_autofree char *want = jac_tensor_shape_string (h);
          g_autofree char *have = given != NULL ? jac_tensor_shape_string (given) : NULL;

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                       "the upstream gradient G must have the shape of h, %s, not %s", want,
                       have != NULL ? have : "nothing");
          return NULL;
        }
      return jac_tensor_copy (given);
    }

  g = jac_tensor_new (h->rank, h->shape, NULL);
  if (kind == JAC_UPSTREAM_ONES)
    jac_tensor_fill (g, 1.0);
  else
    {
      guint32 seed[2] = { self->rnn->config.seed, 1000 + kind };
      g_autoptr(GRand) rand = g_rand_new_with_seed_array (seed, 2);

      jac_tensor_fill_uniform (g, rand, 1.0);
      if (kind == JAC_UPSTREAM_LOSS)
        /* L = ½‖h − y‖² with the target y drawn above: G = h − y. */
        for (gsize n = 0; n < g->size; n++)
          g->data[n] = h->data[n] - g->data[n];
    }
  return g;
}

static void
compute_factor (JacAnalysis *self)
{
  const JacRnn *rnn = self->rnn;
  const JacTensor *m = NULL;

  switch (self->wrt)
    {
    case JAC_VAR_H_PREV: m = jac_rnn_value (rnn, JAC_VAR_W_HH); break;
    case JAC_VAR_X: m = jac_rnn_value (rnn, JAC_VAR_W_XH); break;
    case JAC_VAR_W_HH: m = jac_rnn_value (rnn, JAC_VAR_H_PREV); break;
    case JAC_VAR_W_XH: m = jac_rnn_value (rnn, JAC_VAR_X); break;
    case JAC_VAR_B:
      if (!rnn->config.b_per_row)
        {
          self->factor = jac_tensor_new_matrix (1, rnn->config.batch);
          jac_tensor_fill (self->factor, 1.0);
        }
      return;
    case JAC_N_VARS:
    default:
      g_assert_not_reached ();
    }

  self->factor = jac_tensor_new_matrix (m->shape[1], m->shape[0]);
  for (gsize r = 0; r < m->shape[0]; r++)
    for (gsize c = 0; c < m->shape[1]; c++)
      JAC_AT2 (self->factor, c, r) = JAC_AT2 (m, r, c);
}

JacAnalysis *
jac_analysis_new (JacRnn           *rnn,
                  JacVariable       wrt,
                  JacUpstreamKind   upstream_kind,
                  const JacTensor  *upstream,
                  GError          **error)
{
  g_autoptr(JacAnalysis) self = g_new0 (JacAnalysis, 1);
  const ContractedForm *form = &contracted_forms[wrt];

  g_return_val_if_fail (wrt < JAC_N_VARS, NULL);

  self->rnn = rnn;
  self->wrt = wrt;
  self->upstream_kind = upstream_kind;
  self->upstream = make_upstream (self, upstream_kind, upstream, error);
  if (self->upstream == NULL)
    return NULL;

  self->jacobian = jac_rnn_jacobian (rnn, wrt);
  self->jacobian_max_abs = jac_tensor_max_abs (self->jacobian->core);
  compute_sparsity (self);

  self->gated = jac_tensor_copy (self->upstream);
  for (gsize n = 0; n < self->gated->size; n++)
    self->gated->data[n] *= rnn->slope->data[n];

  compute_factor (self);
  self->factor_on_left = form->factor_on_left;
  self->factor_name = self->factor != NULL ? form->factor_name : NULL;
  self->formula_text = self->factor != NULL ? form->formula_text : "G ⊙ S";
  self->slope_text = slope_text (rnn->config.activation);

  self->contract_formula = jac_rnn_contract_formula (rnn, wrt, self->upstream);
  self->contract_tensor = jac_structured_contract (self->jacobian, self->upstream);
  self->contract_max_diff = jac_tensor_max_abs_diff (self->contract_formula,
                                                     self->contract_tensor);
  return g_steal_pointer (&self);
}

void
jac_sparsity_clear (JacSparsity *sparsity)
{
  g_clear_pointer (&sparsity->sentence, g_free);
}

void
jac_analysis_free (JacAnalysis *self)
{
  if (self == NULL)
    return;
  jac_rnn_free (self->rnn);
  jac_structured_free (self->jacobian);
  jac_sparsity_clear (&self->sparsity);
  jac_tensor_free (self->upstream);
  jac_tensor_free (self->gated);
  jac_tensor_free (self->factor);
  jac_tensor_free (self->contract_formula);
  jac_tensor_free (self->contract_tensor);
  g_free (self);
}

gboolean
jac_analysis_block_is_zero (const JacAnalysis *self,
                            gsize              block_row,
                            gsize              block_col)
{
  const JacStructured *jac = self->jacobian;

  /* Only a δ between the output's row i and the variable's row p empties whole blocks. */
  return jac->wrt_rank == 2 && jac->pair[0] == 0 && block_row != block_col;
}

double
jac_analysis_block_entry (const JacAnalysis *self,
                          gsize              block_row,
                          gsize              block_col,
                          gsize              row,
                          gsize              col,
                          gboolean          *structural_zero)
{
  const JacStructured *jac = self->jacobian;
  gsize out_index[2] = { block_row, row };
  gsize wrt_index[2] = { block_col, col };

  if (jac->wrt_rank == 1)
    wrt_index[0] = col;
  return jac_structured_get (jac, out_index, wrt_index, structural_zero);
}
