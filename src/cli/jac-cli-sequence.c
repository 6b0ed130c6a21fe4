/* jac-cli-sequence.c: through time on the command line: --steps T --lag k for the RNN, LSTM and
 * GRU, loaded sequences and PyTorch weights, BPTT gradients, `norms` and the cells compared. */
#define G_LOG_DOMAIN "jac-cli"

#include <math.h>
#include <string.h>

#include "cli/jac-cli-private.h"
#include "core/jac-atomic-file.h"
#include "core/jac-error.h"
#include "core/jac-npy.h"
#include "core/jac-npz.h"
#include "core/jac-sequence.h"
#include "render/jac-sequence-figure.h"

GOptionGroup *
_jac_cli_sequence_option_group (JacCliOptions *o)
{
  GOptionEntry entries[] = {
    { "steps", 0, 0, G_OPTION_ARG_FILENAME, &o->steps_text,
      "Unroll the cell over T steps: ∂h_T/∂h_{T−k} (compute, render, norms); "
      "left out, T follows --var x=FILE.npy of shape (T, N, D)", "T" },
    { "lag", 0, 0, G_OPTION_ARG_FILENAME, &o->lag_text, "The lag k, 1 … T (default 1)", "K" },
    { "cell", 0, 0, G_OPTION_ARG_FILENAME, &o->cell_text,
      "The recurrent cell: rnn (default), lstm or gru (PyTorch's equations)", "NAME" },
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &o->weights_path,
      "A PyTorch state dict saved with np.savez: weight_ih_l0, weight_hh_l0, bias_ih_l0, "
      "bias_hh_l0", "FILE.npz" },
    { "output-state", 0, 0, G_OPTION_ARG_FILENAME, &o->output_state_text,
      "The output: with --expr or --preset, any name the program assigns (c for the LSTM "
      "cell); through time h_T (h, the default) or the LSTM's c_T (c)", "NAME" },
    { "gain", 0, 0, G_OPTION_ARG_FILENAME, &o->gain_text,
      "Spectral radius of W_hh: W_hh is scaled to radius 1, then by GAIN (default 1); "
      "LSTM, GRU: PyTorch's W_hh times GAIN", "GAIN" },
    { "carry-bias", 0, 0, G_OPTION_ARG_FILENAME, &o->carry_bias_text,
      "LSTM, GRU: add B to the drawn bias of the gate that carries the state (f, z); "
      "0 is PyTorch's default, 1 to 3 the usual forget-gate initialisation", "B" },
    { "orthogonal", 0, 0, G_OPTION_ARG_NONE, &o->orthogonal, "Draw W_hh orthogonal", NULL },
    { "norm", 0, 0, G_OPTION_ARG_FILENAME, &o->norm_text,
      "render: the curves show spectral (default) or frobenius norms", "NAME" },
    { "shared-range", 0, 0, G_OPTION_ARG_NONE, &o->shared_range,
      "render: one colour range for every lag", NULL },
    { "compare-cells", 0, 0, G_OPTION_ARG_NONE, &o->compare_cells,
      "render: the RNN's, LSTM's and GRU's norms against k on the same sizes, seed and sequence",
      NULL },
    { NULL }
  };
  GOptionGroup *group = g_option_group_new ("sequence", "Through-time options:",
                                            "Show through-time options", NULL, NULL);

  _jac_cli_add_entries (group, entries, o->subcommand);
  return group;
}

void
_jac_cli_clear_sequence_options (JacCliOptions *o)
{
  g_free (o->steps_text);
  g_free (o->lag_text);
  g_free (o->gain_text);
  g_free (o->norm_text);
  g_free (o->cell_text);
  g_free (o->weights_path);
  g_free (o->output_state_text);
  g_free (o->carry_bias_text);
  g_clear_pointer (&o->from_weights, g_hash_table_unref);
}

static const char *
var_path (JacCliOptions *o,
          const char    *name)
{
  gsize length = strlen (name);

  for (guint n = 0; o->var_texts != NULL && o->var_texts[n] != NULL; n++)
    if (strncmp (o->var_texts[n], name, length) == 0 && o->var_texts[n][length] == '=')
      return o->var_texts[n] + length + 1;
  return NULL;
}

