/* jac-cli-compute.c: `compute`, its outputs (-o, --vjp-output, --zeros-output) and --per-sample. */
#define G_LOG_DOMAIN "jac-cli"

#include <glib/gstdio.h>
#include <string.h>

#include "cli/jac-cli-private.h"
#include "core/jac-atomic-file.h"
#include "core/jac-error.h"
#include "core/jac-npy.h"

GOptionGroup *
_jac_cli_compute_option_group (JacCliOptions *o)
{
  GOptionEntry entries[] = {
    { "zeros-output", 0, 0, G_OPTION_ARG_FILENAME, &o->zeros_path,
      "Write the structural-zero mask (|u1, 1 = forced to 0 by a δ), shape out + wrt", "FILE.npy" },
    { "per-sample", 0, 0, G_OPTION_ARG_NONE, &o->per_sample,
      "-o writes the N blocks J[i, :, i, :] (N, J, Q) of a batch-diagonal Jacobian", NULL },
    { NULL }
  };
  GOptionGroup *group = g_option_group_new ("compute", "Compute options:",
                                            "Show compute options", o, NULL);

  _jac_cli_add_entries (group, entries, o->subcommand);
  return group;
}

void
_jac_cli_check_compute_combinations (const char     *subcommand,
                                     JacCliOptions  *o,
                                     const char    **option,
                                     const char    **why)
{
  const char *name = o->zeros_path != NULL ? "--zeros-output" :
                     o->per_sample ? "--per-sample" : NULL;

  if (o->hessian && !g_str_equal (subcommand, "compute") && !g_str_equal (subcommand, "render")
      && !g_str_equal (subcommand, "derive"))
    {
      *option = "--hessian", *why = "goes with compute, render or derive";
      return;
    }
  if (o->hessian && o->steps_text != NULL)
    {
      *option = "--hessian", *why = "is for a scalar expression, not --steps";
      return;
    }
  if (o->hessian && o->per_sample)
    {
      *option = "--per-sample", *why = "is for a first derivative, not --hessian";
      return;
    }
  if (name == NULL)
    return;
  if (!g_str_equal (subcommand, "compute"))
    *option = name, *why = "goes with compute";
  else if (o->steps_text != NULL)
    *option = name, *why = "is for one step, not --steps";
  else if (o->per_sample && o->output_path == NULL)
    *option = "--per-sample", *why = "needs -o FILE.npy for the blocks";
}

