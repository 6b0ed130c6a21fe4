/* jac-cli.c: the subcommands compute, render, check and bench, as DESIGN.md's contract fixes them. */
#define G_LOG_DOMAIN "jac-cli"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/jac-cli.h"
#include "cli/jac-cli-private.h"
#include "core/jac-verify.h"
#include "core/jac-presets.h"
#include "core/jac-atomic-file.h"
#include "core/jac-blas.h"
#include "core/jac-error.h"
#include "core/jac-npy.h"
#include "render/jac-figure.h"

typedef int (*SubcommandFunc) (JacCliOptions *options);

typedef struct
{
  const char     *name;
  const char     *summary;
  SubcommandFunc  run;
} Subcommand;

static int run_render (JacCliOptions *options);
static int run_check (JacCliOptions *options);

static const Subcommand subcommands[] = {
  { "compute", "-o FILE.npy — write the full Jacobian, dense float64, shape out + wrt "
    "(--per-sample: its N diagonal blocks; --zeros-output: the structural-zero mask)",
    _jac_cli_run_compute },
  { "render", "-o FILE.{png,svg,pdf,tex} — draw the figure without any display", run_render },
  { "check", "engine vs closed form vs central finite differences", run_check },
  { "bench", "timings of compute and render, one JSON object per line", _jac_cli_run_bench },
  { "derive", "the derivation in index notation, its structure and its contracted form",
    _jac_cli_run_derive },
  { "norms", "--steps T: norms of ∂h_T/∂h_{T−k} for every lag k and row, as CSV",
    _jac_cli_run_norms },
};

gboolean
jac_cli_is_subcommand (const char *word)
{
  for (guint s = 0; s < G_N_ELEMENTS (subcommands); s++)
    if (g_strcmp0 (word, subcommands[s].name) == 0)
      return TRUE;
  return FALSE;
}

void
_jac_cli_fail (const char   *subcommand,
               const GError *error)
{
  g_printerr ("jacscope %s: %s\n", subcommand, error->message);
}

/* Messages go out as the UTF-8 they are, whatever the locale: GLib would turn “ and − into ? in
 * the C locale that scripts and tests often run in. */
static void
print_raw_cb (const char *text)
{
  fputs (text, stdout);
}

/* Errors quote what the user typed (a --wrt name, a --shape, a file name): a byte that is not
 * UTF-8, or a control character other than a new line or a tab, is written as \xNN, so that no
 * raw invalid byte or terminal escape sequence reaches the terminal. */
static char *
printable_text (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  const char *c = text;

  while (*c != '\0')
    {
      gunichar u = g_utf8_get_char_validated (c, -1);

      if (u == (gunichar) -1 || u == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *c);
          c++;
          continue;
        }
      if ((u < 0x20 && u != '\n' && u != '\t') || u == 0x7f)
        g_string_append_printf (out, "\\x%02x", u);
      else if (u >= 0x80 && u < 0xa0)
        g_string_append_printf (out, "\\u%04x", u);
      else
        g_string_append_len (out, c, g_utf8_next_char (c) - c);
      c = g_utf8_next_char (c);
    }
  return g_string_free (out, FALSE);
}

static void
printerr_raw_cb (const char *text)
{
  g_autofree char *printable = printable_text (text);

  fputs (printable, stderr);
}

/* ---- options ---- */

static gboolean
parse_size (const char  *option,
            const char  *text,
            guint64      min,
            guint64      max,
            guint64     *value,
            GError     **error)
{
  g_autoptr(GError) local = NULL;

  if (!g_ascii_string_to_unsigned (text, 10, min, max, value, &local))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s: “%s” is not a whole number from %" G_GUINT64_FORMAT " to %"
                   G_GUINT64_FORMAT, option, text, min, max);
      return FALSE;
    }
  return TRUE;
}

/* A choice by its registered enum's nick, any case; @except (or -1) is a value that is not a
 * choice of its own. The message lists the choices from the same table. */
