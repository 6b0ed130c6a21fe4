/* jac-window-expr.c: JacWindow's typed expressions: entries, presets, inline errors, variables. */
#define G_LOG_DOMAIN "jac-window"

#include <string.h>

#include "core/jac-error.h"
#include "core/jac-npy.h"
#include "core/jac-hessian.h"
#include "core/jac-presets.h"
#include "jac-window-private.h"

static const char * const rnn_variables[] = { "h_prev", "x", "W_hh", "W_xh", "b", NULL };
static const char * const rnn_load_labels[] = {
  "h__prev  (N × H)…", "x  (N × D)…", "W__hh  (H × H)…", "W__xh  (D × H)…", "b  (H or N × H)…",
};

gboolean
_jac_window_is_expr_mode (JacWindow *self)
{
  return self->session->expression != NULL && self->session->expression[0] != '\0';
}

/* "W_hh" → "W<sub>hh</sub>": what follows the first underscore is a subscript. */
char *
_jac_window_name_markup (const char *name)
{
  const char *underscore = strchr (name, '_');
  g_autofree char *head = NULL;
  g_autofree char *tail = NULL;

  if (underscore == NULL || underscore == name || underscore[1] == '\0')
    return g_markup_escape_text (name, -1);
  head = g_markup_escape_text (name, underscore - name);
  tail = g_markup_escape_text (underscore + 1, -1);
  return g_strdup_printf ("%s<sub>%s</sub>", head, tail);
}

/* The RNN step as one would type it, with the activation chosen. */
static char *
rnn_text (JacWindow *self)
{
  const char *sum = "h_prev @ W_hh + x @ W_xh + b";

  if (self->session->activation == JAC_ACTIVATION_IDENTITY)
    return g_strdup_printf ("h = %s", sum);
  return g_strdup_printf ("h = %s(%s)", jac_session_get_nick (self->session, "activation"), sum);
}

/* ---- computing ---------------------------------------------------------------------------- */

/* The RNN's names keep the sizes of the controls, so the step can be typed as it is. */
static void
declare_rnn_shapes (JacWindow   *self,
                    JacShapeEnv *env)
{
  gsize n = self->session->batch, d = self->session->input, h = self->session->hidden;
  gsize nh[2] = { n, h }, nd[2] = { n, d }, hh[2] = { h, h }, dh[2] = { d, h };

  jac_shape_env_set_size (env, "N", n);
  jac_shape_env_set_size (env, "D", d);
  jac_shape_env_set_size (env, "H", h);
  jac_shape_env_declare (env, "h_prev", 2, nh);
  jac_shape_env_declare (env, "x", 2, nd);
  jac_shape_env_declare (env, "W_hh", 2, hh);
  jac_shape_env_declare (env, "W_xh", 2, dh);
  if (self->session->b_shape == JAC_BIAS_SHAPE_NXH)
    jac_shape_env_declare (env, "b", 2, nh);
  else
    jac_shape_env_declare (env, "b", 1, &h);
}

/* The error's message, then the text with a caret under the culprit. */
static void
set_caret_error (GError     **error,
                 GError      *local,
                 const char  *source,
                 gsize        position)
{
  g_autofree char *caret = jac_expr_format_caret (source, position);
  gboolean says_where = strstr (local->message, "column") != NULL;
  g_autofree char *column = says_where ? g_strdup ("")
                                       : g_strdup_printf (" (column %" G_GSIZE_FORMAT ")",
                                                          position + 1);

  g_set_error (error, local->domain, local->code, "%s%s\n%s", local->message, column, caret);
  g_error_free (local);
}

static JacExpr *
parse_expression (JacWindow           *self,
                  GHashTable          *loaded,
                  JacExpressionField  *culprit,
                  GError             **error)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  GError *local = NULL;
  gsize position = 0;
  GHashTableIter iter;
  gpointer name, value;
  JacExpr *expr;

  declare_rnn_shapes (self, env);
  if (self->session->shapes != NULL
      && !jac_shape_env_parse_declarations (env, self->session->shapes, &position, &local))
    {
      *culprit = JAC_EXPRESSION_FIELD_SHAPES;
      set_caret_error (error, local, self->session->shapes, position);
      g_prefix_error (error, "Shapes: ");
      return NULL;
    }
  /* A loaded file fixes its variable's shape. */
  g_hash_table_iter_init (&iter, loaded);
  while (g_hash_table_iter_next (&iter, &name, &value))
    jac_shape_env_declare (env, name, ((JacTensor *) value)->rank, ((JacTensor *) value)->shape);

  *culprit = JAC_EXPRESSION_FIELD_EXPRESSION;
  expr = jac_expr_parse (self->session->expression, env, &position, &local);
  if (expr == NULL)
    {
      set_caret_error (error, local, self->session->expression, position);
      return NULL;
    }
  if (!jac_expr_draw_variables (expr, loaded, (guint32) self->session->seed, error))
    {
      jac_expr_free (expr);
      return NULL;
    }
  return expr;
}