gboolean
_jac_cli_detect_sequence (JacCliOptions  *o,
                          GError        **error)
{
  const char *path = var_path (o, "x");
  g_autoptr(JacTensor) x = NULL;

  if (o->steps_text != NULL || path == NULL || o->expr_text != NULL)
    return TRUE;
  /* Read twice (here and with the other --var), but only the header decides: a rank-3 x is a
   * sequence, a rank-2 one the one-step view's x. */
  x = jac_npy_read (path, error);
  if (x == NULL)
    return FALSE;
  if (x->rank == 3)
    o->steps_text = g_strdup ("");
  return TRUE;
}

gboolean
_jac_cli_load_step_weights (JacCliOptions  *o,
                            GError        **error)
{
  static const char * const names[] = { "W_hh", "W_xh", "b" };
  g_autoptr(GHashTable) dict = NULL;
  JacSequenceData data = { 0 };
  JacTensor *converted[3] = { NULL };

  if (o->weights_path == NULL)
    return TRUE;
  if ((dict = jac_npz_read (o->weights_path, error)) == NULL)
    return FALSE;
  if (!jac_sequence_data_from_state_dict (dict, JAC_CELL_RNN, &data, error)
      || !jac_sequence_rnn_weights_from_pytorch (data.weight_ih, data.weight_hh, data.bias_ih,
                                                 data.bias_hh, &converted[0], &converted[1],
                                                 &converted[2], error))
    {
      g_prefix_error (error, "%s: ", o->weights_path);
      return FALSE;
    }
  for (guint k = 0; k < 3; k++)
    {
      if (g_hash_table_contains (o->loaded_by_name, names[k]))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_USAGE,
                       "--var %s and --weights both give %s: give one", names[k], names[k]);
          for (guint j = k; j < 3; j++)
            jac_tensor_free (converted[j]);
          return FALSE;
        }
      g_hash_table_replace (o->loaded_by_name, g_strdup (names[k]), converted[k]);
    }
  return TRUE;
}

/* The cell --weights is for: the preset's, or else the state dict's own (G = rows / H). */
static gboolean
program_cell (JacCliOptions  *o,
              GHashTable     *dict,
              JacCell        *cell,
              GError        **error)
{
  if (o->preset_text != NULL && jac_cell_from_name (o->preset_text, cell))
    return TRUE;
  return jac_cell_from_state_dict (dict, cell, error);
}

/* D and H follow the weights; --input or --hidden saying otherwise is an error. */
static gboolean
take_program_sizes (JacCliOptions    *o,
                    const JacTensor  *weight_ih,
                    const JacTensor  *weight_hh,
                    GError          **error)
{
  gsize d = weight_ih->shape[1], h = weight_hh->shape[1];

  if ((o->input_text != NULL && o->config.input != d)
      || (o->hidden_text != NULL && o->config.hidden != h))
    {
      gboolean input = o->input_text != NULL && o->config.input != d;

      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s %" G_GSIZE_FORMAT " disagrees with %s = %" G_GSIZE_FORMAT
                   " of the weights (leave it out)", input ? "--input" : "--hidden",
                   input ? o->config.input : o->config.hidden, input ? "D" : "H",
                   input ? d : h);
      return FALSE;
    }
  o->config.input = d;
  o->config.hidden = h;
  return TRUE;
}

/* The state dict's weights as the variables of the program (--preset lstm or gru, or an
 * --expr in their names); an RNN's as W_hh, W_xh and b. */
