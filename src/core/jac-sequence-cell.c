/* jac-sequence-cell.c: the LSTM and GRU through time (forward pass, the running product of
 * their state Jacobians), back-propagation through time for every cell, and PyTorch's weights. */
#define G_LOG_DOMAIN "jac-sequence"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jac-blas.h"
#include "jac-error.h"
#include "jac-sequence-private.h"

/* Streams of the gated cells' drawn variables, beyond JacVariable's. */
enum
{
  STREAM_WEIGHT_IH = 200,
  STREAM_WEIGHT_HH,
  STREAM_BIAS_IH,
  STREAM_BIAS_HH,
  STREAM_C0,
};

static double
sigmoid (double x)
{
  return 1 / (1 + exp (-x));
}

/* ---- PyTorch's weights ---- */

static int
compare_keys (const void *a,
              const void *b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

gboolean
jac_sequence_data_from_state_dict (GHashTable       *state_dict,
                                   JacCell           cell,
                                   JacSequenceData  *data,
                                   GError          **error)
{
  g_autofree gpointer *keys = NULL;
  guint n_keys = 0;

  g_return_val_if_fail (state_dict != NULL && data != NULL, FALSE);

  /* Sorted, so that of several bad keys the same one is named every time. */
  keys = g_hash_table_get_keys_as_array (state_dict, &n_keys);
  qsort (keys, n_keys, sizeof (gpointer), compare_keys);
  for (guint k = 0; k < n_keys; k++)
    {
      const char *key = keys[k];
      const JacTensor *value = g_hash_table_lookup (state_dict, key);
      const char *layer;
      guint64 index;

      if (g_str_has_suffix (key, "_reverse"))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "key “%s”: bidirectional weights are not read (a bidirectional network "
                       "runs a second pass backwards through time; save one direction)", key);
          return FALSE;
        }
      if (g_str_equal (key, "weight_ih_l0"))
        data->weight_ih = value;
      else if (g_str_equal (key, "weight_hh_l0"))
        data->weight_hh = value;
      else if (g_str_equal (key, "bias_ih_l0"))
        data->bias_ih = value;
      else if (g_str_equal (key, "bias_hh_l0"))
        data->bias_hh = value;
      else if ((g_str_has_prefix (key, "weight_") || g_str_has_prefix (key, "bias_"))
               && (layer = strstr (key, "_l")) != NULL
               && g_ascii_string_to_unsigned (layer + 2, 10, 1, G_MAXUINT, &index, NULL))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "key “%s”: layer %" G_GUINT64_FORMAT " of a stacked network; only "
                       "layer 0 is read (num_layers=1)", key, index);
          return FALSE;
        }
      else
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "unknown key “%s” (an nn.%s state dict holds weight_ih_l0, "
                       "weight_hh_l0, bias_ih_l0 and bias_hh_l0)", key,
                       cell == JAC_CELL_LSTM ? "LSTM" : cell == JAC_CELL_GRU ? "GRU" : "RNN");
          return FALSE;
        }
    }
  if (data->weight_ih == NULL || data->weight_hh == NULL)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "key “%s” is missing (an nn.%s state dict always holds it)",
                   data->weight_ih == NULL ? "weight_ih_l0" : "weight_hh_l0",
                   cell == JAC_CELL_LSTM ? "LSTM" : cell == JAC_CELL_GRU ? "GRU" : "RNN");
      return FALSE;
    }
  return TRUE;
}

static JacTensor *
transposed (const JacTensor *m)
{
  JacTensor *t = jac_tensor_new_matrix (m->shape[1], m->shape[0]);

  jac_matrix_transpose (m->data, m->shape[0], m->shape[1], t->data);
  return t;
}

gboolean
jac_sequence_rnn_weights_from_pytorch (const JacTensor  *weight_ih,
                                       const JacTensor  *weight_hh,
                                       const JacTensor  *bias_ih,
                                       const JacTensor  *bias_hh,
                                       JacTensor       **w_hh,
                                       JacTensor       **w_xh,
                                       JacTensor       **b,
                                       GError          **error)
{
  gsize h;

  g_return_val_if_fail (w_hh != NULL && w_xh != NULL && b != NULL, FALSE);

  if (weight_hh == NULL || weight_ih == NULL)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "key “%s” is missing",
                   weight_ih == NULL ? "weight_ih_l0" : "weight_hh_l0");
      return FALSE;
    }
  if (weight_hh->rank != 2 || weight_hh->shape[0] != weight_hh->shape[1])
    {
      g_autofree char *got = jac_tensor_shape_string (weight_hh);

      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "weight_hh_l0 has shape %s; an RNN's is (H, H)%s", got,
                   weight_hh->rank == 2 && weight_hh->shape[0] == 4 * weight_hh->shape[1]
                   ? " (this one is an LSTM's: --cell lstm)"
                   : weight_hh->rank == 2 && weight_hh->shape[0] == 3 * weight_hh->shape[1]
                   ? " (this one is a GRU's: --cell gru)" : "");
      return FALSE;
    }
  h = weight_hh->shape[0];
  if (weight_ih->rank != 2 || weight_ih->shape[0] != h)
    {
      g_autofree char *got = jac_tensor_shape_string (weight_ih);

      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "weight_ih_l0 has shape %s; with H = %" G_GSIZE_FORMAT " from weight_hh_l0 "
                   "it should be (%" G_GSIZE_FORMAT ", D)", got, h, h);
      return FALSE;
    }
  if ((bias_ih == NULL) != (bias_hh == NULL))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s is missing (with bias=True PyTorch writes both biases, with bias=False "
                   "neither)", bias_ih != NULL ? "bias_hh_l0" : "bias_ih_l0");
      return FALSE;
    }
  for (guint k = 0; k < 2; k++)
    {
      const JacTensor *bias = k == 0 ? bias_ih : bias_hh;

      if (bias != NULL && (bias->rank != 1 || bias->shape[0] != h))
        {
          g_autofree char *got = jac_tensor_shape_string (bias);

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                       "%s has shape %s; with H = %" G_GSIZE_FORMAT " it should be (%"
                       G_GSIZE_FORMAT ")", k == 0 ? "bias_ih_l0" : "bias_hh_l0", got, h, h);
          return FALSE;
        }
    }
  *w_hh = transposed (weight_hh);
  *w_xh = transposed (weight_ih);
  *b = jac_tensor_new_vector (h);
  /* PyTorch adds two biases where the step has one; only their sum matters. */
  for (gsize j = 0; bias_ih != NULL && j < h; j++)
    (*b)->data[j] = bias_ih->data[j] + bias_hh->data[j];
  return TRUE;
}

