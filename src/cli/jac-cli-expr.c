/* jac-cli-expr.c: typed expressions on the command line (--expr, --shape, --size) and `derive`. */
#define G_LOG_DOMAIN "jac-cli"

#include <stdio.h>
#include <string.h>

#include "cli/jac-cli-private.h"
#include "core/jac-verify.h"
#include "core/jac-hessian.h"
#include "core/jac-kron.h"
#include "core/jac-npy.h"
#include "core/jac-presets.h"
#include "core/jac-error.h"

/* --standalone only shapes --latex: alone it is a usage error, as a bad option is (exit 2). */
static gboolean
check_standalone_cb (GOptionContext  *context,
                     GOptionGroup    *group,
                     gpointer         data,
                     GError         **error)
{
  JacCliOptions *o = data;

  if (o->preset_text != NULL && o->expr_text != NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "--preset and --expr both name the expression: choose one");
      return FALSE;
    }
  if ((o->latex ? 1 : 0) + (o->numpy ? 1 : 0) + (o->torch ? 1 : 0) > 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "--latex, --numpy and --torch print different things: choose one");
      return FALSE;
    }
  if ((o->wrt2_text != NULL || o->direction_path != NULL) && !o->hessian)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "%s goes with --hessian",
                   o->wrt2_text != NULL ? "--wrt2" : "--direction");
      return FALSE;
    }
  if (o->hessian && (o->grad_path != NULL || o->upstream_text != NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "%s sets G of a first derivative: a Hessian is contracted with --direction",
                   o->grad_path != NULL ? "--grad" : "--upstream");
      return FALSE;
    }
  if (o->standalone && !o->latex)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "--standalone goes with --latex");
      return FALSE;
    }
  return TRUE;
}

GOptionGroup *
_jac_cli_expr_option_group (JacCliOptions *o)
{
  GOptionEntry entries[] = {
    { "expr", 0, 0, G_OPTION_ARG_FILENAME, &o->expr_text,
      "Differentiate EXPR instead of the RNN step, e.g. \"U = V @ A\"", "EXPR" },
    { "shape", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->shape_texts,
      "Shape of a variable of --expr, e.g. W=H,H or v=4", "NAME=DIMS" },
    { "size", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->size_texts,
      "Bind a size symbol used by --shape, e.g. K=5 (N, D, H follow --batch, --input, --hidden)",
      "SYM=NUM" },
    { "latex", 0, 0, G_OPTION_ARG_NONE, &o->latex,
      "derive: print LaTeX (needs amsmath only)", NULL },
    { "standalone", 0, 0, G_OPTION_ARG_NONE, &o->standalone,
      "derive --latex: a complete document, not a fragment", NULL },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &o->preset_text,
      "Differentiate an expression of the gallery (see --list-presets)", "NAME" },
    { "list-presets", 0, 0, G_OPTION_ARG_NONE, &o->list_presets,
      "derive: list the gallery's expressions", NULL },
    { "numpy", 0, 0, G_OPTION_ARG_NONE, &o->numpy,
      "derive: print a Python script (NumPy only) that checks the derivative itself", NULL },
    { "torch", 0, 0, G_OPTION_ARG_NONE, &o->torch,
      "derive: the same script, checked against torch.autograd", NULL },
    { "hessian", 0, 0, G_OPTION_ARG_NONE, &o->hessian,
      "The second derivative ∂²f/∂X∂X of a scalar --expr (X: --wrt), shape X + X (compute, "
      "render, derive)", NULL },
    { "wrt2", 0, 0, G_OPTION_ARG_FILENAME, &o->wrt2_text,
      "--hessian: the mixed ∂²f/∂X∂Y with Y = NAME, shape X + Y", "NAME" },
    { "direction", 0, 0, G_OPTION_ARG_FILENAME, &o->direction_path,
      "--hessian: V shaped like X (default ones); the contracted form is Σ V·H, shaped like Y, "
      "the Hessian-vector product (--vjp-output writes it)", "FILE.npy" },
    { NULL }
  };
  GOptionGroup *group = g_option_group_new ("expr", "Expression options:",
                                            "Show expression options", o, NULL);

  _jac_cli_add_entries (group, entries, o->subcommand);
  g_option_group_set_parse_hooks (group, NULL, check_standalone_cb);
  return group;
}

