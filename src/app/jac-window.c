/* jac-window.c: the main window: controls, the figure, the derivation. */
#define G_LOG_DOMAIN "jac-window"

#include <math.h>
#include <string.h>

#include "core/jac-derive.h"
#include "core/jac-error.h"
#include "core/jac-kron.h"
#include "core/jac-npy.h"
#include "jac-derivation.h"
#include "jac-profile.h"
#include "jac-session-private.h"
#include "jac-window-private.h"

G_DEFINE_FINAL_TYPE (JacWindow, jac_window, GTK_TYPE_APPLICATION_WINDOW)


#define PRESENTATION_LINE_SCALE 2.0
#define DEFAULT_EXPORT_WIDTH 1200
#define DEFAULT_EXPORT_HEIGHT 800
#define INFO_SECONDS 4

/* ---- helpers ---------------------------------------------------------------------------- */

JacUpstreamKind
_jac_window_upstream_kind (JacWindow *self)
{
  return self->session->upstream;
}

static void
build_style (JacWindow      *self,
             JacFigureStyle *style)
{
  jac_figure_style_init (style);
  /* The medium sets the type's floor (18 px on a projector, 11 px on screen); the text scale
   * only moves it up from there, render never sets text under the floor. */
  style->medium = self->session->presentation ? JAC_MEDIUM_PRESENTATION : JAC_MEDIUM_SCREEN;
  jac_figure_style_set_layout (style, self->session->layout);
  style->colormap = self->session->colormap;
  style->show_values = self->session->show_values;
  style->text_scale = self->session->text_scale;
  style->line_scale = self->session->text_scale
                      * (self->session->presentation ? PRESENTATION_LINE_SCALE : 1.0);
  style->focus_row = self->session->row_view ? self->session->row : -1;
  style->show_contraction = self->session->show_contraction;
}

/* The step where a δ collapses the variable's indices (or, with no δ, the substitution), with
 * what the blocks are in the layout on show. */
static char *
key_delta_markup (const JacAnalysis *analysis,
                  gboolean           denominator)
{
  const JacDerivationStep *step = jac_derivation_find_step (analysis->derivation,
                                                            "Kronecker δ rule");
  g_autofree char *block = jac_analysis_block_markup (analysis, denominator);

  if (step == NULL)
    step = jac_derivation_find_step (analysis->derivation, "Substitute");
  if (step == NULL)
    return g_strdup_printf ("%s layout: %s", denominator ? "Denominator" : "Numerator", block);
  return g_strdup_printf ("<b>%s</b>   %s\n    %s layout: %s", step->title, step->markup,
                          denominator ? "Denominator" : "Numerator", block);
}

/* The contraction with G, and why it comes out transposed. */
static char *
key_contract_markup (const JacAnalysis *analysis)
{
  const JacDerivationStep *step = jac_derivation_find_step (analysis->derivation,
                                                            analysis->hessian != NULL
                                                            ? "Contract with V"
                                                            : "Contract with G");
  g_autofree char *why = jac_analysis_why_markup (analysis);

  if (step == NULL)
    return g_strdup_printf ("<b>Contracted form</b>   %s\n    %s",
                            analysis->derivation->contracted_markup, why);
  /* The why line says "why the transpose: …" itself. */
  return g_strdup_printf ("<b>%s</b>   %s\n    %s", step->title, step->markup, why);
}

static void
update_key_steps (JacWindow *self,
                  gboolean   denominator)
{
  g_autofree char *delta = NULL;
  g_autofree char *contract = NULL;
  g_autofree char *both = NULL;

  if (self->analysis->derivation == NULL)
    return;
  delta = key_delta_markup (self->analysis, denominator);
  contract = key_contract_markup (self->analysis);
  both = g_strconcat (delta, contract, NULL);
  if (g_strcmp0 (both, self->key_steps_markup) == 0)
    return;
  gtk_label_set_markup (self->key_delta_label, delta);
  gtk_label_set_markup (self->key_contract_label, contract);
  g_free (self->key_steps_markup);
  self->key_steps_markup = g_steal_pointer (&both);
}

static void update_derivation (JacWindow *self);

static gboolean
kron_idle_cb (gpointer user_data)
{
  JacWindow *self = user_data;

  self->kron_source = 0;
  if (self->analysis != NULL)
    {
      gint64 start = g_get_monotonic_time ();

      jac_kron_analysis_prepare (self->analysis);
      update_derivation (self);
      jac_profile_log ("Kronecker form, after the frame: %.2f ms",
                       (g_get_monotonic_time () - start) / 1000.0);
    }
  return G_SOURCE_REMOVE;
}

static void
kron_after_paint_cb (GdkFrameClock *frame_clock,
                     JacWindow     *self)
{
  if (!jac_figure_view_is_current (self->figure_view)
      && gtk_widget_get_mapped (GTK_WIDGET (self->figure_view)))
    return;
  g_clear_signal_handler (&self->kron_paint_id, frame_clock);
  if (self->kron_source == 0)
    self->kron_source = g_idle_add_full (G_PRIORITY_LOW, kron_idle_cb, self, NULL);
}