/* ---- the gated forward pass ---- */

gboolean
_jac_sequence_draw_gated (JacSequence            *self,
                          const JacSequenceData  *data,
                          GError                **error)
{
  const JacSequenceConfig *config = &self->config;
  double scale = 1.0 / sqrt ((double) config->config.hidden);
  JacTensor c0;

  if (data->weight_hh != NULL)
    {
      memcpy (self->weight_ih->data, data->weight_ih->data, self->weight_ih->size * sizeof (double));
      memcpy (self->weight_hh->data, data->weight_hh->data, self->weight_hh->size * sizeof (double));
      if (data->bias_ih != NULL)
        {
          memcpy (self->bias_ih->data, data->bias_ih->data, self->bias_ih->size * sizeof (double));
          memcpy (self->bias_hh->data, data->bias_hh->data, self->bias_hh->size * sizeof (double));
        }
    }
  else
    {
      JacTensor *drawn[4] = { self->weight_ih, self->weight_hh, self->bias_ih, self->bias_hh };

      /* PyTorch's default initialisation: every weight and bias uniform in ±1/√H. */
      for (guint k = 0; k < 4; k++)
        {
          g_autoptr(GRand) rand = _jac_sequence_stream (config, STREAM_WEIGHT_IH + k);

          jac_tensor_fill_uniform (drawn[k], rand, scale);
        }
      for (gsize e = 0; e < self->weight_hh->size; e++)
        self->weight_hh->data[e] *= config->gain;
      /* Chunk 1 is f for the LSTM (i, f, g, o) and z for the GRU (r, z, n). */
      for (gsize j = 0; j < config->config.hidden; j++)
        self->bias_ih->data[config->config.hidden + j] += config->carry_bias;
    }
  self->spectral_radius = NAN;
  if (self->cells != NULL)
    {
      c0 = *self->cells;
      c0.rank = 1;
      c0.size = config->config.batch * config->config.hidden;
      if (data->c0 != NULL)
        memcpy (c0.data, data->c0->data, c0.size * sizeof (double));
      else
        {
          g_autoptr(GRand) rand = _jac_sequence_stream (config, STREAM_C0);

          jac_tensor_fill_uniform (&c0, rand, 1.0);
        }
    }
  return TRUE;
}

/* gi = x W_ihᵀ + b_ih and gh = h W_hhᵀ + b_hh, each N × G·H. */
static void
gate_inputs (const JacSequence *self,
             gsize              step,
             const double      *h_prev,
             double            *gi,
             double            *gh)
{
  const JacRnnConfig *c = &self->config.config;
  gsize n = c->batch, h = c->hidden, gh_width = self->weight_hh->shape[0];

  for (gsize i = 0; i < n; i++)
    {
      memcpy (gi + i * gh_width, self->bias_ih->data, gh_width * sizeof (double));
      memcpy (gh + i * gh_width, self->bias_hh->data, gh_width * sizeof (double));
    }
  jac_gemm (FALSE, TRUE, n, gh_width, c->input, 1.0, jac_sequence_input (self, step), c->input,
            self->weight_ih->data, c->input, 1.0, gi, gh_width);
  jac_gemm (FALSE, TRUE, n, gh_width, h, 1.0, h_prev, h, self->weight_hh->data, h, 1.0, gh,
            gh_width);
}

/* One gated step: from (h_prev, c_prev) to (h, c); writes the gates (N × G·H), the carry
 * (N × H) and, for the GRU, h_prev W_hnᵀ + b_hn (N × H). @gi and @gh are scratch (N × G·H). */