/* The RNN's names keep their shapes in any expression, so the step can be typed as it is. */
static void
declare_rnn_shapes (JacShapeEnv        *env,
                    const JacRnnConfig *c)
{
  gsize nh[2] = { c->batch, c->hidden }, nd[2] = { c->batch, c->input };
  gsize hh[2] = { c->hidden, c->hidden }, dh[2] = { c->input, c->hidden };

  jac_shape_env_set_size (env, "N", c->batch);
  jac_shape_env_set_size (env, "D", c->input);
  jac_shape_env_set_size (env, "H", c->hidden);
  jac_shape_env_declare (env, "h_prev", 2, nh);
  jac_shape_env_declare (env, "x", 2, nd);
  jac_shape_env_declare (env, "W_hh", 2, hh);
  jac_shape_env_declare (env, "W_xh", 2, dh);
  if (c->b_per_row)
    jac_shape_env_declare (env, "b", 2, nh);
  else
    jac_shape_env_declare (env, "b", 1, &c->hidden);
}

/* Whether @source names one of the RNN step's own variables (h_prev, W_hh, W_xh) as a whole
 * word: only then do x and b take the step's shapes, so that x @ A @ x alone is the Cookbook's
 * vector x, its shape inferred. */
static gboolean
mentions_rnn (const char *source)
{
  static const char * const names[] = { "h_prev", "W_hh", "W_xh" };

  for (guint k = 0; source != NULL && k < G_N_ELEMENTS (names); k++)
    for (const char *at = strstr (source, names[k]); at != NULL;
         at = strstr (at + 1, names[k]))
      {
        char before = at > source ? at[-1] : ' ', after = at[strlen (names[k])];

        if (!g_ascii_isalnum (before) && before != '_' && !g_ascii_isalnum (after) &&
            after != '_')
          return TRUE;
      }
  return FALSE;
}

static JacShapeEnv *
build_shapes (JacCliOptions  *o,
              GError        **error)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  GHashTableIter iter;
  gpointer name, value;

  if (mentions_rnn (o->expr_text))
    declare_rnn_shapes (env, &o->config);
  else
    {
      jac_shape_env_set_size (env, "N", o->config.batch);
      jac_shape_env_set_size (env, "D", o->config.input);
      jac_shape_env_set_size (env, "H", o->config.hidden);
    }
  if (o->preset_shapes != NULL && *o->preset_shapes != '\0'
      && !jac_shape_env_parse_declarations (env, o->preset_shapes, NULL, error))
    {
      g_prefix_error (error, "--preset: ");
      return NULL;
    }
  for (guint n = 0; o->size_texts != NULL && o->size_texts[n] != NULL; n++)
    if (!jac_shape_env_parse_size (env, o->size_texts[n], error))
      {
        g_prefix_error (error, "--size: ");
        return NULL;
      }
  for (guint n = 0; o->shape_texts != NULL && o->shape_texts[n] != NULL; n++)
    if (!jac_shape_env_parse_shape (env, o->shape_texts[n], error))
      {
        g_prefix_error (error, "--shape: ");
        return NULL;
      }

  /* A loaded file fixes its variable's shape. */
  g_hash_table_iter_init (&iter, o->loaded_by_name);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      const JacTensor *t = value;

      if (t->rank > 2)
        {
          g_autofree char *s = jac_tensor_shape_string (t);

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                       "--var: %s has shape %s, but expressions take scalars, vectors and "
                       "matrices", (const char *) name, s);
          return NULL;
        }
      jac_shape_env_declare (env, name, t->rank, t->shape);
    }
  return g_steal_pointer (&env);
}

/* A parse error as one line, then the expression with a caret under the culprit. */
static void
set_parse_error (GError     **error,
                 GError      *parse_error,
                 const char  *source,
                 gsize        position)
{
  g_autofree char *caret = jac_expr_format_caret (source, position);

  g_set_error (error, parse_error->domain, parse_error->code, "--expr: %s\n%s",
               parse_error->message, caret);
  g_error_free (parse_error);
}

static gboolean
uses_any (const JacExpr *expr,
          GHashTable    *names)
{
  GHashTableIter iter;
  gpointer name;

  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    if (jac_graph_find_variable (expr->graph, name) >= 0)
      return TRUE;
  return FALSE;
}

