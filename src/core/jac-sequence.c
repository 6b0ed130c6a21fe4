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
  if (config->cell != JAC_CELL_RNN && config->cell != JAC_CELL_LSTM
      && config->cell != JAC_CELL_GRU)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "unknown cell %d", config->cell);
      return FALSE;
    }
  if (config->cell == JAC_CELL_RNN && c->activation != JAC_FUNC_TANH
      && c->activation != JAC_FUNC_SIGMOID && c->activation != JAC_FUNC_RELU
      && c->activation != JAC_FUNC_IDENTITY)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "activation %s is not one of tanh, sigmoid, relu, identity",
                   jac_func_name (c->activation));
      return FALSE;
    }
  if (config->cell != JAC_CELL_LSTM && (config->output == JAC_STATE_C
                                        || config->wrt == JAC_STATE_C))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "the cell state c belongs to the LSTM; the %s has h only",
                   jac_cell_name (config->cell));
      return FALSE;
    }
  if (!isfinite (config->carry_bias))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "the carry bias must be finite");
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

/* The registered enum's nicks are the one table of names. */
const char *
jac_cell_name (JacCell cell)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (JAC_TYPE_CELL);
  const GEnumValue *value;

  g_return_val_if_fail (cell <= JAC_CELL_GRU, NULL);
  value = g_enum_get_value (klass, cell);
  return g_intern_static_string (value->value_nick);
}

gboolean
jac_cell_from_name (const char *name,
                    JacCell    *cell)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (JAC_TYPE_CELL);
  const GEnumValue *value;

  g_return_val_if_fail (name != NULL, FALSE);
  if ((value = g_enum_get_value_by_nick (klass, name)) == NULL)
    return FALSE;
  if (cell != NULL)
    *cell = value->value;
  return TRUE;
}

guint
jac_cell_n_gates (JacCell cell)
{
  return cell == JAC_CELL_LSTM ? 4 : cell == JAC_CELL_GRU ? 3 : 1;
}

static const char * const param_names[JAC_N_PARAMS] = {
  "W_hh", "W_xh", "b", "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
};

const char *
jac_param_name (JacParam param)
{
  g_return_val_if_fail (param < JAC_N_PARAMS, NULL);
  return param_names[param];
}

gboolean
jac_param_from_name (const char *name,
                     JacParam   *param)
{
  g_return_val_if_fail (param != NULL, FALSE);

  for (guint p = 0; p < JAC_N_PARAMS; p++)
    if (g_strcmp0 (name, param_names[p]) == 0)
      {
        *param = p;
        return TRUE;
      }
  return FALSE;
}

GRand *
_jac_sequence_stream (const JacSequenceConfig *config,
                      guint32                  stream)
{
  guint32 seed[2] = { config->config.seed, stream };

  return g_rand_new_with_seed_array (seed, 2);
}