static void
gated_step (const JacSequence *self,
            gsize              step,
            const double      *h_prev,
            const double      *c_prev,
            double            *h_next,
            double            *c_next,
            double            *gates,
            double            *carry,
            double            *hidden_n,
            double            *gi,
            double            *gh)
{
  gsize n = self->config.config.batch, h = self->config.config.hidden;
  gsize gh_width = self->weight_hh->shape[0];

  gate_inputs (self, step, h_prev, gi, gh);
  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < h; j++)
      {
        const double *a_x = gi + i * gh_width, *a_h = gh + i * gh_width;
        double *gate = gates + i * gh_width;
        gsize e = i * h + j;

        if (self->config.cell == JAC_CELL_LSTM)
          {
            double in = sigmoid (a_x[j] + a_h[j]);
            double forget = sigmoid (a_x[h + j] + a_h[h + j]);
            double cand = tanh (a_x[2 * h + j] + a_h[2 * h + j]);
            double out = sigmoid (a_x[3 * h + j] + a_h[3 * h + j]);

            c_next[e] = forget * c_prev[e] + in * cand;
            h_next[e] = out * tanh (c_next[e]);
            gate[j] = in, gate[h + j] = forget, gate[2 * h + j] = cand, gate[3 * h + j] = out;
            carry[e] = forget;
          }
        else
          {
            double reset = sigmoid (a_x[j] + a_h[j]);
            double update = sigmoid (a_x[h + j] + a_h[h + j]);
            double cand = tanh (a_x[2 * h + j] + reset * a_h[2 * h + j]);

            h_next[e] = (1 - update) * cand + update * h_prev[e];
            gate[j] = reset, gate[h + j] = update, gate[2 * h + j] = cand;
            carry[e] = update;
            hidden_n[e] = a_h[2 * h + j];
          }
      }
}

void
_jac_sequence_forward_gated (JacSequence *self)
{
  const JacRnnConfig *c = &self->config.config;
  gsize nh = c->batch * c->hidden, gates_size = c->batch * self->weight_hh->shape[0];
  g_autofree double *gi = g_new (double, gates_size);
  g_autofree double *gh = g_new (double, gates_size);
  g_autofree double *scratch = g_new (double, nh);

  for (gsize s = 1; s <= self->config.steps; s++)
    gated_step (self, s, jac_sequence_state (self, s - 1), jac_sequence_cell_state (self, s - 1),
                self->states->data + s * nh,
                self->cells != NULL ? self->cells->data + s * nh : scratch,
                self->gates->data + (s - 1) * gates_size, self->slopes->data + (s - 1) * nh,
                self->hidden_n != NULL ? self->hidden_n->data + (s - 1) * nh : scratch, gi, gh);
}

const double *
jac_sequence_cell_state (const JacSequence *self,
                         gsize              step)
{
  g_return_val_if_fail (self != NULL && step <= self->config.steps, NULL);

  if (self->cells == NULL)
    return NULL;
  return self->cells->data + step * self->cells->strides[0];
}

void
jac_sequence_propagate_states (const JacSequence *self,
                               gsize              from,
                               gsize              to,
                               const double      *h_from,
                               const double      *c_from,
                               double            *h_out,
                               double            *c_out)
{
  gsize nh, width;
  g_autofree double *h = NULL, *c = NULL, *h_next = NULL, *c_next = NULL;
  g_autofree double *gates = NULL, *carry = NULL, *hidden_n = NULL, *gi = NULL, *gh = NULL;

  g_return_if_fail (self != NULL && from <= to && to <= self->config.steps);
  g_return_if_fail (self->config.cell != JAC_CELL_LSTM || c_from != NULL);

  nh = self->config.config.batch * self->config.config.hidden;
  width = self->weight_hh != NULL ? self->config.config.batch * self->weight_hh->shape[0] : nh;
  h = g_memdup2 (h_from, nh * sizeof (double));
  c = c_from != NULL ? g_memdup2 (c_from, nh * sizeof (double)) : g_new0 (double, nh);
  h_next = g_new (double, nh);
  c_next = g_new0 (double, nh);
  gates = g_new (double, width);
  carry = g_new (double, nh);
  hidden_n = g_new (double, nh);
  gi = g_new (double, width);
  gh = g_new (double, width);
  for (gsize s = from + 1; s <= to; s++)
    {
      double *swap;

      if (self->config.cell == JAC_CELL_RNN)
        _jac_sequence_rnn_step (self, s, h, gi, h_next);
      else
        gated_step (self, s, h, c, h_next, c_next, gates, carry, hidden_n, gi, gh);
      swap = h, h = h_next, h_next = swap;
      swap = c, c = c_next, c_next = swap;
    }
  memcpy (h_out, h, nh * sizeof (double));
  if (c_out != NULL)
    memcpy (c_out, c, nh * sizeof (double));
}

/* ---- one step's Jacobian, as coefficients ---- */

/*
 * Every cell's one-step state Jacobian for batch row i has the form
 *
 *   ∂u_s/∂h_{s−1} = E W_hh + D_h        ∂u_s/∂c_{s−1} = D_c (LSTM)
 *
 * with W_hh in PyTorch's layout (G·H × H; the RNN's is W_hhᵀ) and E, D_h, D_c made of diagonal
 * blocks: E's block (a, gate) is diag(e[a][gate]) for a state part a (h, then c) and a gate, the
 * derivative of part a with respect to the gate's hidden-side pre-activation. So the running
 * product P · A needs, per row, E W_hh (its gates folded into W_hh, fold_gates ()) and one GEMM
 * as deep as the state, plus the diagonal parts. @e_x is E for the input-side
 * pre-activations (it differs from E in the GRU's n gate, where r multiplies the hidden side). */
typedef struct
{
  guint   n_parts;  /* 1, or 2 for the LSTM (h, c) */
  guint   n_gates;  /* G */
  gsize   hidden;
  double *e;        /* [(a G + gate) H + l] */
  double *e_x;      /* the same for the input side */
  double *d_h;      /* [a H + l] */
  double *d_c;      /* [a H + l], LSTM */
} StepCoefficients;