/* Whether two paths name one file: the same inode when both exist, else the same absolute name. */
static gboolean
same_file (const char *a,
           const char *b)
{
  GStatBuf sa, sb;
  g_autofree char *ca = NULL;
  g_autofree char *cb = NULL;

  if (g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  ca = g_canonicalize_filename (a, NULL);
  cb = g_canonicalize_filename (b, NULL);
  return g_str_equal (ca, cb);
}

typedef struct
{
  const char *option;
  const char *path;
} Output;

/* An output must not replace an input, nor another output. */
static gboolean
check_outputs (JacCliOptions  *o,
               const Output   *outputs,
               guint           n_outputs,
               GError        **error)
{
  for (guint k = 0; k < n_outputs; k++)
    {
      for (guint m = 0; m < k; m++)
        if (same_file (outputs[k].path, outputs[m].path))
          {
            g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "%s and %s both name %s",
                         outputs[m].option, outputs[k].option, outputs[k].path);
            return FALSE;
          }
      if (o->grad_path != NULL && same_file (outputs[k].path, o->grad_path))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "%s would overwrite the input --grad %s", outputs[k].path, o->grad_path);
          return FALSE;
        }
      for (guint n = 0; o->var_texts != NULL && o->var_texts[n] != NULL; n++)
        {
          const char *eq = strchr (o->var_texts[n], '=');

          if (eq != NULL && same_file (outputs[k].path, eq + 1))
            {
              g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                           "%s would overwrite the input --var %s", outputs[k].path,
                           o->var_texts[n]);
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* What -o writes: the dense tensor, or with --per-sample the diagonal blocks. */
static JacTensor *
main_output (JacCliOptions      *o,
             const JacAnalysis  *analysis,
             GError            **error)
{
  if (o->per_sample)
    return jac_analysis_per_sample (analysis, error);
  return jac_structured_to_dense (analysis->jacobian, o->budget_bytes, error);
}

static gboolean
write_zeros (JacAtomicFile      *file,
             const JacAnalysis  *analysis,
             GError            **error)
{
  gsize shape[JAC_MAX_RANK];
  guint rank;
  g_autofree guint8 *mask = jac_analysis_structural_zero_mask (analysis, &rank, shape, error);

  return mask != NULL && jac_npy_write_u1_stream (jac_atomic_file_get_stream (file), rank, shape,
                                                  mask, error);
}

/* Every output is complete before any is renamed into place. */
static gboolean
write_outputs (JacCliOptions      *o,
               const JacAnalysis  *analysis,
               const JacTensor    *dense_or_blocks,
               const Output       *outputs,
               guint               n_outputs,
               GError            **error)
{
  JacAtomicFile *files[3] = { NULL, NULL, NULL };
  gboolean ok = TRUE;

  g_assert (n_outputs <= G_N_ELEMENTS (files));
  for (guint k = 0; ok && k < n_outputs; k++)
    {
      const char *option = outputs[k].option;

      ok = (files[k] = jac_atomic_file_new (outputs[k].path, error)) != NULL;
      if (ok && g_str_equal (option, "-o"))
        ok = jac_npy_write_stream (jac_atomic_file_get_stream (files[k]), dense_or_blocks, NULL,
                                   error);
      else if (ok && g_str_equal (option, "--vjp-output"))
        ok = jac_npy_write_stream (jac_atomic_file_get_stream (files[k]),
                                   analysis->contract_tensor, NULL, error);
      else if (ok)
        ok = write_zeros (files[k], analysis, error);
      if (!ok && *error != NULL && g_str_has_prefix ((*error)->message,
                                                     "cannot write the .npy stream"))
        g_prefix_error (error, "%s: ", outputs[k].path);
    }
  for (guint k = 0; ok && k < n_outputs; k++)
    ok = jac_atomic_file_commit (g_steal_pointer (&files[k]), error);
  for (guint k = 0; k < n_outputs; k++)
    jac_atomic_file_abort (files[k]);
  return ok;
}

int
_jac_cli_run_compute (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacAnalysis) analysis = NULL;
  g_autoptr(JacTensor) dense_or_blocks = NULL;
  Output outputs[3];
  guint n_outputs = 0;

  /* Through time, --vjp-output alone is the BPTT gradient without the (large) full Jacobian. */
  if (o->output_path == NULL && o->zeros_path == NULL
      && !(o->steps_text != NULL && o->vjp_path != NULL))
    {
      g_printerr ("jacscope compute: missing -o FILE.npy (or --zeros-output FILE.npy)\n");
      return 2;
    }
  if (o->output_path != NULL)
    outputs[n_outputs++] = (Output) { "-o", o->output_path };
  if (o->vjp_path != NULL)
    outputs[n_outputs++] = (Output) { "--vjp-output", o->vjp_path };
  if (o->zeros_path != NULL)
    outputs[n_outputs++] = (Output) { "--zeros-output", o->zeros_path };
  if (!check_outputs (o, outputs, n_outputs, &error))
    {
      _jac_cli_fail ("compute", error);
      return 1;
    }
  if (o->steps_text != NULL)
    return _jac_cli_compute_sequence (o);
  if ((analysis = _jac_cli_build_analysis (o, &error)) == NULL ||
      (o->output_path != NULL && (dense_or_blocks = main_output (o, analysis, &error)) == NULL) ||
      !write_outputs (o, analysis, dense_or_blocks, outputs, n_outputs, &error))
    {
      _jac_cli_fail ("compute", error);
      return 1;
    }
  return 0;
}