static gboolean
program_weights (JacCliOptions  *o,
                 GHashTable     *dict,
                 GHashTable     *into,
                 GError        **error)
{
  JacSequenceData data = { 0 };
  JacCell cell;
  JacTensor *rnn[3] = { NULL };

  if (!program_cell (o, dict, &cell, error)
      || !jac_sequence_data_from_state_dict (dict, cell, &data, error))
    return FALSE;
  if (cell != JAC_CELL_RNN)
    return jac_cell_program_variables_from_pytorch (cell, data.weight_ih, data.weight_hh,
                                                    data.bias_ih, data.bias_hh, into, error)
           && take_program_sizes (o, data.weight_ih, data.weight_hh, error);
  if (!jac_sequence_rnn_weights_from_pytorch (data.weight_ih, data.weight_hh, data.bias_ih,
                                              data.bias_hh, &rnn[0], &rnn[1], &rnn[2], error))
    return FALSE;
  g_hash_table_replace (into, g_strdup ("W_hh"), rnn[0]);
  g_hash_table_replace (into, g_strdup ("W_xh"), rnn[1]);
  g_hash_table_replace (into, g_strdup ("b"), rnn[2]);
  return take_program_sizes (o, data.weight_ih, data.weight_hh, error);
}

gboolean
_jac_cli_load_program_weights (JacCliOptions  *o,
                               GError        **error)
{
  g_autoptr(GHashTable) dict = NULL;
  g_autoptr(GHashTable) weights = NULL;
  GHashTableIter iter;
  gpointer name, value;

  if (o->weights_path == NULL || o->expr_text == NULL)
    return TRUE;
  weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) jac_tensor_free);
  if ((dict = jac_npz_read (o->weights_path, error)) == NULL)
    return FALSE;
  if (!program_weights (o, dict, weights, error))
    {
      g_prefix_error (error, "%s: ", o->weights_path);
      return FALSE;
    }
  o->from_weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_iter_init (&iter, weights);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      if (g_hash_table_contains (o->loaded_by_name, name))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_USAGE,
                       "--var %s and --weights both give %s: give one", (const char *) name,
                       (const char *) name);
          return FALSE;
        }
      g_hash_table_add (o->from_weights, g_strdup (name));
      g_hash_table_iter_steal (&iter);
      g_hash_table_replace (o->loaded_by_name, name, value);
    }
  return TRUE;
}

/* What --wrt names through time: a state (h, c) or a weight. */
typedef struct
{
  gboolean is_param;
  JacState state;
  JacParam param;
} Wrt;

static gboolean
usage_error (GError    **error,
             const char *format,
             ...) G_GNUC_PRINTF (2, 3);

static gboolean
usage_error (GError    **error,
             const char *format,
             ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, JAC_ERROR, JAC_ERROR_USAGE, message);
  return FALSE;
}

static gboolean
parse_wrt (const char  *text,
           Wrt         *wrt,
           GError     **error)
{
  memset (wrt, 0, sizeof *wrt);
  if (text == NULL || g_str_equal (text, "h") || g_str_equal (text, "h_prev"))
    wrt->state = JAC_STATE_H;
  else if (g_str_equal (text, "c"))
    wrt->state = JAC_STATE_C;
  else if (jac_param_from_name (text, &wrt->param))
    wrt->is_param = TRUE;
  else
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--wrt: unknown “%s” through time (expected h, c, W_hh, W_xh, b, or "
                   "PyTorch's weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0)", text);
      return FALSE;
    }
  return TRUE;
}

/* The data options: --var x, h0, c0 (and W_hh, W_xh, b for the RNN), --weights. */
static gboolean
gather_data (JacCliOptions    *o,
             JacCell           cell,
             GHashTable      **state_dict,
             JacSequenceData  *data,
             GError          **error)
{
  GHashTableIter iter;
  gpointer name, value;

  memset (data, 0, sizeof *data);
  g_hash_table_iter_init (&iter, o->loaded_by_name);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      if (g_str_equal (name, "x"))
        data->x = value;
      else if (g_str_equal (name, "h0") || g_str_equal (name, "h_prev"))
        data->h0 = value;
      else if (g_str_equal (name, "c0"))
        data->c0 = value;
      else if (g_str_equal (name, "W_hh"))
        data->w_hh = value;
      else if (g_str_equal (name, "W_xh"))
        data->w_xh = value;
      else if (g_str_equal (name, "b"))
        data->b = value;
      else
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "--var: unknown “%s” through time (expected x (T, N, D), h0 (N, H), "
                       "c0 (N, H); W_hh, W_xh, b for the RNN)", (const char *) name);
          return FALSE;
        }
    }
  if (o->weights_path != NULL)
    {
      if (data->w_hh != NULL || data->w_xh != NULL || data->b != NULL)
        return usage_error (error, "--var %s and --weights both give the weights: give one",
                            data->w_hh ? "W_hh" : data->w_xh ? "W_xh" : "b");
      if ((*state_dict = jac_npz_read (o->weights_path, error)) == NULL)
        return FALSE;
      if (!jac_sequence_data_from_state_dict (*state_dict, cell, data, error))
        {
          g_prefix_error (error, "%s: ", o->weights_path);
          return FALSE;
        }
    }
  return TRUE;
}

