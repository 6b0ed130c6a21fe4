/* jac-window-sequence.c: JacWindow's "Through Time" view: its controls, config and summary. */
#define G_LOG_DOMAIN "jac-window"

#include <math.h>
#include <string.h>

#include "core/jac-error.h"
#include "core/jac-npz.h"
#include "jac-window-private.h"

/* Rows listed one by one in the summary; more are summed up as a range. */
#define SUMMARY_MAX_ROWS 3

gboolean
_jac_window_is_sequence_view (JacWindow *self)
{
  return self->session->view == JAC_VIEW_SEQUENCE;
}

void
_jac_window_sequence_config (JacWindow         *self,
                             JacSequenceConfig *config)
{
  jac_sequence_config_init_default (config);
  jac_session_rnn_config (self->session, &config->config);
  config->steps = self->session->steps;
  config->gain = self->session->gain;
  config->orthogonal = self->session->orthogonal;
  config->cell = self->session->cell;
}

/* Computing costs nothing while the view is hidden: it catches up when shown. */
void
_jac_window_sync_sequence (JacWindow *self)
{
  JacSequenceConfig config;

  if (!_jac_window_is_sequence_view (self))
    return;
  if (self->change_us == 0)
    self->change_us = g_get_monotonic_time ();
  _jac_window_sequence_config (self, &config);
  {
    /* Loaded weights are for their cell: with another Cell chosen, that cell's are drawn. */
    GHashTable *weights = g_object_get_data (G_OBJECT (self), "jac-weights");
    gpointer cell = g_object_get_data (G_OBJECT (self), "jac-weights-cell");

    jac_time_view_set_weights (self->time_view, weights != NULL
                                                && GPOINTER_TO_INT (cell) == (int) config.cell
                                                ? weights : NULL);
  }
  jac_time_view_set_config (self->time_view, &config);
}

/* ---- the summary line -------------------------------------------------------------------- */

static void
append_superscript (GString *text,
                    int      exponent)
{
  static const char * const digits[] = { "⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹" };
  g_autofree char *plain = g_strdup_printf ("%d", exponent);

  for (const char *c = plain; *c != '\0'; c++)
    g_string_append (text, *c == '-' ? "⁻" : digits[*c - '0']);
}

/* A norm given as log₁₀, which may lie far outside a double: 13.8, 0.0417, 2.40×10⁻¹⁸. */
static void
append_norm (GString *text,
             double   log10_norm)
{
  double exponent, mantissa;

  if (isinf (log10_norm))
    {
      g_string_append (text, log10_norm < 0 ? "0" : "∞");
      return;
    }
  if (log10_norm > -3 && log10_norm < 4)
    {
      g_string_append_printf (text, "%.3g", pow (10, log10_norm));
      return;
    }
  exponent = floor (log10_norm);
  mantissa = pow (10, log10_norm - exponent);
  if (mantissa >= 9.995)
    {
      mantissa /= 10;
      exponent += 1;
    }
  g_string_append_printf (text, "%.2f×10", mantissa);
  append_superscript (text, (int) exponent);
}

static void
append_row_norms (GString                *text,
                  const JacSequenceNorms *norms,
                  JacSequenceNorm         norm,
                  gsize                   lag)
{
  double low = INFINITY, high = -INFINITY;

  if (norms->batch <= SUMMARY_MAX_ROWS)
    {
      for (gsize i = 0; i < norms->batch; i++)
        {
          g_string_append (text, i > 0 ? ", " : "");
          append_norm (text, jac_sequence_norms_get_log10 (norms, norm, lag, i));
          g_string_append_printf (text, " (i = %" G_GSIZE_FORMAT ")", i);
        }
      return;
    }
  for (gsize i = 0; i < norms->batch; i++)
    {
      low = MIN (low, jac_sequence_norms_get_log10 (norms, norm, lag, i));
      high = MAX (high, jac_sequence_norms_get_log10 (norms, norm, lag, i));
    }
  append_norm (text, low);
  g_string_append (text, " … ");
  append_norm (text, high);
  g_string_append_printf (text, " (%" G_GSIZE_FORMAT " rows)", norms->batch);
}

