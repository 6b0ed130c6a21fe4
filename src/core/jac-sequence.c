/* jac-sequence.c: the RNN unrolled over T steps with shared weights, and ∂h_T/∂h_{T−k}. */
#define G_LOG_DOMAIN "jac-sequence"

#include <math.h>
#include <string.h>

#include "jac-blas.h"
#include "jac-error.h"
#include "jac-sequence-private.h"

void
jac_sequence_config_init_default (JacSequenceConfig *config)
{
  g_return_if_fail (config != NULL);

  memset (config, 0, sizeof *config);
  jac_rnn_config_init_default (&config->config);
  config->steps = 20;
  config->gain = 1.0;
  config->orthogonal = FALSE;
  config->unit_radius = TRUE;
}

static gboolean
check_config (const JacSequenceConfig  *config,
              GError                  **error)
{
  const JacRnnConfig *c = &config->config;

  if (c->batch == 0 || c->input == 0 || c->hidden == 0 || config->steps == 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "sizes and the number of steps must be at least 1");
      return FALSE;
    }
  if (c->activation != JAC_FUNC_TANH && c->activation != JAC_FUNC_SIGMOID
      && c->activation != JAC_FUNC_RELU && c->activation != JAC_FUNC_IDENTITY)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "activation %s is not one of tanh, sigmoid, relu, identity",
                   jac_func_name (c->activation));
      return FALSE;
    }
  if (!isfinite (config->gain) || config->gain < 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "gain %g is out of range: it must be finite and at least 0", config->gain);
      return FALSE;
    }
  return TRUE;
}

/* The stream JacRnn draws @variable from. */
static GRand *
variable_stream (const JacSequenceConfig *config,
                 JacVariable              variable)
{
  guint32 seed[2] = { config->config.seed, variable };

  return g_rand_new_with_seed_array (seed, 2);
}

static void
fill_gaussian (double *values,
               gsize   n,
               GRand  *rand)
{
  for (gsize e = 0; e < n; e += 2)
    {
      /* Box–Muller; 1 − u keeps the logarithm finite. */
      double radius = sqrt (-2 * log (1 - g_rand_double (rand)));
      double angle = 2 * G_PI * g_rand_double (rand);

      values[e] = radius * cos (angle);
      if (e + 1 < n)
        values[e + 1] = radius * sin (angle);
    }
}

static gboolean
draw_recurrent_weights (JacSequence  *self,
                        GError      **error)
{
  const JacSequenceConfig *config = &self->config;
  gsize h = config->config.hidden;
  g_autoptr(GRand) rand = variable_stream (config, JAC_VAR_W_HH);
  double radius, scale = config->gain;

  if (config->orthogonal)
    {
      fill_gaussian (self->w_hh->data, self->w_hh->size, rand);
      if (!_jac_lapack_orthogonalize (self->w_hh->data, h, error))
        return FALSE;
    }
  else
    jac_tensor_fill_uniform (self->w_hh, rand, 1.0 / sqrt ((double) h));

  if (!jac_spectral_radius (self->w_hh->data, h, &radius, error))
    return FALSE;
  /* An orthogonal matrix has radius 1 already; dividing by dgeev_'s 1 ± ε would only blur it. */
  if (config->unit_radius && !config->orthogonal && radius > 0)
    scale /= radius;
  for (gsize e = 0; e < self->w_hh->size; e++)
    self->w_hh->data[e] *= scale;
  self->spectral_radius = radius * scale;
  return TRUE;
}