typedef struct
{
  JacSequenceConfig config;
  JacSequenceData   data;
  GHashTable       *state_dict;
  Wrt               wrt;
  gboolean          lag_given;
  guint64           lag;
} SequenceRequest;

static void
sequence_request_clear (SequenceRequest *r)
{
  g_clear_pointer (&r->state_dict, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SequenceRequest, sequence_request_clear)

/* Everything but building: the config, the data and what to differentiate. */
static gboolean
parse_request (JacCliOptions    *o,
               SequenceRequest  *r,
               GError          **error)
{
  JacSequenceConfig *config = &r->config;
  guint64 steps = 0;
  gboolean loaded_weights;

  /* A preset is an expression too: name what was typed. */
  if (o->expr_text != NULL && o->preset_text != NULL)
    return usage_error (error, "--preset does not go with --steps: through time is about a "
                               "recurrent cell (--cell rnn, lstm or gru)");
  if (o->expr_text != NULL)
    return usage_error (error, "--expr does not go with --steps: through time is about a "
                               "recurrent cell (--cell rnn, lstm or gru)");
  jac_sequence_config_init_default (config);
  config->config = o->config;
  if (o->cell_text != NULL)
    {
      int cell;

      if (!_jac_cli_parse_enum (JAC_TYPE_CELL, "--cell", o->cell_text, -1, &cell, error))
        return FALSE;
      config->cell = cell;
    }
  if (config->cell != JAC_CELL_RNN && (o->activation_text != NULL || o->b_shape_text != NULL))
    return usage_error (error, "%s does not apply to the %s: its gates use sigmoid and tanh, "
                               "its biases are PyTorch's (G·H)",
                        o->activation_text ? "--activation" : "--b-shape",
                        jac_cell_name (config->cell));
  if (o->output_state_text != NULL)
    {
      if (g_str_equal (o->output_state_text, "c"))
        config->output = JAC_STATE_C;
      else if (!g_str_equal (o->output_state_text, "h"))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "--output-state: unknown “%s” (expected h or c)", o->output_state_text);
          return FALSE;
        }
    }
  if (!parse_wrt (o->wrt_text, &r->wrt, error))
    return FALSE;
  if (!r->wrt.is_param)
    config->wrt = r->wrt.state;
  if (config->cell != JAC_CELL_LSTM && (config->output == JAC_STATE_C
                                        || config->wrt == JAC_STATE_C))
    return usage_error (error, "%s c: the cell state belongs to the LSTM (--cell lstm)",
                        config->output == JAC_STATE_C ? "--output-state" : "--wrt");
  if (o->upstream_text != NULL)
    return usage_error (error, "--upstream does not go with --steps: give G as --grad G.npy");
  if (o->vjp_path != NULL && o->upstream == NULL)
    return usage_error (error, "--vjp-output needs --grad G.npy (N, H) through time");
  if (o->steps_text[0] != '\0'
      && !g_ascii_string_to_unsigned (o->steps_text, 10, 1, 100000, &steps, NULL))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--steps: “%s” is not a whole number from 1 to 100000", o->steps_text);
      return FALSE;
    }
  config->steps = steps;
  config->orthogonal = o->orthogonal;
  if (o->gain_text != NULL)
    {
      char *end = NULL;

      config->gain = g_ascii_strtod (o->gain_text, &end);
      if (end == o->gain_text || *end != '\0' || !isfinite (config->gain) || config->gain < 0)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "--gain: “%s” is not a number ≥ 0", o->gain_text);
          return FALSE;
        }
    }
  if (o->carry_bias_text != NULL)
    {
      char *end = NULL;

      config->carry_bias = g_ascii_strtod (o->carry_bias_text, &end);
      if (end == o->carry_bias_text || *end != '\0' || !isfinite (config->carry_bias))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "--carry-bias: “%s” is not a number", o->carry_bias_text);
          return FALSE;
        }
      if (config->cell == JAC_CELL_RNN && !o->compare_cells)
        return usage_error (error, "--carry-bias does not apply to the RNN, which has no gates "
                                   "(--cell lstm or gru)");
    }
  if (config->cell != JAC_CELL_RNN && o->orthogonal)
    return usage_error (error, "--orthogonal does not apply to the %s (the RNN's W_hh only)",
                        jac_cell_name (config->cell));
  if (!gather_data (o, config->cell, &r->state_dict, &r->data, error))
    return FALSE;
  loaded_weights = r->data.w_hh != NULL || r->data.weight_hh != NULL;
  if (loaded_weights && (o->gain_text != NULL || o->orthogonal || o->carry_bias_text != NULL))
    return usage_error (error, "%s does not apply to loaded weights (it shapes drawn ones)",
                        o->gain_text ? "--gain" : o->orthogonal ? "--orthogonal"
                                                                : "--carry-bias");
  r->lag_given = o->lag_text != NULL;
  r->lag = 1;
  return TRUE;
}

