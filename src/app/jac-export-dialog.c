/* jac-export-dialog.c: the Export dialog: format, size preset or custom size, PNG scale or DPI,
 * a preview of the output's shape, then a file chooser for the name. */
#define G_LOG_DOMAIN "jac-export-dialog"

#include <math.h>
#include <string.h>

#include "jac-drawing-private.h"
#include "jac-export-dialog.h"

#define PREVIEW_MARGIN 12.0

struct _JacExportDialog
{
  GtkWindow          parent_instance;

  /* template widgets */
  GtkWidget         *custom_box;
  GtkWidget         *dpi_box;
  GtkWidget         *dpi_caption;
  GtkSpinButton     *dpi_spin;
  GtkDropDown       *format_dropdown;
  GtkSpinButton     *height_spin;
  GtkDropDown       *preset_dropdown;
  GtkDrawingArea    *preview_area;
  GtkToggleButton   *scale1_button;
  GtkToggleButton   *scale2_button;
  GtkToggleButton   *scale3_button;
  GtkWidget         *scale_box;
  GtkWidget         *scale_caption;
  GtkLabel          *size_label;
  GtkDropDown       *unit_dropdown;
  GtkSpinButton     *width_spin;

  /* owned */
  JacExportChoices   choices;
  GtkNativeDialog   *chooser;
  double             pane_width;
  double             pane_height;
  JacMedium          pane_medium;
  gboolean           syncing;      /* the controls change from code, not from the user */

  /* borrowed */
  JacExportDrawFunc  draw;
  gpointer           draw_data;
};

G_DEFINE_FINAL_TYPE (JacExportDialog, jac_export_dialog, GTK_TYPE_WINDOW)

