/* jac-hessian.c: a scalar expression's Hessian, as the Jacobian of its gradient expression. */
#define G_LOG_DOMAIN "jac-hessian"

#include <string.h>

#include "jac-derive-private.h"
#include "jac-error.h"
#include "jac-hessian.h"

void
jac_hessian_info_free (JacHessianInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->function_source);
  g_free (info->function_name);
  g_free (info->wrt);
  g_free (info->wrt2);
  g_free (info->gradient_source);
  g_free (info->gradient_text);
  g_free (info->gradient_where);
  g_strfreev (info->constants);
  g_free (info);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacHessianInfo, jac_hessian_info_free)

/* "grad", or with underscores added until no variable or constant has that name. */
static char *
gradient_name (const JacGraph *graph,
               GHashTable     *constants)
{
  g_autoptr(GString) name = g_string_new ("grad");

  while (jac_graph_find_variable (graph, name->str) >= 0 ||
         g_hash_table_contains (constants, name->str))
    g_string_append_c (name, '_');
  return g_string_free (g_steal_pointer (&name), FALSE);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The gradient expression parsed, its variables holding f's values and the constants'. */
static JacExpr *
parse_gradient (const JacGraph  *graph,
                const char      *source,
                GHashTable      *constants,
                GError         **error)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  g_autoptr(GHashTable) values = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(JacExpr) expr = NULL;
  GHashTableIter iter;
  gpointer name, value;
  gsize position = 0;

  for (guint n = 0; n < graph->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (graph, n);

      if (node->op != JAC_OP_VARIABLE)
        continue;
      jac_shape_env_declare (env, node->name, node->rank, node->shape);
      g_hash_table_insert (values, node->name, node->value);
    }
  g_hash_table_iter_init (&iter, constants);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      const JacTensor *t = value;

      jac_shape_env_declare (env, name, t->rank, t->shape);
      g_hash_table_insert (values, name, value);
    }
  expr = jac_expr_parse (source, env, &position, &parse_error);
  if (expr == NULL)
    {
      /* A printer's mistake, never the user's: say what it wrote. */
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "the gradient expression does not parse (%s at character %" G_GSIZE_FORMAT
                   "): %s", parse_error->message, position, source);
      return NULL;
    }
  /* Only the gradient's own variables are looked up, and each is in the table. */
  {
    g_autoptr(GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);

    for (guint n = 0; n < expr->graph->nodes->len; n++)
      {
        const JacNode *node = jac_graph_node (expr->graph, n);

        if (node->op == JAC_OP_VARIABLE)
          g_hash_table_insert (used, node->name, g_hash_table_lookup (values, node->name));
      }
    if (!jac_expr_draw_variables (expr, used, 0, error))
      return NULL;
  }
  return g_steal_pointer (&expr);
}