gboolean
_jac_cli_parse_enum (GType        type,
                     const char  *option,
                     const char  *text,
                     int          except,
                     int         *result,
                     GError     **error)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  g_autofree char *lower = g_ascii_strdown (text, -1);
  const GEnumValue *value = g_enum_get_value_by_nick (klass, lower);
  g_autoptr(GString) expected = NULL;
  guint n = 0;

  if (value != NULL && value->value != except)
    {
      *result = value->value;
      return TRUE;
    }
  expected = g_string_new (NULL);
  for (guint k = 0; k < klass->n_values; k++)
    n += klass->values[k].value != except;
  for (guint k = 0, seen = 0; k < klass->n_values; k++)
    {
      if (klass->values[k].value == except)
        continue;
      if (seen > 0)
        g_string_append (expected, seen + 1 == n ? " or " : ", ");
      g_string_append (expected, klass->values[k].value_nick);
      seen++;
    }
  g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "%s: unknown “%s” (expected %s)", option,
               text, expected->str);
  return FALSE;
}

static gboolean
parse_upstream (const char       *text,
                JacUpstreamKind  *kind,
                GError          **error)
{
  int value;

  /* "given" is what --grad makes it, not a choice of its own. */
  if (!_jac_cli_parse_enum (JAC_TYPE_UPSTREAM_KIND, "--upstream", text, JAC_UPSTREAM_GIVEN,
                            &value, error))
    return FALSE;
  *kind = value;
  return TRUE;
}

/* Turns the strings GOption collected into values; every message names its option. */
static gboolean
resolve_options (JacCliOptions  *o,
                 GError        **error)
{
  guint64 v;

  jac_rnn_config_init_default (&o->config);
  jac_figure_style_init (&o->style);
  o->wrt = JAC_VAR_H_PREV;
  o->upstream_kind = JAC_UPSTREAM_ONES;

  if (o->batch_text && !parse_size ("--batch", o->batch_text, 1, 1 << 20, &v, error))
    return FALSE;
  if (o->batch_text)
    o->config.batch = v;
  if (o->input_text && !parse_size ("--input", o->input_text, 1, 1 << 20, &v, error))
    return FALSE;
  if (o->input_text)
    o->config.input = v;
  if (o->hidden_text && !parse_size ("--hidden", o->hidden_text, 1, 1 << 20, &v, error))
    return FALSE;
  if (o->hidden_text)
    o->config.hidden = v;
  if (o->seed_text && !parse_size ("--seed", o->seed_text, 0, G_MAXUINT32, &v, error))
    return FALSE;
  if (o->seed_text)
    o->config.seed = v;
  if (o->activation_text && !jac_activation_from_name (o->activation_text, &o->config.activation))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--activation: unknown “%s” (expected tanh, sigmoid, relu or identity)",
                   o->activation_text);
      return FALSE;
    }
  if (o->b_shape_text)
    {
      if (g_strcmp0 (o->b_shape_text, "H") == 0)
        o->config.b_per_row = FALSE;
      else if (g_strcmp0 (o->b_shape_text, "NH") == 0 || g_strcmp0 (o->b_shape_text, "N,H") == 0)
        o->config.b_per_row = TRUE;
      else
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "--b-shape: unknown “%s” (expected H or N,H)", o->b_shape_text);
          return FALSE;
        }
    }
  if (o->preset_text != NULL)
    {
      const JacPreset *preset = jac_preset_find (o->preset_text);

      if (preset == NULL)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "--preset: unknown “%s” (see jacscope derive --list-presets)",
                       o->preset_text);
          return FALSE;
        }
      if (o->wrt_text == NULL)
        o->wrt_text = g_strdup (preset->wrt);
      if (preset->hessian)
        o->hessian = TRUE;
      if (preset->expression != NULL)
        {
          o->expr_text = g_strdup (preset->expression);
          o->preset_shapes = preset->shapes;
        }
    }
  /* Through time, --wrt names a state or a weight: _jac_cli_build_sequence parses it. */
  if (o->expr_text == NULL && o->steps_text == NULL && o->wrt_text
      && !jac_variable_from_name (o->wrt_text, &o->wrt))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--wrt: unknown variable “%s” (expected h_prev, x, W_hh, W_xh or b)",
                   o->wrt_text);
      return FALSE;
    }
  if (o->upstream_text && !parse_upstream (o->upstream_text, &o->upstream_kind, error))
    return FALSE;
  if (o->threads_text && !parse_size ("--threads", o->threads_text, 1, 1024, &v, error))
    return FALSE;
  if (o->threads_text)
    jac_blas_set_threads ((int) v);
  if (o->budget_text)
    {
      if (!parse_size ("--memory-budget", o->budget_text, 1, G_MAXSIZE >> 20, &v, error))
        return FALSE;
      o->budget_bytes = (gsize) v << 20;
    }
  else
    {
      long pages = sysconf (_SC_PHYS_PAGES), page_size = sysconf (_SC_PAGESIZE);

      o->budget_bytes = pages > 0 && page_size > 0 ? (gsize) pages * (gsize) page_size / 2
                                                   : (gsize) 1 << 32;
    }
  /* Every tensor, not only the dense output, stays within the budget. */
  jac_set_memory_budget (o->budget_bytes);
  return _jac_cli_resolve_figure_options (o, error);
}