JacAnalysis *
_jac_window_compute_expr (JacWindow           *self,
                          GHashTable          *loaded,
                          JacExpressionField  *culprit,
                          GError             **error)
{
  JacExpr *expr = parse_expression (self, loaded, culprit, error);
  g_autofree char *wrt = NULL;
  JacAnalysis *analysis;
  gboolean scalar;

  if (expr == NULL)
    return NULL;
  /* A new expression starts with respect to its first variable. */
  if (self->session->wrt != NULL && jac_graph_find_variable (expr->graph, self->session->wrt) >= 0)
    wrt = g_strdup (self->session->wrt);
  else
    wrt = g_strdup (jac_expr_first_variable (expr));
  /* The second derivative is there for a scalar output only. */
  scalar = jac_graph_node (expr->graph, expr->graph->output)->rank == 0;
  jac_expression_panel_set_scalar (self->expression_panel, scalar);
  if (self->hessian && scalar)
    analysis = jac_analysis_new_hessian (expr, wrt, NULL, JAC_UPSTREAM_ONES, NULL,
                                         (guint32) self->session->seed, error);
  else
    analysis = jac_analysis_new_expr (expr, wrt, _jac_window_upstream_kind (self), NULL,
                                      (guint32) self->session->seed, error);
  if (analysis != NULL && g_strcmp0 (wrt, self->session->wrt) != 0)
    {
      /* What this computation found: not a change to compute all over again. */
      self->in_compute = TRUE;
      g_object_set (self->session, "wrt", wrt, NULL);
      self->in_compute = FALSE;
    }
  return analysis;
}

/* ---- the inline error --------------------------------------------------------------------- */

void
_jac_window_show_expr_error (JacWindow          *self,
                             JacExpressionField  culprit,
                             const char         *message)
{
  jac_expression_panel_show_error (self->expression_panel, culprit, message);
  g_free (self->expr_error);
  self->expr_error = g_strdup (message);
}

void
_jac_window_clear_expr_error (JacWindow *self)
{
  jac_expression_panel_clear_error (self->expression_panel);
  g_clear_pointer (&self->expr_error, g_free);
}

const char *
_jac_window_get_expr_error (JacWindow *self)
{
  return self->expr_error;
}

/* ---- variables: the wrt buttons and the load menu ------------------------------------------ */

GStrv
_jac_window_dup_variables (JacWindow *self)
{
  g_autoptr(GStrvBuilder) builder = NULL;

  if (self->analysis == NULL || self->analysis->expr == NULL)
    return g_strdupv ((char **) rnn_variables);
  builder = g_strv_builder_new ();
  for (guint n = 0; n < self->analysis->graph->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (self->analysis->graph, n);

      /* A Hessian's gradient may hold named constants (I_3x3): not variables to choose. */
      if (node->op == JAC_OP_VARIABLE &&
          !(self->analysis->hessian != NULL &&
            g_strv_contains ((const char * const *) self->analysis->hessian->constants,
                             node->name)))
        g_strv_builder_add (builder, node->name);
    }
  return g_strv_builder_end (builder);
}

static void
rebuild_wrt_buttons (JacWindow          *self,
                     const char * const *names)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->wrt_box))) != NULL)
    gtk_box_remove (self->wrt_box, child);
  for (guint n = 0; names[n] != NULL; n++)
    {
      GtkWidget *button = gtk_toggle_button_new ();
      GtkWidget *label = gtk_label_new (NULL);
      g_autofree char *markup = _jac_window_name_markup (names[n]);

      gtk_label_set_markup (GTK_LABEL (label), markup);
      gtk_button_set_child (GTK_BUTTON (button), label);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.wrt");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", names[n]);
      if (n < 9)
        {
          g_autofree char *tip = g_strdup_printf ("With respect to %s (Ctrl+%u)", names[n], n + 1);

          gtk_widget_set_tooltip_text (button, tip);
        }
      gtk_box_append (self->wrt_box, button);
    }
}

/* Menu labels take '_' for a mnemonic: a name's own underscores are doubled. */
static char *
menu_label (const char *name,
            const char *shape)
{
  g_autoptr(GString) label = g_string_new (name);

  g_string_replace (label, "_", "__", 0);
  g_string_append_printf (label, "  %s…", shape);
  return g_string_free (g_steal_pointer (&label), FALSE);
}