/* The stream JacRnn draws @variable from. */
static GRand *
variable_stream (const JacSequenceConfig *config,
                 JacVariable              variable)
{
  return _jac_sequence_stream (config, variable);
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

static void
copy_into (JacTensor       *to,
           const JacTensor *from)
{
  memcpy (to->data, from->data, to->size * sizeof (double));
}

/* h_0 and x_1 … x_T: loaded, or drawn from the same streams whatever the cell. */
static void
draw_sequence (JacSequence           *self,
               const JacSequenceData *data)
{
  const JacSequenceConfig *config = &self->config;
  g_autoptr(GRand) h_rand = variable_stream (config, JAC_VAR_H_PREV);
  g_autoptr(GRand) x_rand = variable_stream (config, JAC_VAR_X);
  gsize nh = config->config.batch * config->config.hidden;
  JacTensor h0 = *self->states;

  /* h_0 alone, as a tensor of N·H entries sharing the states' storage. */
  h0.rank = 1;
  h0.size = nh;
  if (data->h0 != NULL)
    copy_into (&h0, data->h0);
  else
    jac_tensor_fill_uniform (&h0, h_rand, 1.0);
  /* In C order, x_1 is drawn first, then x_2, …: x_1 is the one JacRnn draws. */
  if (data->x != NULL)
    copy_into (self->inputs, data->x);
  else
    jac_tensor_fill_uniform (self->inputs, x_rand, 1.0);
}

static gboolean
draw_variables (JacSequence            *self,
                const JacSequenceData  *data,
                GError                **error)
{
  const JacSequenceConfig *config = &self->config;
  g_autoptr(GRand) wx_rand = variable_stream (config, JAC_VAR_W_XH);
  g_autoptr(GRand) b_rand = variable_stream (config, JAC_VAR_B);
  g_autoptr(JacTensor) w_hh = NULL;
  g_autoptr(JacTensor) w_xh = NULL;
  g_autoptr(JacTensor) b = NULL;

  draw_sequence (self, data);
  if (data->weight_hh != NULL || data->weight_ih != NULL)
    {
      if (!jac_sequence_rnn_weights_from_pytorch (data->weight_ih, data->weight_hh,
                                                  data->bias_ih, data->bias_hh, &w_hh, &w_xh,
                                                  &b, error))
        return FALSE;
    }
  if (data->w_xh != NULL || w_xh != NULL)
    copy_into (self->w_xh, w_xh != NULL ? w_xh : data->w_xh);
  else
    jac_tensor_fill_uniform (self->w_xh, wx_rand, 1.0 / sqrt ((double) config->config.input));
  if (data->b != NULL || b != NULL)
    copy_into (self->b, b != NULL ? b : data->b);
  else
    jac_tensor_fill_uniform (self->b, b_rand, 0.5);
  if (data->w_hh != NULL || w_hh != NULL)
    {
      copy_into (self->w_hh, w_hh != NULL ? w_hh : data->w_hh);
      return jac_spectral_radius (self->w_hh->data, config->config.hidden,
                                  &self->spectral_radius, error);
    }
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

  if (self->config.cell != JAC_CELL_RNN)
    {
      _jac_sequence_forward_gated (self);
      return;
    }

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
  g_return_val_if_fail (config != NULL, NULL);

  return jac_sequence_new_with_data (config, NULL, error);
}

/* One size (T, N, D or H) as the tensors give it: the first that names it wins, the others must
 * agree. */
typedef struct
{
  const char *name;
  gsize       value;
  const char *source;  /* NULL while the value is the config's */
} Dimension;

static gboolean
agree (Dimension   *dim,
       gsize        value,
       const char  *source,
       GError     **error)
{
  if (dim->source == NULL)
    {
      dim->value = value;
      dim->source = source;
      return TRUE;
    }
  if (dim->value == value)
    return TRUE;
  g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
               "%s gives %s = %" G_GSIZE_FORMAT " but %s gives %s = %" G_GSIZE_FORMAT, source,
               dim->name, value, dim->source, dim->name, dim->value);
  return FALSE;
}

static gboolean
expect_rank (const JacTensor  *t,
             const char       *name,
             guint             rank,
             const char       *shape,
             GError          **error)
{
  g_autofree char *got = NULL;

  if (t == NULL || t->rank == rank)
    return TRUE;
  got = jac_tensor_shape_string (t);
  g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "%s has shape %s; it should be %s", name, got,
               shape);
  return FALSE;
}