/* A large Jacobian's Kronecker form (a pass over its core) is found after the frame that shows
 * the change has been painted, and the derivation gains its "As one matrix" line then. */
static void
queue_kron (JacWindow *self)
{
  GdkFrameClock *frame_clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));

  if (self->kron_source != 0 || self->kron_paint_id != 0)
    return;
  if (frame_clock == NULL)
    {
      self->kron_source = g_idle_add_full (G_PRIORITY_LOW, kron_idle_cb, self, NULL);
      return;
    }
  self->kron_paint_id = g_signal_connect (frame_clock, "after-paint",
                                          G_CALLBACK (kron_after_paint_cb), self);
}

/* Only when the text changed: laying out the label again is not free. Its size comes from CSS
 * (see update_type_scale and style.css), like every other label's. */
static void
update_derivation (JacWindow *self)
{
  gboolean denominator = self->session->layout == JAC_LAYOUT_DENOMINATOR;
  g_autofree char *markup = NULL;

  if (self->analysis == NULL)
    return;
  update_key_steps (self, denominator);
  if (jac_kron_analysis_pending (self->analysis))
    queue_kron (self);
  markup = jac_derivation_markup (self->analysis, denominator);
  if (g_strcmp0 (markup, self->derivation_markup) == 0)
    return;
  gtk_label_set_markup (self->derivation_label, markup);
  g_free (self->derivation_markup);
  self->derivation_markup = g_steal_pointer (&markup);
}

/* The window's font size is the text scale; every label inherits it, and the relative sizes of
 * style.css (presentation mode's 1.55em among them) multiply it. The figures draw their own type
 * and take the same scale through their style. */
static void
update_type_scale (JacWindow *self)
{
  /* On a projector, smaller than presentation mode's own sizes would not read. */
  double scale = self->session->presentation ? MAX (self->session->text_scale, 1.0)
                                             : self->session->text_scale;
  g_autofree char *css = g_strdup_printf ("window { font-size: %d%%; }",
                                          (int) round (100 * scale));

  gtk_css_provider_load_from_data (self->type_provider, css, -1);
}

static void
update_style (JacWindow *self)
{
  JacFigureStyle style;

  build_style (self, &style);
  if (self->change_us == 0)
    self->change_us = g_get_monotonic_time ();
  jac_figure_view_set_style (self->figure_view, &style);
  jac_time_view_set_style (self->time_view, &style);
  update_derivation (self);
}

/* G is ∂L/∂ of what the figure differentiates: h for the RNN step, an expression's output. */
static void
update_upstream_label (JacWindow *self)
{
  g_autofree char *name = _jac_window_name_markup (self->analysis->output_name);
  g_autofree char *markup = g_strdup_printf ("Upstream gradient  G = ∂L/∂%s", name);

  jac_step_controls_set_upstream_markup (self->step_controls, markup);
}

static void
update_title (JacWindow *self)
{
  const char *out = self->analysis != NULL ? self->analysis->output_name : "h";
  g_autofree char *title = NULL;

  if (_jac_window_is_sequence_view (self))
    title = g_strdup ("Jacscope — ∂h_T/∂h_{T−k} through time");
  else
    title = g_strdup_printf ("Jacscope — ∂%s/∂%s", out, self->session->wrt);

  gtk_window_set_title (GTK_WINDOW (self), title);
}

/* Sizes that a loaded variable fixes cannot be changed by hand. */
static void
update_size_sensitivity (JacWindow *self)
{
  gboolean b_matrix = self->loaded[JAC_VAR_B] != NULL && self->loaded[JAC_VAR_B]->rank == 2;
  gboolean batch_fixed = self->loaded[JAC_VAR_H_PREV] || self->loaded[JAC_VAR_X] || b_matrix;
  gboolean input_fixed = self->loaded[JAC_VAR_X] || self->loaded[JAC_VAR_W_XH];
  gboolean hidden_fixed = self->loaded[JAC_VAR_H_PREV] || self->loaded[JAC_VAR_W_HH]
                          || self->loaded[JAC_VAR_W_XH] || self->loaded[JAC_VAR_B];

  jac_step_controls_set_sizes_fixed (self->step_controls, batch_fixed, input_fixed, hidden_fixed);
}

static void
append_loaded_line (GString         *text,
                    const char      *name,
                    const char      *path,
                    const JacTensor *tensor)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *shape = jac_tensor_shape_string (tensor);
  g_autofree char *line = g_markup_printf_escaped ("%s%s ← %s %s", text->len ? "\n" : "", name,
                                                   base, shape);

  g_string_append (text, line);
}

static int
compare_names (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* An expression's variables from files, in name order. */
static void
update_loaded_expr (JacWindow *self)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree gpointer *names = (gpointer *) g_hash_table_get_keys_as_array (self->loaded_expr,
                                                                             NULL);
  guint n = g_hash_table_size (self->loaded_expr);

  g_qsort_with_data (names, n, sizeof (gpointer), compare_names, NULL);
  for (guint k = 0; k < n; k++)
    append_loaded_line (text, names[k],
                        g_hash_table_lookup (self->loaded_expr_path, names[k]),
                        g_hash_table_lookup (self->loaded_expr, names[k]));
  jac_step_controls_set_loaded (self->step_controls, text->len > 0 ? text->str : NULL);
}

