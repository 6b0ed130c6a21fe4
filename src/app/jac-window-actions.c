/* jac-window-actions.c: JacWindow's actions, each declared with its keyboard shortcut. */
#define G_LOG_DOMAIN "jac-window"

#include <cairo.h>
#include <math.h>

#include "core/jac-error.h"
#include "jac-derivation.h"
#include "jac-help.h"
#include "jac-window-private.h"

#define ZOOM_STEP 1.5
#define GAIN_STEP 0.05

/* ---- loading ---------------------------------------------------------------------------- */

/* "name=path", so that tests and scripts need no file dialog. */
static void
load_variable_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  g_auto(GStrv) parts = g_strsplit (g_variant_get_string (parameter, NULL), "=", 2);

  if (g_strv_length (parts) != 2)
    {
      _jac_window_show_message (JAC_WINDOW (widget), GTK_MESSAGE_ERROR,
                                "Load a variable as name=path, e.g. W_hh=weights.npy");
      return;
    }
  jac_window_load_variable (JAC_WINDOW (widget), parts[0], parts[1], NULL);
}

static void
open_response_cb (GtkNativeDialog *dialog,
                  int              response,
                  JacWindow       *self)
{
  const char *name = g_object_get_data (G_OBJECT (dialog), "variable");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        jac_window_load_variable (self, name, path, NULL);
    }
  gtk_native_dialog_destroy (dialog);
  g_clear_object (&self->dialog);
}

static GtkFileFilter *
filter_new (const char *name,
            const char *pattern)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, name);
  gtk_file_filter_add_pattern (filter, pattern);
  return filter;
}

static void
open_variable_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  g_autofree char *title = g_strdup_printf ("Load %s from a .npy File", name);
  g_autoptr(GtkFileFilter) filter = filter_new ("NumPy arrays (.npy)", "*.npy");
  GtkFileChooserNative *chooser;

  if (self->dialog != NULL)
    gtk_native_dialog_destroy (self->dialog);
  g_clear_object (&self->dialog);

  chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                         "_Load", "_Cancel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_object_set_data_full (G_OBJECT (chooser), "variable", g_strdup (name), g_free);
  g_signal_connect (chooser, "response", G_CALLBACK (open_response_cb), self);
  self->dialog = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_set_modal (self->dialog, TRUE);
  gtk_native_dialog_show (self->dialog);
}

static void
load_menu_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);

  g_object_set (self->session, "show-sidebar", TRUE, NULL);
  jac_step_controls_popup_load_menu (self->step_controls);
}

static void
primary_menu_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  gtk_menu_button_popup (JAC_WINDOW (widget)->primary_menu_button);
}

static void
clear_variables_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);

  for (guint v = 0; v < JAC_N_VARS; v++)
    {
      g_clear_pointer (&self->loaded[v], jac_tensor_free);
      g_clear_pointer (&self->loaded_path[v], g_free);
    }
  g_hash_table_remove_all (self->loaded_expr);
  g_hash_table_remove_all (self->loaded_expr_path);
  _jac_window_update_loaded (self);
  _jac_window_queue_recompute (self);
}

/* ---- export ----------------------------------------------------------------------------- */

static void
export_to (JacWindow  *self,
           const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *base = g_path_get_basename (path);

  if (!jac_window_export (self, path, &error))
    {
      g_autofree char *message = g_strdup_printf ("Could not export “%s”: %s", base,
                                                  error->message);
      _jac_window_show_message (self, GTK_MESSAGE_ERROR, message);
    }
  else
    {
      g_autofree char *message = g_strdup_printf ("Saved the figure to “%s”", base);
      _jac_window_show_message (self, GTK_MESSAGE_INFO, message);
    }
}