static gboolean
parse_lag (JacCliOptions    *o,
           SequenceRequest  *r,
           gsize             steps,
           GError          **error)
{
  if (o->lag_text != NULL && !g_ascii_string_to_unsigned (o->lag_text, 10, 1, steps, &r->lag, NULL))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--lag: “%s” is not a whole number from 1 to T = %" G_GSIZE_FORMAT,
                   o->lag_text, steps);
      return FALSE;
    }
  return TRUE;
}

static JacSequence *
build_from (JacCliOptions    *o,
            SequenceRequest  *r,
            GError          **error)
{
  JacSequence *sequence;

  if (r->config.steps == 0 && r->data.x == NULL)
    return usage_error (error, "missing --steps T (or --var x=FILE.npy of shape (T, N, D))"),
           NULL;
  sequence = jac_sequence_new_with_data (&r->config, &r->data, error);
  if (sequence != NULL && !parse_lag (o, r, sequence->config.steps, error))
    g_clear_pointer (&sequence, jac_sequence_free);
  return sequence;
}

/* The sequence the options describe, and the lag they ask for. */
JacSequence *
_jac_cli_build_sequence (JacCliOptions  *o,
                         gsize          *lag,
                         GError        **error)
{
  g_auto(SequenceRequest) r = { 0 };
  JacSequence *sequence;

  if (!parse_request (o, &r, error) || (sequence = build_from (o, &r, error)) == NULL)
    return NULL;
  if (lag != NULL)
    *lag = r.lag;
  return sequence;
}

static int
status_of (const GError *error)
{
  return g_error_matches (error, JAC_ERROR, JAC_ERROR_USAGE) ? 2 : 1;
}