static gboolean
load_variables (JacCliOptions  *o,
                GError        **error)
{
  o->loaded_by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) jac_tensor_free);
  for (guint n = 0; o->var_texts != NULL && o->var_texts[n] != NULL; n++)
    {
      const char *spec = o->var_texts[n];
      const char *eq = strchr (spec, '=');
      JacTensor *value;

      if (eq == NULL || eq == spec || eq[1] == '\0')
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "--var: “%s” is not NAME=FILE.npy", spec);
          return FALSE;
        }
      value = jac_npy_read (eq + 1, error);
      if (value == NULL)
        return FALSE;
      g_hash_table_replace (o->loaded_by_name, g_strndup (spec, eq - spec), value);
    }
  if (o->grad_path != NULL)
    {
      o->upstream = jac_npy_read (o->grad_path, error);
      if (o->upstream == NULL)
        return FALSE;
      o->upstream_kind = JAC_UPSTREAM_GIVEN;
    }
  return TRUE;
}

/* The RNN step takes its five variables by name; any other name is a mistake. */
static gboolean
bind_rnn_variables (JacCliOptions  *o,
                    GError        **error)
{
  GHashTableIter iter;
  gpointer name, value;

  g_hash_table_iter_init (&iter, o->loaded_by_name);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      JacVariable v;

      if (!jac_variable_from_name (name, &v))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "--var: unknown variable “%s” (expected h_prev, x, W_hh, W_xh or b, "
                       "or give an --expr that uses it)", (const char *) name);
          return FALSE;
        }
      o->loaded[v] = value;
    }
  return TRUE;
}

JacAnalysis *
_jac_cli_build_analysis (JacCliOptions  *o,
                         GError        **error)
{
  JacRnn *rnn;

  if (o->expr_text != NULL)
    return _jac_cli_build_expr_analysis (o, error);
  if (o->hessian)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "--hessian: a Hessian needs a scalar output, but the RNN step's h has shape "
                   "(%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT "): give a scalar --expr or --preset",
                   o->config.batch, o->config.hidden);
      return NULL;
    }
  rnn = jac_rnn_new (&o->config, o->loaded, error);
  if (rnn == NULL)
    return NULL;
  return jac_analysis_new (rnn, o->wrt, o->upstream_kind, o->upstream, error);
}

static void
options_clear (JacCliOptions *o)
{
  g_clear_pointer (&o->loaded_by_name, g_hash_table_unref);
  g_clear_pointer (&o->upstream, jac_tensor_free);
  g_clear_pointer (&o->shape_texts, g_strfreev);
  g_clear_pointer (&o->size_texts, g_strfreev);
  g_free (o->expr_text);
  g_free (o->preset_text);
  g_free (o->wrt2_text);
  g_free (o->direction_path);
  _jac_cli_clear_sequence_options (o);
  g_clear_pointer (&o->var_texts, g_strfreev);
  g_free (o->batch_text);
  g_free (o->input_text);
  g_free (o->hidden_text);
  g_free (o->seed_text);
  g_free (o->activation_text);
  g_free (o->b_shape_text);
  g_free (o->wrt_text);
  g_free (o->upstream_text);
  g_free (o->grad_path);
  g_free (o->vjp_path);
  g_free (o->output_path);
  g_free (o->zeros_path);
  g_free (o->threads_text);
  g_free (o->budget_text);
  _jac_cli_clear_figure_options (o);
}