static void
export_to_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  export_to (JAC_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

/* The dialog's choices become the session's: the next Export and Copy Figure start there. */
static void
dialog_export_cb (JacExportDialog *dialog,
                  const char      *path,
                  JacWindow       *self)
{
  const JacExportChoices *choices = jac_export_dialog_get_choices (dialog);

  jac_export_choices_copy (&self->export_choices, choices);
  g_object_set (self->session, "export-scale", choices->scale, NULL);
  export_to (self, path);
}

static void
draw_preview_cb (cairo_t             *cr,
                 const JacExportSize *size,
                 gpointer             user_data)
{
  _jac_window_draw_figure (JAC_WINDOW (user_data), cr, size);
}

/* "jacobian-h_prev", "jacobian-through-time-T40-k10": what the file is called by default. */
static char *
default_name (JacWindow *self)
{
  if (_jac_window_is_sequence_view (self))
    return g_strdup_printf ("jacobian-through-time-T%d-k%d", self->session->steps,
                            self->session->lag);
  return g_strdup_printf ("jacobian-%s", self->session->wrt);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  JacExportChoices choices = { 0 };
  GtkWidget *shown = _jac_window_is_sequence_view (self) ? GTK_WIDGET (self->time_view)
                                                         : GTK_WIDGET (self->figure_view);

  if (self->export_dialog != NULL)
    {
      gtk_window_present (GTK_WINDOW (self->export_dialog));
      return;
    }
  jac_export_choices_copy (&choices, &self->export_choices);
  choices.scale = self->session->export_scale;
  /* A name of one's own stays for the session; the one offered follows the view on show. */
  if (choices.name == NULL || g_strcmp0 (choices.name, self->export_offered_name) == 0)
    {
      g_free (choices.name);
      choices.name = default_name (self);
      g_free (self->export_offered_name);
      self->export_offered_name = g_strdup (choices.name);
    }
  self->export_dialog = jac_export_dialog_new (GTK_WINDOW (self), &choices,
                                               gtk_widget_get_width (shown),
                                               gtk_widget_get_height (shown),
                                               _jac_window_medium (self));
  jac_export_choices_clear (&choices);
  g_object_add_weak_pointer (G_OBJECT (self->export_dialog), (gpointer *) &self->export_dialog);
  jac_export_dialog_set_draw_func (self->export_dialog, draw_preview_cb, self);
  g_signal_connect_object (self->export_dialog, "export", G_CALLBACK (dialog_export_cb), self, 0);
  gtk_window_present (GTK_WINDOW (self->export_dialog));
}

/* The size rules of Export: the last choices of the dialog (the pane at 2× until then), as a
 * PNG-sized texture. */
static void
copy_figure_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  gboolean sequence = _jac_window_is_sequence_view (self);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  cairo_surface_t *surface;
  JacExportSize size;
  int width, height;
  cairo_t *cr;
  gboolean drawn;

  if (sequence)
    jac_time_view_wait (self->time_view);
  else
    jac_window_get_analysis (self);
  self->export_choices.scale = self->session->export_scale;
  _jac_window_export_size (self, &self->export_choices, &size);
  width = (int) round (size.width * size.scale);
  height = (int) round (size.height * size.scale);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (surface);
  cairo_scale (cr, size.scale, size.scale);
  drawn = _jac_window_draw_figure (self, cr, &size);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  if (!drawn || cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (surface);
      return;
    }

  bytes = g_bytes_new (cairo_image_surface_get_data (surface),
                       (gsize) cairo_image_surface_get_stride (surface) * height);
  texture = gdk_memory_texture_new (width, height, GDK_MEMORY_DEFAULT, bytes,
                                    cairo_image_surface_get_stride (surface));
  cairo_surface_destroy (surface);
  gdk_clipboard_set_texture (gtk_widget_get_clipboard (widget), texture);
  _jac_window_show_message (self, GTK_MESSAGE_INFO, "Copied the figure to the clipboard");
}

/* The steps as `jacscope derive --latex` prints them, ready for a paper or lecture notes. */
static void
copy_latex_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  const JacAnalysis *analysis = jac_window_get_analysis (self);
  g_autofree char *latex = NULL;

  if (analysis == NULL)
    return;
  latex = jac_analysis_latex (analysis, self->session->layout == JAC_LAYOUT_DENOMINATOR, FALSE);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), latex);
  _jac_window_show_message (self, GTK_MESSAGE_INFO, "Copied the derivation as LaTeX");
}