void
_jac_window_update_loaded (JacWindow *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  if (_jac_window_is_expr_mode (self))
    {
      update_loaded_expr (self);
      return;
    }
  for (guint v = 0; v < JAC_N_VARS; v++)
    if (self->loaded[v] != NULL)
      {
        g_autofree char *base = g_path_get_basename (self->loaded_path[v]);
        g_autofree char *shape = jac_tensor_shape_string (self->loaded[v]);
        g_autofree char *line = g_markup_printf_escaped ("%s%s ← %s %s", text->len ? "\n" : "",
                                                         jac_variable_name (v), base, shape);
        g_string_append (text, line);
      }
  jac_step_controls_set_loaded (self->step_controls, text->len > 0 ? text->str : NULL);
  update_size_sensitivity (self);
}

/* A variable's shape in the analysed expression: the sizes the engine settled on. */
static const JacNode *
analysed_variable (JacWindow  *self,
                   const char *name)
{
  int node = jac_graph_find_variable (self->analysis->graph, name);

  return node >= 0 ? jac_graph_node (self->analysis->graph, node) : NULL;
}

/* Sizes follow loaded files: show the ones the engine settled on. For the RNN preset they are
 * read back from its variables' shapes (h_prev N×H, x N×D, b H or N×H). */
static void
sync_from_analysis (JacWindow *self)
{
  gsize rows = MAX (self->analysis->sparsity.n_block_rows, 1);
  const JacNode *h_prev, *x, *b;

  jac_step_controls_set_rows (self->step_controls, rows);
  if (self->session->row > (int) rows - 1)
    g_object_set (self->session, "row", (int) rows - 1, NULL);
  if (_jac_window_is_expr_mode (self))
    return;
  h_prev = analysed_variable (self, "h_prev");
  x = analysed_variable (self, "x");
  b = analysed_variable (self, "b");
  if (h_prev == NULL || x == NULL || b == NULL || h_prev->rank != 2 || x->rank != 2)
    return;
  self->in_compute = TRUE;
  g_object_set (self->session,
                "batch", (int) h_prev->shape[0],
                "input", (int) x->shape[1],
                "hidden", (int) h_prev->shape[1],
                "b-shape", b->rank == 2 ? JAC_BIAS_SHAPE_NXH : JAC_BIAS_SHAPE_H,
                NULL);
  self->in_compute = FALSE;
}

static JacAnalysis *
compute (JacWindow  *self,
         JacTensor **loaded,
         GError    **error)
{
  g_autoptr(JacRnn) rnn = NULL;
  JacRnnConfig config;
  JacVariable wrt = JAC_VAR_H_PREV;

  jac_session_rnn_config (self->session, &config);
  jac_variable_from_name (self->session->wrt, &wrt);

  rnn = jac_rnn_new (&config, loaded, error);
  if (rnn == NULL)
    return NULL;
  return jac_analysis_new (g_steal_pointer (&rnn), wrt, _jac_window_upstream_kind (self), NULL,
                           error);
}

void
_jac_window_install_analysis (JacWindow   *self,
                              JacAnalysis *analysis)
{
  self->analysis = analysis;
  jac_figure_view_set_analysis (self->figure_view, analysis);
  sync_from_analysis (self);
  _jac_window_clear_expr_error (self);
  _jac_window_sync_variables (self);
  _jac_window_sync_mode (self);
  _jac_window_update_loaded (self);
  update_title (self);
  update_upstream_label (self);
  update_style (self);
  _jac_window_sync_sequence (self);
}

/* ---- recomputation ---------------------------------------------------------------------- */

void
_jac_window_recompute_now (JacWindow *self)
{
  g_autoptr(GError) error = NULL;
  JacAnalysis *analysis;
  gint64 start = g_get_monotonic_time ();

  g_clear_handle_id (&self->recompute_source, g_source_remove);
  if (_jac_window_is_expr_mode (self))
    {
      JacExpressionField culprit = JAC_EXPRESSION_FIELD_NONE;

      analysis = _jac_window_compute_expr (self, self->loaded_expr, &culprit, &error);
      jac_profile_log ("analysis %s wrt=%s: %.2f ms", self->session->expression, self->session->wrt,
                       (g_get_monotonic_time () - start) / 1000.0);
      /* Inline, under the entry; the figure on show stays. */
      if (analysis == NULL)
        {
          _jac_window_show_expr_error (self, culprit, error->message);
          return;
        }
    }
  else
    {
      JacVariable wrt;

      /* Back from an expression: its variable is not the RNN's. */
      if (!jac_variable_from_name (self->session->wrt, &wrt))
        {
          self->in_compute = TRUE;
          g_object_set (self->session, "wrt", "h_prev", NULL);
          self->in_compute = FALSE;
        }
      analysis = compute (self, self->loaded, &error);
      jac_profile_log ("analysis N=%d D=%d H=%d wrt=%s: %.2f ms", self->session->batch,
                       self->session->input, self->session->hidden, self->session->wrt,
                       (g_get_monotonic_time () - start) / 1000.0);
      if (analysis == NULL)
        {
          _jac_window_show_message (self, GTK_MESSAGE_ERROR, error->message);
          return;
        }
    }
  if (self->message_is_error)
    _jac_window_hide_message (self);
  _jac_window_install_analysis (self, analysis);
}