static void
coefficients_init (StepCoefficients  *k,
                   const JacSequence *self)
{
  k->n_parts = self->config.cell == JAC_CELL_LSTM ? 2 : 1;
  k->n_gates = jac_cell_n_gates (self->config.cell);
  k->hidden = self->config.config.hidden;
  k->e = g_new0 (double, k->n_parts * k->n_gates * k->hidden);
  k->e_x = g_new0 (double, k->n_parts * k->n_gates * k->hidden);
  k->d_h = g_new0 (double, k->n_parts * k->hidden);
  k->d_c = g_new0 (double, k->n_parts * k->hidden);
}

static void
coefficients_clear (StepCoefficients *k)
{
  g_free (k->e);
  g_free (k->e_x);
  g_free (k->d_h);
  g_free (k->d_c);
}

static void
coefficients_compute (StepCoefficients  *k,
                      const JacSequence *self,
                      gsize              step,
                      gsize              row)
{
  gsize h = k->hidden, g = k->n_gates, e0 = row * h;
  const double *gate;

  if (self->config.cell == JAC_CELL_RNN)
    {
      const double *slope = jac_sequence_slope (self, step) + e0;

      memcpy (k->e, slope, h * sizeof (double));
      memcpy (k->e_x, slope, h * sizeof (double));
      return;
    }
  gate = self->gates->data + ((step - 1) * self->config.config.batch + row) * g * h;
  for (gsize l = 0; l < h; l++)
    if (self->config.cell == JAC_CELL_LSTM)
      {
        double in = gate[l], forget = gate[h + l], cand = gate[2 * h + l], out = gate[3 * h + l];
        double c_prev = jac_sequence_cell_state (self, step - 1)[e0 + l];
        double tau = tanh (jac_sequence_cell_state (self, step)[e0 + l]);
        double through_c = out * (1 - tau * tau);
        double dc[3] = { cand * in * (1 - in), c_prev * forget * (1 - forget),
                         in * (1 - cand * cand) };

        for (guint q = 0; q < 3; q++)
          {
            k->e[(1 * g + q) * h + l] = dc[q];
            k->e[(0 * g + q) * h + l] = through_c * dc[q];
          }
        k->e[(1 * g + 3) * h + l] = 0;
        k->e[(0 * g + 3) * h + l] = tau * out * (1 - out);
        k->d_c[1 * h + l] = forget;
        k->d_c[0 * h + l] = through_c * forget;
      }
    else
      {
        double reset = gate[l], update = gate[h + l], cand = gate[2 * h + l];
        double hidden_n = self->hidden_n->data[(step - 1) * self->hidden_n->strides[0] + e0 + l];
        double h_prev = jac_sequence_state (self, step - 1)[e0 + l];
        double through_n = (1 - update) * (1 - cand * cand);

        k->e[l] = through_n * hidden_n * reset * (1 - reset);
        k->e[h + l] = (h_prev - cand) * update * (1 - update);
        k->e[2 * h + l] = through_n * reset;
        k->d_h[l] = update;
      }
  memcpy (k->e_x, k->e, k->n_parts * g * h * sizeof (double));
  if (self->config.cell == JAC_CELL_GRU)
    for (gsize l = 0; l < h; l++)
      k->e_x[2 * h + l] = (1 - gate[h + l]) * (1 - gate[2 * h + l] * gate[2 * h + l]);
}

/* W_hh in PyTorch's layout (G·H × H), borrowed for gated cells, made for the RNN. */
static const double *
recurrent_weight (const JacSequence *self,
                  JacTensor        **made)
{
  if (self->weight_hh != NULL)
    return self->weight_hh->data;
  *made = transposed (self->w_hh);
  return (*made)->data;
}

JacTensor *
jac_sequence_step_state_jacobian (const JacSequence  *self,
                                  gsize               step,
                                  GError            **error)
{
  g_autoptr(JacTensor) made = NULL;
  StepCoefficients k;
  JacTensor *jacobian;
  const double *w;
  gsize n, h, m, shape[3];

  g_return_val_if_fail (self != NULL, NULL);

  if (step < 1 || step > self->config.steps)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "step %" G_GSIZE_FORMAT " is out of range 1 … %" G_GSIZE_FORMAT, step,
                   self->config.steps);
      return NULL;
    }
  coefficients_init (&k, self);
  n = self->config.config.batch, h = k.hidden, m = k.n_parts * h;
  shape[0] = n, shape[1] = m, shape[2] = m;
  jacobian = jac_tensor_new (3, shape, error);
  if (jacobian == NULL)
    {
      coefficients_clear (&k);
      return NULL;
    }
  w = recurrent_weight (self, &made);
  for (gsize i = 0; i < n; i++)
    {
      double *a = jacobian->data + i * m * m;

      coefficients_compute (&k, self, step, i);
      for (guint part = 0; part < k.n_parts; part++)
        for (gsize j = 0; j < h; j++)
          {
            double *row = a + (part * h + j) * m;

            for (gsize q = 0; q < h; q++)
              {
                double sum = 0;

                for (guint gate = 0; gate < k.n_gates; gate++)
                  sum += k.e[(part * k.n_gates + gate) * h + j] * w[(gate * h + j) * h + q];
                row[q] = sum;
              }
            row[j] += k.d_h[part * h + j];
            if (k.n_parts == 2)
              row[h + j] = k.d_c[part * h + j];
          }
    }
  coefficients_clear (&k);
  return jacobian;
}

/* ---- the running product ---- */