/* A Python script that checks the derivation itself (jacscope derive --numpy). */
static void
copy_numpy_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  const JacAnalysis *analysis = jac_window_get_analysis (self);
  g_autoptr(GError) error = NULL;
  g_autofree char *script = NULL;

  if (analysis == NULL)
    return;
  script = jac_derivation_python (analysis->derivation, analysis->graph, analysis->upstream,
                                  analysis->expr->source, NULL, 10000,
                                  (guint32) self->session->seed, FALSE, &error);
  if (script == NULL)
    {
      _jac_window_show_message (self, GTK_MESSAGE_ERROR, error->message);
      return;
    }
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), script);
  _jac_window_show_message (self, GTK_MESSAGE_INFO,
                            "Copied a NumPy script that checks the derivation");
}

/* ---- expressions ------------------------------------------------------------------------ */

static void
preset_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  _jac_window_apply_preset (JAC_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

/* Ctrl+1 … Ctrl+9: the n-th variable, whatever the expression names it. */
static void
wrt_index_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  g_auto(GStrv) names = _jac_window_dup_variables (self);
  int index = g_variant_get_int32 (parameter);

  if (index >= 0 && (guint) index < g_strv_length (names))
    g_object_set (self->session, "wrt", names[index], NULL);
}

static void
focus_expression_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);

  g_object_set (self->session, "show-sidebar", TRUE, NULL);
  jac_expression_panel_focus_entry (self->expression_panel);
}

/* ---- view ------------------------------------------------------------------------------- */

/* By whole steps, so that larger then smaller comes back to exactly 1; 0 steps resets. */
static void
scale_text (JacWindow *self,
            int        steps)
{
  int power = (int) round (log (self->session->text_scale) / log (JAC_SESSION_TEXT_SCALE_STEP))
              + steps;

  power = CLAMP (power, JAC_SESSION_TEXT_SCALE_MIN_POWER, JAC_SESSION_TEXT_SCALE_MAX_POWER);
  g_object_set (self->session, "text-scale",
                steps != 0 ? pow (JAC_SESSION_TEXT_SCALE_STEP, power) : 1.0, NULL);
}

static void
text_larger_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  scale_text (JAC_WINDOW (widget), 1);
}

static void
text_smaller_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  scale_text (JAC_WINDOW (widget), -1);
}

static void
text_reset_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  scale_text (JAC_WINDOW (widget), 0);
}

static void
zoom_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  double factor = g_variant_get_double (parameter);

  double zoom = jac_figure_view_get_zoom (self->figure_view);

  jac_figure_view_set_zoom (self->figure_view, factor > 0 ? zoom * factor : 1.0);
}

static void
step_row_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  const JacAnalysis *analysis = jac_window_get_analysis (self);
  int rows = analysis != NULL ? (int) analysis->sparsity.n_block_rows : self->session->batch;
  int row = CLAMP (self->session->row + g_variant_get_int32 (parameter), 0, MAX (rows, 1) - 1);

  g_object_set (self->session, "row-view", TRUE, "row", row, NULL);
}

/* The next value of an enum property, round; the upstream kind only --grad makes is skipped
 * (the session does not take it). */
static void
cycle (JacSession *session,
       const char *property)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (session), property);
  g_autoptr(GEnumClass) klass = g_type_class_ref (G_PARAM_SPEC_VALUE_TYPE (pspec));
  int current = 0;
  guint i = 0;

  g_object_get (session, property, &current, NULL);
  while (i < klass->n_values && klass->values[i].value != current)
    i++;
  for (guint k = 1; k <= klass->n_values; k++)
    {
      int changed;

      g_object_set (session, property, klass->values[(i + k) % klass->n_values].value, NULL);
      g_object_get (session, property, &changed, NULL);
      if (changed != current)
        return;
    }
}

static void
cycle_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  static const char * const cycled[] = { "layout", "colormap", "upstream", "activation", NULL };
  const char *property = g_variant_get_string (parameter, NULL);

  if (g_strv_contains (cycled, property))
    cycle (JAC_WINDOW (widget)->session, property);
}

