/* jac-rnn.c: one RNN step as an expression graph, with its closed forms as an independent check. */
#define G_LOG_DOMAIN "jac-rnn"

#include <math.h>
#include <string.h>

#include "jac-blas.h"
#include "jac-error.h"
#include "jac-expr.h"
#include "jac-rnn.h"

static const char * const variable_names[JAC_N_VARS] = {
  "h_prev", "x", "W_hh", "W_xh", "b",
};

/* Which of N, D, H each axis of each variable is: 'N', 'D' or 'H'. */
static const char * const variable_dims[JAC_N_VARS] = {
  "NH", "ND", "HH", "DH", "H",
};

void
jac_rnn_config_init_default (JacRnnConfig *config)
{
  g_return_if_fail (config != NULL);

  config->batch = 2;
  config->input = 3;
  config->hidden = 3;
  config->seed = 1;
  config->activation = JAC_FUNC_TANH;
  config->b_per_row = FALSE;
}

const char *
jac_variable_name (JacVariable variable)
{
  g_return_val_if_fail (variable < JAC_N_VARS, "?");
  return variable_names[variable];
}

gboolean
jac_variable_from_name (const char  *name,
                        JacVariable *variable)
{
  g_return_val_if_fail (variable != NULL, FALSE);

  for (guint v = 0; v < JAC_N_VARS; v++)
    if (g_strcmp0 (name, variable_names[v]) == 0)
      {
        *variable = v;
        return TRUE;
      }
  return FALSE;
}

gboolean
jac_activation_from_name (const char *name,
                          JacFunc    *func)
{
  g_return_val_if_fail (func != NULL, FALSE);

  if (!jac_func_from_name (name, func))
    return FALSE;
  return *func == JAC_FUNC_TANH || *func == JAC_FUNC_SIGMOID || *func == JAC_FUNC_RELU ||
         *func == JAC_FUNC_IDENTITY;
}

static gsize *
dim_slot (JacRnnConfig *config,
          char          dim)
{
  return dim == 'N' ? &config->batch : dim == 'D' ? &config->input : &config->hidden;
}

/* Sizes follow the loaded tensors; the first variable to fix a size is named when another
 * disagrees with it. */
static gboolean
resolve_sizes (JacRnnConfig       *config,
               JacTensor * const  *loaded,
               GError            **error)
{
  int fixed_by[3] = { -1, -1, -1 };  /* N, D, H */
  const char *dim_letters = "NDH";

  if (loaded != NULL && loaded[JAC_VAR_B] != NULL)
    config->b_per_row = loaded[JAC_VAR_B]->rank == 2;

  for (guint v = 0; loaded != NULL && v < JAC_N_VARS; v++)
    {
      const JacTensor *t = loaded[v];
      const char *dims = variable_dims[v];

      if (t == NULL)
        continue;
      if (v == JAC_VAR_B && t->rank == 2)
        dims = "NH";
      if (t->rank != strlen (dims))
        {
          g_autofree char *s = jac_tensor_shape_string (t);

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "%s must have %s, not shape %s",
                       variable_names[v],
                       v == JAC_VAR_B ? "shape (H,) or (N, H)" :
                       strlen (dims) == 2 ? "rank 2" : "rank 1", s);
          return FALSE;
        }
      for (guint a = 0; a < t->rank; a++)
        {
          int d = strchr (dim_letters, dims[a]) - dim_letters;
          gsize *size = dim_slot (config, dims[a]);

          if (t->shape[a] == 0)
            {
              g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "%s has an empty axis",
                           variable_names[v]);
              return FALSE;
            }
          if (fixed_by[d] == (int) v && *size != t->shape[a])
            {
              g_autofree char *s1 = jac_tensor_shape_string (t);

              g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "%s must be square (H×H), not %s",
                           variable_names[v], s1);
              return FALSE;
            }
          if (fixed_by[d] >= 0 && *size != t->shape[a])
            {
              g_autofree char *s1 = jac_tensor_shape_string (t);
              g_autofree char *s2 = jac_tensor_shape_string (loaded[fixed_by[d]]);

              g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                           "%s has shape %s but %s has shape %s: they disagree on %c (%"
                           G_GSIZE_FORMAT " vs %" G_GSIZE_FORMAT ")",
                           variable_names[v], s1, variable_names[fixed_by[d]], s2, dims[a],
                           t->shape[a], *size);
              return FALSE;
            }
          *size = t->shape[a];
          fixed_by[d] = v;
        }
    }
  return TRUE;
}