/* Checks what @data holds for @config's cell and sets T, N, D, H (and b's shape) from it. */
static gboolean
resolve_data (JacSequenceConfig      *config,
              const JacSequenceData  *data,
              GError                **error)
{
  JacRnnConfig *c = &config->config;
  gboolean gated = config->cell != JAC_CELL_RNN;
  gboolean jacscope_names = data->w_hh != NULL || data->w_xh != NULL || data->b != NULL;
  gboolean pytorch_names = data->weight_ih != NULL || data->weight_hh != NULL
                           || data->bias_ih != NULL || data->bias_hh != NULL;
  guint g = jac_cell_n_gates (config->cell);
  Dimension t = { "T", config->steps, config->steps > 0 && data->x != NULL ? "the number of steps" : NULL };
  Dimension n = { "N", c->batch, NULL };
  Dimension d = { "D", c->input, NULL }, h = { "H", c->hidden, NULL };

  if (jacscope_names && pytorch_names)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "weights given both as W_hh/W_xh/b and as PyTorch's weight_*_l0: give one");
      return FALSE;
    }
  if (gated && jacscope_names)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s is the RNN's name; the %s takes PyTorch's weight_ih_l0, weight_hh_l0, "
                   "bias_ih_l0, bias_hh_l0 (--weights FILE.npz)",
                   data->w_hh ? "W_hh" : data->w_xh ? "W_xh" : "b", jac_cell_name (config->cell));
      return FALSE;
    }
  if (data->c0 != NULL && config->cell != JAC_CELL_LSTM)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "c0 is the LSTM's initial cell state; the %s has none",
                   jac_cell_name (config->cell));
      return FALSE;
    }
  if (pytorch_names && (data->weight_ih == NULL) != (data->weight_hh == NULL))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "%s is missing (PyTorch's %s has both "
                   "weight_ih_l0 and weight_hh_l0)",
                   data->weight_ih ? "weight_hh_l0" : "weight_ih_l0",
                   jac_cell_name (config->cell));
      return FALSE;
    }
  if (pytorch_names && (data->bias_ih == NULL) != (data->bias_hh == NULL))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s is missing (with bias=True PyTorch writes both biases, with bias=False "
                   "neither)", data->bias_ih ? "bias_hh_l0" : "bias_ih_l0");
      return FALSE;
    }
  if (!expect_rank (data->x, "x", 3, "(T, N, D)", error)
      || !expect_rank (data->h0, "h0", 2, "(N, H)", error)
      || !expect_rank (data->c0, "c0", 2, "(N, H)", error)
      || !expect_rank (data->w_hh, "W_hh", 2, "(H, H)", error)
      || !expect_rank (data->w_xh, "W_xh", 2, "(D, H)", error)
      || !expect_rank (data->weight_ih, "weight_ih_l0", 2, "(G·H, D)", error)
      || !expect_rank (data->weight_hh, "weight_hh_l0", 2, "(G·H, H)", error)
      || !expect_rank (data->bias_ih, "bias_ih_l0", 1, "(G·H)", error)
      || !expect_rank (data->bias_hh, "bias_hh_l0", 1, "(G·H)", error))
    return FALSE;
  if (data->b != NULL && data->b->rank != 1 && data->b->rank != 2)
    return expect_rank (data->b, "b", 1, "(H) or (N, H)", error);

  if (data->weight_hh != NULL)
    {
      gsize rows = data->weight_hh->shape[0], cols = data->weight_hh->shape[1];

      if (rows != g * cols)
        {
          g_autofree char *got = jac_tensor_shape_string (data->weight_hh);
          const char *looks = rows == 4 * cols ? " (an LSTM's: --cell lstm)"
                              : rows == 3 * cols ? " (a GRU's: --cell gru)"
                              : rows == cols ? " (an RNN's: --cell rnn)" : "";

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                       "weight_hh_l0 has shape %s%s; the %s's is (%u·H, H)", got, looks,
                       jac_cell_name (config->cell), g);
          return FALSE;
        }
      if (!agree (&h, cols, "weight_hh_l0", error))
        return FALSE;
    }
  if (data->weight_ih != NULL)
    {
      if (data->weight_ih->shape[0] != g * h.value)
        {
          g_autofree char *got = jac_tensor_shape_string (data->weight_ih);

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                       "weight_ih_l0 has shape %s; with H = %" G_GSIZE_FORMAT " from "
                       "weight_hh_l0 it should be (%" G_GSIZE_FORMAT ", D)", got, h.value,
                       g * h.value);
          return FALSE;
        }
      if (!agree (&d, data->weight_ih->shape[1], "weight_ih_l0", error))
        return FALSE;
    }
  for (guint k = 0; k < 2; k++)
    {
      const JacTensor *bias = k == 0 ? data->bias_ih : data->bias_hh;
      const char *name = k == 0 ? "bias_ih_l0" : "bias_hh_l0";

      if (bias != NULL && bias->shape[0] != g * h.value)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                       "%s has %" G_GSIZE_FORMAT " entries; with H = %" G_GSIZE_FORMAT
                       " from weight_hh_l0 it should have %" G_GSIZE_FORMAT, name,
                       bias->shape[0], h.value, g * h.value);
          return FALSE;
        }
    }
  if (data->w_hh != NULL)
    {
      if (data->w_hh->shape[0] != data->w_hh->shape[1])
        return expect_rank (data->w_hh, "W_hh", 0, "(H, H)", error);
      if (!agree (&h, data->w_hh->shape[0], "W_hh", error))
        return FALSE;
    }
  if (data->w_xh != NULL
      && (!agree (&d, data->w_xh->shape[0], "W_xh", error)
          || !agree (&h, data->w_xh->shape[1], "W_xh", error)))
    return FALSE;
  if (data->x != NULL
      && (!agree (&t, data->x->shape[0], "x", error)
          || !agree (&n, data->x->shape[1], "x", error)
          || !agree (&d, data->x->shape[2], "x", error)))
    return FALSE;
  for (guint k = 0; k < 2; k++)
    {
      const JacTensor *state = k == 0 ? data->h0 : data->c0;
      const char *name = k == 0 ? "h0" : "c0";

      if (state != NULL
          && (!agree (&n, state->shape[0], name, error)
              || !agree (&h, state->shape[1], name, error)))
        return FALSE;
    }
  if (data->b != NULL)
    {
      c->b_per_row = data->b->rank == 2;
      if (c->b_per_row && !agree (&n, data->b->shape[0], "b", error))
        return FALSE;
      if (!agree (&h, data->b->shape[data->b->rank - 1], "b", error))
        return FALSE;
    }
  if (pytorch_names)
    c->b_per_row = FALSE;
  /* A --steps that the file contradicts was checked above; without one, T is the file's. */
  config->steps = t.value;
  c->batch = n.value;
  c->input = d.value;
  c->hidden = h.value;
  return TRUE;
}