static void
leave_presentation_action (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *parameter)
{
  g_object_set (JAC_WINDOW (widget)->session, "presentation", FALSE, NULL);
}

/* ---- through time ----------------------------------------------------------------------- */

static void
step_lag_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  int lag = self->session->lag + g_variant_get_int32 (parameter);

  g_object_set (self->session, "lag", CLAMP (lag, 1, self->session->steps), NULL);
}

static void
step_gain_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  double gain = round ((self->session->gain + g_variant_get_double (parameter)) * 100) / 100;

  g_object_set (self->session, "gain", CLAMP (gain, 0.0, JAC_SESSION_MAX_GAIN), NULL);
}

static void
toggle_view_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);

  g_object_set (self->session, "view",
                _jac_window_is_sequence_view (self) ? JAC_VIEW_STEP : JAC_VIEW_SEQUENCE, NULL);
}

static void
add_sequence_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK, "win.view", "s",
                                       "step");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK, "win.view", "s",
                                       "sequence");
  gtk_widget_class_install_action (widget_class, "win.toggle-view", NULL, toggle_view_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_t, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.toggle-view", NULL);
  gtk_widget_class_install_action (widget_class, "win.step-lag", "i", step_lag_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_bracketleft, 0, "win.step-lag", "i",
                                       -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_bracketright, 0, "win.step-lag", "i",
                                       1);
  gtk_widget_class_install_action (widget_class, "win.step-gain", "d", step_gain_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_braceleft, 0,
                                       "win.step-gain", "d", -GAIN_STEP);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_braceright, 0,
                                       "win.step-gain", "d", GAIN_STEP);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.orthogonal", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.shared-range", NULL);
}

/* ---- data ------------------------------------------------------------------------------- */

static void
resize_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  int d_batch, d_hidden;

  g_variant_get (parameter, "(ii)", &d_batch, &d_hidden);
  g_object_set (self->session,
                "batch", CLAMP (self->session->batch + d_batch, 1, JAC_SESSION_MAX_BATCH),
                "hidden", CLAMP (self->session->hidden + d_hidden, 1, JAC_SESSION_MAX_SIZE),
                NULL);
}

static void
next_seed_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  JacWindow *self = JAC_WINDOW (widget);
  int seed = self->session->seed;

  g_object_set (self->session, "seed", seed < G_MAXINT ? seed + 1 : 0, NULL);
}

/* The case to write out by hand: one batch row, two units. */
static void
tiny_example_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  g_object_set (JAC_WINDOW (widget)->session, "batch", 1, "input", 2, "hidden", 2, NULL);
}

static void
default_example_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  static const char * const data[] = {
    "batch", "input", "hidden", "seed", "activation", "b-shape", "upstream", "wrt", NULL,
  };

  /* Ctrl+R: back to the RNN step, from a typed expression too, at its defaults. */
  _jac_window_apply_preset (JAC_WINDOW (widget), "rnn");
  jac_session_reset (JAC_WINDOW (widget)->session, data);
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  _jac_window_undo (JAC_WINDOW (widget));
}

static void
redo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  _jac_window_redo (JAC_WINDOW (widget));
}

static void
help_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  jac_help_show (GTK_WINDOW (widget));
}

/* ---- class setup ------------------------------------------------------------------------ */