JacAnalysis *
jac_analysis_new_hessian (JacExpr         *expr,
                          const char      *wrt,
                          const char      *wrt2,
                          JacUpstreamKind  upstream_kind,
                          const JacTensor *direction,
                          guint32          seed,
                          GError         **error)
{
  g_autoptr(JacExpr) owned = expr;
  g_autoptr(JacHessianInfo) info = NULL;
  g_autoptr(JacDerivation) derivation = NULL;
  g_autoptr(GHashTable) constants = NULL;
  g_autoptr(JacExpr) gradient = NULL;
  g_autoptr(JacTensor) one = NULL;
  g_autoptr(JacTensor) vjp = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autofree char *body = NULL;
  g_autofree char *output = NULL;
  const JacNode *out, *grad_out;
  const JacNode *var;
  JacAnalysis *analysis;
  GHashTableIter iter;
  gpointer name;
  int wrt_node;

  g_return_val_if_fail (expr != NULL && wrt != NULL, NULL);

  if (wrt2 == NULL)
    wrt2 = wrt;
  out = jac_graph_node (owned->graph, owned->graph->output);
  if (out->rank != 0)
    {
      g_autofree char *shape = jac_shape_string (out->rank, out->shape);

      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "a Hessian needs a scalar output, but %s has shape %s (sum it, or take a "
                   "norm)", owned->output_name, shape);
      return NULL;
    }
  if ((wrt_node = jac_graph_find_variable (owned->graph, wrt)) < 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "“%s” is not a variable of the expression",
                   wrt);
      return NULL;
    }
  if (jac_graph_find_variable (owned->graph, wrt2) < 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "“%s” (the second variable) is not a variable of the expression", wrt2);
      return NULL;
    }
  var = jac_graph_node (owned->graph, wrt_node);
  if (upstream_kind == JAC_UPSTREAM_GIVEN &&
      (direction == NULL || direction->rank != var->rank ||
       (var->rank > 0 && direction->shape[0] != var->shape[0]) ||
       (var->rank > 1 && direction->shape[1] != var->shape[1])))
    {
      g_autofree char *want = jac_shape_string (var->rank, var->shape);
      g_autofree char *have = direction != NULL ? jac_tensor_shape_string (direction)
                                                : g_strdup ("none");

      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "the direction V has shape %s, but it must be shaped like %s: %s", have, wrt,
                   want);
      return NULL;
    }

  jac_graph_forward (owned->graph);
  derivation = jac_derive (owned, wrt, JAC_DERIVE_DEFAULT, error);
  if (derivation == NULL)
    return NULL;
  constants = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) jac_tensor_free);
  body = _jac_m_source (derivation->priv, owned->graph, constants, error);
  if (body == NULL)
    return NULL;

  info = g_new0 (JacHessianInfo, 1);
  info->function_source = g_strdup (owned->source);
  info->function_name = g_strdup (owned->output_name);
  info->wrt = g_strdup (wrt);
  info->wrt2 = g_strdup (wrt2);
  info->gradient_text = g_strdup (derivation->contracted_text);
  info->gradient_where = g_strdup (derivation->where_text);
  output = gradient_name (owned->graph, constants);
  info->gradient_source = g_strdup_printf ("%s = %s", output, body);

  gradient = parse_gradient (owned->graph, info->gradient_source, constants, error);
  if (gradient == NULL)
    return NULL;
  if (jac_graph_find_variable (gradient->graph, wrt2) < 0)
    {
      /* The gradient does not involve the second variable: keep it in, its Hessian is 0. */
      char *source = g_strdup_printf ("%s + 0 * sum(%s)", info->gradient_source, wrt2);

      g_free (info->gradient_source);
      info->gradient_source = source;
      g_clear_pointer (&gradient, jac_expr_free);
      gradient = parse_gradient (owned->graph, info->gradient_source, constants, error);
      if (gradient == NULL)
        return NULL;
    }

  names = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, constants);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    if (jac_graph_find_variable (gradient->graph, name) >= 0)
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  info->constants = (GStrv) g_ptr_array_free (g_steal_pointer (&names), FALSE);

  /* The expression printed is the gradient: the same values as back-propagation's, or the
   * printer is wrong and nothing is shown. */
  jac_graph_forward (gradient->graph);
  grad_out = jac_graph_node (gradient->graph, gradient->graph->output);
  one = jac_tensor_new_scalar (1.0);
  vjp = jac_graph_vjp (owned->graph, wrt_node, one);
  if (!jac_tensor_same_shape (vjp, grad_out->value))
    {
      g_autofree char *have = jac_tensor_shape_string (grad_out->value);

      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "the gradient expression has shape %s, not %s's: %s", have, wrt,
                   info->gradient_source);
      return NULL;
    }
  info->gradient_max_diff = jac_tensor_max_abs_diff (vjp, grad_out->value);
  if (!(info->gradient_max_diff <= 1e-9 * MAX (1.0, jac_tensor_max_abs (vjp))))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "the gradient expression differs from back-propagation by %.3g: %s",
                   info->gradient_max_diff, info->gradient_source);
      return NULL;
    }

  analysis = jac_analysis_new_expr_flags (g_steal_pointer (&gradient), wrt2,
                                          JAC_DERIVE_DIRECTION, upstream_kind, direction, seed,
                                          error);
  if (analysis == NULL)
    return NULL;
  analysis->hessian = g_steal_pointer (&info);
  return analysis;
}
