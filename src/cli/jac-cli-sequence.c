/* jac-cli-sequence.c: the unrolled RNN on the command line: --steps T --lag k, and `norms`. */
#define G_LOG_DOMAIN "jac-cli"

#include <math.h>

#include "cli/jac-cli-private.h"
#include "core/jac-atomic-file.h"
#include "core/jac-error.h"
#include "core/jac-npy.h"
#include "core/jac-sequence.h"
#include "render/jac-sequence-figure.h"

GOptionGroup *
_jac_cli_sequence_option_group (JacCliOptions *o)
{
  GOptionEntry entries[] = {
    { "steps", 0, 0, G_OPTION_ARG_FILENAME, &o->steps_text,
      "Unroll the RNN over T steps: ∂h_T/∂h_{T−k} (compute, render, norms)", "T" },
    { "lag", 0, 0, G_OPTION_ARG_FILENAME, &o->lag_text, "The lag k, 1 … T (default 1)", "K" },
    { "gain", 0, 0, G_OPTION_ARG_FILENAME, &o->gain_text,
      "Spectral radius of W_hh: W_hh is scaled to radius 1, then by GAIN (default 1)", "GAIN" },
    { "orthogonal", 0, 0, G_OPTION_ARG_NONE, &o->orthogonal, "Draw W_hh orthogonal", NULL },
    { "norm", 0, 0, G_OPTION_ARG_FILENAME, &o->norm_text,
      "render: the curves show spectral (default) or frobenius norms", "NAME" },
    { "shared-range", 0, 0, G_OPTION_ARG_NONE, &o->shared_range,
      "render: one colour range for every lag", NULL },
    { NULL }
  };
  GOptionGroup *group = g_option_group_new ("sequence", "Through-time options:",
                                            "Show through-time options", NULL, NULL);

  g_option_group_add_entries (group, entries);
  return group;
}

void
_jac_cli_clear_sequence_options (JacCliOptions *o)
{
  g_free (o->steps_text);
  g_free (o->lag_text);
  g_free (o->gain_text);
  g_free (o->norm_text);
}

/* The sequence the options describe, and the lag they ask for. */
JacSequence *
_jac_cli_build_sequence (JacCliOptions  *o,
                gsize          *lag,
                GError        **error)
{
  JacSequenceConfig config;
  guint64 steps, k = 1;

  if (o->expr_text != NULL || g_hash_table_size (o->loaded_by_name) > 0 || o->grad_path)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--steps: the unrolled RNN takes its variables from the seed; "
                   "--expr, --var and --grad do not apply");
      return NULL;
    }
  if (!g_ascii_string_to_unsigned (o->steps_text, 10, 1, 100000, &steps, NULL))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--steps: “%s” is not a whole number from 1 to 100000", o->steps_text);
      return NULL;
    }
  if (o->lag_text != NULL && !g_ascii_string_to_unsigned (o->lag_text, 10, 1, steps, &k, NULL))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--lag: “%s” is not a whole number from 1 to %" G_GUINT64_FORMAT,
                   o->lag_text, steps);
      return NULL;
    }

  jac_sequence_config_init_default (&config);
  config.config = o->config;
  config.steps = steps;
  config.orthogonal = o->orthogonal;
  if (o->gain_text != NULL)
    {
      char *end = NULL;

      config.gain = g_ascii_strtod (o->gain_text, &end);
      if (end == o->gain_text || *end != '\0' || !isfinite (config.gain) || config.gain < 0)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "--gain: “%s” is not a number ≥ 0", o->gain_text);
          return NULL;
        }
    }
  if (lag != NULL)
    *lag = k;
  return jac_sequence_new (&config, error);
}

int
_jac_cli_compute_sequence (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacSequence) sequence = NULL;
  g_autoptr(JacStructured) jacobian = NULL;
  g_autoptr(JacTensor) dense = NULL;
  gsize lag;

  if ((sequence = _jac_cli_build_sequence (o, &lag, &error)) == NULL ||
      (jacobian = jac_sequence_jacobian (sequence, lag, &error)) == NULL ||
      (dense = jac_structured_to_dense (jacobian, o->budget_bytes, &error)) == NULL ||
      !jac_npy_write (o->output_path, dense, NULL, &error))
    {
      _jac_cli_fail ("compute", error);
      return 1;
    }
  return 0;
}

static gboolean
parse_norm (const char       *text,
            JacSequenceNorm  *norm,
            GError          **error)
{
  if (text == NULL || g_strcmp0 (text, "spectral") == 0)
    *norm = JAC_SEQUENCE_NORM_SPECTRAL;
  else if (g_strcmp0 (text, "frobenius") == 0)
    *norm = JAC_SEQUENCE_NORM_FROBENIUS;
  else
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--norm: unknown “%s” (expected spectral or frobenius)", text);
      return FALSE;
    }
  return TRUE;
}

int
_jac_cli_render_sequence (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
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
      (sequence = _jac_cli_build_sequence (o, &view.lag, &error)) == NULL ||
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
  g_autoptr(JacSequence) sequence = NULL;
  g_autoptr(JacSequenceNorms) norms = NULL;

  if (o->steps_text == NULL)
    {
      g_printerr ("jacscope norms: missing --steps T\n");
      return 2;
    }
  if ((sequence = _jac_cli_build_sequence (o, NULL, &error)) == NULL ||
      (norms = jac_sequence_norms (sequence, FALSE, &error)) == NULL)
    {
      _jac_cli_fail ("norms", error);
      return 1;
    }

  g_print ("# spectral radius of W_hh: %.17g\n", norms->spectral_radius);
  g_print ("k,row,spectral,frobenius\n");
  for (gsize k = 1; k <= norms->steps; k++)
    for (gsize i = 0; i < norms->batch; i++)
      g_print ("%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT ",%.17g,%.17g\n", k, i,
               jac_sequence_norms_get (norms, JAC_SEQUENCE_NORM_SPECTRAL, k, i),
               jac_sequence_norms_get (norms, JAC_SEQUENCE_NORM_FROBENIUS, k, i));
  return 0;
}