enum {
  SIGNAL_EXPORT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- helpers ---------------------------------------------------------------------------- */

static GtkToggleButton *
scale_button (JacExportDialog *self,
              int              scale)
{
  GtkToggleButton *buttons[] = { self->scale1_button, self->scale2_button, self->scale3_button };

  return buttons[CLAMP (scale, 1, 3) - 1];
}

/* Shows only what applies: the custom size for Custom, the scale for pixel sizes and the DPI
 * for physical ones, and both only for PNG; then the size in words and the preview. */
static void
update_visibility (JacExportDialog *self)
{
  JacExportSize size;
  gboolean png = self->choices.format == JAC_FIGURE_PNG;
  g_autofree char *text = NULL;

  jac_export_dialog_get_size (self, &size);
  gtk_widget_set_visible (self->custom_box, self->choices.preset == JAC_EXPORT_CUSTOM);
  gtk_widget_set_visible (self->scale_box, png && size.medium != JAC_MEDIUM_PAPER);
  gtk_widget_set_visible (self->scale_caption, png && size.medium != JAC_MEDIUM_PAPER);
  gtk_widget_set_visible (self->dpi_box, png && size.medium == JAC_MEDIUM_PAPER);
  gtk_widget_set_visible (self->dpi_caption, png && size.medium == JAC_MEDIUM_PAPER);
  text = jac_export_size_describe (&size, self->choices.format);
  gtk_label_set_text (self->size_label, text);
  gtk_widget_queue_draw (GTK_WIDGET (self->preview_area));
}

/* Points in one @unit, px counted at 96 per inch as CSS does: only to carry a custom size over
 * when its unit changes. */
static double
unit_points (JacUnit unit)
{
  return jac_unit_is_physical (unit) ? jac_unit_points (unit) : 72.0 / 96.0;
}

/* A new unit keeps the size: 3.5 in becomes 8.89 cm, not 3.5 cm. */
static void
convert_custom_size (JacExportDialog *self,
                     JacUnit          unit)
{
  double factor = unit_points (self->choices.custom_unit) / unit_points (unit);
  double width = self->choices.custom_width * factor;
  double height = self->choices.custom_height * factor;

  self->choices.custom_unit = unit;
  self->syncing = TRUE;
  gtk_spin_button_set_value (self->width_spin, unit == JAC_UNIT_PX ? round (width) : width);
  gtk_spin_button_set_value (self->height_spin, unit == JAC_UNIT_PX ? round (height) : height);
  self->syncing = FALSE;
}

static void
read_controls (JacExportDialog *self)
{
  JacUnit unit;

  if (self->syncing)
    return;
  self->choices.format = gtk_drop_down_get_selected (self->format_dropdown);
  self->choices.preset = gtk_drop_down_get_selected (self->preset_dropdown);
  unit = gtk_drop_down_get_selected (self->unit_dropdown);
  if (unit != self->choices.custom_unit && unit < JAC_N_UNITS)
    convert_custom_size (self, unit);
  self->choices.custom_width = gtk_spin_button_get_value (self->width_spin);
  self->choices.custom_height = gtk_spin_button_get_value (self->height_spin);
  self->choices.dpi = gtk_spin_button_get_value_as_int (self->dpi_spin);
  for (int scale = 1; scale <= 3; scale++)
    if (gtk_toggle_button_get_active (scale_button (self, scale)))
      self->choices.scale = scale;
  update_visibility (self);
}

static void
write_controls (JacExportDialog *self)
{
  self->syncing = TRUE;
  gtk_drop_down_set_selected (self->format_dropdown, self->choices.format);
  gtk_drop_down_set_selected (self->preset_dropdown, self->choices.preset);
  gtk_drop_down_set_selected (self->unit_dropdown, self->choices.custom_unit);
  gtk_spin_button_set_value (self->width_spin, self->choices.custom_width);
  gtk_spin_button_set_value (self->height_spin, self->choices.custom_height);
  gtk_spin_button_set_value (self->dpi_spin, self->choices.dpi);
  gtk_toggle_button_set_active (scale_button (self, self->choices.scale), TRUE);
  self->syncing = FALSE;
  update_visibility (self);
}

/* "jacobian-h_prev.pdf": the last name, with the extension of the format chosen now. */
static char *
file_name (JacExportDialog *self)
{
  return g_strdup_printf ("%s.%s", self->choices.name != NULL ? self->choices.name : "figure",
                          jac_export_format_extension (self->choices.format));
}

/* ---- callbacks -------------------------------------------------------------------------- */

static void
control_changed_cb (JacExportDialog *self)
{
  read_controls (self);
}

/* A rectangle of the output's shape, with the figure drawn in it at the output's own size and
 * medium, scaled down: what the file will hold, small. */
static void
draw_preview_cb (GtkDrawingArea *area,
                 cairo_t        *cr,
                 int             width,
                 int             height,
                 gpointer        user_data)
{
  JacExportDialog *self = user_data;
  gboolean dark = _jac_widget_is_dark (GTK_WIDGET (area));
  JacExportSize size;
  double fit, w, h;

  jac_export_dialog_get_size (self, &size);
  fit = MIN ((width - 2 * PREVIEW_MARGIN) / size.width,
             (height - 2 * PREVIEW_MARGIN) / size.height);
  if (fit <= 0)
    return;
  w = size.width * fit;
  h = size.height * fit;
  cairo_translate (cr, round ((width - w) / 2), round ((height - h) / 2));
  cairo_rectangle (cr, 0, 0, w, h);
  if (dark)
    cairo_set_source_rgb (cr, 0.14, 0.14, 0.15);
  else
    cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill_preserve (cr);
  cairo_save (cr);
  cairo_clip (cr);
  cairo_scale (cr, fit, fit);
  if (self->draw != NULL)
    self->draw (cr, &size, self->draw_data);
  cairo_restore (cr);
  cairo_rectangle (cr, 0.5, 0.5, w - 1, h - 1);
  cairo_set_line_width (cr, 1);
  cairo_set_source_rgba (cr, dark ? 1 : 0, dark ? 1 : 0, dark ? 1 : 0, 0.35);
  cairo_stroke (cr);
}

static void
chooser_response_cb (GtkNativeDialog *chooser,
                     int              response,
                     JacExportDialog *self)
{
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      path = file != NULL ? g_file_get_path (file) : NULL;
    }
  gtk_native_dialog_destroy (chooser);
  g_clear_object (&self->chooser);
  if (path != NULL)
    jac_export_dialog_export_to (self, path);
}

static GtkFileFilter *
format_filter (JacFigureFormat format)
{
  static const char * const names[] = {
    "PNG images", "SVG drawings", "PDF documents", "TikZ pictures (.tex)",
  };
  GtkFileFilter *filter = gtk_file_filter_new ();
  g_autofree char *pattern = g_strdup_printf ("*.%s", jac_export_format_extension (format));

  gtk_file_filter_set_name (filter, names[MIN (format, G_N_ELEMENTS (names) - 1)]);
  gtk_file_filter_add_pattern (filter, pattern);
  return filter;
}

/* GTK 4.8 has no GtkFileDialog: the native chooser, started in the last folder. */
static void
choose_file_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  JacExportDialog *self = JAC_EXPORT_DIALOG (widget);
  g_autoptr(GtkFileFilter) filter = format_filter (self->choices.format);
  g_autofree char *name = file_name (self);
  GtkFileChooserNative *chooser;

  if (self->chooser != NULL)
    return;
  chooser = gtk_file_chooser_native_new ("Export Figure", GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  if (self->choices.folder != NULL)
    {
      g_autoptr(GFile) folder = g_file_new_for_path (self->choices.folder);

      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
    }
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_set_modal (self->chooser, TRUE);
  gtk_native_dialog_show (self->chooser);
}

/* ---- GObject overrides ------------------------------------------------------------------ */