/* ρ(W_hh), the gain and the norms at the k on show, all from what the figure draws. */
char *
_jac_window_sequence_summary (JacWindow *self)
{
  const JacSequence *sequence = jac_time_view_get_sequence (self->time_view);
  const JacSequenceNorms *norms = jac_time_view_get_norms (self->time_view);
  g_autoptr(GString) text = g_string_new (NULL);
  JacSequenceView view;

  if (sequence == NULL || norms == NULL)
    return g_strdup (jac_time_view_get_busy (self->time_view) ? "Computing the sequence…"
                                                              : "Cancelled");
  jac_time_view_get_view (self->time_view, &view);
  g_autofree char *lesson = NULL;
  g_autofree char *escaped = NULL;

  if (sequence->config.cell == JAC_CELL_RNN)
    g_string_append_printf (text, "ρ(W<sub>hh</sub>) = %.2f  (gain %.2f%s)",
                            sequence->spectral_radius, sequence->config.gain,
                            sequence->config.orthogonal ? ", orthogonal" : "");
  else
    g_string_append_printf (text, "%s, mean %s = %.2f",
                            sequence->config.cell == JAC_CELL_LSTM ? "LSTM" : "GRU",
                            sequence->config.cell == JAC_CELL_LSTM ? "forget gate f"
                                                                   : "update gate z",
                            jac_sequence_mean_slope (sequence));
  g_string_append_printf (text, "   ·   k = %" G_GSIZE_FORMAT
                          ":  ‖∂%s<sub>T</sub>/∂%s<sub>T−k</sub>[i]‖%s = ", view.lag,
                          sequence->config.output == JAC_STATE_C ? "c" : "h",
                          sequence->config.wrt == JAC_STATE_C ? "c" : "h",
                          view.norm == JAC_SEQUENCE_NORM_FROBENIUS ? "<sub>F</sub>"
                                                                   : "<sub>2</sub>");
  append_row_norms (text, norms, view.norm, view.lag);
  /* The lesson is plain text with “<” and “>”: escaped for the label's markup. */
  lesson = jac_sequence_lesson (sequence, norms, view.norm, view.lag);
  escaped = g_markup_escape_text (lesson, -1);
  /* The lesson on a line of its own, and its reason (“— ρ > 1, but tanh saturates …”) on
   * another: in one line they are wider than a projector's 1024 or 1280 pixels. */
  g_string_append_c (text, '\n');
  for (const char *c = escaped; *c != '\0'; c++)
    {
      if (g_str_has_prefix (c, " — "))
        {
          g_string_append (text, "\n");
          c += strlen (" — ") - 1;
          continue;
        }
      g_string_append_c (text, *c);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
time_view_changed_cb (JacTimeView *view,
                      JacWindow   *self)
{
  g_autofree char *markup = _jac_window_sequence_summary (self);

  gtk_label_set_markup (self->sequence_summary_label, markup);
  /* The line may be cut at the window's width: the whole lesson stays one hover away. */
  gtk_widget_set_tooltip_markup (GTK_WIDGET (self->sequence_summary_label), markup);
}

static void
time_view_error_cb (JacTimeView *view,
                    GParamSpec  *pspec,
                    JacWindow   *self)
{
  const char *error = jac_time_view_get_error (view);

  if (error != NULL)
    _jac_window_show_message (self, GTK_MESSAGE_ERROR, error);
}

/* ---- the controls ------------------------------------------------------------------------- */

static void
show (GtkWidget *widget,
      gboolean   visible)
{
  gtk_widget_set_visible (widget, visible);
}

void
_jac_window_sync_view (JacWindow *self)
{
  gboolean sequence = _jac_window_is_sequence_view (self);

  show (GTK_WIDGET (self->sequence_controls), sequence);
  show (GTK_WIDGET (self->expression_panel), !sequence);
  jac_step_controls_set_one_step (self->step_controls, !sequence);
  show (GTK_WIDGET (self->wrt_caption), !sequence);
  show (GTK_WIDGET (self->wrt_box), !sequence);
  _jac_window_sync_mode (self);
  _jac_window_sync_sequence (self);
}

static void
bind_value (JacWindow  *self,
            const char *property,
            gpointer    widget)
{
  GtkAdjustment *adjustment = GTK_IS_SPIN_BUTTON (widget)
                              ? gtk_spin_button_get_adjustment (widget)
                              : gtk_range_get_adjustment (widget);

  g_object_bind_property (self->session, property, adjustment, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
}

/* ---- weights from a .npz file ------------------------------------------------------------ */

static void
sync_weights_row (JacWindow *self)
{
  AdwActionRow *row = g_object_get_data (G_OBJECT (self), "jac-weights-row");
  const char *name = g_object_get_data (G_OBJECT (self), "jac-weights-name");
  GAction *forget = g_action_map_lookup_action (G_ACTION_MAP (self), "forget-weights");

  adw_action_row_set_subtitle (row, name != NULL ? name : "drawn from the seed");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (forget), name != NULL);
}

/* A PyTorch state dict for the Through Time view: its cell and sizes become the controls'. */
static gboolean
load_weights (JacWindow   *self,
              const char  *path,
              GError     **error)
{
  g_autoptr(GHashTable) dict = jac_npz_read (path, error);
  JacSequenceData data = { 0 };
  g_autofree char *base = NULL;
  JacCell cell;

  if (dict == NULL || !jac_cell_from_state_dict (dict, &cell, error)
      || !jac_sequence_data_from_state_dict (dict, cell, &data, error))
    return FALSE;
  if (data.weight_ih->rank != 2)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "weight_ih_l0 is not a matrix");
      return FALSE;
    }
  base = g_path_get_basename (path);
  g_object_set_data_full (G_OBJECT (self), "jac-weights", g_hash_table_ref (dict),
                          (GDestroyNotify) g_hash_table_unref);
  g_object_set_data (G_OBJECT (self), "jac-weights-cell", GINT_TO_POINTER (cell));
  g_object_set_data_full (G_OBJECT (self), "jac-weights-name",
                          g_strdup_printf ("%s (%s, D = %" G_GSIZE_FORMAT ", H = %"
                                           G_GSIZE_FORMAT ")", base, jac_cell_name (cell),
                                           data.weight_ih->shape[1], data.weight_hh->shape[1]),
                          g_free);
  g_object_set (self->session, "cell", cell, NULL);
  /* The size controls say what the weights have, as far as they reach. */
  if (data.weight_ih->shape[1] <= JAC_SESSION_MAX_SIZE
      && data.weight_hh->shape[1] <= JAC_SESSION_MAX_SIZE)
    g_object_set (self->session, "input", (int) data.weight_ih->shape[1],
                  "hidden", (int) data.weight_hh->shape[1], NULL);
  _jac_window_sync_sequence (self);
  sync_weights_row (self);
  return TRUE;
}