/* This row's recurrent weight with its gates folded in: F = E W_hh, an (A·H) × H matrix for the
 * A state parts, F[(a, l), :] = Σ_gate e[a][gate][l] W_hh[(gate, l), :]. The running product's
 * step P · E W_hh is then P F, a GEMM of depth A·H (H for the GRU, 2H for the LSTM) where P E
 * times W_hh has depth G·H (3H, 4H): half the LSTM's multiply-adds, a third of the GRU's, for
 * 4·A·H² to fold (the GEMM is A·H³ a row; the GRU's three gates are padded with a fourth of
 * coefficient 0). */
JAC_VECTOR_CLONES static void
fold_gates (const double *e,
            const double *w,
            guint         parts,
            guint         gates,
            gsize         h,
            double       *folded)
{
  g_assert (parts <= 2 && gates >= 1 && gates <= 4);

  /* Row l of every part at once, so that each gate's row of W_hh is read once: the coefficients
   * of the gates past the cell's are 0 on a row already read. */
  for (gsize l = 0; l < h; l++)
    {
      const double *row[4];
      double c[2][4] = { { 0 } };
      double *out_h = folded + l * h, *out_c = parts == 2 ? folded + (h + l) * h : NULL;
      gsize q = 0;

      for (guint gate = 0; gate < 4; gate++)
        {
          row[gate] = w + ((gate < gates ? gate : 0) * h + l) * h;
          for (guint a = 0; a < parts && gate < gates; a++)
            c[a][gate] = e[(a * gates + gate) * h + l];
        }
      for (; q + 4 <= h; q += 4)
        {
          JacVec4 x0 = *(const JacVec4 *) (row[0] + q), x1 = *(const JacVec4 *) (row[1] + q);
          JacVec4 x2 = *(const JacVec4 *) (row[2] + q), x3 = *(const JacVec4 *) (row[3] + q);

          *(JacVec4 *) (out_h + q) = ((c[0][0] * x0 + c[0][1] * x1) + c[0][2] * x2) + c[0][3] * x3;
          if (parts == 2)
            *(JacVec4 *) (out_c + q) = ((c[1][0] * x0 + c[1][1] * x1) + c[1][2] * x2)
                                       + c[1][3] * x3;
        }
      for (; q < h; q++)
        {
          out_h[q] = ((c[0][0] * row[0][q] + c[0][1] * row[1][q]) + c[0][2] * row[2][q])
                     + c[0][3] * row[3][q];
          if (parts == 2)
            out_c[q] = ((c[1][0] * row[0][q] + c[1][1] * row[1][q]) + c[1][2] * row[2][q])
                       + c[1][3] * row[3][q];
        }
    }
}

/* q += Σ_a p_a ⊙ e_a over @parts vectors of h (p_a = p + a h, e_a = e + a @e_stride), and the
 * largest |q| after it into @top. */
JAC_VECTOR_CLONES static void
add_parts (const double *p,
           const double *e,
           gsize         e_stride,
           guint         parts,
           gsize         h,
           double       *q,
           double       *top)
{
  const JacVec4i sign = { G_MININT64, G_MININT64, G_MININT64, G_MININT64 };
  JacVec4 best = { 0 };
  double most = *top;
  gsize l = 0;

  for (; l + 4 <= h; l += 4)
    {
      JacVec4 sum = *(const JacVec4 *) (q + l) + *(const JacVec4 *) (p + l) * *(const JacVec4 *) (e + l);
      JacVec4 size;
      JacVec4i more;

      if (parts == 2)
        sum += *(const JacVec4 *) (p + h + l) * *(const JacVec4 *) (e + e_stride + l);
      *(JacVec4 *) (q + l) = sum;
      size = (JacVec4) ((JacVec4i) sum & ~sign);
      more = size > best;
      best = (JacVec4) (((JacVec4i) size & more) | ((JacVec4i) best & ~more));
    }
  for (; l < h; l++)
    {
      q[l] += p[l] * e[l] + (parts == 2 ? p[h + l] * e[e_stride + l] : 0);
      most = MAX (most, fabs (q[l]));
    }
  for (guint lane = 0; lane < 4; lane++)
    most = MAX (most, best[lane]);
  *top = most;
}

/* The (output, wrt) blocks of rows [begin, end) of @from (the state's product, or the next one),
 * contiguous as the callbacks want them, and their statistics. With one state part (the GRU)
 * the product is its blocks already. */
static void
extract_rows (JacSequenceChainState *state,
              const JacTensor       *from,
              gsize                  begin,
              gsize                  end)
{
  const JacSequenceConfig *config = &state->sequence->config;
  gsize h = config->config.hidden, m = from->shape[2];
  gsize wrt_col = config->wrt == JAC_STATE_C ? h : 0;

  if (m != h)
    for (gsize r = begin * h; r < end * h; r++)
      memcpy (state->blocks->data + r * h, from->data + r * m + wrt_col, h * sizeof (double));
  _jac_chain_rows_stats (state, m != h ? state->blocks->data : from->data, begin, end);
}

void
_jac_chain_gated_extract (JacSequenceChainState *state)
{
  if (state->product->shape[2] == state->sequence->config.config.hidden)
    state->blocks = state->product;
  extract_rows (state, state->product, 0, state->rows);
}