static void
variable_shape (const JacRnnConfig *config,
                JacVariable         v,
                guint              *rank,
                gsize              *shape)
{
  const char *dims = variable_dims[v];

  if (v == JAC_VAR_B && config->b_per_row)
    dims = "NH";
  *rank = strlen (dims);
  for (guint a = 0; a < *rank; a++)
    shape[a] = *dim_slot ((JacRnnConfig *) config, dims[a]);
}

/* Each variable draws from a stream of its own, so loading one does not change the others. */
static void
draw_variable (const JacRnnConfig *config,
               JacVariable         v,
               JacTensor          *value)
{
  guint32 seed[2] = { config->seed, v };
  double scale = 1.0;

  if (v == JAC_VAR_W_HH)
    scale = 1.0 / sqrt ((double) config->hidden);
  else if (v == JAC_VAR_W_XH)
    scale = 1.0 / sqrt ((double) config->input);
  else if (v == JAC_VAR_B)
    scale = 0.5;
  jac_tensor_fill_uniform_seeded (value, seed, 2, scale);
}

char *
jac_rnn_source (JacFunc activation)
{
  if (activation == JAC_FUNC_IDENTITY)
    return g_strdup ("h = h_prev @ W_hh + x @ W_xh + b");
  return g_strdup_printf ("h = %s(h_prev @ W_hh + x @ W_xh + b)", jac_func_name (activation));
}

/* The step is an expression of the language like any other: parsed from its source with the
 * variables declared at the configured sizes. */
static gboolean
build_graph (JacRnn  *self,
             GError **error)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  g_autofree char *source = jac_rnn_source (self->config.activation);
  const JacNode *out;

  for (guint v = 0; v < JAC_N_VARS; v++)
    {
      guint rank;
      gsize shape[2];

      variable_shape (&self->config, v, &rank, shape);
      jac_shape_env_declare (env, variable_names[v], rank, shape);
    }
  self->expr = jac_expr_parse (source, env, NULL, error);
  if (self->expr == NULL)
    return FALSE;
  self->graph = self->expr->graph;
  for (guint v = 0; v < JAC_N_VARS; v++)
    self->variable_node[v] = jac_graph_find_variable (self->graph, variable_names[v]);
  out = jac_graph_node (self->graph, self->graph->output);
  self->preactivation = out->op == JAC_OP_APPLY ? out->lhs : self->graph->output;
  return TRUE;
}

JacRnn *
jac_rnn_new (const JacRnnConfig *config,
             JacTensor * const  *loaded,
             GError            **error)
{
  g_return_val_if_fail (config != NULL, NULL);

  g_autoptr(JacRnn) self = g_new0 (JacRnn, 1);

  self->config = *config;
  if (!resolve_sizes (&self->config, loaded, error))
    return NULL;
  if (self->config.batch == 0 || self->config.input == 0 || self->config.hidden == 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "sizes must be at least 1");
      return NULL;
    }

  for (guint v = 0; v < JAC_N_VARS; v++)
    {
      guint rank;
      gsize shape[2];

      variable_shape (&self->config, v, &rank, shape);
      if (!jac_shape_fits_budget (rank, shape, variable_names[v], error))
        return NULL;
    }
  if (!build_graph (self, error))
    return NULL;
  for (guint v = 0; v < JAC_N_VARS; v++)
    {
      JacNode *node = jac_graph_node (self->graph, self->variable_node[v]);

      if (loaded != NULL && loaded[v] != NULL)
        {
          if (!jac_graph_set_value (self->graph, self->variable_node[v], loaded[v], error))
            return NULL;
        }
      else
        draw_variable (&self->config, v, node->value);
    }

  /* The analysis takes S from the derivation; the closed forms below recompute their own. */
  jac_graph_forward (self->graph);
  return g_steal_pointer (&self);
}