/* ---- render ---- */

static int
run_render (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacAnalysis) analysis = NULL;
  JacFigureFormat format;

  if (o->output_path == NULL)
    {
      g_printerr ("jacscope render: missing -o FILE.{png,svg,pdf,tex}\n");
      return 2;
    }
  if (o->steps_text != NULL)
    return _jac_cli_render_sequence (o);
  if (!jac_figure_format_from_path (o->output_path, &format, &error) ||
      !_jac_cli_resolve_figure_size (o, format, &error) ||
      (analysis = _jac_cli_build_analysis (o, &error)) == NULL ||
      !_jac_cli_check_focus_row (o, analysis, &error) ||
      !jac_figure_save (o->output_path, o->width, o->height, o->save_scale, analysis, &o->style,
                        &error))
    {
      _jac_cli_fail ("render", error);
      return _jac_cli_render_status (error);
    }
  return 0;
}

/* ---- check ---- */

static int
run_check (JacCliOptions *o)
{
  if (o->expr_text != NULL)
    return _jac_cli_run_check_expr (o);

  g_autoptr(GError) error = NULL;
  g_autoptr(JacAnalysis) analysis = NULL;
  gboolean all_ok = TRUE;
  g_autoptr(JacRnn) rnn = NULL;

  /* The step's closed forms are the oracle here: a JacRnn of its own, on the same values. */
  if ((analysis = _jac_cli_build_analysis (o, &error)) == NULL
      || (rnn = jac_rnn_new (&o->config, o->loaded, &error)) == NULL)
    {
      _jac_cli_fail ("check", error);
      return 1;
    }

  g_print ("%-7s %-14s %-14s %-14s %-14s %s\n", "wrt", "shape", "|eng-closed|", "|eng-fd|",
           "|vjp 2 ways|", "verdict");
  for (guint v = 0; v < JAC_N_VARS; v++)
    {
      g_autoptr(JacTensor) closed = NULL;
      g_autoptr(JacTensor) formula = NULL;
      g_autofree char *shape = NULL;
      JacVerification check;

      if (o->wrt_text != NULL && v != o->wrt)
        continue;
      closed = jac_rnn_closed_form_dense (rnn, v);
      formula = jac_rnn_contract_formula (rnn, v, analysis->upstream);
      if (!jac_verify_jacobian (rnn->graph, rnn->variable_node[v], analysis->upstream, formula,
                                closed, o->budget_bytes, &check, &error))
        {
          _jac_cli_fail ("check", error);
          return 1;
        }
      shape = jac_shape_string (check.rank, check.shape);
      all_ok &= check.ok;
      g_print ("%-7s %-14s %-14.3e %-14.3e %-14.3e %s\n", jac_variable_name (v), shape,
               check.closed_error, check.fd_error, check.vjp_error, check.ok ? "ok" : "FAIL");
    }
  g_print ("%s\n", all_ok ? "all checks passed" : "some checks are past tolerance");
  return all_ok ? 0 : 1;
}