static void
rebuild_load_menu (JacWindow          *self,
                   const char * const *names)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) section = g_menu_new ();
  gboolean rnn = !_jac_window_is_expr_mode (self);

  for (guint n = 0; names[n] != NULL; n++)
    {
      g_autoptr(GMenuItem) item = NULL;
      g_autofree char *label = NULL;

      if (rnn)
        label = g_strdup (rnn_load_labels[n]);
      else
        {
          const JacNode *node = jac_graph_node (self->analysis->graph,
                                                jac_graph_find_variable (self->analysis->graph,
                                                                         names[n]));
          g_autofree char *shape = jac_shape_string (node->rank, node->shape);

          label = menu_label (names[n], shape);
        }
      item = g_menu_item_new (label, NULL);
      g_menu_item_set_action_and_target_value (item, "win.open-variable",
                                               g_variant_new_string (names[n]));
      g_menu_append_item (section, item);
    }
  g_menu_append_section (menu, "Load from a .npy File", G_MENU_MODEL (section));
  jac_step_controls_set_load_menu (self->step_controls, G_MENU_MODEL (menu));
}

/* Rebuilds the header bar's wrt buttons and the load menu when the variables change. */
void
_jac_window_sync_variables (JacWindow *self)
{
  g_auto(GStrv) names = _jac_window_dup_variables (self);
  g_autofree char *key = g_strjoinv ("\n", names);
  const JacAnalysis *a = self->analysis;
  g_autofree char *out = _jac_window_name_markup (a != NULL ? a->output_name : "h");
  g_autofree char *caption = g_strdup_printf ("∂%s / ∂", out);

  gtk_label_set_markup (self->wrt_caption, caption);
  if (a != NULL && a->expr != NULL)
    {
      /* Shapes can change with the same names. */
      g_autoptr(GString) shapes = g_string_new (key);

      for (guint n = 0; names[n] != NULL; n++)
        {
          const JacNode *node = jac_graph_node (a->graph, jac_graph_find_variable (a->graph,
                                                                                   names[n]));

          g_autofree char *shape = jac_shape_string (node->rank, node->shape);

          g_string_append_printf (shapes, "\n%s", shape);
        }
      g_free (key);
      key = g_strdup (shapes->str);
    }
  if (g_strcmp0 (key, self->wrt_names) == 0)
    return;
  g_free (self->wrt_names);
  self->wrt_names = g_steal_pointer (&key);
  rebuild_wrt_buttons (self, (const char * const *) names);
  rebuild_load_menu (self, (const char * const *) names);
}

/* ---- the entries and the mode ----------------------------------------------------------- */

/* The RNN step's controls while it is on show, the shapes entry for an expression. */
void
_jac_window_sync_mode (JacWindow *self)
{
  gboolean expr = _jac_window_is_expr_mode (self);
  /* The sequence is always the RNN, whatever the expression. */
  gboolean rnn_controls = !expr || _jac_window_is_sequence_view (self);

  jac_step_controls_set_rnn_mode (self->step_controls, rnn_controls);
  jac_expression_panel_set_expression_mode (self->expression_panel, expr);

  /* What the user is typing is left alone. */
  if (jac_expression_panel_is_typing (self->expression_panel))
    return;
  if (expr)
    jac_expression_panel_set_texts (self->expression_panel, self->session->expression,
                                    self->session->shapes != NULL ? self->session->shapes : "");
  else
    {
      g_autofree char *text = rnn_text (self);

      jac_expression_panel_set_texts (self->expression_panel, text, NULL);
    }
}

void
_jac_window_apply_entries (JacWindow *self)
{
  JacExpressionPanel *panel = self->expression_panel;
  g_autofree char *text = g_strstrip (g_strdup (jac_expression_panel_get_expression (panel)));
  g_autofree char *shapes = g_strstrip (g_strdup (jac_expression_panel_get_shapes (panel)));
  g_autofree char *rnn = rnn_text (self);

  jac_expression_panel_cancel_typing (panel);
  if (text[0] == '\0')
    {
      _jac_window_show_expr_error (self, JAC_EXPRESSION_FIELD_EXPRESSION,
                                   "Type an expression, e.g. U = V @ A, or pick an example");
      return;
    }
  if (!_jac_window_is_expr_mode (self) && g_str_equal (text, rnn))
    return;
  g_object_set (self->session, "shapes", shapes, "expression", text, NULL);
}

void
_jac_window_expr_apply_cb (JacExpressionPanel *panel,
                           JacWindow          *self)
{
  _jac_window_apply_entries (self);
}

void
_jac_window_hessian_cb (JacExpressionPanel *panel,
                        GParamSpec         *pspec,
                        JacWindow          *self)
{
  gboolean active = jac_expression_panel_get_hessian (panel);

  if (active == self->hessian)
    return;
  self->hessian = active;
  _jac_window_recompute_now (self);
}