static void
jac_export_dialog_dispose (GObject *object)
{
  JacExportDialog *self = JAC_EXPORT_DIALOG (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), JAC_TYPE_EXPORT_DIALOG);

  G_OBJECT_CLASS (jac_export_dialog_parent_class)->dispose (object);
}

static void
jac_export_dialog_finalize (GObject *object)
{
  JacExportDialog *self = JAC_EXPORT_DIALOG (object);

  jac_export_choices_clear (&self->choices);

  G_OBJECT_CLASS (jac_export_dialog_parent_class)->finalize (object);
}

static void
jac_export_dialog_class_init (JacExportDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jac_export_dialog_dispose;
  object_class->finalize = jac_export_dialog_finalize;

  /* The window exports: it knows what is on show. */
  signals[SIGNAL_EXPORT] = g_signal_new ("export", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/jacscope/Jacscope/jac-export-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, custom_box);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, dpi_box);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, dpi_caption);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, dpi_spin);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, format_dropdown);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, height_spin);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, preset_dropdown);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, preview_area);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, scale1_button);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, scale2_button);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, scale3_button);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, scale_box);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, scale_caption);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, size_label);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, unit_dropdown);
  gtk_widget_class_bind_template_child (widget_class, JacExportDialog, width_spin);

  gtk_widget_class_install_action (widget_class, "export.choose-file", NULL, choose_file_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
connect_control (JacExportDialog *self,
                 gpointer         control,
                 const char      *signal)
{
  g_signal_connect_swapped (control, signal, G_CALLBACK (control_changed_cb), self);
}

static void
jac_export_dialog_init (JacExportDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  jac_export_choices_init (&self->choices);
  self->pane_width = 1;
  self->pane_height = 1;

  connect_control (self, self->format_dropdown, "notify::selected");
  connect_control (self, self->preset_dropdown, "notify::selected");
  connect_control (self, self->unit_dropdown, "notify::selected");
  connect_control (self, self->width_spin, "value-changed");
  connect_control (self, self->height_spin, "value-changed");
  connect_control (self, self->dpi_spin, "value-changed");
  connect_control (self, self->scale1_button, "toggled");
  connect_control (self, self->scale2_button, "toggled");
  connect_control (self, self->scale3_button, "toggled");
  gtk_drawing_area_set_draw_func (self->preview_area, draw_preview_cb, self, NULL);
}

/* ---- public API ------------------------------------------------------------------------- */

JacExportDialog *
jac_export_dialog_new (GtkWindow              *parent,
                       const JacExportChoices *choices,
                       double                  pane_width,
                       double                  pane_height,
                       JacMedium               pane_medium)
{
  JacExportDialog *self;

  g_return_val_if_fail (choices != NULL, NULL);

  self = g_object_new (JAC_TYPE_EXPORT_DIALOG, "transient-for", parent, NULL);
  self->pane_width = MAX (pane_width, 1);
  self->pane_height = MAX (pane_height, 1);
  self->pane_medium = pane_medium;
  jac_export_dialog_set_choices (self, choices);
  return self;
}

void
jac_export_dialog_set_draw_func (JacExportDialog   *self,
                                 JacExportDrawFunc  draw,
                                 gpointer           user_data)
{
  g_return_if_fail (JAC_IS_EXPORT_DIALOG (self));

  self->draw = draw;
  self->draw_data = user_data;
  gtk_widget_queue_draw (GTK_WIDGET (self->preview_area));
}

void
jac_export_dialog_set_choices (JacExportDialog        *self,
                               const JacExportChoices *choices)
{
  g_return_if_fail (JAC_IS_EXPORT_DIALOG (self));
  g_return_if_fail (choices != NULL);

  jac_export_choices_copy (&self->choices, choices);
  write_controls (self);
}

const JacExportChoices *
jac_export_dialog_get_choices (JacExportDialog *self)
{
  g_return_val_if_fail (JAC_IS_EXPORT_DIALOG (self), NULL);

  return &self->choices;
}

void
jac_export_dialog_get_size (JacExportDialog *self,
                            JacExportSize   *size)
{
  g_return_if_fail (JAC_IS_EXPORT_DIALOG (self));

  jac_export_resolve (&self->choices, self->pane_width, self->pane_height, self->pane_medium,
                      size);
}

void
jac_export_dialog_export_to (JacExportDialog *self,
                             const char      *path)
{
  g_autofree char *base = NULL;
  char *dot;

  g_return_if_fail (JAC_IS_EXPORT_DIALOG (self));
  g_return_if_fail (path != NULL);

  g_free (self->choices.folder);
  self->choices.folder = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  if ((dot = strrchr (base, '.')) != NULL && dot != base)
    *dot = '\0';
  g_free (self->choices.name);
  self->choices.name = g_steal_pointer (&base);

  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_EXPORT], 0, path);
  gtk_window_destroy (GTK_WINDOW (self));
  g_object_unref (self);
}