static gboolean
recompute_cb (gpointer user_data)
{
  JacWindow *self = user_data;

  self->recompute_source = 0;
  _jac_window_recompute_now (self);
  return G_SOURCE_REMOVE;
}

/* Recomputes once before the next frame, however many controls changed meanwhile. */
void
_jac_window_queue_recompute (JacWindow *self)
{
  if (self->change_us == 0)
    self->change_us = g_get_monotonic_time ();
  if (self->recompute_source == 0)
    self->recompute_source = g_idle_add_full (G_PRIORITY_HIGH_IDLE + 10, recompute_cb, self,
                                              NULL);
}

/* ---- messages --------------------------------------------------------------------------- */

static gboolean
message_timeout_cb (gpointer user_data)
{
  JacWindow *self = user_data;

  self->message_source = 0;
  _jac_window_hide_message (self);
  return G_SOURCE_REMOVE;
}

/* An error stays until dismissed or fixed; a confirmation goes by itself. */
void
_jac_window_show_message (JacWindow      *self,
                          GtkMessageType  type,
                          const char     *message)
{
  g_clear_handle_id (&self->message_source, g_source_remove);
  if (type != GTK_MESSAGE_ERROR)
    self->message_source = g_timeout_add_seconds (INFO_SECONDS, message_timeout_cb, self);
  g_free (self->message);
  self->message = g_strdup (message);
  self->message_is_error = type == GTK_MESSAGE_ERROR;
  /* A confirmation is a toast; an error waits in the info bar for the user to act. */
  if (type != GTK_MESSAGE_ERROR && ADW_IS_TOAST_OVERLAY (gtk_window_get_child (GTK_WINDOW (self))))
    {
      AdwToast *toast = adw_toast_new (message);

      adw_toast_set_timeout (toast, INFO_SECONDS);
      /* The window's child, not a template field: the template's disposal must not unparent
       * what the window itself disposes. */
      adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (gtk_window_get_child (GTK_WINDOW (self))),
                                   toast);
      gtk_info_bar_set_revealed (self->info_bar, FALSE);
      return;
    }
  gtk_label_set_text (self->info_label, message);
  gtk_info_bar_set_message_type (self->info_bar, type);
  gtk_info_bar_set_revealed (self->info_bar, TRUE);
}

void
_jac_window_hide_message (JacWindow *self)
{
  g_clear_handle_id (&self->message_source, g_source_remove);
  g_clear_pointer (&self->message, g_free);
  self->message_is_error = FALSE;
  gtk_info_bar_set_revealed (self->info_bar, FALSE);
}

/* ---- callbacks -------------------------------------------------------------------------- */

static void
info_bar_response_cb (GtkInfoBar *info_bar,
                      int         response,
                      JacWindow  *self)
{
  _jac_window_hide_message (self);
}

static void
hover_text_cb (JacFigureView *view,
               GParamSpec    *pspec,
               JacWindow     *self)
{
  const char *text = jac_figure_view_get_hover_text (view);

  gtk_label_set_text (self->hover_label,
                      text != NULL ? text : "Hover a cell to see what it is made of · "
                                            "Ctrl+scroll to zoom, drag to pan");
}

/* The zoom buttons cover a corner of the figure: they show while the pointer is on it or the
 * figure is zoomed, and leave a projected or exported-looking figure whole otherwise. */
static void
update_zoom_controls (JacWindow *self)
{
  gboolean zoomed = fabs (jac_figure_view_get_zoom (self->figure_view) - 1) > 1e-9;

  gtk_widget_set_visible (self->zoom_controls, self->pointer_on_figure || zoomed);
}

static void
zoom_cb (JacFigureView *view,
         GParamSpec    *pspec,
         JacWindow     *self)
{
  g_autofree char *text = g_strdup_printf ("%.0f%%", 100 * jac_figure_view_get_zoom (view));

  gtk_label_set_text (self->zoom_label, text);
  update_zoom_controls (self);
}

static void
figure_enter_cb (GtkEventControllerMotion *controller,
                 double                    x,
                 double                    y,
                 JacWindow                *self)
{
  self->pointer_on_figure = TRUE;
  update_zoom_controls (self);
}

static void
figure_leave_cb (GtkEventControllerMotion *controller,
                 JacWindow                *self)
{
  self->pointer_on_figure = FALSE;
  update_zoom_controls (self);
}

static void
fullscreened_cb (JacWindow  *self,
                 GParamSpec *pspec)
{
  /* Leaving full screen by other means (the window manager, Escape) ends presentation mode. */
  if (!gtk_window_is_fullscreen (GTK_WINDOW (self)) && self->session->presentation)
    g_object_set (self->session, "presentation", FALSE, NULL);
}

/* The dark style follows the desktop (libadwaita reads its preference), or another window. */
static void
style_dark_cb (AdwStyleManager *manager,
               GParamSpec      *pspec,
               JacWindow       *self)
{
  g_object_set (self->session, "dark-style", adw_style_manager_get_dark (manager), NULL);
}