void
jac_rnn_free (JacRnn *self)
{
  if (self == NULL)
    return;
  jac_expr_free (self->expr);
  g_free (self);
}

const JacTensor *
jac_rnn_value (const JacRnn *self,
               JacVariable   variable)
{
  g_return_val_if_fail (self != NULL, NULL);

  return jac_graph_node (self->graph, self->variable_node[variable])->value;
}

const JacTensor *
jac_rnn_output (const JacRnn *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return jac_graph_node (self->graph, self->graph->output)->value;
}

const JacTensor *
jac_rnn_preactivation (const JacRnn *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return jac_graph_node (self->graph, self->preactivation)->value;
}

JacStructured *
jac_rnn_jacobian (JacRnn      *self,
                  JacVariable  variable)
{
  g_return_val_if_fail (self != NULL, NULL);

  return jac_graph_jacobian (self->graph, self->variable_node[variable]);
}

/* ---- closed forms: written out per variable from DESIGN.md, sharing nothing with the graph ---- */

/* S = φ'(Z), with Z recomputed by the naive loops. */
static JacTensor *
closed_form_slope (const JacRnn *self)
{
  const JacRnnConfig *c = &self->config;
  const JacTensor *h_prev = jac_rnn_value (self, JAC_VAR_H_PREV);
  const JacTensor *x = jac_rnn_value (self, JAC_VAR_X);
  const JacTensor *b = jac_rnn_value (self, JAC_VAR_B);
  JacTensor *z = jac_tensor_new_matrix (c->batch, c->hidden);

  jac_gemm_naive (FALSE, FALSE, c->batch, c->hidden, c->hidden, 1.0, h_prev->data, c->hidden,
                  jac_rnn_value (self, JAC_VAR_W_HH)->data, c->hidden, 0.0, z->data, c->hidden);
  jac_gemm_naive (FALSE, FALSE, c->batch, c->hidden, c->input, 1.0, x->data, c->input,
                  jac_rnn_value (self, JAC_VAR_W_XH)->data, c->hidden, 1.0, z->data, c->hidden);
  for (gsize i = 0; i < c->batch; i++)
    for (gsize j = 0; j < c->hidden; j++)
      {
        double zij = JAC_AT2 (z, i, j) + (b->rank == 2 ? JAC_AT2 (b, i, j) : b->data[j]);

        JAC_AT2 (z, i, j) = jac_func_slope (c->activation, zij);
      }
  return z;
}