gboolean
_jac_chain_gated_init (JacSequenceChainState  *state,
                       GError                **error)
{
  const JacSequence *self = state->sequence;
  const JacSequenceConfig *config = &self->config;
  gsize n = state->rows, h = config->config.hidden;
  guint parts = config->cell == JAC_CELL_LSTM ? 2 : 1;
  gsize m = parts * h;
  gsize product_shape[3] = { n, h, m }, folded_shape[3] = { state->ranges, m, h };
  gsize block_shape[3] = { n, h, h };
  gsize out_col = config->output == JAC_STATE_C ? h : 0;
  StepCoefficients *k = g_new0 (StepCoefficients, n);

  state->coefficients = k;
  for (gsize i = 0; i < n; i++)
    coefficients_init (&k[i], self);
  /* Only the output part's rows of the product are ever needed: P = rows of u_T, H × m. */
  if ((state->product = jac_tensor_new (3, product_shape, error)) == NULL
      || (state->next = jac_tensor_new (3, product_shape, error)) == NULL
      || (state->folded = jac_tensor_new (3, folded_shape, error)) == NULL
      || (parts == 2 && (state->blocks = jac_tensor_new (3, block_shape, error)) == NULL))
    {
      _jac_chain_clear (state);
      return FALSE;
    }
  /* Lag 0 is the identity's output rows; one step makes lag 1. */
  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < h; j++)
      state->product->data[(i * h + j) * m + out_col + j] = 1;
  state->lag = 0;
  _jac_chain_gated_advance (state);
  return TRUE;
}

/* One step back for rows [begin, end) of the state, into state->next: P' [:, h columns] =
 * P (E W_hh) per row, its gates folded into W_hh (fold_gates ()) and one GEMM of depth A·H,
 * then the diagonal parts, the rescaling and the rows' blocks. */
static void
gated_advance_rows (gsize    begin,
                    gsize    end,
                    guint    range,
                    gpointer data)
{
  JacSequenceChainState *state = data;
  const JacSequence *self = state->sequence;
  const JacSequenceConfig *config = &self->config;
  gsize h = config->config.hidden;
  guint parts = config->cell == JAC_CELL_LSTM ? 2 : 1, g = jac_cell_n_gates (config->cell);
  gsize m = parts * h, step = config->steps - state->lag;
  StepCoefficients *k = state->coefficients;
  const JacTensor *product = state->product;
  JacTensor *next = state->next;
  double *folded = state->folded->data + range * m * h;
  const double *w = self->weight_hh->data;

  g_assert (range < state->ranges);
  for (gsize i = begin; i < end; i++)
    {
      double top = 0;
      int shift = 0;

      coefficients_compute (&k[i], self, step, state->row0 + i);
      fold_gates (k[i].e, w, parts, g, h, folded);
      jac_gemm (FALSE, FALSE, h, h, m, 1.0, product->data + i * h * m, m, folded, h, 0.0,
                next->data + i * h * m, m);
      for (gsize r = 0; r < h; r++)
        {
          const double *p = product->data + (i * h + r) * m;
          double *p_next = next->data + (i * h + r) * m;

          add_parts (p, k[i].d_h, h, parts, h, p_next, &top);
          if (parts == 2)
            {
              double top_c = 0;

              /* The c columns: no GEMM part, so from zero. */
              memset (p_next + h, 0, h * sizeof (double));
              add_parts (p, k[i].d_c, h, parts, h, p_next + h, &top_c);
              top = MAX (top, top_c);
            }
        }
      /* Powers of two keep the product within range, exactly, as the RNN's chain does. */
      if (top > 0 && isfinite (top) && ABS (ilogb (top)) > JAC_SEQUENCE_RESCALE_EXPONENT)
        shift = -ilogb (top);
      if (shift != 0)
        {
          for (gsize e = 0; e < h * m; e++)
            next->data[i * h * m + e] = ldexp (next->data[i * h * m + e], shift);
          state->exponent[i] -= shift;
        }
    }
  extract_rows (state, next, begin, end);
}

void
_jac_chain_gated_advance (JacSequenceChainState *state)
{
  JacTensor *product = state->product;

  g_assert (state->sequence->weight_hh != NULL);
  _jac_chain_advance_rows (state, gated_advance_rows);
  state->product = state->next, state->next = product;
  state->lag++;
  if (state->product->shape[2] == state->sequence->config.config.hidden)
    state->blocks = state->product;
}

void
_jac_chain_gated_clear (JacSequenceChainState *state)
{
  StepCoefficients *k = state->coefficients;

  for (gsize i = 0; i < state->rows; i++)
    coefficients_clear (&k[i]);
  g_clear_pointer (&state->coefficients, g_free);
}

/* ---- back-propagation through time ---- */

gboolean
jac_sequence_param_shape (const JacSequence  *self,
                          JacParam            param,
                          guint              *rank,
                          gsize              *shape,
                          GError            **error)
{
  const JacRnnConfig *c;
  gsize gh;

  g_return_val_if_fail (self != NULL && param < JAC_N_PARAMS, FALSE);

  c = &self->config.config;
  gh = jac_cell_n_gates (self->config.cell) * c->hidden;
  if (self->config.cell != JAC_CELL_RNN && param <= JAC_PARAM_B)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s is the RNN's name; the %s's weights are weight_ih_l0, weight_hh_l0, "
                   "bias_ih_l0 and bias_hh_l0", jac_param_name (param),
                   jac_cell_name (self->config.cell));
      return FALSE;
    }
  switch (param)
    {
    case JAC_PARAM_W_HH:
      *rank = 2, shape[0] = c->hidden, shape[1] = c->hidden;
      break;
    case JAC_PARAM_W_XH:
      *rank = 2, shape[0] = c->input, shape[1] = c->hidden;
      break;
    case JAC_PARAM_B:
      *rank = self->b->rank, shape[0] = self->b->shape[0], shape[1] = self->b->shape[1];
      break;
    case JAC_PARAM_WEIGHT_IH:
      *rank = 2, shape[0] = gh, shape[1] = c->input;
      break;
    case JAC_PARAM_WEIGHT_HH:
      *rank = 2, shape[0] = gh, shape[1] = c->hidden;
      break;
    case JAC_PARAM_BIAS_IH:
    case JAC_PARAM_BIAS_HH:
    default:
      *rank = 1, shape[0] = gh;
      break;
    }
  return TRUE;
}