static JacExpr *
parse_expression (JacCliOptions  *o,
                  GError        **error)
{
  g_autoptr(JacShapeEnv) env = build_shapes (o, error);
  GError *parse_error = NULL;
  gsize position = 0;
  JacExpr *expr;
  GHashTableIter iter;
  gpointer name;

  if (env == NULL)
    return NULL;
  expr = jac_expr_parse (o->expr_text, env, &position, &parse_error);
  if (expr == NULL)
    {
      set_parse_error (error, parse_error, o->expr_text, position);
      return NULL;
    }
  if (o->output_state_text != NULL && !jac_expr_set_output (expr, o->output_state_text, error))
    {
      g_prefix_error (error, "--output-state: ");
      jac_expr_free (expr);
      return NULL;
    }

  g_hash_table_iter_init (&iter, o->loaded_by_name);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    if (jac_graph_find_variable (expr->graph, name) < 0
        && (o->from_weights == NULL || !g_hash_table_contains (o->from_weights, name)))
      {
        g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                     "--var: “%s” is not a variable of the expression", (const char *) name);
        jac_expr_free (expr);
        return NULL;
      }
  if (o->from_weights != NULL && !uses_any (expr, o->from_weights))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--weights: the expression uses none of the weights' variables (see --preset "
                   "lstm or gru for their names)");
      jac_expr_free (expr);
      return NULL;
    }
  if (!jac_expr_draw_variables (expr, o->loaded_by_name, o->config.seed, error))
    {
      jac_expr_free (expr);
      return NULL;
    }
  return expr;
}

/* --hessian: the Jacobian of the gradient w.r.t. --wrt2 (or --wrt), contracted with
 * --direction. */
static JacAnalysis *
build_hessian (JacCliOptions  *o,
               JacExpr        *expr,
               const char     *wrt,
               GError        **error)
{
  g_autoptr(JacTensor) direction = NULL;
  JacAnalysis *analysis;

  if (o->grad_path != NULL || o->upstream_text != NULL)
    {
      /* A Hessian preset, where the option check could not know it. */
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s sets G of a first derivative: a Hessian is contracted with --direction",
                   o->grad_path != NULL ? "--grad" : "--upstream");
      jac_expr_free (expr);
      return NULL;
    }
  if (o->wrt2_text != NULL && jac_graph_find_variable (expr->graph, o->wrt2_text) < 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--wrt2: “%s” is not a variable of the expression", o->wrt2_text);
      jac_expr_free (expr);
      return NULL;
    }
  if (o->direction_path != NULL &&
      (direction = jac_npy_read (o->direction_path, error)) == NULL)
    {
      jac_expr_free (expr);
      return NULL;
    }
  analysis = jac_analysis_new_hessian (expr, wrt, o->wrt2_text,
                                       direction != NULL ? JAC_UPSTREAM_GIVEN : JAC_UPSTREAM_ONES,
                                       direction, o->config.seed, error);
  if (analysis == NULL)
    {
      if (direction != NULL && g_str_has_prefix ((*error)->message, "the direction"))
        g_prefix_error (error, "--direction %s: ", o->direction_path);
      else
        g_prefix_error (error, "--hessian: ");
    }
  return analysis;
}

JacAnalysis *
_jac_cli_build_expr_analysis (JacCliOptions  *o,
                              GError        **error)
{
  JacExpr *expr = parse_expression (o, error);
  g_autofree char *wrt = NULL;

  if (expr == NULL)
    return NULL;
  wrt = g_strdup (o->wrt_text != NULL ? o->wrt_text : jac_expr_first_variable (expr));
  if (jac_graph_find_variable (expr->graph, wrt) < 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--wrt: “%s” is not a variable of the expression", wrt);
      jac_expr_free (expr);
      return NULL;
    }
  if (o->hessian)
    return build_hessian (o, expr, wrt, error);
  return jac_analysis_new_expr (expr, wrt, o->upstream_kind, o->upstream, o->config.seed,
                                error);
}

/* ---- check ---- */