int
_jac_cli_compute_sequence (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_auto(SequenceRequest) r = { 0 };
  g_autoptr(JacSequence) sequence = NULL;
  g_autoptr(JacStructured) jacobian = NULL;
  g_autoptr(JacTensor) dense = NULL;
  g_autoptr(JacTensor) vjp = NULL;

  if (!parse_request (o, &r, &error))
    goto fail;
  if (r.wrt.is_param && r.lag_given)
    {
      usage_error (&error, "--lag does not go with --wrt %s: a weight is shared by every step, "
                           "its gradient sums over all of them", jac_param_name (r.wrt.param));
      goto fail;
    }
  if (o->compare_cells)
    {
      usage_error (&error, "--compare-cells goes with render");
      goto fail;
    }
  if (o->grad_path != NULL && o->vjp_path == NULL)
    {
      usage_error (&error, "--grad goes with --vjp-output F.npy through time: G contracts the "
                           "Jacobian into the gradient written there");
      goto fail;
    }
  if ((sequence = build_from (o, &r, &error)) == NULL)
    goto fail;
  if (r.wrt.is_param)
    {
      if ((o->output_path != NULL
           && (dense = jac_sequence_param_jacobian (sequence, r.wrt.param, o->budget_bytes,
                                                    &error)) == NULL)
          || (o->vjp_path != NULL
              && (vjp = jac_sequence_param_vjp (sequence, o->upstream, r.wrt.param,
                                                &error)) == NULL))
        goto fail;
    }
  else
    {
      if ((o->output_path != NULL
           && ((jacobian = jac_sequence_jacobian (sequence, r.lag, &error)) == NULL
               || (dense = jac_structured_to_dense (jacobian, o->budget_bytes, &error)) == NULL))
          || (o->vjp_path != NULL
              && (vjp = jac_sequence_state_vjp (sequence, o->upstream, r.lag, &error)) == NULL))
        goto fail;
    }
  /* Both written only once both are computed, so a failure leaves neither. */
  if ((dense != NULL && !jac_npy_write (o->output_path, dense, NULL, &error))
      || (vjp != NULL && !jac_npy_write (o->vjp_path, vjp, NULL, &error)))
    goto fail;
  return 0;

fail:
  _jac_cli_fail ("compute", error);
  return status_of (error);
}

static gboolean
parse_norm (const char       *text,
            JacSequenceNorm  *norm,
            GError          **error)
{
  int value = JAC_SEQUENCE_NORM_SPECTRAL;

  if (text != NULL && !_jac_cli_parse_enum (JAC_TYPE_SEQUENCE_NORM, "--norm", text, -1, &value,
                                            error))
    return FALSE;
  *norm = value;
  return TRUE;
}

/* Options that describe one Jacobian, not every lag's norms. */
static gboolean
check_norms_options (JacCliOptions    *o,
                     SequenceRequest  *r,
                     const char       *subcommand,
                     GError          **error)
{
  if (r->wrt.is_param)
    return usage_error (error, "--wrt %s does not go with %s, which is about ∂h_T/∂h_{T−k} for "
                               "every lag (compute the weight's gradient)",
                        jac_param_name (r->wrt.param), subcommand);
  if (o->grad_path != NULL)
    return usage_error (error, "--grad does not go with %s (compute --vjp-output takes it)",
                        subcommand);
  return TRUE;
}

static int
render_compare_cells (JacCliOptions   *o,
                      SequenceRequest *r,
                      JacSequenceView *view)
{
  g_autoptr(GError) error = NULL;
  JacSequence *sequences[4] = { NULL };
  JacSequenceNorms *norms[4] = { NULL };
  gboolean ok = TRUE;

  if (o->weights_path != NULL || r->data.w_hh != NULL || r->data.w_xh != NULL
      || r->data.b != NULL || r->data.c0 != NULL || o->cell_text != NULL
      || r->config.output != JAC_STATE_H || r->config.wrt != JAC_STATE_H)
    {
      usage_error (&error, "--compare-cells draws the three cells from one seed on the same x "
                           "and h0: %s does not go with it",
                   o->weights_path ? "--weights" : o->cell_text ? "--cell"
                   : r->data.c0 ? "--var c0" : r->config.output != JAC_STATE_H
                   ? "--output-state" : r->config.wrt != JAC_STATE_H ? "--wrt" : "--var W_*");
      _jac_cli_fail ("render", error);
      return 2;
    }
  if (o->lag_text != NULL)
    {
      usage_error (&error, "--lag does not go with --compare-cells, which shows every lag");
      _jac_cli_fail ("render", error);
      return 2;
    }
  /* The RNN, LSTM and GRU on one config, then the LSTM's cell state, ∂c_T/∂c_{T−k}. */
  for (guint k = 0; ok && k < 4; k++)
    {
      r->config.cell = k == 3 ? JAC_CELL_LSTM : (JacCell) k;
      r->config.output = r->config.wrt = k == 3 ? JAC_STATE_C : JAC_STATE_H;
      ok = (sequences[k] = jac_sequence_new_with_data (&r->config, &r->data, &error)) != NULL
           && (norms[k] = jac_sequence_norms (sequences[k], FALSE, &error)) != NULL;
    }
  ok = ok && jac_sequence_compare_figure_save (o->output_path, o->width, o->height,
                                               o->save_scale,
                                               (const JacSequence * const *) sequences,
                                               (const JacSequenceNorms * const *) norms, view,
                                               &o->style, &error);
  for (guint k = 0; k < 4; k++)
    {
      jac_sequence_free (sequences[k]);
      jac_sequence_norms_free (norms[k]);
    }
  if (!ok)
    {
      _jac_cli_fail ("render", error);
      return _jac_cli_render_status (error);
    }
  return 0;
}