gboolean
jac_sequence_backward (const JacSequence  *self,
                       const double       *upstream,
                       gsize               lag,
                       double             *grad_h,
                       double             *grad_c,
                       JacParam            param,
                       JacTensor          *param_grad,
                       GError            **error)
{
  const JacSequenceConfig *config;
  g_autoptr(JacTensor) made = NULL;
  StepCoefficients k;
  gsize n, h, d, m, gh;
  guint parts, g;
  const double *w;
  g_autofree double *grad = NULL, *grad_prev = NULL, *ga = NULL, *ga_x = NULL;

  g_return_val_if_fail (self != NULL && upstream != NULL, FALSE);

  config = &self->config;
  if (lag < 1 || lag > config->steps)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "lag %" G_GSIZE_FORMAT " is out of range 1 … T = %" G_GSIZE_FORMAT, lag,
                   config->steps);
      return FALSE;
    }
  if (param_grad != NULL)
    {
      guint rank;
      gsize shape[2];

      if (!jac_sequence_param_shape (self, param, &rank, shape, error))
        return FALSE;
      g_return_val_if_fail (param_grad->rank == rank && param_grad->shape[0] == shape[0], FALSE);
      jac_tensor_fill (param_grad, 0);
    }
  coefficients_init (&k, self);
  n = config->config.batch, h = k.hidden, d = config->config.input;
  parts = k.n_parts, g = k.n_gates, m = parts * h, gh = g * h;
  w = recurrent_weight (self, &made);
  grad = g_new0 (double, n * m);
  grad_prev = g_new0 (double, n * m);
  ga = g_new (double, n * gh);
  ga_x = g_new (double, n * gh);
  /* grad holds ∂L/∂u_s row by row: [i m + a H + l]. */
  for (gsize i = 0; i < n; i++)
    memcpy (grad + i * m + (config->output == JAC_STATE_C ? h : 0), upstream + i * h,
            h * sizeof (double));
  for (gsize s = config->steps; s + lag > config->steps; s--)
    {
      const double *h_prev = jac_sequence_state (self, s - 1);
      const double *x = jac_sequence_input (self, s);
      double *swap;

      /* ∂L/∂(pre-activations): ga = Σ_a grad[a] e[a], per row. */
      for (gsize i = 0; i < n; i++)
        {
          const double *gu = grad + i * m;

          coefficients_compute (&k, self, s, i);
          for (guint gate = 0; gate < g; gate++)
            for (gsize l = 0; l < h; l++)
              {
                double sum = 0, sum_x = 0;

                for (guint a = 0; a < parts; a++)
                  {
                    sum += gu[a * h + l] * k.e[(a * g + gate) * h + l];
                    sum_x += gu[a * h + l] * k.e_x[(a * g + gate) * h + l];
                  }
                ga[i * gh + gate * h + l] = sum;
                ga_x[i * gh + gate * h + l] = sum_x;
              }
          for (gsize l = 0; l < h; l++)
            {
              double direct = 0, carry = 0;

              for (guint a = 0; a < parts; a++)
                {
                  direct += gu[a * h + l] * k.d_h[a * h + l];
                  carry += gu[a * h + l] * k.d_c[a * h + l];
                }
              grad_prev[i * m + l] = direct;
              if (parts == 2)
                grad_prev[i * m + h + l] = carry;
            }
        }
      /* ∂L/∂h_{s−1} += ga W_hh (rows: batch). */
      jac_gemm (FALSE, FALSE, n, h, gh, 1.0, ga, gh, w, h, 1.0, grad_prev, m);
      if (param_grad != NULL)
        switch (param)
          {
          case JAC_PARAM_WEIGHT_HH:  /* ∂L/∂W_hh[(gate, j), q] = Σ_i ga[i, (gate, j)] h_prev[i, q] */
            jac_gemm (TRUE, FALSE, gh, h, n, 1.0, ga, gh, h_prev, h, 1.0, param_grad->data, h);
            break;
          case JAC_PARAM_WEIGHT_IH:
            jac_gemm (TRUE, FALSE, gh, d, n, 1.0, ga_x, gh, x, d, 1.0, param_grad->data, d);
            break;
          case JAC_PARAM_BIAS_HH:
          case JAC_PARAM_BIAS_IH:
            for (gsize i = 0; i < n; i++)
              for (gsize e = 0; e < gh; e++)
                param_grad->data[e] += (param == JAC_PARAM_BIAS_HH ? ga : ga_x)[i * gh + e];
            break;
          case JAC_PARAM_W_HH:  /* Jacscope's h W_hh: ∂L/∂W_hh = h_prevᵀ ga */
            jac_gemm (TRUE, FALSE, h, h, n, 1.0, h_prev, h, ga, h, 1.0, param_grad->data, h);
            break;
          case JAC_PARAM_W_XH:
            jac_gemm (TRUE, FALSE, d, h, n, 1.0, x, d, ga, h, 1.0, param_grad->data, h);
            break;
          case JAC_PARAM_B:
          default:
            for (gsize i = 0; i < n; i++)
              for (gsize l = 0; l < h; l++)
                param_grad->data[(param_grad->rank == 2 ? i * h : 0) + l] += ga[i * h + l];
            break;
          }
      swap = grad, grad = grad_prev, grad_prev = swap;
    }
  for (gsize i = 0; i < n; i++)
    {
      if (grad_h != NULL)
        memcpy (grad_h + i * h, grad + i * m, h * sizeof (double));
      if (grad_c != NULL && parts == 2)
        memcpy (grad_c + i * h, grad + i * m + h, h * sizeof (double));
    }
  coefficients_clear (&k);
  return TRUE;
}