void
_jac_window_class_add_actions (GtkWidgetClass *widget_class)
{
  add_sequence_actions (widget_class);
  gtk_widget_class_install_action (widget_class, "win.wrt-index", "i", wrt_index_action);
  for (int k = 0; k < 9; k++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + k, GDK_CONTROL_MASK,
                                         "win.wrt-index", "i", k);
  gtk_widget_class_install_action (widget_class, "win.preset", "s", preset_action);
  gtk_widget_class_install_action (widget_class, "win.focus-expression", NULL,
                                   focus_expression_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_x, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.focus-expression", NULL);
  gtk_widget_class_install_action (widget_class, "win.copy-latex", NULL, copy_latex_action);
  gtk_widget_class_install_action (widget_class, "win.copy-numpy", NULL, copy_numpy_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.copy-latex", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.presentation", NULL);
  gtk_widget_class_install_action (widget_class, "win.leave-presentation", NULL,
                                   leave_presentation_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.leave-presentation",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F9, 0, "win.show-sidebar", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F8, 0, "win.show-derivation", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F7, 0, "win.show-all-steps", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, GDK_CONTROL_MASK,
                                       "win.show-values", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_k, GDK_CONTROL_MASK,
                                       "win.show-contraction", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK,
                                       "win.row-view", NULL);

  gtk_widget_class_install_action (widget_class, "win.cycle", "s", cycle_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, GDK_CONTROL_MASK, "win.cycle",
                                       "s", "layout");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_m, GDK_CONTROL_MASK, "win.cycle",
                                       "s", "colormap");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_g, GDK_CONTROL_MASK, "win.cycle",
                                       "s", "upstream");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.cycle", "s", "activation");

  gtk_widget_class_install_action (widget_class, "win.step-row", "i", step_row_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Down, GDK_CONTROL_MASK,
                                       "win.step-row", "i", 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Up, GDK_CONTROL_MASK,
                                       "win.step-row", "i", -1);

  gtk_widget_class_install_action (widget_class, "win.resize", "(ii)", resize_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, GDK_ALT_MASK, "win.resize",
                                       "(ii)", 1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "win.resize",
                                       "(ii)", -1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, GDK_ALT_MASK, "win.resize",
                                       "(ii)", 0, 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, GDK_ALT_MASK, "win.resize",
                                       "(ii)", 0, -1);
  gtk_widget_class_install_action (widget_class, "win.next-seed", NULL, next_seed_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "win.next-seed", NULL);
  gtk_widget_class_install_action (widget_class, "win.tiny-example", NULL, tiny_example_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_t, GDK_CONTROL_MASK,
                                       "win.tiny-example", NULL);
  gtk_widget_class_install_action (widget_class, "win.default-example", NULL,
                                   default_example_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK,
                                       "win.default-example", NULL);

  gtk_widget_class_install_action (widget_class, "win.load-variable", "s", load_variable_action);
  gtk_widget_class_install_action (widget_class, "win.open-variable", "s", open_variable_action);
  gtk_widget_class_install_action (widget_class, "win.load-menu", NULL, load_menu_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK,
                                       "win.load-menu", NULL);
  gtk_widget_class_install_action (widget_class, "win.help", NULL, help_action);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "win.undo", NULL);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, redo_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F1, 0, "win.help", NULL);
  gtk_widget_class_install_action (widget_class, "win.primary-menu", NULL, primary_menu_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, 0, "win.primary-menu", NULL);
  gtk_widget_class_install_action (widget_class, "win.clear-variables", NULL,
                                   clear_variables_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_BackSpace, GDK_CONTROL_MASK,
                                       "win.clear-variables", NULL);

  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export",
                                       NULL);
  gtk_widget_class_install_action (widget_class, "win.export-to", "s", export_to_action);
  gtk_widget_class_install_action (widget_class, "win.copy-figure", NULL, copy_figure_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.copy-figure", NULL);

  gtk_widget_class_install_action (widget_class, "win.text-larger", NULL, text_larger_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK,
                                       "win.text-larger", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK,
                                       "win.text-larger", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, GDK_CONTROL_MASK,
                                       "win.text-larger", NULL);
  gtk_widget_class_install_action (widget_class, "win.text-smaller", NULL, text_smaller_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK,
                                       "win.text-smaller", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, GDK_CONTROL_MASK,
                                       "win.text-smaller", NULL);
  gtk_widget_class_install_action (widget_class, "win.text-reset", NULL, text_reset_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK,
                                       "win.text-reset", NULL);

  /* The figure also zooms with + − 0 and pans with the arrows when it has the focus. */
  gtk_widget_class_install_action (widget_class, "win.zoom", "d", zoom_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_ALT_MASK, "win.zoom", "d",
                                       ZOOM_STEP);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_ALT_MASK, "win.zoom", "d",
                                       ZOOM_STEP);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_ALT_MASK, "win.zoom", "d",
                                       1.0 / ZOOM_STEP);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_ALT_MASK, "win.zoom", "d",
                                       0.0);
}