static JacSequence *
sequence_new (const JacSequenceConfig  *config,
              const JacSequenceData    *data,
              GError                  **error)
{
  static const JacSequenceData none = { 0 };
  g_autoptr(JacSequence) self = NULL;
  JacSequenceConfig resolved;
  const JacRnnConfig *c;
  gsize t, n, d, h, g;

  g_return_val_if_fail (config != NULL, NULL);

  if (data == NULL)
    data = &none;
  resolved = *config;
  if (!resolve_data (&resolved, data, error) || !check_config (&resolved, error))
    return NULL;
  self = g_new0 (JacSequence, 1);
  self->config = resolved;
  self->weights_loaded = data->w_hh != NULL || data->weight_hh != NULL;
  c = &self->config.config;
  t = resolved.steps, n = c->batch, d = c->input, h = c->hidden;
  g = jac_cell_n_gates (resolved.cell);
  {
    gsize w_hh_shape[2] = { h, h }, w_xh_shape[2] = { d, h }, b_shape[2] = { n, h };
    gsize inputs_shape[3] = { t, n, d }, states_shape[3] = { t + 1, n, h };
    gsize slopes_shape[3] = { t, n, h };
    gsize ih_shape[2] = { g * h, d }, hh_shape[2] = { g * h, h }, bias_shape = g * h;
    gsize gates_shape[3] = { t, n, g * h };

    if ((self->inputs = jac_tensor_new (3, inputs_shape, error)) == NULL
        || (self->states = jac_tensor_new (3, states_shape, error)) == NULL
        || (self->slopes = jac_tensor_new (3, slopes_shape, error)) == NULL)
      return NULL;
    if (resolved.cell == JAC_CELL_RNN)
      {
        if ((self->w_hh = jac_tensor_new (2, w_hh_shape, error)) == NULL
            || (self->w_xh = jac_tensor_new (2, w_xh_shape, error)) == NULL
            || (self->b = c->b_per_row ? jac_tensor_new (2, b_shape, error)
                                       : jac_tensor_new (1, &h, error)) == NULL)
          return NULL;
      }
    else if ((self->weight_ih = jac_tensor_new (2, ih_shape, error)) == NULL
             || (self->weight_hh = jac_tensor_new (2, hh_shape, error)) == NULL
             || (self->bias_ih = jac_tensor_new (1, &bias_shape, error)) == NULL
             || (self->bias_hh = jac_tensor_new (1, &bias_shape, error)) == NULL
             || (self->gates = jac_tensor_new (3, gates_shape, error)) == NULL
             || (resolved.cell == JAC_CELL_LSTM
                 && (self->cells = jac_tensor_new (3, states_shape, error)) == NULL)
             || (resolved.cell == JAC_CELL_GRU
                 && (self->hidden_n = jac_tensor_new (3, slopes_shape, error)) == NULL))
      return NULL;
  }
  if (resolved.cell == JAC_CELL_RNN)
    {
      if (!draw_variables (self, data, error))
        return NULL;
    }
  else
    {
      draw_sequence (self, data);
      if (!_jac_sequence_draw_gated (self, data, error))
        return NULL;
    }
  forward (self);
  /* Read by every frame of the figure (the lesson's mean φ′): 3 M entries at T = 200, N = 64,
   * H = 256, once. */
  {
    double sum = 0;

    for (gsize e = 0; e < self->slopes->size; e++)
      sum += self->slopes->data[e];
    self->mean_slope = sum / MAX (self->slopes->size, 1);
  }
  return g_steal_pointer (&self);
}