static void
before_paint_cb (GdkFrameClock *frame_clock,
                 JacWindow     *self)
{
  self->frame_start_us = g_get_monotonic_time ();
}

static void
after_paint_cb (GdkFrameClock *frame_clock,
                JacWindow     *self)
{
  static gboolean first = TRUE;
  gint64 now = g_get_monotonic_time ();

  if (first)
    {
      first = FALSE;
      jac_profile_log ("startup to first frame: %.1f ms",
                       (now - jac_profile_start_us ()) / 1000.0);
    }
  /* A frame where the old picture stands in for a slow new one has not shown the change. */
  if (self->change_us != 0 && (jac_figure_view_is_current (self->figure_view)
                                || !gtk_widget_get_mapped (GTK_WIDGET (self->figure_view))))
    {
      jac_profile_log ("control change to painted frame: %.2f ms (this frame's work: %.2f ms)",
                       (now - self->change_us) / 1000.0, (now - self->frame_start_us) / 1000.0);
      self->change_us = 0;
    }
}

/* ---- GObject and GtkWidget overrides ---------------------------------------------------- */

static void
jac_window_realize (GtkWidget *widget)
{
  JacWindow *self = JAC_WINDOW (widget);

  GTK_WIDGET_CLASS (jac_window_parent_class)->realize (widget);

  if (jac_profile_enabled ())
    {
      GdkFrameClock *frame_clock = gtk_widget_get_frame_clock (widget);

      self->before_paint_id = g_signal_connect (frame_clock, "before-paint",
                                                G_CALLBACK (before_paint_cb), self);
      self->after_paint_id = g_signal_connect (frame_clock, "after-paint",
                                               G_CALLBACK (after_paint_cb), self);
    }
}

static void
jac_window_unrealize (GtkWidget *widget)
{
  JacWindow *self = JAC_WINDOW (widget);

  g_clear_signal_handler (&self->before_paint_id, gtk_widget_get_frame_clock (widget));
  g_clear_signal_handler (&self->after_paint_id, gtk_widget_get_frame_clock (widget));
  g_clear_signal_handler (&self->kron_paint_id, gtk_widget_get_frame_clock (widget));

  GTK_WIDGET_CLASS (jac_window_parent_class)->unrealize (widget);
}

/* ---- what a change of the session does to the window ------------------------------------ */

static void
presentation_changed (JacWindow *self)
{
  gboolean presentation = self->session->presentation;

  /* The figure gets the whole screen, its caption carrying the block formula and the why;
   * F9 and F8 still bring the controls and the derivation back. */
  if (presentation)
    {
      self->sidebar_before_presentation = self->session->show_sidebar;
      self->derivation_before_presentation = self->session->show_derivation;
      g_object_set (self->session, "show-sidebar", FALSE, "show-derivation", FALSE, NULL);
      gtk_widget_add_css_class (GTK_WIDGET (self), "presentation");
      gtk_window_fullscreen (GTK_WINDOW (self));
    }
  else
    {
      g_object_set (self->session, "show-sidebar", self->sidebar_before_presentation,
                    "show-derivation", self->derivation_before_presentation, NULL);
      gtk_widget_remove_css_class (GTK_WIDGET (self), "presentation");
      gtk_window_unfullscreen (GTK_WINDOW (self));
    }
  update_type_scale (self);
  /* Escape is left to others unless there is a presentation to leave. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.leave-presentation", presentation);
}

static void
dark_style_changed (JacWindow *self)
{
  gboolean dark = self->session->dark_style;

  /* The user's choice overrides the desktop's, until the desktop changes again. */
  if (adw_style_manager_get_dark (adw_style_manager_get_default ()) != dark)
    adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                        dark ? ADW_COLOR_SCHEME_FORCE_DARK
                                             : ADW_COLOR_SCHEME_FORCE_LIGHT);
}

static gboolean
is_one_of (const char         *name,
           const char * const *names)
{
  return g_strv_contains (names, name);
}

/* What each change of the session needs: the data's recompute the figure once idle, the
 * figure's choices restyle it, the sequence's go to the through-time view. */
static void
session_notify_cb (JacSession *session,
                   GParamSpec *pspec,
                   JacWindow  *self)
{
  static const char * const sequence[] = {
    "batch", "input", "hidden", "seed", "activation", "b-shape", "cell", "steps", "gain",
    "orthogonal", NULL,
  };
  static const char * const model[] = {
    "batch", "input", "hidden", "seed", "activation", "b-shape", "upstream", "wrt",
    "expression", "shapes", NULL,
  };
  static const char * const style[] = {
    "layout", "colormap", "show-values", "show-contraction", "row-view", "row", "presentation",
    "text-scale", NULL,
  };
  const char *name = pspec->name;

  if (g_str_equal (name, "presentation"))
    presentation_changed (self);
  else if (g_str_equal (name, "dark-style"))
    dark_style_changed (self);
  else if (g_str_equal (name, "text-scale"))
    update_type_scale (self);
  else if (g_str_equal (name, "steps"))
    gtk_adjustment_set_upper (gtk_range_get_adjustment (GTK_RANGE (self->lag_scale)),
                              session->steps);
  if (g_str_equal (name, "wrt"))
    update_title (self);
  if (g_str_equal (name, "view"))
    {
      _jac_window_sync_view (self);
      update_title (self);
    }
  if (is_one_of (name, sequence))
    _jac_window_sync_sequence (self);
  if (g_str_equal (name, "expression"))
    {
      _jac_window_sync_mode (self);
      _jac_window_update_loaded (self);
    }
  if (is_one_of (name, model))
    {
      if (!self->in_compute)
        _jac_window_queue_recompute (self);
    }
  else if (is_one_of (name, style) && self->analysis != NULL)
    update_style (self);
}