int
_jac_cli_run_check_expr (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacExpr) expr = parse_expression (o, &error);
  gboolean all_ok = TRUE;

  if (expr == NULL)
    {
      _jac_cli_fail ("check", error);
      return 1;
    }

  g_print ("%-10s %-16s %-16s %-16s %s\n", "wrt", "shape", "|eng-fd|", "|symbolic-J|",
           "verdict");
  for (guint n = 0; n < expr->graph->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (expr->graph, n);
      const JacNode *out = jac_graph_node (expr->graph, expr->graph->output);
      g_autoptr(JacTensor) g = NULL;
      g_autoptr(JacTensor) symbolic = NULL;
      g_autoptr(JacDerivation) derivation = NULL;
      g_autofree char *shape = NULL;
      JacVerification check;

      if (node->op != JAC_OP_VARIABLE || (o->wrt_text != NULL && g_strcmp0 (node->name,
                                                                              o->wrt_text) != 0))
        continue;
      if ((g = jac_tensor_try_new (out->rank, out->shape, &error)) == NULL)
        {
          g_printerr ("jacscope check: the upstream gradient G: %s\n", error->message);
          return 1;
        }
      jac_tensor_fill (g, 1.0);
      if (o->upstream != NULL)
        {
          if (!jac_tensor_same_shape (o->upstream, g))
            {
              g_autofree char *want = jac_tensor_shape_string (g);
              g_autofree char *have = jac_tensor_shape_string (o->upstream);

              g_printerr ("jacscope check: --grad has shape %s, the output %s\n", have, want);
              return 1;
            }
          jac_tensor_free (g);
          g = jac_tensor_copy (o->upstream);
        }
      derivation = jac_derive (expr, node->name, JAC_DERIVE_DEFAULT, &error);
      if (derivation == NULL ||
          !jac_verify_jacobian (expr->graph, n, g,
                                (symbolic = jac_derivation_evaluate (derivation, expr->graph, g,
                                                                     NULL)),
                                NULL, o->budget_bytes, &check, &error))
        {
          _jac_cli_fail ("check", error);
          return 1;
        }
      shape = jac_shape_string (check.rank, check.shape);
      all_ok &= check.ok;
      g_print ("%-10s %-16s %-16.3e %-16.3e %s\n", node->name, shape, check.fd_error,
               check.vjp_error, check.ok ? "ok" : "FAIL");
    }
  g_print ("%s\n", all_ok ? "all checks passed" : "some checks are past tolerance");
  return all_ok ? 0 : 1;
}

/* ---- derive ---- */

static void
print_text (const JacAnalysis *a)
{
  const JacDerivation *d = a->derivation;
  const JacNode *out = jac_graph_node (a->graph, a->graph->output);
  g_autofree char *out_shape = jac_shape_string (out->rank, out->shape);
  g_autofree char *wrt_shape = jac_tensor_shape_string (jac_graph_node (a->graph,
                                                                        a->wrt_node)->value);
  g_autofree char *value_zeros = jac_analysis_value_zero_sentence (a);
  /* As the window's derivation and --latex state it: the matricized Jacobian's identity. */
  g_autofree char *kron = jac_kron_analysis_identity (a, JAC_KRON_TEXT);

  const JacHessianInfo *h = a->hessian;
  const char *g = h != NULL ? "V" : "G";

  if (h != NULL)
    {
      g_autofree char *denominator = g_strcmp0 (h->wrt, h->wrt2) == 0
                                     ? g_strdup_printf ("∂%s∂%s", h->wrt, h->wrt)
                                     : g_strdup_printf ("∂%s∂%s", h->wrt, h->wrt2);

      g_print ("Hessian ∂²%s/%s of %s, shape %s + %s: the Jacobian of the gradient\n",
               h->function_name, denominator, h->function_source, out_shape, wrt_shape);
      g_print ("    ∂%s/∂%s = %s  (G = 1)%s%s\n", h->function_name, h->wrt, h->gradient_text,
               h->gradient_where != NULL ? ", where " : "",
               h->gradient_where != NULL ? h->gradient_where : "");
      g_print ("written as the expression\n    %s\n", h->gradient_source);
      for (guint k = 0; h->constants[k] != NULL; k++)
        g_print ("    %s: %s\n", h->constants[k], g_str_has_prefix (h->constants[k], "I_")
                                                   ? "a constant, the identity"
                                                   : "a constant, all ones");
      g_print ("checked: max |gradient expression − back-propagation| = %.2e\n",
               h->gradient_max_diff);
      g_print ("differentiated again w.r.t. %s:\n", h->wrt2);
      if (!d->depends)
        g_print ("the Hessian is identically zero: the gradient ∂%s/∂%s does not depend on %s\n",
                 h->function_name, h->wrt, h->wrt2);
      g_print ("\n");
    }
  g_print ("∂%s/∂%s — %s %s, %s %s\n\n", a->output_name, a->wrt_name, a->output_name,
           out_shape, a->wrt_name, wrt_shape);
  if (a->expr != NULL && a->expr->inferred != NULL)
    g_print ("Shapes (inferred)\n    %s\n", a->expr->inferred);
  for (guint s = 0; s < d->steps->len; s++)
    {
      const JacDerivationStep *step = g_ptr_array_index (d->steps, s);

      g_print ("%s\n    %s\n", step->title, step->text);
    }
  g_print ("\nsparsity: %s%s\n", a->sparsity.sentence, value_zeros);
  g_print ("contracted form: %s\n", d->contracted_text);
  if (d->where_text != NULL)
    g_print ("where: %s\n", d->where_text);
  if (kron != NULL)
    g_print ("as one matrix: %s\n", kron);
  g_print ("checked: max |contracted form − Σ %s·J| = %.2e with %s = %s\n", g,
           a->contract_max_diff, g,
           a->upstream_kind == JAC_UPSTREAM_ONES ? "ones" :
           a->upstream_kind == JAC_UPSTREAM_GIVEN ? (h != NULL ? "--direction" : "--grad")
                                                  : "seeded");
  if (a->fd_max_diff >= 0)
    g_print ("checked: max |J − central finite differences| = %.2e (%s, max |J| = %.3g)\n",
             a->fd_max_diff, a->fd_max_diff <= JAC_VERIFY_FD_TOLERANCE * a->fd_scale
                             ? "within tolerance" : "PAST TOLERANCE", a->fd_scale);
}