int
_jac_cli_render_sequence (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_auto(SequenceRequest) r = { 0 };
  g_autoptr(JacSequence) sequence = NULL;
  g_autoptr(JacStructured) jacobian = NULL;
  g_autoptr(JacSequenceNorms) norms = NULL;
  JacFigureFormat format;
  JacSequenceView view;

  jac_sequence_view_init (&view);
  view.shared_range = o->shared_range;
  if (!jac_figure_format_from_path (o->output_path, &format, &error) ||
      !_jac_cli_resolve_figure_size (o, format, &error) ||
      !parse_norm (o->norm_text, &view.norm, &error) ||
      !parse_request (o, &r, &error) ||
      !check_norms_options (o, &r, "render", &error))
    {
      _jac_cli_fail ("render", error);
      return _jac_cli_render_status (error);
    }
  if (o->compare_cells)
    return render_compare_cells (o, &r, &view);
  if ((sequence = build_from (o, &r, &error)) == NULL ||
      (view.lag = r.lag, FALSE) ||
      (jacobian = jac_sequence_jacobian (sequence, view.lag, &error)) == NULL ||
      (norms = jac_sequence_norms (sequence, FALSE, &error)) == NULL ||
      !jac_sequence_figure_save (o->output_path, o->width, o->height, o->save_scale, sequence,
                                 jacobian, norms, &view, &o->style, &error))
    {
      _jac_cli_fail ("render", error);
      return _jac_cli_render_status (error);
    }
  return 0;
}

int
_jac_cli_run_norms (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_auto(SequenceRequest) r = { 0 };
  g_autoptr(JacSequence) sequence = NULL;
  g_autoptr(JacSequenceNorms) norms = NULL;

  if (o->steps_text == NULL)
    {
      g_printerr ("jacscope norms: missing --steps T (or --var x=FILE.npy of shape (T, N, D))\n");
      return 2;
    }
  if (!parse_request (o, &r, &error) || !check_norms_options (o, &r, "norms", &error))
    goto fail;
  if (o->lag_text != NULL || o->vjp_path != NULL || o->compare_cells)
    {
      usage_error (&error, "%s does not go with norms, which writes every lag",
                   o->lag_text ? "--lag" : o->vjp_path ? "--vjp-output" : "--compare-cells");
      goto fail;
    }
  if ((sequence = build_from (o, &r, &error)) == NULL ||
      (norms = jac_sequence_norms (sequence, FALSE, &error)) == NULL)
    goto fail;

  if (sequence->config.cell == JAC_CELL_RNN)
    g_print ("# spectral radius of W_hh: %.17g\n", norms->spectral_radius);
  else
    g_print ("# cell: %s, ∂%s_T/∂%s_{T−k}\n", jac_cell_name (sequence->config.cell),
             sequence->config.output == JAC_STATE_C ? "c" : "h",
             sequence->config.wrt == JAC_STATE_C ? "c" : "h");
  g_print ("k,row,spectral,frobenius\n");
  for (gsize k = 1; k <= norms->steps; k++)
    for (gsize i = 0; i < norms->batch; i++)
      g_print ("%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT ",%.17g,%.17g\n", k, i,
               jac_sequence_norms_get (norms, JAC_SEQUENCE_NORM_SPECTRAL, k, i),
               jac_sequence_norms_get (norms, JAC_SEQUENCE_NORM_FROBENIUS, k, i));
  return 0;

fail:
  _jac_cli_fail ("norms", error);
  return status_of (error);
}