static gboolean
draw_variables (JacSequence  *self,
                GError      **error)
{
  const JacSequenceConfig *config = &self->config;
  g_autoptr(GRand) h_rand = variable_stream (config, JAC_VAR_H_PREV);
  g_autoptr(GRand) x_rand = variable_stream (config, JAC_VAR_X);
  g_autoptr(GRand) wx_rand = variable_stream (config, JAC_VAR_W_XH);
  g_autoptr(GRand) b_rand = variable_stream (config, JAC_VAR_B);
  gsize nh = config->config.batch * config->config.hidden;
  JacTensor h0 = *self->states;

  /* h_0 alone, as a tensor of N·H entries sharing the states' storage. */
  h0.rank = 1;
  h0.size = nh;
  jac_tensor_fill_uniform (&h0, h_rand, 1.0);
  /* In C order, x_1 is drawn first, then x_2, …: x_1 is the one JacRnn draws. */
  jac_tensor_fill_uniform (self->inputs, x_rand, 1.0);
  jac_tensor_fill_uniform (self->w_xh, wx_rand, 1.0 / sqrt ((double) config->config.input));
  jac_tensor_fill_uniform (self->b, b_rand, 0.5);
  return draw_recurrent_weights (self, error);
}

/* Z = h_prev W_hh + x W_xh + b into @z (N × H). */
static void
preactivation (const JacSequence *self,
               const double      *h_prev,
               const double      *x,
               double            *z)
{
  const JacRnnConfig *c = &self->config.config;
  gsize n = c->batch, h = c->hidden;

  for (gsize i = 0; i < n; i++)
    memcpy (z + i * h, self->b->data + (self->b->rank == 2 ? i * h : 0), h * sizeof (double));
  jac_gemm (FALSE, FALSE, n, h, h, 1.0, h_prev, h, self->w_hh->data, h, 1.0, z, h);
  jac_gemm (FALSE, FALSE, n, h, c->input, 1.0, x, c->input, self->w_xh->data, h, 1.0, z, h);
}

static void
forward (JacSequence *self)
{
  const JacRnnConfig *c = &self->config.config;
  gsize nh = c->batch * c->hidden;

  for (gsize s = 1; s <= self->config.steps; s++)
    {
      double *h_out = self->states->data + s * nh;
      double *slope = self->slopes->data + (s - 1) * nh;

      preactivation (self, jac_sequence_state (self, s - 1), jac_sequence_input (self, s), h_out);
      for (gsize e = 0; e < nh; e++)
        {
          slope[e] = jac_func_slope (c->activation, h_out[e]);
          h_out[e] = jac_func_apply (c->activation, h_out[e]);
        }
    }
}

JacSequence *
jac_sequence_new (const JacSequenceConfig  *config,
                  GError                  **error)
{
  g_autoptr(JacSequence) self = NULL;
  const JacRnnConfig *c;
  gsize t, n, d, h;

  g_return_val_if_fail (config != NULL, NULL);

  if (!check_config (config, error))
    return NULL;
  self = g_new0 (JacSequence, 1);
  self->config = *config;
  c = &self->config.config;
  t = config->steps, n = c->batch, d = c->input, h = c->hidden;
  {
    gsize w_hh_shape[2] = { h, h }, w_xh_shape[2] = { d, h }, b_shape[2] = { n, h };
    gsize inputs_shape[3] = { t, n, d }, states_shape[3] = { t + 1, n, h };
    gsize slopes_shape[3] = { t, n, h };

    if ((self->w_hh = jac_tensor_new (2, w_hh_shape, error)) == NULL
        || (self->w_xh = jac_tensor_new (2, w_xh_shape, error)) == NULL
        || (self->b = c->b_per_row ? jac_tensor_new (2, b_shape, error)
                                   : jac_tensor_new (1, &h, error)) == NULL
        || (self->inputs = jac_tensor_new (3, inputs_shape, error)) == NULL
        || (self->states = jac_tensor_new (3, states_shape, error)) == NULL
        || (self->slopes = jac_tensor_new (3, slopes_shape, error)) == NULL)
      return NULL;
  }
  if (!draw_variables (self, error))
    return NULL;
  forward (self);
  return g_steal_pointer (&self);
}

void
jac_sequence_free (JacSequence *self)
{
  if (self == NULL)
    return;
  jac_tensor_free (self->w_hh);
  jac_tensor_free (self->w_xh);
  jac_tensor_free (self->b);
  jac_tensor_free (self->inputs);
  jac_tensor_free (self->states);
  jac_tensor_free (self->slopes);
  g_free (self);
}