static void
jac_window_dispose (GObject *object)
{
  JacWindow *self = JAC_WINDOW (object);

  g_clear_handle_id (&self->recompute_source, g_source_remove);
  g_clear_handle_id (&self->kron_source, g_source_remove);
  g_clear_handle_id (&self->message_source, g_source_remove);
  g_clear_pointer (&self->history, jac_history_free);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->settings);
  if (self->dialog != NULL)
    gtk_native_dialog_destroy (self->dialog);
  g_clear_object (&self->dialog);
  if (self->export_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->export_dialog));
  if (self->figure_view != NULL)
    jac_figure_view_set_analysis (self->figure_view, NULL);
  self->analysis = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), JAC_TYPE_WINDOW);

  G_OBJECT_CLASS (jac_window_parent_class)->dispose (object);
}

static void
jac_window_finalize (GObject *object)
{
  JacWindow *self = JAC_WINDOW (object);

  for (guint v = 0; v < JAC_N_VARS; v++)
    {
      g_clear_pointer (&self->loaded[v], jac_tensor_free);
      g_clear_pointer (&self->loaded_path[v], g_free);
    }
  g_clear_pointer (&self->loaded_expr, g_hash_table_unref);
  g_clear_pointer (&self->loaded_expr_path, g_hash_table_unref);
  g_clear_pointer (&self->wrt_names, g_free);
  g_clear_pointer (&self->expr_error, g_free);
  g_clear_pointer (&self->message, g_free);
  g_clear_pointer (&self->derivation_markup, g_free);
  g_clear_pointer (&self->key_steps_markup, g_free);
  jac_export_choices_clear (&self->export_choices);
  g_clear_pointer (&self->export_offered_name, g_free);
  g_clear_object (&self->type_provider);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (jac_window_parent_class)->finalize (object);
}

static void
jac_window_class_init (JacWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jac_window_dispose;
  object_class->finalize = jac_window_finalize;
  widget_class->realize = jac_window_realize;
  widget_class->unrealize = jac_window_unrealize;

  g_type_ensure (JAC_TYPE_FIGURE_VIEW);
  g_type_ensure (JAC_TYPE_TIME_VIEW);
  g_type_ensure (ADW_TYPE_TOAST_OVERLAY);
  g_type_ensure (JAC_TYPE_EXPRESSION_PANEL);
  g_type_ensure (JAC_TYPE_SEQUENCE_CONTROLS);
  g_type_ensure (JAC_TYPE_STEP_CONTROLS);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/jacscope/Jacscope/jac-window.ui");
  gtk_widget_class_bind_template_child (widget_class, JacWindow, all_steps_window);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, expression_panel);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, sequence_controls);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, step_controls);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, derivation_label);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, derivation_pane);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, figure_view);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, gain_scale);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, hover_label);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, info_bar);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, info_label);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, export_menu_button);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, key_contract_label);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, key_delta_label);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, lag_scale);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, sequence_spinner);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, sequence_summary_label);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, time_view);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, wrt_box);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, wrt_caption);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, zoom_controls);
  gtk_widget_class_bind_template_child (widget_class, JacWindow, zoom_label);
  gtk_widget_class_bind_template_callback (widget_class, info_bar_response_cb);
  gtk_widget_class_bind_template_callback (widget_class, hover_text_cb);
  gtk_widget_class_bind_template_callback (widget_class, zoom_cb);

  _jac_window_class_add_actions (widget_class);
}

static void
init_state (JacWindow *self)
{
  self->session = jac_session_new ();
  self->loaded_expr = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) jac_tensor_free);
  self->loaded_expr_path = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  jac_export_choices_init (&self->export_choices);
}

/* ---- undo, and the settings that persist -------------------------------------------------- */

static void
history_changed_cb (JacHistory *history,
                    gpointer    data)
{
  JacWindow *self = data;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo", jac_history_can_undo (history));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo", jac_history_can_redo (history));
}

void
_jac_window_undo (JacWindow *self)
{
  if (self->history != NULL)
    jac_history_undo (self->history);
}

void
_jac_window_redo (JacWindow *self)
{
  if (self->history != NULL)
    jac_history_redo (self->history);
}

static gboolean
close_request_cb (JacWindow *self)
{
  int width = 0, height = 0;
  AdwColorScheme scheme = adw_style_manager_get_color_scheme (adw_style_manager_get_default ());

  if (self->settings == NULL)
    return FALSE;
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set (self->settings, "window-size", "(ii)", width, height);
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));
  g_settings_set_string (self->settings, "style",
                         scheme == ADW_COLOR_SCHEME_FORCE_DARK ? "dark"
                         : scheme == ADW_COLOR_SCHEME_FORCE_LIGHT ? "light" : "default");
  return FALSE;
}