static void
print_presets (void)
{
  guint n;
  const JacPreset *presets = jac_presets (&n);
  const char *section = NULL;
  int width = 14;

  for (guint k = 0; k < n; k++)
    width = MAX (width, (int) strlen (presets[k].id));
  for (guint k = 0; k < n; k++)
    {
      const JacPreset *p = &presets[k];
      g_autofree char *source = p->expression != NULL ? g_strdup (p->expression)
                                                       : jac_rnn_source (JAC_FUNC_TANH);

      if (g_strcmp0 (section, p->section) != 0)
        g_print ("%s%s\n", section != NULL ? "\n" : "", p->section);
      section = p->section;
      g_print ("  %-*s %s   (wrt %s%s)\n", width, p->id, source, p->wrt,
               p->hessian ? ", --hessian" : "");
      if (p->identity != NULL)
        g_print ("  %-*s %s\n", width, "", p->identity);
    }
}

int
_jac_cli_run_derive (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacAnalysis) analysis = NULL;

  if (o->list_presets)
    {
      print_presets ();
      return 0;
    }
  analysis = _jac_cli_build_analysis (o, &error);
  if (analysis == NULL)
    {
      _jac_cli_fail ("derive", error);
      return 1;
    }
  if (o->latex)
    {
      g_autofree char *latex = jac_analysis_latex (analysis, o->style.denominator_layout,
                                                   o->standalone);

      g_print ("%s", latex);
    }
  else if (o->numpy || o->torch)
    {
      g_autoptr(GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                           g_free);
      g_autofree char *script = NULL;

      /* --var NAME=FILE.npy: large variables are loaded by the script from the same files, named
       * absolutely so that the script runs from any folder. */
      for (guint k = 0; o->var_texts != NULL && o->var_texts[k] != NULL; k++)
        {
          const char *eq = strchr (o->var_texts[k], '=');

          if (eq != NULL)
            g_hash_table_insert (paths, g_strndup (o->var_texts[k], eq - o->var_texts[k]),
                                 g_canonicalize_filename (eq + 1, NULL));
        }
      script = jac_derivation_python (analysis->derivation, analysis->graph, analysis->upstream,
                                      analysis->expr->source, paths, 10000, o->config.seed,
                                      o->torch, &error);
      if (script == NULL)
        {
          _jac_cli_fail ("derive", error);
          return 1;
        }
      g_print ("%s", script);
    }
  else
    print_text (analysis);
  return 0;
}