const double *
jac_sequence_state (const JacSequence *self,
                    gsize              step)
{
  g_return_val_if_fail (self != NULL && step <= self->config.steps, NULL);
  return self->states->data + step * self->states->strides[0];
}

const double *
jac_sequence_slope (const JacSequence *self,
                    gsize              step)
{
  g_return_val_if_fail (self != NULL && step >= 1 && step <= self->config.steps, NULL);
  return self->slopes->data + (step - 1) * self->slopes->strides[0];
}

const double *
jac_sequence_input (const JacSequence *self,
                    gsize              step)
{
  g_return_val_if_fail (self != NULL && step >= 1 && step <= self->config.steps, NULL);
  return self->inputs->data + (step - 1) * self->inputs->strides[0];
}

static JacTensor *
matrix_from (const double *data,
             gsize         rows,
             gsize         cols)
{
  JacTensor *t = jac_tensor_new_matrix (rows, cols);

  memcpy (t->data, data, rows * cols * sizeof (double));
  return t;
}

JacRnn *
jac_sequence_step_rnn (const JacSequence  *self,
                       gsize               step,
                       GError            **error)
{
  const JacRnnConfig *c;
  g_autoptr(JacTensor) h_prev = NULL;
  g_autoptr(JacTensor) x = NULL;
  JacTensor *loaded[JAC_N_VARS] = { NULL };

  g_return_val_if_fail (self != NULL, NULL);

  c = &self->config.config;
  if (step < 1 || step > self->config.steps)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "step %" G_GSIZE_FORMAT " is out of range 1 … %" G_GSIZE_FORMAT, step,
                   self->config.steps);
      return NULL;
    }
  h_prev = matrix_from (jac_sequence_state (self, step - 1), c->batch, c->hidden);
  x = matrix_from (jac_sequence_input (self, step), c->batch, c->input);
  loaded[JAC_VAR_H_PREV] = h_prev;
  loaded[JAC_VAR_X] = x;
  loaded[JAC_VAR_W_HH] = self->w_hh;
  loaded[JAC_VAR_W_XH] = self->w_xh;
  loaded[JAC_VAR_B] = self->b;
  return jac_rnn_new (c, loaded, error);
}

void
jac_sequence_propagate (const JacSequence *self,
                        gsize              from,
                        const double      *h_from,
                        double            *h_out)
{
  const JacRnnConfig *c;
  g_autofree double *h = NULL;
  g_autofree double *z = NULL;
  gsize nh;

  g_return_if_fail (self != NULL && from <= self->config.steps);

  c = &self->config.config;
  nh = c->batch * c->hidden;
  h = g_memdup2 (h_from, nh * sizeof (double));
  z = g_new (double, nh);
  for (gsize s = from + 1; s <= self->config.steps; s++)
    {
      preactivation (self, h, jac_sequence_input (self, s), z);
      for (gsize e = 0; e < nh; e++)
        h[e] = jac_func_apply (c->activation, z[e]);
    }
  memcpy (h_out, h, nh * sizeof (double));
}

/* ---- ∂h_T/∂h_{T−k} ---- */

static JacStructured *
new_lag_jacobian (const JacSequence  *self,
                  GError            **error)
{
  gsize shape[2] = { self->config.config.batch, self->config.config.hidden };
  int pair[2] = { 0, -1 };

  return jac_structured_new (2, shape, 2, shape, pair, error);
}

typedef struct
{
  gsize          lag;
  JacStructured *jacobian;
} KeepLag;

static gboolean
keep_lag_cb (gsize         lag,
             const double *blocks,
             const int    *exponent,
             const double *sum_squares,
             const double *max_abs,
             gpointer      user_data,
             GError      **error)
{
  KeepLag *keep = user_data;
  JacTensor *core = keep->jacobian->core;
  gsize block_size = core->strides[0];

  if (lag != keep->lag)
    return TRUE;
  for (gsize i = 0; i < core->shape[0]; i++)
    for (gsize e = 0; e < block_size; e++)
      core->data[i * block_size + e] = ldexp (blocks[i * block_size + e], exponent[i]);
  return TRUE;
}