JacSequence *
jac_sequence_new_with_data (const JacSequenceConfig  *config,
                            const JacSequenceData    *data,
                            GError                  **error)
{
  g_return_val_if_fail (config != NULL, NULL);

  return sequence_new (config, data, error);
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
  jac_tensor_free (self->weight_ih);
  jac_tensor_free (self->weight_hh);
  jac_tensor_free (self->bias_ih);
  jac_tensor_free (self->bias_hh);
  jac_tensor_free (self->cells);
  jac_tensor_free (self->gates);
  jac_tensor_free (self->hidden_n);
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
  if (self->config.cell != JAC_CELL_RNN)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "the one-step view of the %s is not an RNN step",
                   jac_cell_name (self->config.cell));
      return NULL;
    }
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
  g_return_if_fail (self != NULL && from <= self->config.steps);

  jac_sequence_propagate_states (self, from, self->config.steps, h_from,
                                 jac_sequence_cell_state (self, from), h_out, NULL);
}

/* One RNN step from h (N × H) into h_next, through z (N × H). */
void
_jac_sequence_rnn_step (const JacSequence *self,
                        gsize              step,
                        const double      *h,
                        double            *z,
                        double            *h_next)
{
  const JacRnnConfig *c = &self->config.config;
  gsize nh = c->batch * c->hidden;

  preactivation (self, h, jac_sequence_input (self, step), z);
  for (gsize e = 0; e < nh; e++)
    h_next[e] = jac_func_apply (c->activation, z[e]);
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

      /* ∂c_T/∂h_T and ∂h_T/∂c_T of the same step: independent variables, so zero. */
      if (self->config.output != self->config.wrt)
        return g_steal_pointer (&jacobian);
      for (gsize i = 0; i < self->config.config.batch; i++)
        for (gsize j = 0; j < h; j++)
          jacobian->core->data[(i * h + j) * h + j] = 1.0;
      return g_steal_pointer (&jacobian);
    }
  keep.lag = lag;
  keep.jacobian = jacobian;
  if (!_jac_sequence_chain (self, lag, keep_lag_cb, &keep, NULL, error))
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
  g_return_val_if_fail (self->config.cell == JAC_CELL_RNN, NULL);

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