JacTensor *
jac_rnn_closed_form_dense (const JacRnn *self,
                           JacVariable   variable)
{
  g_return_val_if_fail (self != NULL, NULL);

  const JacRnnConfig *c = &self->config;
  g_autoptr(JacTensor) s = closed_form_slope (self);
  const JacTensor *v = jac_rnn_value (self, variable);
  gsize n = c->batch, h = c->hidden;
  gsize shape[4] = { n, h, 0, 0 };
  JacTensor *dense;

  shape[2] = v->shape[0];
  shape[3] = v->rank == 2 ? v->shape[1] : 0;
  dense = jac_tensor_new (2 + v->rank, shape, NULL);

  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < h; j++)
      {
        double sij = JAC_AT2 (s, i, j);
        double *block = dense->data + (i * h + j) * v->size;

        switch (variable)
          {
          case JAC_VAR_H_PREV:   /* S[i,j] δ_ip W_hh[q,j] */
          case JAC_VAR_X:        /* S[i,j] δ_ip W_xh[q,j] */
            {
              const JacTensor *w = jac_rnn_value (self, variable == JAC_VAR_X ? JAC_VAR_W_XH
                                                                              : JAC_VAR_W_HH);

              for (gsize q = 0; q < v->shape[1]; q++)
                block[i * v->shape[1] + q] = sij * JAC_AT2 (w, q, j);
            }
            break;
          case JAC_VAR_W_HH:     /* S[i,j] h_prev[i,k] δ_jl */
          case JAC_VAR_W_XH:     /* S[i,j] x[i,k] δ_jl */
            {
              const JacTensor *in = jac_rnn_value (self, variable == JAC_VAR_W_XH ? JAC_VAR_X
                                                                                  : JAC_VAR_H_PREV);

              for (gsize k = 0; k < v->shape[0]; k++)
                block[k * h + j] = sij * JAC_AT2 (in, i, k);
            }
            break;
          case JAC_VAR_B:        /* S[i,j] δ_jl, or S[i,j] δ_ip δ_jq */
            block[v->rank == 2 ? i * h + j : j] = sij;
            break;
          case JAC_N_VARS:
          default:
            g_assert_not_reached ();
          }
      }
  return dense;
}

JacTensor *
jac_rnn_slope (const JacRnn *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  const JacTensor *z = jac_rnn_preactivation (self);
  JacTensor *slope = jac_tensor_new (z->rank, z->shape, NULL);

  for (gsize n = 0; n < z->size; n++)
    slope->data[n] = jac_func_slope (self->config.activation, z->data[n]);
  return slope;
}

JacTensor *
jac_rnn_contract_formula (const JacRnn    *self,
                          JacVariable      variable,
                          const JacTensor *upstream)
{
  g_return_val_if_fail (self != NULL, NULL);

  const JacRnnConfig *c = &self->config;
  const JacTensor *v = jac_rnn_value (self, variable);
  g_autoptr(JacTensor) gated = jac_tensor_copy (upstream);
  g_autoptr(JacTensor) slope = jac_rnn_slope (self);
  JacTensor *result = jac_tensor_new (v->rank, v->shape, NULL);
  gsize n = c->batch, h = c->hidden;

  for (gsize e = 0; e < gated->size; e++)
    gated->data[e] *= slope->data[e];

  switch (variable)
    {
    case JAC_VAR_H_PREV:  /* (G⊙S) W_hhᵀ */
    case JAC_VAR_X:       /* (G⊙S) W_xhᵀ */
      {
        const JacTensor *w = jac_rnn_value (self, variable == JAC_VAR_X ? JAC_VAR_W_XH
                                                                        : JAC_VAR_W_HH);

        jac_gemm (FALSE, TRUE, n, w->shape[0], h, 1.0, gated->data, h, w->data, h, 0.0,
                  result->data, w->shape[0]);
      }
      break;
    case JAC_VAR_W_HH:    /* h_prevᵀ (G⊙S) */
    case JAC_VAR_W_XH:    /* xᵀ (G⊙S) */
      {
        const JacTensor *in = jac_rnn_value (self, variable == JAC_VAR_W_XH ? JAC_VAR_X
                                                                            : JAC_VAR_H_PREV);

        jac_gemm (TRUE, FALSE, in->shape[1], h, n, 1.0, in->data, in->shape[1], gated->data, h,
                  0.0, result->data, h);
      }
      break;
    case JAC_VAR_B:       /* column sums of G⊙S, or G⊙S itself */
      for (gsize i = 0; i < n; i++)
        for (gsize j = 0; j < h; j++)
          result->data[v->rank == 2 ? i * h + j : j] += JAC_AT2 (gated, i, j);
      break;
    case JAC_N_VARS:
    default:
      g_assert_not_reached ();
    }
  return result;
}