void
_jac_window_bind_settings (JacWindow *self,
                           GSettings *settings)
{
  g_autofree char *style = NULL;
  int width, height;

  g_return_if_fail (JAC_IS_WINDOW (self) && G_IS_SETTINGS (settings));

  g_set_object (&self->settings, settings);
  g_settings_get (settings, "window-size", "(ii)", &width, &height);
  if (width > 0 && height > 0)
    gtk_window_set_default_size (GTK_WINDOW (self), width, height);
  if (g_settings_get_boolean (settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  style = g_settings_get_string (settings, "style");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      g_str_equal (style, "dark") ? ADW_COLOR_SCHEME_FORCE_DARK
                                      : g_str_equal (style, "light") ? ADW_COLOR_SCHEME_FORCE_LIGHT
                                      : ADW_COLOR_SCHEME_DEFAULT);
  jac_session_bind_settings (self->session, settings);
  g_signal_connect (self, "close-request", G_CALLBACK (close_request_cb), NULL);
  /* What was restored is where the history starts, not a step to undo. */
  if (self->history != NULL)
    jac_history_clear (self->history);
}

static void
jac_window_init (JacWindow *self)
{
  GtkEventController *motion;

  /* The template's buttons read the state through their actions as soon as they exist. */
  init_state (self);
  jac_session_add_actions (self->session, G_ACTION_MAP (self));
  /* Before any binding: the window has caught up when the controls see a change. */
  g_signal_connect (self->session, "notify", G_CALLBACK (session_notify_cb), self);
  jac_profile_mark ("window template begins");
  gtk_widget_init_template (GTK_WIDGET (self));
  jac_profile_mark ("window template built");
  g_signal_connect (self->expression_panel, "apply", G_CALLBACK (_jac_window_expr_apply_cb),
                    self);
  g_signal_connect (self->expression_panel, "notify::hessian",
                    G_CALLBACK (_jac_window_hessian_cb), self);
  {
    g_autoptr(GMenuModel) presets = _jac_window_preset_menu ();

    jac_expression_panel_set_preset_menu (self->expression_panel, presets);
  }

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "enter", G_CALLBACK (figure_enter_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (figure_leave_cb), self);
  gtk_widget_add_controller (gtk_widget_get_parent (GTK_WIDGET (self->figure_view)), motion);

  /* Only this window's node: the labels inside inherit the size, other windows keep theirs. */
  self->type_provider = gtk_css_provider_new ();
  gtk_style_context_add_provider (gtk_widget_get_style_context (GTK_WIDGET (self)),
                                  GTK_STYLE_PROVIDER (self->type_provider),
                                  GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  update_type_scale (self);

  g_object_set (self->session, "dark-style",
                adw_style_manager_get_dark (adw_style_manager_get_default ()), NULL);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (style_dark_cb), self, 0);

  jac_step_controls_bind_session (self->step_controls, self->session);
  jac_sequence_controls_bind_session (self->sequence_controls, self->session);
  g_object_bind_property (self->session, "show-sidebar", self->sidebar, "visible",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->session, "show-derivation", self->derivation_pane, "visible",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->session, "show-all-steps", self->all_steps_window, "visible",
                          G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->session, "hessian", self->expression_panel, "hessian",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_signal_connect (self, "notify::fullscreened", G_CALLBACK (fullscreened_cb), NULL);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.leave-presentation", FALSE);
  update_title (self);
  _jac_window_update_loaded (self);
  hover_text_cb (self->figure_view, NULL, self);
  _jac_window_init_sequence (self);
  _jac_window_recompute_now (self);

  self->history = jac_history_new (G_OBJECT (self->session), jac_session_undoable_properties ());
  jac_history_set_changed_func (self->history, history_changed_cb, self);
  history_changed_cb (self->history, self);
}

/* ---- public API ------------------------------------------------------------------------- */

JacWindow *
jac_window_new (GtkApplication *application)
{
  return g_object_new (JAC_TYPE_WINDOW, "application", application, NULL);
}

JacSession *
jac_window_get_session (JacWindow *self)
{
  g_return_val_if_fail (JAC_IS_WINDOW (self), NULL);
  return self->session;
}

const JacAnalysis *
jac_window_get_analysis (JacWindow *self)
{
  g_return_val_if_fail (JAC_IS_WINDOW (self), NULL);

  if (self->recompute_source != 0)
    _jac_window_recompute_now (self);
  return self->analysis;
}

const char *
jac_window_get_message (JacWindow *self)
{
  g_return_val_if_fail (JAC_IS_WINDOW (self), NULL);

  return self->message;
}

gboolean
jac_window_get_message_is_error (JacWindow *self)
{
  g_return_val_if_fail (JAC_IS_WINDOW (self), FALSE);

  return self->message != NULL && self->message_is_error;
}

double
jac_window_get_figure_text_scale (JacWindow *self)
{
  JacFigureStyle style;

  g_return_val_if_fail (JAC_IS_WINDOW (self), 1.0);

  build_style (self, &style);
  return style.text_scale;
}

/* The pane on show, or a default size before the window has one. */
static void
pane_size (JacWindow *self,
           double    *width,
           double    *height)
{
  GtkWidget *shown = _jac_window_is_sequence_view (self) ? GTK_WIDGET (self->time_view)
                                                         : GTK_WIDGET (self->figure_view);

  *width = gtk_widget_get_width (shown);
  *height = gtk_widget_get_height (shown);
  if (*width <= 1 || *height <= 1)
    {
      *width = DEFAULT_EXPORT_WIDTH;
      *height = DEFAULT_EXPORT_HEIGHT;
    }
}

JacMedium
_jac_window_medium (JacWindow *self)
{
  return self->session->presentation ? JAC_MEDIUM_PRESENTATION : JAC_MEDIUM_SCREEN;
}

void
_jac_window_export_size (JacWindow              *self,
                         const JacExportChoices *choices,
                         JacExportSize          *size)
{
  double width, height;

  pane_size (self, &width, &height);
  jac_export_resolve (choices, width, height, _jac_window_medium (self), size);
}

gboolean
_jac_window_draw_figure (JacWindow           *self,
                         cairo_t             *cr,
                         const JacExportSize *size)
{
  JacFigureStyle style;

  if (_jac_window_is_sequence_view (self))
    return jac_time_view_draw (self->time_view, cr, size->width, size->height, size->medium);
  if (self->analysis == NULL)
    return FALSE;
  jac_figure_view_get_style (self->figure_view, &style);
  style.medium = size->medium;
  jac_figure_draw (cr, size->width, size->height, self->analysis, &style);
  return TRUE;
}

gboolean
jac_window_export (JacWindow   *self,
                   const char  *path,
                   GError     **error)
{
  JacFigureStyle style;
  JacExportSize size;
  gint64 start = g_get_monotonic_time ();
  gboolean ok;

  g_return_val_if_fail (JAC_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  self->export_choices.scale = self->session->export_scale;
  _jac_window_export_size (self, &self->export_choices, &size);
  if (_jac_window_is_sequence_view (self))
    ok = jac_time_view_save (self->time_view, path, size.width, size.height, size.scale,
                             size.medium, error);
  else if (jac_window_get_analysis (self) == NULL)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "There is no figure to export");
      return FALSE;
    }
  else
    {
      jac_figure_view_get_style (self->figure_view, &style);
      style.medium = size.medium;
      ok = jac_figure_save (path, size.width, size.height, size.scale, self->analysis, &style,
                            error);
    }
  jac_profile_log ("export %s, %g × %g at %g×: %.1f ms", path, size.width, size.height,
                   size.scale, (g_get_monotonic_time () - start) / 1000.0);
  return ok;
}

gboolean
jac_window_load_variable (JacWindow   *self,
                          const char  *name,
                          const char  *path,
                          GError     **error)
{
  g_autoptr(JacTensor) tensor = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *base = NULL;
  JacTensor *loaded[JAC_N_VARS];
  JacAnalysis *analysis;
  JacVariable variable;

  g_return_val_if_fail (JAC_IS_WINDOW (self), FALSE);

  base = g_path_get_basename (path);
  if (_jac_window_is_expr_mode (self))
    {
      g_clear_handle_id (&self->recompute_source, g_source_remove);
      if (_jac_window_load_expr_variable (self, name, path, &local_error))
        {
          _jac_window_hide_message (self);
          return TRUE;
        }
    }
  else if (!jac_variable_from_name (name, &variable))
    g_set_error (&local_error, JAC_ERROR, JAC_ERROR_INVALID,
                 "“%s” is not a variable: use h_prev, x, W_hh, W_xh or b", name);
  else if ((tensor = jac_npy_read (path, &local_error)) != NULL)
    {
      memcpy (loaded, self->loaded, sizeof loaded);
      loaded[variable] = tensor;
      g_clear_handle_id (&self->recompute_source, g_source_remove);
      if ((analysis = compute (self, loaded, &local_error)) != NULL)
        {
          g_clear_pointer (&self->loaded[variable], jac_tensor_free);
          self->loaded[variable] = g_steal_pointer (&tensor);
          g_free (self->loaded_path[variable]);
          self->loaded_path[variable] = g_strdup (path);
          _jac_window_hide_message (self);
          _jac_window_install_analysis (self, analysis);
          _jac_window_update_loaded (self);
          return TRUE;
        }
    }

  {
    g_autofree char *message = g_strdup_printf ("Could not load “%s” as %s: %s", base, name,
                                                local_error->message);
    _jac_window_show_message (self, GTK_MESSAGE_ERROR, message);
    g_propagate_error (error, g_steal_pointer (&local_error));
  }
  return FALSE;
}

gboolean
jac_window_save_screenshot (JacWindow   *self,
                            const char  *path,
                            GError     **error)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (self));

  if (renderer == NULL || width <= 0 || height <= 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "The window is not on screen yet");
      return FALSE;
    }
  paintable = gtk_widget_paintable_new (GTK_WIDGET (self));
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "The window drew nothing");
      return FALSE;
    }
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "Could not write “%s”", path);
      return FALSE;
    }
  return TRUE;
}