static gboolean
check_upstream (const JacSequence  *self,
                const JacTensor    *upstream,
                GError            **error)
{
  const JacRnnConfig *c = &self->config.config;

  if (upstream->rank != 2 || upstream->shape[0] != c->batch || upstream->shape[1] != c->hidden)
    {
      g_autofree char *got = jac_tensor_shape_string (upstream);

      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "G has shape %s; it should be (N, H) = (%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
                   "), the shape of %s_T", got, c->batch, c->hidden,
                   self->config.output == JAC_STATE_C ? "c" : "h");
      return FALSE;
    }
  return TRUE;
}

JacTensor *
jac_sequence_param_vjp (const JacSequence  *self,
                        const JacTensor    *upstream,
                        JacParam            param,
                        GError            **error)
{
  g_autoptr(JacTensor) grad = NULL;
  guint rank;
  gsize shape[2];

  g_return_val_if_fail (self != NULL && upstream != NULL, NULL);

  if (!check_upstream (self, upstream, error)
      || !jac_sequence_param_shape (self, param, &rank, shape, error)
      || (grad = jac_tensor_new (rank, shape, error)) == NULL
      || !jac_sequence_backward (self, upstream->data, self->config.steps, NULL, NULL, param,
                                 grad, error))
    return NULL;
  return g_steal_pointer (&grad);
}

JacTensor *
jac_sequence_state_vjp (const JacSequence  *self,
                        const JacTensor    *upstream,
                        gsize               lag,
                        GError            **error)
{
  const JacRnnConfig *c;
  g_autoptr(JacTensor) grad = NULL;
  gboolean wrt_c;

  g_return_val_if_fail (self != NULL && upstream != NULL, NULL);

  c = &self->config.config;
  wrt_c = self->config.wrt == JAC_STATE_C;
  if (!check_upstream (self, upstream, error))
    return NULL;
  grad = jac_tensor_new_matrix (c->batch, c->hidden);
  if (lag == 0)
    {
      /* u_T itself: G, or zero for the other part. */
      if (self->config.output == self->config.wrt)
        memcpy (grad->data, upstream->data, grad->size * sizeof (double));
      return g_steal_pointer (&grad);
    }
  if (!jac_sequence_backward (self, upstream->data, lag, wrt_c ? NULL : grad->data,
                              wrt_c ? grad->data : NULL, 0, NULL, error))
    return NULL;
  return g_steal_pointer (&grad);
}

JacTensor *
jac_sequence_param_jacobian (const JacSequence  *self,
                             JacParam            param,
                             gsize               budget_bytes,
                             GError            **error)
{
  const JacRnnConfig *c;
  g_autoptr(JacTensor) jacobian = NULL;
  g_autoptr(JacTensor) grad = NULL;
  g_autofree double *upstream = NULL;
  gsize shape[4], param_shape[2] = { 0, 0 }, n_bytes, n_entries;
  guint rank;

  g_return_val_if_fail (self != NULL, NULL);

  c = &self->config.config;
  if (!jac_sequence_param_shape (self, param, &rank, param_shape, error))
    return NULL;
  shape[0] = c->batch, shape[1] = c->hidden;
  shape[2] = param_shape[0], shape[3] = param_shape[1];
  if (!jac_tensor_size_for_shape (2 + rank, shape, &n_entries, &n_bytes)
      || (budget_bytes > 0 && n_bytes > budget_bytes))
    {
      g_autofree char *text = jac_shape_string (2 + rank, shape);

      g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                   "∂%s_T/∂%s of shape %s is past the memory budget: give --grad G.npy and "
                   "--vjp-output for the BPTT gradient instead",
                   self->config.output == JAC_STATE_C ? "c" : "h", jac_param_name (param), text);
      return NULL;
    }
  if ((jacobian = jac_tensor_new (2 + rank, shape, error)) == NULL
      || (grad = jac_tensor_new (rank, param_shape, error)) == NULL)
    return NULL;
  upstream = g_new0 (double, c->batch * c->hidden);
  /* Row (i, j) of the Jacobian is the gradient of L = h_T[i, j]. */
  for (gsize e = 0; e < c->batch * c->hidden; e++)
    {
      upstream[e] = 1;
      if (!jac_sequence_backward (self, upstream, self->config.steps, NULL, NULL, param, grad,
                                  error))
        return NULL;
      memcpy (jacobian->data + e * grad->size, grad->data, grad->size * sizeof (double));
      upstream[e] = 0;
    }
  return g_steal_pointer (&jacobian);
}