static void
load_weights_file_activated_cb (GSimpleAction *action,
                                GVariant      *parameter,
                                gpointer       user_data)
{
  JacWindow *self = user_data;
  const char *path = g_variant_get_string (parameter, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  if (!load_weights (self, path, &error))
    {
      g_autofree char *base = g_path_get_basename (path);

      message = g_strdup_printf ("Could not load %s: %s", base, error->message);
      _jac_window_show_message (self, GTK_MESSAGE_ERROR, message);
      return;
    }
  message = g_strdup_printf ("Weights loaded: %s",
                             (const char *) g_object_get_data (G_OBJECT (self),
                                                               "jac-weights-name"));
  _jac_window_show_message (self, GTK_MESSAGE_INFO, message);
}

static void
weights_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     JacWindow       *self)
{
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  path = file != NULL ? g_file_get_path (file) : NULL;
  if (path != NULL)
    g_action_group_activate_action (G_ACTION_GROUP (self), "load-weights-file",
                                    g_variant_new_string (path));
  gtk_native_dialog_destroy (dialog);
  if (self->dialog == dialog)
    g_clear_object (&self->dialog);
}

static void
load_weights_activated_cb (GSimpleAction *action,
                           GVariant      *parameter,
                           gpointer       user_data)
{
  JacWindow *self = user_data;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  GtkFileChooserNative *chooser;

  if (self->dialog != NULL)
    gtk_native_dialog_destroy (self->dialog);
  g_clear_object (&self->dialog);
  gtk_file_filter_set_name (filter, "PyTorch state dicts saved by NumPy (.npz)");
  gtk_file_filter_add_pattern (filter, "*.npz");
  chooser = gtk_file_chooser_native_new ("Load Weights", GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, "_Load", "_Cancel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_signal_connect (chooser, "response", G_CALLBACK (weights_response_cb), self);
  self->dialog = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_set_modal (self->dialog, TRUE);
  gtk_native_dialog_show (self->dialog);
}

static void
forget_weights_activated_cb (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  JacWindow *self = user_data;

  g_object_set_data (G_OBJECT (self), "jac-weights", NULL);
  g_object_set_data (G_OBJECT (self), "jac-weights-name", NULL);
  _jac_window_sync_sequence (self);
  sync_weights_row (self);
}

/* A row under the Cell choice: what the weights are, Load… and a button to forget them. The
 * actions are the window's (win.load-weights, win.load-weights-file PATH, win.forget-weights),
 * kept here with the rest of this view. */
static void
add_weights_row (JacWindow *self)
{
  static const GActionEntry entries[] = {
    { "load-weights", load_weights_activated_cb, NULL, NULL, NULL },
    { "load-weights-file", load_weights_file_activated_cb, "s", NULL, NULL },
    { "forget-weights", forget_weights_activated_cb, NULL, NULL, NULL },
  };
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *load = gtk_button_new_with_mnemonic ("_Load…");
  GtkWidget *forget = gtk_button_new_from_icon_name ("edit-clear-symbolic");

  g_action_map_add_action_entries (G_ACTION_MAP (self), entries, G_N_ELEMENTS (entries), self);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), "Weights");
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_valign (load, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (forget, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (forget, "flat");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (load), "win.load-weights");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (forget), "win.forget-weights");
  gtk_widget_set_tooltip_text (load, "Load a PyTorch nn.RNN, nn.LSTM or nn.GRU state dict saved "
                                     "with np.savez");
  gtk_widget_set_tooltip_text (forget, "Forget the weights: draw them from the seed");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), load);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), forget);
  /* Under the Cell row. */
  jac_sequence_controls_insert_row (self->sequence_controls, row, 1);
  g_object_set_data (G_OBJECT (self), "jac-weights-row", row);
  sync_weights_row (self);
}

void
_jac_window_init_sequence (JacWindow *self)
{
  GBindingFlags both = G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE;

  add_weights_row (self);
  gtk_adjustment_set_upper (gtk_range_get_adjustment (GTK_RANGE (self->lag_scale)),
                            self->session->steps);
  bind_value (self, "lag", self->lag_scale);
  bind_value (self, "gain", self->gain_scale);
  g_object_bind_property (self->session, "lag", self->time_view, "lag", both);
  jac_session_bind_nick (self->session, "norm", self->time_view, "norm", G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->session, "shared-range", self->time_view, "shared-range",
                          G_BINDING_SYNC_CREATE);
  jac_session_bind_nick (self->session, "view", self->view_stack, "visible-child-name", both);
  /* The view shows its own progress bar, with Cancel, in place of a stale figure. */
  gtk_widget_set_visible (GTK_WIDGET (self->sequence_spinner), FALSE);
  g_signal_connect_object (self->time_view, "changed", G_CALLBACK (time_view_changed_cb), self,
                           0);
  g_signal_connect_object (self->time_view, "notify::error", G_CALLBACK (time_view_error_cb),
                           self, 0);
  _jac_window_sync_view (self);
}