/* Options that cannot apply to this command are an error, not silently ignored. */
static gboolean
check_combinations (const char     *subcommand,
                    JacCliOptions  *o,
                    GError        **error)
{
  const char *sequence_only = o->lag_text ? "--lag" : o->gain_text ? "--gain" :
                              o->orthogonal ? "--orthogonal" : o->norm_text ? "--norm" :
                              o->shared_range ? "--shared-range" : o->cell_text ? "--cell" :
                              o->output_state_text != NULL && o->expr_text == NULL &&
                              o->preset_text == NULL ? "--output-state" :
                              o->compare_cells ? "--compare-cells" :
                              o->carry_bias_text ? "--carry-bias" : NULL;
  const char *why = NULL;
  const char *option = NULL;

  if (o->steps_text == NULL && sequence_only != NULL)
    option = sequence_only, why = g_str_equal (sequence_only, "--output-state")
                                  ? "goes with --steps T, --expr or --preset"
                                  : "goes with --steps T";
  else if (o->steps_text != NULL && (g_str_equal (subcommand, "check") ||
                                     g_str_equal (subcommand, "derive")))
    option = "--steps", why = "goes with compute, render, norms or bench";
  else if (o->vjp_path != NULL && !g_str_equal (subcommand, "compute"))
    option = "--vjp-output", why = "goes with compute";
  else if (o->latex && !g_str_equal (subcommand, "derive"))
    option = "--latex", why = "goes with derive";
  else if ((o->numpy || o->torch) && !g_str_equal (subcommand, "derive"))
    option = o->numpy ? "--numpy" : "--torch", why = "goes with derive";
  else if (o->list_presets && !g_str_equal (subcommand, "derive"))
    option = "--list-presets", why = "goes with derive";
  else if (o->grad_path != NULL && o->upstream_text != NULL)
    option = "--upstream", why = "and --grad both set G: give one";
  else if (o->expr_text != NULL && g_str_equal (subcommand, "norms"))
    {
      option = o->preset_text != NULL ? "--preset" : "--expr";
      why = "does not go with norms, which is about a recurrent cell through time "
            "(--cell rnn, lstm or gru)";
    }
  else if (o->output_path != NULL && !g_str_equal (subcommand, "compute") &&
           !g_str_equal (subcommand, "render"))
    /* derive, norms, check and bench print: -o was silently ignored, no file written. */
    option = "-o", why = "goes with compute or render; this command prints to standard output "
                         "(redirect it: > FILE)";
  if (option == NULL)
    _jac_cli_check_compute_combinations (subcommand, o, &option, &why);

  if (option == NULL)
    return TRUE;
  g_set_error (error, JAC_ERROR, JAC_ERROR_USAGE, "%s %s", option, why);
  return FALSE;
}

/* ---- entry ---- */