gboolean
_jac_window_apply_preset (JacWindow  *self,
                          const char *id)
{
  const JacPreset *preset = jac_preset_find (id);

  if (preset == NULL)
    return FALSE;
  jac_expression_panel_cancel_typing (self->expression_panel);
  if (preset->expression == NULL)
    {
      self->hessian = FALSE;
      jac_expression_panel_set_hessian (self->expression_panel, FALSE);
      g_object_set (self->session, "expression", "", NULL);
    }
  else
    {
      g_autofree char *before = g_strdup (self->session->wrt);
      gboolean hessian_changed = self->hessian != preset->hessian;

      /* The gallery's Hessians turn the switch on, its other entries off. */
      self->hessian = preset->hessian;
      jac_expression_panel_set_hessian (self->expression_panel, preset->hessian);
      g_object_set (self->session, "shapes", preset->shapes, "expression", preset->expression,
                    NULL);
      if (hessian_changed)
        _jac_window_recompute_now (self);
      /* A variable the new expression shares stays; else the gallery's, not merely the first. */
      if (g_strcmp0 (self->session->wrt, before) != 0 && self->analysis != NULL
          && jac_graph_find_variable (self->analysis->graph, preset->wrt) >= 0
          && g_strcmp0 (self->session->wrt, preset->wrt) != 0)
        g_object_set (self->session, "wrt", preset->wrt, NULL);
    }
  _jac_window_sync_mode (self);
  return TRUE;
}

/* The Examples menu: core's gallery, by section. */
GMenuModel *
_jac_window_preset_menu (void)
{
  GMenu *menu = g_menu_new ();
  g_autoptr(GMenu) section = NULL;
  const char *section_name = NULL;
  guint n;
  const JacPreset *presets = jac_presets (&n);

  for (guint k = 0; k < n; k++)
    {
      const JacPreset *p = &presets[k];
      g_autofree char *label = NULL;
      g_autoptr(GMenuItem) item = NULL;

      if (g_strcmp0 (section_name, p->section) != 0)
        {
          if (section != NULL)
            g_menu_append_section (menu, section_name, G_MENU_MODEL (section));
          g_clear_object (&section);
          section = g_menu_new ();
          section_name = p->section;
        }
      if (p->expression != NULL)
        label = g_strdup_printf ("%s   %s", p->title, p->expression);
      else
        {
          g_autofree char *source = jac_rnn_source (JAC_FUNC_TANH);

          label = g_strdup_printf ("%s   %s", p->title, source);
        }
      item = g_menu_item_new (label, NULL);
      g_menu_item_set_action_and_target (item, "win.preset", "s", p->id);
      g_menu_append_item (section, item);
    }
  if (section != NULL)
    g_menu_append_section (menu, section_name, G_MENU_MODEL (section));
  return G_MENU_MODEL (menu);
}

/* ---- variables from files ------------------------------------------------------------------ */

gboolean
_jac_window_load_expr_variable (JacWindow   *self,
                                const char  *name,
                                const char  *path,
                                GError     **error)
{
  const JacAnalysis *a = self->analysis;
  g_autoptr(JacTensor) tensor = NULL;
  g_autoptr(GHashTable) loaded = NULL;
  JacExpressionField culprit = JAC_EXPRESSION_FIELD_NONE;
  JacAnalysis *analysis;

  if (a == NULL || a->expr == NULL || jac_graph_find_variable (a->graph, name) < 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "“%s” is not a variable of the expression",
                   name);
      return FALSE;
    }
  tensor = jac_npy_read (path, error);
  if (tensor == NULL)
    return FALSE;
  if (tensor->rank > 2)
    {
      g_autofree char *shape = jac_tensor_shape_string (tensor);

      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "it has shape %s, but expressions take scalars, vectors and matrices", shape);
      return FALSE;
    }

  /* Borrowed entries: the new file wins over one loaded before for the same name. */
  loaded = g_hash_table_new (g_str_hash, g_str_equal);
  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, self->loaded_expr);
    while (g_hash_table_iter_next (&iter, &key, &value))
      g_hash_table_insert (loaded, key, value);
  }
  g_hash_table_insert (loaded, (gpointer) name, tensor);
  analysis = _jac_window_compute_expr (self, loaded, &culprit, error);
  if (analysis == NULL)
    return FALSE;
  g_hash_table_insert (self->loaded_expr, g_strdup (name), g_steal_pointer (&tensor));
  g_hash_table_insert (self->loaded_expr_path, g_strdup (name), g_strdup (path));
  _jac_window_install_analysis (self, analysis);
  return TRUE;
}