JacStructured *
jac_sequence_jacobian (const JacSequence  *self,
                       gsize               lag,
                       GError            **error)
{
  g_autoptr(JacStructured) jacobian = NULL;
  KeepLag keep;

  g_return_val_if_fail (self != NULL, NULL);

  if (lag > self->config.steps)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "lag %" G_GSIZE_FORMAT " is out of range 0 … T = %" G_GSIZE_FORMAT, lag,
                   self->config.steps);
      return NULL;
    }
  jacobian = new_lag_jacobian (self, error);
  if (jacobian == NULL)
    return NULL;
  if (lag == 0)
    {
      gsize h = self->config.config.hidden;

      for (gsize i = 0; i < self->config.config.batch; i++)
        for (gsize j = 0; j < h; j++)
          jacobian->core->data[(i * h + j) * h + j] = 1.0;
      return g_steal_pointer (&jacobian);
    }
  keep.lag = lag;
  keep.jacobian = jacobian;
  if (!_jac_sequence_chain (self, lag, keep_lag_cb, &keep, error))
    return NULL;
  return g_steal_pointer (&jacobian);
}

JacStructured *
jac_sequence_jacobian_naive (const JacSequence *self,
                             gsize              lag)
{
  const JacRnnConfig *c;
  JacStructured *jacobian;
  g_autofree double *factor = NULL;
  g_autofree double *product = NULL;
  gsize h;

  g_return_val_if_fail (self != NULL && lag <= self->config.steps, NULL);

  c = &self->config.config;
  h = c->hidden;
  jacobian = new_lag_jacobian (self, NULL);
  factor = g_new (double, h * h);
  product = g_new (double, h * h);
  for (gsize i = 0; i < c->batch; i++)
    {
      double *block = jacobian->core->data + i * h * h;

      for (gsize j = 0; j < h; j++)
        block[j * h + j] = 1.0;
      /* B ← B · diag(S_s[i,:]) W_hhᵀ for s = T, T − 1, …, T − lag + 1. */
      for (gsize s = self->config.steps; s + lag > self->config.steps; s--)
        {
          const double *slope = jac_sequence_slope (self, s) + i * h;

          for (gsize l = 0; l < h; l++)
            for (gsize q = 0; q < h; q++)
              factor[l * h + q] = slope[l] * JAC_AT2 (self->w_hh, q, l);
          jac_gemm_naive (FALSE, FALSE, h, h, h, 1.0, block, h, factor, h, 0.0, product, h);
          memcpy (block, product, h * h * sizeof (double));
        }
    }
  return jacobian;
}

JacTensor *
jac_sequence_block_singular_values (const JacStructured  *jacobian,
                                    GError              **error)
{
  g_autoptr(JacTensor) values = NULL;
  g_autofree double *block = NULL;
  const JacTensor *core;
  gsize n, h;

  g_return_val_if_fail (jacobian != NULL, NULL);

  core = jacobian->core;
  if (jacobian->n_terms != 1 || jacobian->out_rank != 2 || jacobian->wrt_rank != 2
      || jacobian->pair[0] != 0 || jacobian->pair[1] != -1 || core->rank != 3
      || core->shape[1] != core->shape[2])
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "singular values of blocks need a Jacobian of shape (N, H, N, H) tied by δ_ip");
      return NULL;
    }
  n = core->shape[0];
  h = core->shape[1];
  values = jac_tensor_new_matrix (n, h);
  block = g_new (double, h * h);
  for (gsize i = 0; i < n; i++)
    {
      memcpy (block, core->data + i * h * h, h * h * sizeof (double));
      if (!_jac_lapack_singular_values (block, h, values->data + i * h, error))
        return NULL;
    }
  return g_steal_pointer (&values);
}