static GOptionEntry common_entries[] = {
  { "batch", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Batch size N (default 2)", "N" },
  { "input", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Input size D (default 3)", "D" },
  { "hidden", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Hidden size H (default 3)", "H" },
  { "seed", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Seed of the random variables (default 1)", "S" },
  { "activation", 0, 0, G_OPTION_ARG_FILENAME, NULL, "tanh, sigmoid, relu or identity", "NAME" },
  { "b-shape", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Shape of b: H (default) or N,H", "SHAPE" },
  { "var", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, NULL, "Load a variable from a .npy file",
    "NAME=FILE.npy" },
  { "wrt", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Differentiate with respect to NAME (h_prev)",
    "NAME" },
  { "grad", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Upstream gradient G = ∂L/∂h, shape (N, H)",
    "FILE.npy" },
  { "upstream", 0, 0, G_OPTION_ARG_FILENAME, NULL, "G when no --grad: ones, random or loss",
    "KIND" },
  { "vjp-output", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Also write Σ G·J (compute)", "FILE.npy" },
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, NULL, "Output file", "FILE" },
  { "threads", 0, 0, G_OPTION_ARG_FILENAME, NULL, "BLAS threads", "N" },
  { "memory-budget", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    "Largest dense output in MiB (default: half the RAM)", "MIB" },
  { NULL }
};

/* -h or --help: every option of the command at once (GOption's --help would list the
 * groups' --help-GROUP instead), and only those, as --help-all does with the others hidden. */
static gboolean
asks_for_help (int    argc,
               char **argv)
{
  for (int k = 1; k < argc && g_strcmp0 (argv[k], "--") != 0; k++)
    if (g_str_equal (argv[k], "-h") || g_str_equal (argv[k], "--help") ||
        g_str_equal (argv[k], "-?"))
      return TRUE;
  return FALSE;
}

int
jac_cli_main (int    argc,
              char **argv)
{
  JacCliOptions o = { 0 };
  const Subcommand *sub = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *parameter = NULL;
  g_autofree GOptionEntry *entries = g_memdup2 (common_entries, sizeof common_entries);
  gpointer targets[] = {
    &o.batch_text, &o.input_text, &o.hidden_text, &o.seed_text, &o.activation_text,
    &o.b_shape_text, &o.var_texts, &o.wrt_text, &o.grad_path, &o.upstream_text, &o.vjp_path,
    &o.output_path, &o.threads_text, &o.budget_text,
  };
  int status;

  /* Options are taken as the bytes they are (GOption would convert strings from the locale's
   * charset, and the C locale refuses ᵀ or ⊙); the parser checks that expressions are UTF-8. */
  g_set_print_handler (print_raw_cb);
  g_set_printerr_handler (printerr_raw_cb);
  g_return_val_if_fail (argc > 1, 2);
  for (guint s = 0; s < G_N_ELEMENTS (subcommands); s++)
    if (g_strcmp0 (argv[1], subcommands[s].name) == 0)
      sub = &subcommands[s];
  /* A mistyped command ("comptue") used to reach the window, which said "This application can
   * not open files" (or "cannot open display") and exited 1. */
  if (sub == NULL)
    {
      g_printerr ("jacscope: unknown command “%s” (expected compute, render, check, bench, "
                  "derive or norms; without a command jacscope opens the window)\n", argv[1]);
      return 2;
    }
  for (guint e = 0; e < G_N_ELEMENTS (targets); e++)
    {
      entries[e].arg_data = targets[e];
      if (!_jac_cli_option_is_for (sub->name, entries[e].long_name))
        entries[e].flags |= G_OPTION_FLAG_HIDDEN;
    }
  o.subcommand = sub->name;

  parameter = g_strdup_printf ("%s [OPTIONS]", sub->name);
  context = g_option_context_new (parameter);
  g_option_context_set_summary (context, sub->summary);
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, _jac_cli_figure_option_group (&o));
  g_option_context_add_group (context, _jac_cli_bench_option_group (&o));
  g_option_context_add_group (context, _jac_cli_expr_option_group (&o));
  g_option_context_add_group (context, _jac_cli_compute_option_group (&o));
  g_option_context_add_group (context, _jac_cli_sequence_option_group (&o));

  /* argv[1] is the subcommand: parse what follows it. */
  argv[1] = argv[0];
  argc--;
  argv++;
  if (asks_for_help (argc, argv))
    {
      g_autofree char *help = NULL;

      /* As the parse would name the program in the usage line. */
      if (g_get_prgname () == NULL)
        {
          g_autofree char *name = g_path_get_basename (argv[0]);

          g_set_prgname (name);
        }
      help = g_option_context_get_help (context, FALSE, NULL);
      g_print ("%s", help);
      options_clear (&o);
      return 0;
    }
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("jacscope %s: %s (see jacscope %s --help)\n", sub->name, error->message,
                  sub->name);
      options_clear (&o);
      return 2;
    }
  if (argc > 1)
    {
      g_printerr ("jacscope %s: unexpected argument “%s” (see jacscope %s --help)\n", sub->name,
                  argv[1], sub->name);
      options_clear (&o);
      return 2;
    }
  if (!_jac_cli_detect_sequence (&o, &error) ||
      !check_combinations (sub->name, &o, &error) ||
      !resolve_options (&o, &error) || !load_variables (&o, &error) ||
      !_jac_cli_load_program_weights (&o, &error) ||
      (o.expr_text == NULL && o.steps_text == NULL && !_jac_cli_load_step_weights (&o, &error)) ||
      (o.expr_text == NULL && o.steps_text == NULL && !bind_rnn_variables (&o, &error)))
    {
      _jac_cli_fail (sub->name, error);
      options_clear (&o);
      return g_error_matches (error, JAC_ERROR, JAC_ERROR_USAGE) ? 2 : 1;
    }

  status = sub->run (&o);
  options_clear (&o);
  /* A CSV or a derivation cut short by a full disk must not look like success. */
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      g_printerr ("jacscope %s: cannot write the standard output: %s\n", sub->name,
                  g_strerror (errno));
      return 1;
    }
  return status;
}
