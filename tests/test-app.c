/* test-app.c: the real application under Xvfb, driven through its actions. */
#define G_LOG_DOMAIN "test-app"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "app/jac-application.h"
#include "app/jac-derivation.h"
#include "app/jac-help.h"
#include "app/jac-window-private.h"
#include "core/jac-npy.h"
#include "npz-writer.h"
#include "jac-test-util.h"


/* The RNN preset is an expression like any other: its sizes are its variables' shapes. */
static gsize
variable_dim (const JacAnalysis *analysis,
              const char        *name,
              guint              axis)
{
  int node = jac_graph_find_variable (analysis->graph, name);

  g_assert_cmpint (node, >=, 0);
  g_assert_cmpuint (axis, <, jac_graph_node (analysis->graph, node)->rank);
  return jac_graph_node (analysis->graph, node)->shape[axis];
}

static const JacNode *
variable_node (const JacAnalysis *analysis,
               const char        *name)
{
  int node = jac_graph_find_variable (analysis->graph, name);

  g_assert_cmpint (node, >=, 0);
  return jac_graph_node (analysis->graph, node);
}

static JacApplication *application;
static JacWindow *window;
static char *tmpdir;

/* A widget of a panel's template, by its id: the panels keep their widgets to themselves, the
 * tests type into them and read them as a user would. */
static GObject *
panel_child (gpointer    panel,
             GType       type,
             const char *id)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (panel), type, id);

  g_assert_nonnull (child);
  return child;
}

#define expr_child(win, id) panel_child ((win)->expression_panel, JAC_TYPE_EXPRESSION_PANEL, id)
#define step_child(id) panel_child (window->step_controls, JAC_TYPE_STEP_CONTROLS, id)
#define sequence_child(id) panel_child (window->sequence_controls, JAC_TYPE_SEQUENCE_CONTROLS, id)

static GtkSpinButton *
step_spin (const char *id)
{
  return GTK_SPIN_BUTTON (step_child (id));
}

static GtkLabel *
upstream_label (void)
{
  return GTK_LABEL (step_child ("upstream_label"));
}

static GtkEditable *
expr_entry (const char *id)
{
  return GTK_EDITABLE (expr_child (window, id));
}

static GtkCheckButton *
hessian_check (void)
{
  return GTK_CHECK_BUTTON (expr_child (window, "hessian_check"));
}

static const char *
expr_label_text (const char *id)
{
  return gtk_label_get_text (GTK_LABEL (expr_child (window, id)));
}

/* ---- helpers ---------------------------------------------------------------------------- */


static void
activate (const char *action,
          GVariant   *parameter)
{
  g_assert_true (gtk_widget_activate_action_variant (GTK_WIDGET (window), action, parameter));
  jac_test_spin ();
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
reset (void)
{
  activate ("win.preset", g_variant_new_string ("rnn"));
  activate ("win.clear-variables", NULL);
  activate ("win.default-example", NULL);
  activate ("win.wrt", g_variant_new_string ("h_prev"));
  activate ("win.layout", g_variant_new_string ("numerator"));
  g_object_set (window->session, "row-view", FALSE, "presentation", FALSE, "text-scale", 1.0,
                "export-scale", 1, "view", JAC_VIEW_STEP, "steps", 40, "lag", 10, "gain", 1.0,
                "orthogonal", FALSE, "norm", JAC_SEQUENCE_NORM_SPECTRAL, "shared-range", FALSE,
                NULL);
  _jac_window_hide_message (window);
  jac_test_spin ();
}

static void
write_matrix (const char *path,
              gsize       rows,
              gsize       cols,
              double      first)
{
  g_autoptr(JacTensor) tensor = jac_tensor_new_matrix (rows, cols);
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < tensor->size; i++)
    tensor->data[i] = first + 0.01 * i;
  g_assert_true (jac_npy_write (path, tensor, NULL, &error));
  g_assert_no_error (error);
}

static guint32
png_width (const char *path)
{
  g_autofree guint8 *bytes = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, (char **) &bytes, &length, NULL));
  g_assert_cmpuint (length, >, 24);
  return (guint32) bytes[16] << 24 | (guint32) bytes[17] << 16 | (guint32) bytes[18] << 8
         | bytes[19];
}

static guint32
png_height (const char *path)
{
  g_autofree guint8 *bytes = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, (char **) &bytes, &length, NULL));
  g_assert_cmpuint (length, >, 24);
  return (guint32) bytes[20] << 24 | (guint32) bytes[21] << 16 | (guint32) bytes[22] << 8
         | bytes[23];
}

static void
assert_signature (const char *path,
                  const char *signature)
{
  g_autofree char *bytes = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &bytes, &length, NULL));
  g_assert_cmpuint (length, >, strlen (signature));
  g_assert_true (memcmp (bytes, signature, strlen (signature)) == 0);
}

/* Saves @widget's window when JACSCOPE_SCREENSHOT_DIR names a folder, for a human to look at. */
static void
keep_window_screenshot (GtkWidget  *widget,
                        const char *name)
{
  const char *dir = g_getenv ("JACSCOPE_SCREENSHOT_DIR");
  g_autofree char *path = NULL;
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  int width, height;

  if (dir == NULL)
    return;
  jac_test_spin_for (300);
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  path = g_build_filename (dir, name, NULL);
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_true (gdk_texture_save_to_png (texture, path));
}

static int
natural_width (GtkWidget *widget)
{
  int natural;

  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &natural, NULL, NULL);
  return natural;
}

static int
minimum_width (GtkWidget *widget)
{
  int minimum;

  gtk_widget_measure (widget, GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL, NULL);
  return minimum;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void
test_startup (void)
{
  const JacAnalysis *analysis;

  reset ();
  analysis = jac_window_get_analysis (window);
  g_assert_nonnull (analysis);
  g_assert_cmpstr (analysis->wrt_name, ==, "h_prev");
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 0), ==, 2);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 1), ==, 3);
  g_assert_cmpuint (analysis->sparsity.n_block_rows, ==, 2);
  g_assert_cmpuint (analysis->sparsity.n_zero_blocks, ==, 2);
  g_assert_null (jac_window_get_message (window));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (window)));
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (window->figure_view)), >, 100);
}

static void
test_change_size (void)
{
  const JacAnalysis *analysis;

  reset ();
  activate ("win.batch", g_variant_new_int32 (4));
  activate ("win.hidden", g_variant_new_int32 (5));
  analysis = jac_window_get_analysis (window);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 0), ==, 4);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 1), ==, 5);
  g_assert_cmpuint (analysis->sparsity.n_block_rows, ==, 4);
  g_assert_cmpuint (analysis->sparsity.n_block_cols, ==, 4);
  g_assert_cmpuint (analysis->sparsity.block_height, ==, 5);
  g_assert_cmpuint (analysis->sparsity.n_zero_blocks, ==, 12);
  g_assert_cmpint ((int) gtk_spin_button_get_value (step_spin ("batch_spin")), ==, 4);

  activate ("win.resize", g_variant_new ("(ii)", 1, -1));
  analysis = jac_window_get_analysis (window);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 0), ==, 5);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 1), ==, 4);

  activate ("win.tiny-example", NULL);
  analysis = jac_window_get_analysis (window);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 0), ==, 1);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 1), ==, 2);
}

static void
test_switch_wrt (void)
{
  static const char * const names[] = { "h_prev", "x", "W_hh", "W_xh", "b" };
  const JacAnalysis *analysis;

  reset ();
  for (guint v = 0; v < G_N_ELEMENTS (names); v++)
    {
      activate ("win.wrt", g_variant_new_string (names[v]));
      analysis = jac_window_get_analysis (window);
      g_assert_cmpstr (analysis->wrt_name, ==, names[v]);
      g_assert_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (window)), names[v]));
      g_assert_nonnull (gtk_label_get_text (window->derivation_label));
    }

  activate ("win.wrt", g_variant_new_string ("W_hh"));
  analysis = jac_window_get_analysis (window);
  g_assert_cmpuint (analysis->sparsity.n_block_cols, ==, 3);  /* k runs over H */
  g_assert_cmpfloat (analysis->contract_max_diff, <, 1e-12);
}

static void
test_derivation (void)
{
  static const char * const names[] = { "h_prev", "x", "W_hh", "W_xh", "b" };
  static const char * const b_shapes[] = { "H", "NxH" };

  reset ();
  for (guint v = 0; v < G_N_ELEMENTS (names); v++)
    for (guint b = 0; b < G_N_ELEMENTS (b_shapes); b++)
      for (int denominator = 0; denominator <= 1; denominator++)
        {
          g_autofree char *markup = NULL;
          g_autoptr(GError) error = NULL;

          activate ("win.wrt", g_variant_new_string (names[v]));
          activate ("win.b-shape", g_variant_new_string (b_shapes[b]));
          markup = jac_derivation_markup (jac_window_get_analysis (window), denominator);
          g_assert_true (pango_parse_markup (markup, -1, 0, NULL, NULL, NULL, &error));
          g_assert_no_error (error);
          g_assert_nonnull (strstr (markup, "Contract with G"));
          g_assert_nonnull (strstr (markup, denominator ? "Denominator layout"
                                                        : "Numerator layout"));
        }
}

/* @widget lies wholly inside the window and has the height its text needs at its width: it is
 * on screen, not scrolled away or cut. */
static void
assert_in_sight (GtkWidget *widget)
{
  graphene_rect_t bounds;
  int needed;

  g_assert_true (gtk_widget_get_mapped (widget));
  g_assert_true (gtk_widget_compute_bounds (widget, GTK_WIDGET (window), &bounds));
  g_assert_cmpfloat (bounds.origin.x, >=, 0);
  g_assert_cmpfloat (bounds.origin.y, >=, 0);
  g_assert_cmpfloat (bounds.origin.x + bounds.size.width, <=,
                     gtk_widget_get_width (GTK_WIDGET (window)));
  g_assert_cmpfloat (bounds.origin.y + bounds.size.height, <=,
                     gtk_widget_get_height (GTK_WIDGET (window)));
  gtk_widget_measure (widget, GTK_ORIENTATION_VERTICAL, (int) bounds.size.width, &needed, NULL,
                      NULL, NULL);
  g_assert_cmpfloat (bounds.size.height, >=, needed);
}

/* The contraction's label ends with the one-line reason for the transpose. */
static void
assert_shows_why (void)
{
  g_autofree char *markup = jac_analysis_why_markup (jac_window_get_analysis (window));
  g_autofree char *why = NULL;

  g_assert_true (pango_parse_markup (markup, -1, 0, NULL, &why, NULL, NULL));
  g_assert_cmpuint (strlen (why), >, 20);
  g_assert_true (g_str_has_suffix (gtk_label_get_text (window->key_contract_label), why));
}

static void
resize_window (int width,
               int height)
{
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  jac_test_spin_for (400);
  /* The default size is the surface's; without a window manager, the frame takes some. */
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (window)), <=, width);
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (window)), >=, width - 24);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (window)), <=, height);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (window)), >=, height - 24);
}

/* On a classroom projector's screen the δ rule and the contraction with G, with the why line,
 * are in sight without scrolling, and the figure keeps most of the room. */
static void
test_key_steps (void)
{
  static const struct { int width, height; } screens[] = { { 1280, 720 }, { 1024, 768 } };
  static const char * const names[] = { "h_prev", "x", "W_hh", "W_xh", "b" };
  int width, height;

  reset ();
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  for (guint k = 0; k < G_N_ELEMENTS (screens); k++)
    {
      g_test_message ("%d × %d: the window needs %d px", screens[k].width, screens[k].height,
                      minimum_width (GTK_WIDGET (window)));
      g_assert_cmpint (minimum_width (GTK_WIDGET (window)), <=, screens[k].width);
      resize_window (screens[k].width, screens[k].height);
      for (guint v = 0; v < G_N_ELEMENTS (names); v++)
        {
          activate ("win.wrt", g_variant_new_string (names[v]));
          jac_test_spin_for (100);
          /* b's derivative is a δ from the start: its key step is the substitution. */
          g_assert_nonnull (strstr (gtk_label_get_text (window->key_delta_label),
                                    v < 4 ? "Kronecker δ rule" : "Substitute"));
          g_assert_nonnull (strstr (gtk_label_get_text (window->key_delta_label), "layout: block"));
          g_assert_nonnull (strstr (gtk_label_get_text (window->key_contract_label),
                                    "Contract with G"));
          assert_shows_why ();
          assert_in_sight (GTK_WIDGET (window->key_delta_label));
          assert_in_sight (GTK_WIDGET (window->key_contract_label));
          g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (window->figure_view)), >=,
                           2 * gtk_widget_get_height (window->derivation_pane));
        }
      keep_window_screenshot (GTK_WIDGET (window), screens[k].width == 1280 ? "key-steps-1280.png"
                                                                           : "key-steps-1024.png");
    }

  /* F8 gives the figure the whole height; F7 shows every step. */
  activate ("win.show-all-steps", NULL);
  jac_test_spin_for (100);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (window->derivation_label)));
  assert_in_sight (GTK_WIDGET (window->key_contract_label));
  activate ("win.show-all-steps", NULL);
  activate ("win.show-derivation", NULL);
  jac_test_spin_for (100);
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (window->key_delta_label)));
  activate ("win.show-derivation", NULL);
  jac_test_spin_for (100);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (window->key_delta_label)));
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  jac_test_spin_for (400);
}

static void
test_switch_layout (void)
{
  JacFigureStyle style;

  reset ();
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_false (style.denominator_layout);
  g_assert_nonnull (strstr (gtk_label_get_text (window->derivation_label), "Numerator layout"));

  activate ("win.layout", g_variant_new_string ("denominator"));
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_true (style.denominator_layout);
  g_assert_nonnull (strstr (gtk_label_get_text (window->derivation_label), "Denominator layout"));

  /* Ctrl+L cycles on to the vec matrix, the diagonal blocks, and back to numerator. */
  activate ("win.cycle", g_variant_new_string ("layout"));
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_false (style.denominator_layout);
  g_assert_true (style.vec_layout);
  activate ("win.cycle", g_variant_new_string ("layout"));
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_false (style.vec_layout);
  g_assert_true (style.per_sample);
  activate ("win.cycle", g_variant_new_string ("layout"));
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_false (style.per_sample || style.vec_layout || style.denominator_layout);
}

static void
test_controls (void)
{
  JacFigureStyle style;
  gboolean show_values;

  reset ();
  g_object_get (window->session, "show-values", &show_values, NULL);
  activate ("win.show-values", NULL);
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_cmpint (style.show_values, ==, !show_values);

  activate ("win.step-row", g_variant_new_int32 (1));
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_cmpint (style.focus_row, ==, 1);
  activate ("win.row-view", NULL);
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_cmpint (style.focus_row, ==, -1);

  activate ("win.upstream", g_variant_new_string ("loss"));
  g_assert_cmpint (jac_window_get_analysis (window)->upstream_kind, ==, JAC_UPSTREAM_LOSS);
  activate ("win.activation", g_variant_new_string ("relu"));
  g_assert_nonnull (strstr (jac_window_get_analysis (window)->expr->source, "relu(h_prev @ W_hh"));
  activate ("win.b-shape", g_variant_new_string ("NxH"));
  g_assert_cmpuint (variable_node (jac_window_get_analysis (window), "b")->rank, ==, 2);
}

static void
test_load_npy (void)
{
  g_autofree char *weights = tmp_path ("W_hh.npy");
  g_autofree char *state = tmp_path ("h_prev.npy");
  const JacAnalysis *analysis;
  const JacTensor *value;

  reset ();
  write_matrix (weights, 4, 4, -0.5);
  activate ("win.load-variable", g_variant_new_take_string (g_strdup_printf ("W_hh=%s", weights)));
  g_assert_null (jac_window_get_message (window));
  analysis = jac_window_get_analysis (window);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 1), ==, 4);
  value = variable_node (analysis, "W_hh")->value;
  g_assert_cmpfloat_with_epsilon (value->data[5], -0.45, 1e-12);
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (step_child ("hidden_spin"))));

  write_matrix (state, 3, 4, 0.1);
  activate ("win.load-variable", g_variant_new_take_string (g_strdup_printf ("h_prev=%s", state)));
  analysis = jac_window_get_analysis (window);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 0), ==, 3);
  g_assert_cmpint (window->session->batch, ==, 3);
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (step_child ("loaded_label"))),
                            "h_prev.npy"));

  activate ("win.clear-variables", NULL);
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (step_child ("hidden_spin"))));
}

static void
test_load_bad_npy (void)
{
  g_autofree char *garbage = tmp_path ("bad.npy");
  g_autofree char *wrong = tmp_path ("wrong-shape.npy");
  const JacAnalysis *before;
  const JacAnalysis *after;

  reset ();
  before = jac_window_get_analysis (window);
  g_assert_true (g_file_set_contents (garbage, "\x93NUMPY garbage, not an array", -1, NULL));
  activate ("win.load-variable", g_variant_new_take_string (g_strdup_printf ("W_hh=%s", garbage)));
  g_assert_true (jac_window_get_message_is_error (window));
  g_assert_nonnull (strstr (jac_window_get_message (window), "bad.npy"));
  g_assert_true (gtk_info_bar_get_revealed (window->info_bar));
  after = jac_window_get_analysis (window);
  g_assert_true (after == before);
  g_assert_null (window->loaded[JAC_VAR_W_HH]);

  /* W_hh must be square */
  _jac_window_hide_message (window);
  write_matrix (wrong, 3, 5, 0);
  activate ("win.load-variable", g_variant_new_take_string (g_strdup_printf ("W_hh=%s", wrong)));
  g_assert_true (jac_window_get_message_is_error (window));
  g_assert_nonnull (strstr (jac_window_get_message (window), "wrong-shape.npy"));
  g_assert_nonnull (jac_window_get_analysis (window));

  activate ("win.load-variable", g_variant_new_string ("no-equals-sign"));
  g_assert_true (jac_window_get_message_is_error (window));
  activate ("win.load-variable", g_variant_new_string ("nonsense=/nonexistent.npy"));
  g_assert_nonnull (strstr (jac_window_get_message (window), "nonsense"));
}

static void
test_export (void)
{
  static const struct { const char *name; const char *signature; } formats[] = {
    { "figure.png", "\x89PNG\r\n\x1a\n" },
    { "figure.svg", "<?xml" },
    { "figure.pdf", "%PDF-" },
  };
  int width;

  reset ();
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      g_autofree char *path = tmp_path (formats[f].name);

      activate ("win.export-to", g_variant_new_string (path));
      g_assert_false (jac_window_get_message_is_error (window));
      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
      assert_signature (path, formats[f].signature);
    }

  width = gtk_widget_get_width (GTK_WIDGET (window->figure_view));
  for (int scale = 1; scale <= 3; scale++)
    {
      g_autofree char *name = g_strdup_printf ("figure@%dx.png", scale);
      g_autofree char *path = tmp_path (name);

      activate ("win.export-scale", g_variant_new_int32 (scale));
      activate ("win.export-to", g_variant_new_string (path));
      g_assert_cmpuint (png_width (path), ==, (guint32) (width * scale));
    }

  {
    g_autofree char *path = tmp_path ("figure.bmp");

    activate ("win.export-to", g_variant_new_string (path));
    g_assert_true (jac_window_get_message_is_error (window));
    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  }
}

/* Opens the Export dialog, sets it as @choices say and picks @name as the file chooser would. */
static void
export_through_dialog (const JacExportChoices *choices,
                       const char             *name)
{
  g_autofree char *path = tmp_path (name);
  JacExportDialog *dialog;

  activate ("win.export", NULL);
  dialog = window->export_dialog;
  g_assert_nonnull (dialog);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (dialog)));
  g_assert_true (gtk_window_get_modal (GTK_WINDOW (dialog)));
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (window));
  jac_export_dialog_set_choices (dialog, choices);
  jac_test_spin ();
  jac_export_dialog_export_to (dialog, path);
  jac_test_spin ();
  g_assert_null (window->export_dialog);
}

/* The page size of a PDF cairo wrote, in pt. */
static void
pdf_page_size (const char *path,
               double     *width,
               double     *height)
{
  g_autofree char *bytes = NULL;
  const char *box;
  gsize length;

  /* Streams hold NUL bytes: search the whole file. */
  g_assert_true (g_file_get_contents (path, &bytes, &length, NULL));
  box = memmem (bytes, length, "/MediaBox [", strlen ("/MediaBox ["));
  g_assert_nonnull (box);
  g_assert_cmpint (sscanf (box, "/MediaBox [ 0 0 %lf %lf ]", width, height), ==, 2);
}

static void
clipboard_texture_cb (GObject      *clipboard,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  *(GdkTexture **) user_data = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (clipboard),
                                                                  result, NULL);
}

static GdkTexture *
clipboard_texture (void)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (window));
  GdkTexture *texture = NULL;

  gdk_clipboard_read_texture_async (clipboard, NULL, clipboard_texture_cb, &texture);
  while (texture == NULL)
    g_main_context_iteration (NULL, TRUE);
  return texture;
}

/* Every format and preset through the dialog's own code path, at the size the preset names. */
static void
test_export_dialog (void)
{
  JacExportChoices choices;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *tex = tmp_path ("column.tex");
  double width, height;

  reset ();
  jac_export_choices_init (&choices);
  /* Until one is chosen, the name says what the figure is; the pane at 2× by default. */
  activate ("win.wrt", g_variant_new_string ("W_hh"));
  activate ("win.export", NULL);
  g_assert_cmpstr (jac_export_dialog_get_choices (window->export_dialog)->name, ==,
                   "jacobian-W_hh");
  g_assert_cmpint (jac_export_dialog_get_choices (window->export_dialog)->preset, ==,
                   JAC_EXPORT_PANE);
  gtk_window_close (GTK_WINDOW (window->export_dialog));
  jac_test_spin ();
  activate ("win.wrt", g_variant_new_string ("h_prev"));

  choices.format = JAC_FIGURE_PNG;
  choices.preset = JAC_EXPORT_SLIDE_16_9;
  choices.scale = 1;
  export_through_dialog (&choices, "slide.png");
  {
    g_autofree char *path = tmp_path ("slide.png");

    g_assert_false (jac_window_get_message_is_error (window));
    g_assert_cmpuint (png_width (path), ==, 1920);
    g_assert_cmpuint (png_height (path), ==, 1080);
  }
  /* Copy Figure follows the last choices. */
  activate ("win.copy-figure", NULL);
  texture = clipboard_texture ();
  g_assert_cmpint (gdk_texture_get_width (texture), ==, 1920);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, 1080);

  choices.preset = JAC_EXPORT_SLIDE_4_3;
  choices.scale = 2;
  export_through_dialog (&choices, "slide43.png");
  {
    g_autofree char *path = tmp_path ("slide43.png");

    g_assert_cmpuint (png_width (path), ==, 2048);
    g_assert_cmpuint (png_height (path), ==, 1536);
  }

  choices.format = JAC_FIGURE_PDF;
  choices.preset = JAC_EXPORT_COLUMN;
  export_through_dialog (&choices, "column.pdf");
  {
    g_autofree char *path = tmp_path ("column.pdf");

    g_assert_false (jac_window_get_message_is_error (window));
    pdf_page_size (path, &width, &height);
    g_assert_cmpfloat_with_epsilon (width, 252, 0.01);
    g_assert_cmpfloat_with_epsilon (height, 180, 0.01);
  }

  choices.preset = JAC_EXPORT_PAGE;
  export_through_dialog (&choices, "page.pdf");
  {
    g_autofree char *path = tmp_path ("page.pdf");

    pdf_page_size (path, &width, &height);
    g_assert_cmpfloat_with_epsilon (width, 504, 0.01);
  }

  /* The same page as 3.5 × 2.5 in, given in centimetres. */
  choices.preset = JAC_EXPORT_CUSTOM;
  choices.custom_width = 8.89;
  choices.custom_height = 6.35;
  choices.custom_unit = JAC_UNIT_CM;
  export_through_dialog (&choices, "custom.pdf");
  {
    g_autofree char *path = tmp_path ("custom.pdf");

    pdf_page_size (path, &width, &height);
    g_assert_cmpfloat_with_epsilon (width, 252, 0.01);
    g_assert_cmpfloat_with_epsilon (height, 180, 0.01);
  }

  /* A physical size as PNG: pixels from the DPI. */
  choices.format = JAC_FIGURE_PNG;
  choices.preset = JAC_EXPORT_COLUMN;
  choices.dpi = 300;
  export_through_dialog (&choices, "column.png");
  {
    g_autofree char *path = tmp_path ("column.png");

    g_assert_cmpuint (png_width (path), ==, 1050);
    g_assert_cmpuint (png_height (path), ==, 750);
  }

  choices.format = JAC_FIGURE_SVG;
  choices.preset = JAC_EXPORT_SLIDE_4_3;
  export_through_dialog (&choices, "slide.svg");
  {
    g_autofree char *path = tmp_path ("slide.svg");
    g_autofree char *svg = NULL;

    g_assert_true (g_file_get_contents (path, &svg, NULL, NULL));
    g_assert_nonnull (strstr (svg, "width=\"1024"));
    g_assert_nonnull (strstr (svg, "height=\"768"));
  }

  /* TikZ: written when the writer is there, else the reason in the info bar. */
  choices.format = JAC_FIGURE_TIKZ;
  choices.preset = JAC_EXPORT_COLUMN;
  export_through_dialog (&choices, "column.tex");
  if (jac_window_get_message_is_error (window))
    g_assert_nonnull (strstr (jac_window_get_message (window), "column.tex"));
  else
    assert_signature (tex, "%");

  /* The dialog opens again where it was left: folder, name and choices. */
  activate ("win.export", NULL);
  {
    const JacExportChoices *last = jac_export_dialog_get_choices (window->export_dialog);

    g_assert_cmpint (last->format, ==, JAC_FIGURE_TIKZ);
    g_assert_cmpint (last->preset, ==, JAC_EXPORT_COLUMN);
    g_assert_cmpint (last->dpi, ==, 300);
    g_assert_cmpstr (last->folder, ==, tmpdir);
    g_assert_cmpstr (last->name, ==, "column");
    keep_window_screenshot (GTK_WIDGET (window->export_dialog), "export-dialog.png");
    choices.format = JAC_FIGURE_PNG;
    choices.preset = JAC_EXPORT_CUSTOM;
    jac_export_dialog_set_choices (window->export_dialog, &choices);
    keep_window_screenshot (GTK_WIDGET (window->export_dialog), "export-dialog-custom.png");
    gtk_window_close (GTK_WINDOW (window->export_dialog));
    jac_test_spin ();
  }
  g_assert_null (window->export_dialog);
  jac_export_choices_clear (&choices);
  jac_export_choices_clear (&window->export_choices);
  jac_export_choices_init (&window->export_choices);
}

static void
test_copy_figure (void)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (window));

  reset ();
  activate ("win.copy-figure", NULL);
  g_assert_true (gdk_content_formats_contain_gtype (gdk_clipboard_get_formats (clipboard),
                                                    GDK_TYPE_TEXTURE));
  g_assert_true (gdk_clipboard_is_local (clipboard));
}

static void
test_shortcuts_window (void)
{
  GtkShortcutsWindow *overlay;

  overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window));
  g_assert_nonnull (overlay);
  activate ("win.show-help-overlay", NULL);
  jac_test_spin_for (100);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (overlay)));
  /* It fits a 1280 × 720 projector: every group is on one of its pages, none cut off. (Its
   * size as shown: measuring it makes GTK 4.8 warn about its own labels.) */
  g_test_message ("the shortcuts window is %d × %d px", gtk_widget_get_width (GTK_WIDGET (overlay)),
                  gtk_widget_get_height (GTK_WIDGET (overlay)));
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (overlay)), <=, 720);
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (overlay)), <=, 1280);
  keep_window_screenshot (GTK_WIDGET (overlay), "shortcuts.png");
  gtk_window_close (GTK_WINDOW (overlay));
  jac_test_spin ();
}

/* The size a widget's text is laid out in, in Pango units: its CSS font. */
static int
font_size (GtkWidget *widget)
{
  PangoContext *context = gtk_widget_get_pango_context (widget);

  return pango_font_description_get_size (pango_context_get_font_description (context));
}

/* The same in pixels: GTK gives CSS sizes to Pango in points, at the screen's resolution. */
static double
font_pixels (GtkWidget *widget)
{
  PangoContext *context = gtk_widget_get_pango_context (widget);
  const PangoFontDescription *font = pango_context_get_font_description (context);
  double size = pango_font_description_get_size (font) / (double) PANGO_SCALE;
  int xft_dpi = 0;

  if (pango_font_description_get_size_is_absolute (font))
    return size;
  g_object_get (gtk_widget_get_settings (widget), "gtk-xft-dpi", &xft_dpi, NULL);
  return size * (xft_dpi > 0 ? xft_dpi / 1024.0 : 96.0) / 72.0;
}

/* The smallest glyph of the figure on show, as render lays it out for the view's size. */
static double
smallest_figure_text (void)
{
  const JacAnalysis *analysis = jac_window_get_analysis (window);
  int width = gtk_widget_get_width (GTK_WIDGET (window->figure_view));
  int height = gtk_widget_get_height (GTK_WIDGET (window->figure_view));
  g_autoptr(GArray) rects = NULL;
  JacFigureStyle style;
  double smallest = G_MAXDOUBLE;

  jac_figure_view_get_style (window->figure_view, &style);
  rects = jac_figure_text_rects (width, height, analysis, &style);
  g_assert_cmpuint (rects->len, >, 0);
  for (guint k = 0; k < rects->len; k++)
    smallest = MIN (smallest, g_array_index (rects, JacTextRect, k).size);
  return smallest;
}

static void
test_presentation (void)
{
  JacFigureStyle style;

  reset ();
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_cmpint (style.medium, ==, JAC_MEDIUM_SCREEN);
  g_assert_cmpfloat (smallest_figure_text (), >=, 9.0);
  activate ("win.presentation", NULL);
  jac_test_spin_for (300);
  g_assert_true (window->session->presentation);
  /* Xvfb has no window manager to grant full screen, so only the request can be checked. */
  g_assert_false (gtk_widget_get_visible (window->sidebar));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (window), "presentation"));
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_cmpint (style.medium, ==, JAC_MEDIUM_PRESENTATION);
  g_assert_cmpfloat (smallest_figure_text (), >=, 18.0);
  jac_time_view_get_style (window->time_view, &style);
  g_assert_cmpint (style.medium, ==, JAC_MEDIUM_PRESENTATION);
  /* The window's own text reads from the back of the room too. */
  g_assert_cmpfloat (font_pixels (GTK_WIDGET (window->hover_label)), >=, 18.0);
  /* The derivation steps aside for the figure, whose caption has the formula and the why;
   * F8 brings it back, as large. */
  g_assert_false (gtk_widget_get_visible (window->derivation_pane));
  g_object_set (window->session, "show-derivation", TRUE, NULL);
  jac_test_spin_for (100);
  g_assert_cmpfloat (font_pixels (GTK_WIDGET (window->key_delta_label)), >=, 18.0);
  g_assert_cmpfloat (font_pixels (GTK_WIDGET (window->key_contract_label)), >=, 18.0);
  g_object_set (window->session, "show-derivation", FALSE, NULL);

  /* Ctrl+minus never takes the figure's type under the projector's floor. */
  activate ("win.text-smaller", NULL);
  g_assert_cmpfloat (window->session->text_scale, <, 1.0);
  g_assert_cmpfloat (smallest_figure_text (), >=, 18.0);
  activate ("win.text-larger", NULL);
  activate ("win.text-larger", NULL);
  g_assert_cmpfloat (window->session->text_scale, >, 1.0);
  activate ("win.text-reset", NULL);
  g_assert_cmpfloat (window->session->text_scale, ==, 1.0);

  activate ("win.leave-presentation", NULL);  /* Escape */
  jac_test_spin_for (300);
  g_assert_false (window->session->presentation);
  g_assert_true (gtk_widget_get_visible (window->sidebar));
  g_assert_true (gtk_widget_get_visible (window->derivation_pane));
  g_assert_false (gtk_window_is_fullscreen (GTK_WINDOW (window)));
  jac_figure_view_get_style (window->figure_view, &style);
  g_assert_cmpint (style.medium, ==, JAC_MEDIUM_SCREEN);
}

#define SMALL_SCREEN_WIDTH 1280

static void
scale_text_by (const char *action,
               guint       times)
{
  for (guint k = 0; k < times; k++)
    activate (action, NULL);
  jac_test_spin_for (100);
}

/* Ctrl+plus, Ctrl+minus and Ctrl+0 scale the type of the whole window, not only the figure's. */
static void
test_text_scale (void)
{
  GtkWidget *labels[] = {
    GTK_WIDGET (upstream_label ()), GTK_WIDGET (step_child ("sizes_group")),
    GTK_WIDGET (window->wrt_caption),
    GTK_WIDGET (window->hover_label), GTK_WIDGET (window->key_delta_label),
    GTK_WIDGET (window->lag_scale),
  };
  int sizes[G_N_ELEMENTS (labels)];
  GtkWidget *titlebar = gtk_window_get_titlebar (GTK_WINDOW (window));
  int width;

  reset ();
  jac_test_spin_for (100);
  for (guint k = 0; k < G_N_ELEMENTS (labels); k++)
    sizes[k] = font_size (labels[k]);
  width = natural_width (GTK_WIDGET (step_child ("upstream_label")));

  scale_text_by ("win.text-larger", 1);
  g_assert_cmpfloat (window->session->text_scale, ==, JAC_SESSION_TEXT_SCALE_STEP);
  g_assert_cmpfloat (jac_window_get_figure_text_scale (window), ==, JAC_SESSION_TEXT_SCALE_STEP);
  for (guint k = 0; k < G_N_ELEMENTS (labels); k++)
    g_assert_cmpint (font_size (labels[k]), >, sizes[k]);
  g_assert_cmpint (natural_width (GTK_WIDGET (step_child ("upstream_label"))), >, width);

  /* Larger then smaller comes back exactly. */
  scale_text_by ("win.text-smaller", 1);
  g_assert_cmpfloat (window->session->text_scale, ==, 1.0);

  /* At the largest step the window still fits a screen 1280 pixels wide, so nothing is pushed
   * out of sight; in presentation mode the header bar, which grows most, does too. */
  scale_text_by ("win.text-larger", 20);
  g_assert_cmpfloat (window->session->text_scale, ==, JAC_SESSION_MAX_TEXT_SCALE);
  g_test_message ("largest step: the window needs %d px", minimum_width (GTK_WIDGET (window)));
  g_assert_cmpint (minimum_width (GTK_WIDGET (window)), <=, SMALL_SCREEN_WIDTH);
  keep_window_screenshot (GTK_WIDGET (window), "text-largest.png");
  activate ("win.presentation", NULL);
  jac_test_spin_for (100);
  g_test_message ("largest step, presenting: the header bar needs %d px", minimum_width (titlebar));
  g_assert_cmpint (minimum_width (titlebar), <=, SMALL_SCREEN_WIDTH);
  keep_window_screenshot (GTK_WIDGET (window), "text-largest-presentation.png");
  g_object_set (window->session, "view", JAC_VIEW_SEQUENCE, NULL);
  keep_window_screenshot (GTK_WIDGET (window), "text-largest-sequence.png");
  activate ("win.leave-presentation", NULL);
  g_object_set (window->session, "view", JAC_VIEW_STEP, NULL);
  scale_text_by ("win.text-smaller", 20);
  g_assert_cmpfloat (window->session->text_scale, ==, JAC_SESSION_MIN_TEXT_SCALE);
  for (guint k = 0; k < G_N_ELEMENTS (labels); k++)
    g_assert_cmpint (font_size (labels[k]), <, sizes[k]);
  keep_window_screenshot (GTK_WIDGET (window), "text-smallest.png");

  scale_text_by ("win.text-reset", 1);  /* Ctrl+0 */
  g_assert_cmpfloat (window->session->text_scale, ==, 1.0);
  g_assert_cmpfloat (jac_window_get_figure_text_scale (window), ==, 1.0);
  for (guint k = 0; k < G_N_ELEMENTS (labels); k++)
    g_assert_cmpint (font_size (labels[k]), ==, sizes[k]);
  g_assert_cmpint (natural_width (GTK_WIDGET (step_child ("upstream_label"))), ==, width);
}

static void
test_zoom (void)
{
  reset ();
  activate ("win.zoom", g_variant_new_double (2.0));
  g_assert_cmpfloat (jac_figure_view_get_zoom (window->figure_view), ==, 2.0);
  jac_test_spin_for (50);
  activate ("win.zoom", g_variant_new_double (0.0));
  g_assert_cmpfloat (jac_figure_view_get_zoom (window->figure_view), ==, 1.0);
}

static GtkEventController *
motion_controller (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint k = 0; k < g_list_model_get_n_items (controllers); k++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, k);

      if (GTK_IS_EVENT_CONTROLLER_MOTION (controller))
        return controller;  /* the widget keeps it */
    }
  g_assert_not_reached ();
}

/* A point of the figure view over a cell of the Jacobian grid. */
static void
find_jacobian_cell (double *x,
                    double *y)
{
  JacFigureStyle style;
  int width = gtk_widget_get_width (GTK_WIDGET (window->figure_view));
  int height = gtk_widget_get_height (GTK_WIDGET (window->figure_view));
  JacFigureHit hit;

  jac_figure_view_get_style (window->figure_view, &style);
  for (*y = 0; *y < height; *y += 4)
    for (*x = 0; *x < width; *x += 4)
      if (jac_figure_hit_test (jac_window_get_analysis (window), &style, width, height, *x, *y,
                               &hit)
          && hit.panel == JAC_PANEL_JACOBIAN)
        return;
  g_assert_not_reached ();
}

/* The outline follows the pointer, and goes when the pointer leaves or the view is fitted. */
static void
test_hover (void)
{
  GtkEventController *motion;
  double x, y;

  reset ();
  jac_test_spin_for (100);
  motion = motion_controller (GTK_WIDGET (window->figure_view));
  find_jacobian_cell (&x, &y);
  /* No tooltip over the block being read: the hover line under the figure names the cell. */
  g_assert_false (gtk_widget_get_has_tooltip (GTK_WIDGET (window->figure_view)));

  g_signal_emit_by_name (motion, "motion", x, y);
  jac_test_spin ();
  g_assert_true (jac_figure_view_get_highlight (window->figure_view, NULL));
  g_assert_nonnull (strstr (gtk_label_get_text (window->hover_label), "J["));
  g_signal_emit_by_name (motion, "leave");
  jac_test_spin ();
  g_assert_false (jac_figure_view_get_highlight (window->figure_view, NULL));
  g_assert_null (strstr (gtk_label_get_text (window->hover_label), "J["));

  g_signal_emit_by_name (motion, "motion", x, y);
  jac_test_spin ();
  g_assert_true (jac_figure_view_get_highlight (window->figure_view, NULL));
  activate ("win.zoom", g_variant_new_double (0.0));  /* Alt+0: fit */
  g_assert_false (jac_figure_view_get_highlight (window->figure_view, NULL));
  g_signal_emit_by_name (motion, "motion", x, y);
  jac_test_spin ();
  activate ("win.zoom", g_variant_new_double (2.0));
  activate ("win.zoom", g_variant_new_double (0.0));
  g_assert_false (jac_figure_view_get_highlight (window->figure_view, NULL));
}

static void
test_large (void)
{
  const JacAnalysis *analysis;

  reset ();
  activate ("win.batch", g_variant_new_int32 (64));
  activate ("win.hidden", g_variant_new_int32 (256));
  analysis = jac_window_get_analysis (window);
  g_assert_cmpuint (analysis->sparsity.n_block_rows, ==, 64);
  g_assert_cmpuint (analysis->sparsity.block_width, ==, 256);
  jac_test_spin_for (200);
  activate ("win.zoom", g_variant_new_double (40.0));
  jac_test_spin_for (200);
  activate ("win.zoom", g_variant_new_double (0.0));
}

typedef struct
{
  double   before;      /* h_prev[0,0] under the seed before the change awaited */
  gint64  painted_us;  /* when a frame showing it was painted */
} AwaitFrame;

static void
await_frame_cb (GdkFrameClock *clock,
                AwaitFrame    *await)
{
  /* A frame painted before the recompute shows the old figure: not the one waited for. */
  if (await->painted_us == 0
      && variable_node (jac_window_get_analysis (window), "h_prev")->value->data[0] != await->before
      && jac_figure_view_is_current (window->figure_view))
    await->painted_us = g_get_monotonic_time ();
}

static int
compare_ms (const void *a,
            const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* A control change (F5, the next seed) at the largest sizes the window takes, timed to the
 * painted frame as JACSCOPE_PROFILE=1 logs it. Reported, not asserted: the target (DESIGN.md,
 * Performance) is a benchmark. */
static void
test_control_change_timing (void)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));

  const char *rounds_text = g_getenv ("JACSCOPE_TIMING_ROUNDS");
  guint n_rounds = rounds_text != NULL ? CLAMP (atoi (rounds_text), 1, 100) : 3;
  g_autofree double *ms = g_new (double, n_rounds);

  reset ();
  g_object_set (window->session, "batch", 64, "input", 64, "hidden", JAC_SESSION_MAX_SIZE, NULL);
  jac_test_spin_for (100);
  for (guint r = 0; r < n_rounds; r++)
    {
      AwaitFrame await = { variable_node (jac_window_get_analysis (window), "h_prev")->value->data[0],
                           0 };
      gulong id = g_signal_connect (clock, "after-paint", G_CALLBACK (await_frame_cb), &await);
      gint64 start = g_get_monotonic_time ();

      activate ("win.next-seed", NULL);
      while (await.painted_us == 0)
        g_main_context_iteration (NULL, TRUE);
      g_signal_handler_disconnect (clock, id);
      g_assert_cmpuint (variable_dim (jac_window_get_analysis (window), "h_prev", 1), ==,
                        JAC_SESSION_MAX_SIZE);
      ms[r] = (await.painted_us - start) / 1000.0;
      g_test_message ("N=64 D=64 H=%d wrt h_prev: control change to painted frame %.1f ms",
                      JAC_SESSION_MAX_SIZE, ms[r]);
      /* Let the work queued after the frame (the Kronecker form) finish, as a user would. */
      jac_test_spin_for (150);
    }
  /* The first rounds fill the buffer cache; the later ones are what a user sees. */
  qsort (ms, n_rounds, sizeof (double), compare_ms);
  g_test_message ("control change to painted frame over %u rounds: min %.1f ms, median %.1f ms",
                  n_rounds, ms[0], ms[n_rounds / 2]);
}

static void
test_screenshot (void)
{
  const char *binary = g_getenv ("JACSCOPE_BIN");
  g_autofree char *path = tmp_path ("screenshot.png");
  g_autoptr(GError) error = NULL;
  const char *argv[] = { binary, "--screenshot", path, NULL };
  int status;

  if (binary == NULL)
    {
      g_test_skip ("JACSCOPE_BIN is not set");
      return;
    }
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  assert_signature (path, "\x89PNG\r\n\x1a\n");
  g_assert_cmpuint (png_width (path), >, 400);
}

/* ---- typed expressions ------------------------------------------------------------------ */

static guint
n_children (GtkWidget *widget)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n++;
  return n;
}

static guint
n_variables (const JacAnalysis *analysis)
{
  guint n = 0;

  for (guint k = 0; k < analysis->graph->nodes->len; k++)
    n += jac_graph_node (analysis->graph, k)->op == JAC_OP_VARIABLE;
  return n;
}

/* Types into the entries as a user would, then presses Enter in the expression entry. */
static void
type_expression (const char *expression,
                 const char *shapes)
{
  if (shapes != NULL)
    gtk_editable_set_text (expr_entry ("shapes_entry"), shapes);
  gtk_editable_set_text (expr_entry ("entry"), expression);
  g_signal_emit_by_name (expr_entry ("entry"), "activate");
  jac_test_spin ();
}

/* Saves the window when JACSCOPE_SCREENSHOT_DIR names a folder, for a human to look at. */
static void
keep_screenshot (const char *name)
{
  const char *dir = g_getenv ("JACSCOPE_SCREENSHOT_DIR");
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (dir == NULL)
    return;
  jac_test_spin_for (300);
  path = g_build_filename (dir, name, NULL);
  g_assert_true (jac_window_save_screenshot (window, path, &error));
  g_assert_no_error (error);
}

static void
test_expr_presets (void)
{
  static const struct { const char *id; const char *output; guint n_vars; } presets[] = {
    { "matmul", "U", 2 }, { "chain", "Y", 3 }, { "gate", "Y", 4 }, { "softmax", "Y", 2 },
    { "gram", "Y", 1 }, { "rnn", "h", 5 }, { "lstm", "h", 15 }, { "gru", "h", 12 },
  };

  reset ();
  for (guint k = 0; k < G_N_ELEMENTS (presets); k++)
    {
      g_autofree char *upstream = g_strdup_printf ("G = ∂L/∂%s", presets[k].output);
      const JacAnalysis *analysis;

      activate ("win.preset", g_variant_new_string (presets[k].id));
      analysis = jac_window_get_analysis (window);
      g_assert_nonnull (analysis);
      g_assert_cmpstr (analysis->output_name, ==, presets[k].output);
      g_assert_null (_jac_window_get_expr_error (window));
      g_assert_cmpuint (n_children (GTK_WIDGET (window->wrt_box)), ==, presets[k].n_vars);
      g_assert_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (window)), presets[k].output));
      g_assert_true (g_str_has_suffix (gtk_label_get_label (upstream_label ()), upstream));
      g_assert_nonnull (strstr (gtk_label_get_text (window->derivation_label), "Contract"));
      if (g_str_equal (presets[k].id, "rnn"))
        {
          /* One preset among many: the same expression analysis, its sizes as controls. */
          g_assert_nonnull (analysis->expr);
          g_assert_cmpstr (analysis->derivation->contracted_text, ==, "(G ⊙ S) W_hhᵀ");
          g_assert_true (gtk_widget_get_visible (GTK_WIDGET (step_child ("sizes_group"))));
          g_assert_false (gtk_widget_get_visible (GTK_WIDGET (expr_child (window, "shapes_box"))));
          g_assert_nonnull (strstr (gtk_editable_get_text (expr_entry ("entry")),
                                    "tanh(h_prev @ W_hh"));
        }
      else
        {
          g_assert_nonnull (analysis->expr);
          g_assert_cmpuint (n_variables (analysis), ==, presets[k].n_vars);
          g_assert_false (gtk_widget_get_visible (GTK_WIDGET (step_child ("sizes_group"))));
          g_assert_true (gtk_widget_get_visible (GTK_WIDGET (expr_child (window, "shapes_box"))));
          g_assert_cmpfloat (analysis->contract_max_diff, <, 1e-10);
          g_assert_cmpstr (gtk_editable_get_text (expr_entry ("entry")), ==,
                           analysis->expr->source);
        }
      jac_test_spin_for (50);
    }
}

/* The Second derivative switch: the gallery's Hessian turns it on; off is the gradient again; a
 * non-scalar output makes it insensitive and shows the first derivative. */
static void
test_expr_hessian (void)
{
  const JacAnalysis *analysis;

  reset ();
  activate ("win.preset", g_variant_new_string ("least-squares-hessian"));
  analysis = jac_window_get_analysis (window);
  g_assert_nonnull (analysis->hessian);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (hessian_check ())));
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (hessian_check ())));
  g_assert_true (gtk_check_button_get_active (hessian_check ()));
  g_assert_cmpstr (analysis->derivation->contracted_text, ==, "Xᵀ X V");
  g_assert_cmpfloat (analysis->contract_max_diff, <, 1e-10);
  g_assert_nonnull (strstr (gtk_label_get_text (window->derivation_label), "Contract with V"));
  g_assert_null (_jac_window_get_expr_error (window));
  jac_test_spin_for (50);

  gtk_check_button_set_active (hessian_check (), FALSE);
  analysis = jac_window_get_analysis (window);
  g_assert_null (analysis->hessian);
  g_assert_cmpstr (analysis->wrt_name, ==, "W");
  g_assert_cmpuint (analysis->jacobian->n_terms, >, 0);
  g_assert_nonnull (strstr (analysis->derivation->contracted_text, "Xᵀ"));
  gtk_check_button_set_active (hessian_check (), TRUE);
  g_assert_nonnull (jac_window_get_analysis (window)->hessian);
  jac_test_spin_for (50);

  type_expression ("U = V @ A", "N = 2, K = 4, M = 3, V: N×K, A: K×M");
  analysis = jac_window_get_analysis (window);
  g_assert_null (analysis->hessian);
  g_assert_cmpstr (analysis->output_name, ==, "U");
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (hessian_check ())));
  /* tr(X)'s gradient is the constant I_3x3: not a variable to differentiate by. */
  type_expression ("tr(X)", "X: 3×3");
  gtk_check_button_set_active (hessian_check (), TRUE);
  analysis = jac_window_get_analysis (window);
  g_assert_nonnull (analysis->hessian);
  g_assert_false (analysis->derivation->depends);
  g_assert_cmpuint (n_children (GTK_WIDGET (window->wrt_box)), ==, 1);
  activate ("win.preset", g_variant_new_string ("least-squares"));
  g_assert_false (gtk_check_button_get_active (hessian_check ()));
  g_assert_null (jac_window_get_analysis (window)->hessian);
}

static void
test_expr_type (void)
{
  const JacAnalysis *analysis;

  reset ();
  type_expression ("U = V @ A", "N = 2, K = 4, M = 3, V: N×K, A: K×M");
  analysis = jac_window_get_analysis (window);
  g_assert_nonnull (analysis->expr);
  g_assert_cmpstr (analysis->output_name, ==, "U");
  g_assert_cmpstr (analysis->wrt_name, ==, "V");      /* the first variable */
  g_assert_cmpuint (analysis->sparsity.n_block_rows, ==, 2);
  g_assert_cmpuint (analysis->sparsity.n_zero_blocks, ==, 2);
  g_assert_nonnull (strstr (gtk_label_get_text (window->derivation_label), "Kronecker"));
  g_assert_true (g_str_has_suffix (gtk_label_get_label (upstream_label ()), "∂L/∂U"));
  keep_screenshot ("expr-matmul.png");

  /* G is named after the output, with its subscript. */
  type_expression ("h_next = tanh(h_prev @ W_hh)", "");
  g_assert_cmpstr (jac_window_get_analysis (window)->output_name, ==, "h_next");
  g_assert_true (g_str_has_suffix (gtk_label_get_label (upstream_label ()),
                                   "∂L/∂h<sub>next</sub>"));
  g_assert_true (g_str_has_suffix (gtk_label_get_text (upstream_label ()), "∂L/∂hnext"));

  /* The RNN's names keep the sizes of its controls. */
  type_expression ("h = tanh(h_prev @ W_hh + x @ W_xh + b)", "");
  analysis = jac_window_get_analysis (window);
  g_assert_nonnull (analysis->expr);
  g_assert_cmpstr (analysis->wrt_name, ==, "h_prev");
  g_assert_cmpuint (analysis->sparsity.n_zero_blocks, ==, 2);

  /* Typing without Enter applies a moment after the last key. */
  gtk_editable_set_text (expr_entry ("entry"), "sum(h_prev * h_prev)");
  jac_test_spin_for (900);
  analysis = jac_window_get_analysis (window);
  g_assert_cmpuint (analysis->jacobian->out_rank, ==, 0);
  g_assert_true (g_str_has_suffix (gtk_label_get_label (upstream_label ()), "∂L/∂Y"));
  g_assert_null (_jac_window_get_expr_error (window));
}

static void
test_expr_error (void)
{
  const JacAnalysis *before;
  const char *error;

  reset ();
  activate ("win.preset", g_variant_new_string ("matmul"));
  before = jac_window_get_analysis (window);
  type_expression ("U = tanh(V @ A", NULL);
  error = _jac_window_get_expr_error (window);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error, "column"));
  g_assert_nonnull (strstr (error, "\n  U = tanh(V @ A\n"));
  g_assert_nonnull (strstr (error, "^"));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (expr_child (window, "error_box"))));
  g_assert_nonnull (strstr (expr_label_text ("error_label"), "column 9"));
  g_assert_nonnull (strstr (expr_label_text ("caret_label"), "          ^"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (expr_entry ("entry")), "error"));
  g_assert_true (jac_window_get_analysis (window) == before);
  g_assert_false (jac_window_get_message_is_error (window));
  keep_screenshot ("expr-error.png");

  /* A bad declaration points into the shapes entry. */
  type_expression ("U = V @ A", "N = 2, V: N×, A: 4×3");
  g_assert_nonnull (_jac_window_get_expr_error (window));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (expr_entry ("shapes_entry")), "error"));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (expr_entry ("entry")), "error"));
  g_assert_true (jac_window_get_analysis (window) == before);

  /* Shapes that do not fit name both. */
  type_expression ("U = V @ A", "V: 2×3, A: 4×3");
  g_assert_nonnull (_jac_window_get_expr_error (window));
  g_assert_true (jac_window_get_analysis (window) == before);

  type_expression ("U = V @ A", "V: 2×4, A: 4×3");
  g_assert_null (_jac_window_get_expr_error (window));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (expr_child (window, "error_box"))));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (expr_entry ("shapes_entry")), "error"));
  g_assert_true (jac_window_get_analysis (window) != before);
}

static void
test_expr_wrt (void)
{
  static const char * const names[] = { "X", "W", "b", "C" };
  const JacAnalysis *analysis;

  reset ();
  activate ("win.preset", g_variant_new_string ("gate"));
  g_assert_cmpuint (n_children (GTK_WIDGET (window->wrt_box)), ==, 4);
  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    {
      activate ("win.wrt", g_variant_new_string (names[k]));
      analysis = jac_window_get_analysis (window);
      g_assert_cmpstr (analysis->wrt_name, ==, names[k]);
      g_assert_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (window)), names[k]));
      g_assert_cmpfloat (analysis->contract_max_diff, <, 1e-10);
    }
  activate ("win.wrt", g_variant_new_string ("b"));
  g_assert_cmpuint (jac_window_get_analysis (window)->jacobian->wrt_rank, ==, 1);
  activate ("win.wrt-index", g_variant_new_int32 (1));   /* Ctrl+2 */
  g_assert_cmpstr (jac_window_get_analysis (window)->wrt_name, ==, "W");
  keep_screenshot ("expr-gate.png");

  /* Another expression keeps a variable it shares, else takes its first. */
  activate ("win.preset", g_variant_new_string ("softmax"));
  g_assert_cmpstr (jac_window_get_analysis (window)->wrt_name, ==, "W");
  activate ("win.preset", g_variant_new_string ("gram"));
  g_assert_cmpstr (jac_window_get_analysis (window)->wrt_name, ==, "X");
  activate ("win.preset", g_variant_new_string ("rnn"));
  g_assert_cmpstr (jac_window_get_analysis (window)->wrt_name, ==, "h_prev");
  g_assert_cmpuint (n_children (GTK_WIDGET (window->wrt_box)), ==, 5);

  /* Ctrl+R brings the RNN step back from an expression, at its defaults. */
  activate ("win.preset", g_variant_new_string ("gram"));
  activate ("win.wrt", g_variant_new_string ("X"));
  activate ("win.default-example", NULL);
  g_assert_cmpstr (jac_window_get_analysis (window)->output_name, ==, "h");
  g_assert_cmpstr (jac_window_get_analysis (window)->wrt_name, ==, "h_prev");
  g_assert_cmpuint (variable_dim (jac_window_get_analysis (window), "h_prev", 0), ==, 2);
}

static void
read_text_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  char **text = user_data;

  *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, NULL);
  if (*text == NULL)
    *text = g_strdup ("");
}

static char *
clipboard_text (void)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (window));
  char *text = NULL;

  gdk_clipboard_read_text_async (clipboard, NULL, read_text_cb, &text);
  while (text == NULL)
    g_main_context_iteration (NULL, TRUE);
  return text;
}

static void
test_copy_latex (void)
{
  reset ();
  activate ("win.preset", g_variant_new_string ("matmul"));
  activate ("win.copy-latex", NULL);
  {
    g_autofree char *text = clipboard_text ();

    g_assert_nonnull (strstr (text, "\\frac{\\partial"));
    g_assert_nonnull (strstr (text, "\\paragraph{Contracted form}"));
    g_assert_nonnull (strstr (text, "A^{\\top}"));
  }
  /* The RNN step too. */
  activate ("win.preset", g_variant_new_string ("rnn"));
  activate ("win.copy-latex", NULL);
  {
    g_autofree char *text = clipboard_text ();

    g_assert_nonnull (strstr (text, "\\frac{\\partial"));
    g_assert_nonnull (strstr (text, "W_{hh}"));
    g_assert_null (strstr (text, "\\_"));
  }
  /* And the script that checks it: the same as derive --numpy, a confirmation as a toast. */
  activate ("win.copy-numpy", NULL);
  {
    g_autofree char *text = clipboard_text ();

    g_assert_true (g_str_has_prefix (text, "#!/usr/bin/env python3\n"));
    g_assert_nonnull (strstr (text, "np.einsum("));
    g_assert_cmpstr (jac_window_get_message (window), ==,
                     "Copied a NumPy script that checks the derivation");
  }
}

static void
test_expr_export (void)
{
  static const struct { const char *name; const char *signature; } formats[] = {
    { "expr.png", "\x89PNG\r\n\x1a\n" },
    { "expr.svg", "<?xml" },
    { "expr.pdf", "%PDF-" },
  };

  reset ();
  activate ("win.preset", g_variant_new_string ("softmax"));
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      g_autofree char *path = tmp_path (formats[f].name);

      activate ("win.export-to", g_variant_new_string (path));
      g_assert_false (jac_window_get_message_is_error (window));
      assert_signature (path, formats[f].signature);
    }
}

static void
test_expr_load (void)
{
  g_autofree char *path = tmp_path ("V.npy");
  const JacAnalysis *analysis;
  const JacNode *node;

  reset ();
  activate ("win.preset", g_variant_new_string ("matmul"));
  write_matrix (path, 3, 4, 0.25);
  activate ("win.load-variable", g_variant_new_take_string (g_strdup_printf ("V=%s", path)));
  g_assert_null (jac_window_get_message (window));
  analysis = jac_window_get_analysis (window);
  node = jac_graph_node (analysis->graph, jac_graph_find_variable (analysis->graph, "V"));
  g_assert_cmpuint (node->shape[0], ==, 3);
  g_assert_cmpfloat_with_epsilon (node->value->data[1], 0.26, 1e-12);
  g_assert_cmpuint (analysis->sparsity.n_block_rows, ==, 3);
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (step_child ("loaded_label"))), "V.npy"));

  /* Not a variable of the expression: an error, and nothing changes. */
  activate ("win.load-variable", g_variant_new_take_string (g_strdup_printf ("Q=%s", path)));
  g_assert_true (jac_window_get_message_is_error (window));
  g_assert_true (jac_window_get_analysis (window) == analysis);
  activate ("win.clear-variables", NULL);
  g_assert_cmpuint (jac_window_get_analysis (window)->sparsity.n_block_rows, ==, 2);
}

/* ---- through time ----------------------------------------------------------------------- */

/* The sequence the window should show, built here from its own config, not the window's. */
static JacSequence *
independent_sequence (gsize       batch,
                      gsize       hidden,
                      JacFunc     activation,
                      gsize       steps,
                      double      gain,
                      gboolean    orthogonal)
{
  g_autoptr(GError) error = NULL;
  JacSequenceConfig config;
  JacSequence *sequence;

  jac_sequence_config_init_default (&config);
  config.config.batch = batch;
  config.config.input = 3;
  config.config.hidden = hidden;
  config.config.seed = 1;
  config.config.activation = activation;
  config.steps = steps;
  config.gain = gain;
  config.orthogonal = orthogonal;
  sequence = jac_sequence_new (&config, &error);
  g_assert_no_error (error);
  return sequence;
}

static void
show_sequence (void)
{
  activate ("win.view", g_variant_new_string ("sequence"));
  jac_time_view_wait (window->time_view);
  jac_test_spin ();
}

/* The Jacobian on show equals an independent one entry by entry, relative to its largest. */
static void
assert_jacobian_matches (const JacSequence *reference,
                         gsize              lag)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacStructured) expected = jac_sequence_jacobian (reference, lag, &error);
  const JacStructured *shown = jac_time_view_get_jacobian (window->time_view);
  JacSequenceView view;
  double scale = 0;

  g_assert_no_error (error);
  jac_time_view_get_view (window->time_view, &view);
  g_assert_cmpuint (view.lag, ==, lag);
  g_assert_nonnull (shown);
  g_assert_cmpint (shown->pair[0], ==, expected->pair[0]);
  g_assert_cmpint (shown->pair[1], ==, expected->pair[1]);
  g_assert_cmpuint (shown->core->size, ==, expected->core->size);
  for (gsize e = 0; e < expected->core->size; e++)
    scale = MAX (scale, fabs (expected->core->data[e]));
  for (gsize e = 0; e < expected->core->size; e++)
    g_assert_cmpfloat (fabs (shown->core->data[e] - expected->core->data[e]), <=,
                       1e-12 * MAX (scale, 1e-300));
}

/* Every norm on the plot equals the independent one (as log₁₀, to 1e-12). */
static void
assert_norms_match (const JacSequence *reference)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacSequenceNorms) expected = jac_sequence_norms (reference, FALSE, &error);
  const JacSequenceNorms *shown = jac_time_view_get_norms (window->time_view);

  g_assert_no_error (error);
  g_assert_cmpuint (shown->steps, ==, expected->steps);
  g_assert_cmpuint (shown->batch, ==, expected->batch);
  g_assert_cmpfloat_with_epsilon (shown->spectral_radius, expected->spectral_radius, 1e-12);
  for (int norm = JAC_SEQUENCE_NORM_SPECTRAL; norm <= JAC_SEQUENCE_NORM_FROBENIUS; norm++)
    for (gsize k = 1; k <= expected->steps; k++)
      for (gsize i = 0; i < expected->batch; i++)
        g_assert_cmpfloat_with_epsilon (jac_sequence_norms_get_log10 (shown, norm, k, i),
                                        jac_sequence_norms_get_log10 (expected, norm, k, i),
                                        1e-12);
}

/* How long the view takes to draw itself as on screen, in ms. */
static double
time_draw (void)
{
  int width = gtk_widget_get_width (GTK_WIDGET (window->time_view));
  int height = gtk_widget_get_height (GTK_WIDGET (window->time_view));
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);
  gint64 start = g_get_monotonic_time ();

  g_assert_true (jac_time_view_draw (window->time_view, cr, width, height, JAC_MEDIUM_SCREEN));
  start = g_get_monotonic_time () - start;
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  return start / 1000.0;
}

/* Moves the lag as the slider does and says how long the Jacobian and a redraw took. */
static void
time_slider (int lag)
{
  gint64 start = g_get_monotonic_time ();
  double compute_ms;

  gtk_range_set_value (GTK_RANGE (window->lag_scale), lag);
  jac_time_view_wait (window->time_view);
  compute_ms = (g_get_monotonic_time () - start) / 1000.0;
  g_test_message ("N=%d H=%d T=%d: slider to k = %d: Jacobian %.2f ms, draw %.1f ms",
                  window->session->batch, window->session->hidden, window->session->steps, lag,
                  compute_ms, time_draw ());
}

static void
test_sequence_switch (void)
{
  reset ();
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->view_stack), ==, "step");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (window->sequence_controls)));

  show_sequence ();
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->view_stack), ==, "sequence");
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (window->time_view)));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window->sequence_controls)));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (step_child ("sizes_group"))));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (window->expression_panel)));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (window->wrt_box)));
  g_assert_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (window)), "through time"));
  g_assert_nonnull (jac_time_view_get_sequence (window->time_view));

  /* Even from an expression the sequence is the RNN's, with its size controls. */
  activate ("win.view", g_variant_new_string ("step"));
  activate ("win.preset", g_variant_new_string ("softmax"));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (step_child ("sizes_group"))));
  activate ("win.toggle-view", NULL);               /* Ctrl+Shift+T */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->view_stack), ==, "sequence");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (step_child ("sizes_group"))));
  activate ("win.view", g_variant_new_string ("nonsense"));
  g_assert_cmpint (window->session->view, ==, JAC_VIEW_SEQUENCE);

  /* The stack switcher's buttons set the stack: the window follows. */
  gtk_stack_set_visible_child_name (window->view_stack, "step");
  jac_test_spin ();
  g_assert_cmpint (window->session->view, ==, JAC_VIEW_STEP);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window->wrt_box)));
  g_assert_null (strstr (gtk_window_get_title (GTK_WINDOW (window)), "through time"));
}

static void
test_sequence_lag (void)
{
  g_autoptr(JacSequence) reference = NULL;
  g_autofree char *expected_text = NULL;
  const JacSequenceNorms *norms;

  reset ();
  show_sequence ();
  activate ("win.steps", g_variant_new_int32 (30));
  activate ("win.lag", g_variant_new_int32 (12));
  jac_time_view_wait (window->time_view);
  g_assert_cmpint (window->session->lag, ==, 12);
  g_assert_cmpint (jac_time_view_get_lag (window->time_view), ==, 12);
  g_assert_cmpfloat (gtk_range_get_value (GTK_RANGE (window->lag_scale)), ==, 12);
  g_assert_cmpfloat (gtk_adjustment_get_upper (gtk_range_get_adjustment (GTK_RANGE (
                       window->lag_scale))), ==, 30);
  g_assert_cmpuint (jac_time_view_get_sequence (window->time_view)->config.steps, ==, 30);

  reference = independent_sequence (2, 3, JAC_FUNC_TANH, 30, 1.0, FALSE);
  assert_jacobian_matches (reference, 12);
  assert_norms_match (reference);

  /* The summary states ρ and the norms at k that the plot marks. */
  norms = jac_time_view_get_norms (window->time_view);
  for (gsize i = 0; i < 2; i++)
    {
      g_autofree char *value = g_strdup_printf ("%.3g (i = %" G_GSIZE_FORMAT ")",
                                                jac_sequence_norms_get (norms,
                                                                        JAC_SEQUENCE_NORM_SPECTRAL,
                                                                        12, i), i);
      g_assert_nonnull (strstr (gtk_label_get_text (window->sequence_summary_label), value));
    }
  expected_text = g_strdup_printf ("ρ(Whh) = %.2f", reference->spectral_radius);
  g_assert_nonnull (strstr (gtk_label_get_text (window->sequence_summary_label), expected_text));
  g_assert_nonnull (strstr (gtk_label_get_text (window->sequence_summary_label), "k = 12"));

  time_slider (29);
  time_slider (13);
  /* The slider, the keys [ and ], and the view's own keys (← → Page Up/Down) move k. */
  gtk_range_set_value (GTK_RANGE (window->lag_scale), 20);
  jac_test_spin ();
  jac_time_view_wait (window->time_view);
  g_assert_cmpint (window->session->lag, ==, 20);
  assert_jacobian_matches (reference, 20);
  activate ("win.step-lag", g_variant_new_int32 (-1));
  g_assert_cmpint (window->session->lag, ==, 19);
  assert_jacobian_matches (reference, 19);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window->time_view), "time.step-lag", "i",
                                             10));
  jac_test_spin ();
  g_assert_cmpint (window->session->lag, ==, 29);
  assert_jacobian_matches (reference, 29);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window->time_view), "time.step-lag", "i",
                                             10));
  jac_test_spin ();
  g_assert_cmpint (window->session->lag, ==, 30);   /* no further than T */
  assert_jacobian_matches (reference, 30);

  /* Fewer steps pull k back inside. */
  activate ("win.steps", g_variant_new_int32 (8));
  jac_time_view_wait (window->time_view);
  g_assert_cmpint (window->session->lag, ==, 8);
  g_clear_pointer (&reference, jac_sequence_free);
  reference = independent_sequence (2, 3, JAC_FUNC_TANH, 8, 1.0, FALSE);
  assert_jacobian_matches (reference, 8);
  keep_screenshot ("sequence.png");
}

/* log₁₀ of every row's norm at k = T: the far end of the curve. */
static void
assert_tips (gboolean above)
{
  const JacSequenceNorms *norms = jac_time_view_get_norms (window->time_view);
  const char *summary = gtk_label_get_text (window->sequence_summary_label);

  for (gsize i = 0; i < norms->batch; i++)
    for (int norm = JAC_SEQUENCE_NORM_SPECTRAL; norm <= JAC_SEQUENCE_NORM_FROBENIUS; norm++)
      {
        double value = jac_sequence_norms_get_log10 (norms, norm, norms->steps, i);

        if (above)
          g_assert_cmpfloat (value, >, 0);
        else
          g_assert_cmpfloat (value, <, 0);
      }
  g_assert_nonnull (strstr (summary, above ? "explodes" : "vanishes"));
}

static void
test_sequence_gain (void)
{
  g_autoptr(JacSequence) reference = NULL;
  const JacSequence *shown;

  reset ();
  show_sequence ();
  activate ("win.activation", g_variant_new_string ("identity"));
  activate ("win.orthogonal", NULL);                 /* Ctrl+Shift+O */
  activate ("win.steps", g_variant_new_int32 (50));
  activate ("win.lag", g_variant_new_int32 (50));

  activate ("win.gain", g_variant_new_double (0.9));
  jac_time_view_wait (window->time_view);
  jac_test_spin ();
  shown = jac_time_view_get_sequence (window->time_view);
  g_assert_cmpfloat_with_epsilon (shown->spectral_radius, 0.9, 1e-12);
  g_assert_cmpfloat (gtk_range_get_value (GTK_RANGE (window->gain_scale)), ==, 0.9);
  assert_tips (FALSE);
  reference = independent_sequence (2, 3, JAC_FUNC_IDENTITY, 50, 0.9, TRUE);
  assert_jacobian_matches (reference, 50);
  assert_norms_match (reference);

  /* The gain knob, as a user drags it past 1. */
  {
    gint64 start = g_get_monotonic_time ();

    gtk_range_set_value (GTK_RANGE (window->gain_scale), 1.1);
    jac_time_view_wait (window->time_view);
    g_test_message ("N=2 H=3 T=50: gain change to new norms and Jacobian %.2f ms, draw %.1f ms",
                    (g_get_monotonic_time () - start) / 1000.0, time_draw ());
  }
  jac_test_spin ();
  jac_test_spin ();
  g_assert_cmpfloat (window->session->gain, ==, 1.1);
  g_assert_cmpfloat_with_epsilon (jac_time_view_get_sequence (window->time_view)->spectral_radius,
                                  1.1, 1e-12);
  assert_tips (TRUE);
  keep_screenshot ("sequence-explodes.png");

  /* Exactly 1: an orthogonal product keeps every singular value at 1. */
  activate ("win.step-gain", g_variant_new_double (-0.1));   /* { */
  jac_time_view_wait (window->time_view);
  g_assert_cmpfloat_with_epsilon (window->session->gain, 1.0, 1e-12);
  for (gsize k = 1; k <= 50; k++)
    g_assert_cmpfloat (fabs (jac_sequence_norms_get_log10 (jac_time_view_get_norms (window->time_view),
                                                           JAC_SEQUENCE_NORM_SPECTRAL, k, 0)),
                       <, 1e-10);

  /* Why tanh vanishes: the same W_hh at gain 1, but every step multiplies by φ′ < 1. */
  activate ("win.activation", g_variant_new_string ("tanh"));
  jac_time_view_wait (window->time_view);
  jac_test_spin ();
  assert_tips (FALSE);

  /* Past 1, tanh still vanishes: the reason on a line of its own, under the lesson, under the
   * norms (one line was cut at 1024 and 1280 pixels). */
  activate ("win.gain", g_variant_new_double (1.5));
  jac_time_view_wait (window->time_view);
  jac_test_spin ();
  assert_tips (FALSE);
  {
    g_auto(GStrv) lines = g_strsplit (gtk_label_get_text (window->sequence_summary_label), "\n", -1);

    g_assert_cmpuint (g_strv_length (lines), ==, 3);
    g_assert_true (g_str_has_prefix (lines[0], "ρ(Whh) = 1.50"));
    g_assert_true (g_str_has_prefix (lines[1], "< 1: vanishes (×"));
    g_assert_true (g_str_has_prefix (lines[2], "ρ = 1.5 > 1, but tanh saturates: mean φ′ = "));
    g_assert_true (g_str_has_suffix (lines[2], "; try identity"));
  }

  activate ("win.norm", g_variant_new_string ("frobenius"));
  activate ("win.shared-range", NULL);
  {
    JacSequenceView view;

    jac_time_view_get_view (window->time_view, &view);
    g_assert_cmpint (view.norm, ==, JAC_SEQUENCE_NORM_FROBENIUS);
    g_assert_true (view.shared_range);
    g_assert_nonnull (strstr (gtk_label_get_text (window->sequence_summary_label), "‖F"));
  }
}

static void
test_sequence_export (void)
{
  static const struct { const char *name; const char *signature; } formats[] = {
    { "sequence.png", "\x89PNG\r\n\x1a\n" },
    { "sequence.svg", "<?xml" },
    { "sequence.pdf", "%PDF-" },
  };
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (window));
  int width;

  reset ();
  show_sequence ();
  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      g_autofree char *path = tmp_path (formats[f].name);

      activate ("win.export-to", g_variant_new_string (path));
      g_assert_false (jac_window_get_message_is_error (window));
      assert_signature (path, formats[f].signature);
    }
  {
    g_autofree char *path = tmp_path ("sequence.svg");
    g_autofree char *svg = NULL;

    /* The sequence's figure, not the one step's. */
    g_assert_true (g_file_get_contents (path, &svg, NULL, NULL));
    g_assert_nonnull (strstr (svg, "<svg"));
  }

  width = gtk_widget_get_width (GTK_WIDGET (window->time_view));
  g_assert_cmpint (width, >, 100);
  activate ("win.export-scale", g_variant_new_int32 (2));
  {
    g_autofree char *path = tmp_path ("sequence@2x.png");

    activate ("win.export-to", g_variant_new_string (path));
    g_assert_cmpuint (png_width (path), ==, (guint32) (width * 2));
  }
  activate ("win.copy-figure", NULL);
  g_assert_true (gdk_content_formats_contain_gtype (gdk_clipboard_get_formats (clipboard),
                                                    GDK_TYPE_TEXTURE));
  activate ("win.view", g_variant_new_string ("step"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->view_stack), ==, "step");
}

static void
test_sequence_presentation (void)
{
  reset ();
  show_sequence ();
  activate ("win.presentation", NULL);
  jac_test_spin_for (300);
  g_assert_false (gtk_widget_get_visible (window->sidebar));
  /* The two knobs stay on screen when the sidebar goes. */
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (window->lag_scale)));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (window->gain_scale)));
  keep_screenshot ("sequence-presentation.png");
  activate ("win.leave-presentation", NULL);
  jac_test_spin_for (300);
}

static void
record_busy_cb (GObject    *view,
                GParamSpec *pspec,
                gpointer    user_data)
{
  if (jac_time_view_get_busy (JAC_TIME_VIEW (view)))
    *(gboolean *) user_data = TRUE;
}

/* Runs the main loop until the lag computed ahead is @lag (or @deadline passes), and checks it. */
static void
wait_for_ahead (gsize  lag,
                gint64 deadline)
{
  gsize ahead = 0;

  while (!(jac_time_view_get_ahead (window->time_view, &ahead) && ahead == lag)
         && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (ahead, ==, lag);
}

/* Big enough for the worker thread: the window stays responsive and the numbers still agree. */
static void
test_sequence_large (void)
{
  g_autoptr(JacSequence) reference = NULL;
  gboolean went_busy;
  gulong busy_handler;
  gint64 start;

  reset ();
  show_sequence ();
  g_object_set (window->session, "batch", 8, "hidden", 64, NULL);
  activate ("win.steps", g_variant_new_int32 (200));
  jac_time_view_wait (window->time_view);

  /* The work goes to a worker: the view says it is busy, however quickly the worker ends. */
  went_busy = FALSE;
  busy_handler = g_signal_connect (window->time_view, "notify::busy",
                                   G_CALLBACK (record_busy_cb), &went_busy);
  start = g_get_monotonic_time ();
  activate ("win.gain", g_variant_new_double (1.2));
  jac_time_view_wait (window->time_view);
  g_signal_handler_disconnect (window->time_view, busy_handler);
  g_assert_true (went_busy);
  g_test_message ("N=8 H=64 T=200: gain change to new norms and Jacobian (worker) %.1f ms",
                  (g_get_monotonic_time () - start) / 1000.0);

  time_slider (11);
  time_slider (100);
  time_slider (150);
  time_slider (200);

  /* Many moves while busy: the last one wins. */
  for (int lag = 100; lag <= 140; lag += 10)
    activate ("win.lag", g_variant_new_int32 (lag));
  jac_time_view_wait (window->time_view);
  reference = independent_sequence (8, 64, JAC_FUNC_TANH, 200, 1.2, FALSE);
  assert_jacobian_matches (reference, 140);
  assert_norms_match (reference);

  /* While k = 140 is on show, k = 141 (the slider moved up) is computed ahead: the step to it
   * shows it at once, without a worker, and is the same Jacobian; then k = 142 is ahead. A step
   * the other way turns the direction. */
  {
    gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

    wait_for_ahead (141, deadline);
    activate ("win.lag", g_variant_new_int32 (141));
    g_assert_false (jac_time_view_get_busy (window->time_view));
    assert_jacobian_matches (reference, 141);
    wait_for_ahead (142, deadline);
    activate ("win.lag", g_variant_new_int32 (140));
    jac_time_view_wait (window->time_view);
    assert_jacobian_matches (reference, 140);
    wait_for_ahead (139, deadline);
    activate ("win.lag", g_variant_new_int32 (139));
    g_assert_false (jac_time_view_get_busy (window->time_view));
    assert_jacobian_matches (reference, 139);
  }
  jac_test_spin_for (100);
  keep_screenshot ("sequence-large.png");
}

typedef struct
{
  const JacStructured *before;      /* the Jacobian on show before the step */
  int                  lag;         /* the lag stepped to */
  gint64               painted_us;  /* when a frame showing it was painted */
} AwaitLag;

static void
await_lag_cb (GdkFrameClock *clock,
              AwaitLag      *await)
{
  if (await->painted_us == 0 && jac_time_view_get_lag (window->time_view) == await->lag
      && !jac_time_view_get_busy (window->time_view)
      && jac_time_view_get_jacobian (window->time_view) != await->before)
    await->painted_us = g_get_monotonic_time ();
}

/* The slider at the size the issue names, N = 64, H = 256, T = 200, with the cell in
 * JACSCOPE_LAG_TIMING (rnn, lstm or gru; unset: skipped, the norms alone take seconds): a step
 * up the slider from k = 100, 0.2 s apart as a hand moves it (JACSCOPE_LAG_PAUSE_MS: another
 * pause; 0 steps as soon as the last one is painted, before the lag ahead is ready), to the
 * painted frame that shows it, JACSCOPE_TIMING_ROUNDS steps (12 by default). */
static void
test_lag_step_timing (void)
{
  const char *cell = g_getenv ("JACSCOPE_LAG_TIMING");
  const char *rounds_text = g_getenv ("JACSCOPE_TIMING_ROUNDS");
  const char *pause_text = g_getenv ("JACSCOPE_LAG_PAUSE_MS");
  guint n_rounds = rounds_text != NULL ? CLAMP (atoi (rounds_text), 1, 90) : 12;
  guint pause_ms = pause_text != NULL ? CLAMP (atoi (pause_text), 0, 5000) : 200;
  g_autofree double *ms = g_new (double, n_rounds);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));

  if (cell == NULL)
    {
      g_test_skip ("JACSCOPE_LAG_TIMING is not set");
      return;
    }
  reset ();
  show_sequence ();
  activate ("win.cell", g_variant_new_string (cell));
  g_object_set (window->session, "batch", 64, "input", 64, "hidden", 256, NULL);
  activate ("win.steps", g_variant_new_int32 (200));
  jac_time_view_wait (window->time_view);
  activate ("win.lag", g_variant_new_int32 (100));
  jac_time_view_wait (window->time_view);
  for (guint r = 0; r < n_rounds; r++)
    {
      AwaitLag await = { jac_time_view_get_jacobian (window->time_view), 101 + (int) r, 0 };
      gulong id;
      gint64 start;

      if (pause_ms > 0)
        jac_test_spin_for (pause_ms);
      id = g_signal_connect (clock, "after-paint", G_CALLBACK (await_lag_cb), &await);
      start = g_get_monotonic_time ();
      gtk_range_set_value (GTK_RANGE (window->lag_scale), await.lag);
      while (await.painted_us == 0 && g_get_monotonic_time () < start + 30 * G_USEC_PER_SEC)
        g_main_context_iteration (NULL, TRUE);
      g_signal_handler_disconnect (clock, id);
      if (await.painted_us == 0)
        {
          const char *why = jac_time_view_get_error (window->time_view);

          g_test_fail_printf ("k = %d was not painted within 30 s (%s)", await.lag,
                              why != NULL ? why : "no error on show");
          return;
        }
      ms[r] = (await.painted_us - start) / 1000.0;
      g_test_message ("%s N=64 H=256 T=200, %u ms apart: slider to k = %d, painted %.1f ms", cell,
                      pause_ms, await.lag, ms[r]);
    }
  qsort (ms, n_rounds, sizeof (double), compare_ms);
  g_test_message ("%s slider step to painted frame over %u steps: min %.1f, median %.1f, "
                  "max %.1f ms", cell, n_rounds, ms[0], ms[n_rounds / 2], ms[n_rounds - 1]);
}

/* A new sequence that takes a while shows a progress bar with Cancel in place of the figure;
 * Cancel stops it between lags and leaves nothing stale on show; Compute Again, or a change of
 * a setting (which also stops a computation under way), computes it. */
static void
test_sequence_cancel (void)
{
  GtkWidget *box, *bar, *button;
  gint64 start;

  reset ();
  show_sequence ();
  jac_time_view_wait (window->time_view);
  box = gtk_widget_get_first_child (GTK_WIDGET (window->time_view));
  g_assert_true (GTK_IS_BOX (box));
  bar = gtk_widget_get_next_sibling (gtk_widget_get_first_child (box));
  button = gtk_widget_get_last_child (box);
  g_assert_true (GTK_IS_PROGRESS_BAR (bar));
  g_assert_true (GTK_IS_BUTTON (button));
  g_assert_false (gtk_widget_get_visible (box));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (window->sequence_spinner)));

  g_object_set (window->session, "batch", 16, "hidden", 128, NULL);
  activate ("win.steps", g_variant_new_int32 (400));
  g_assert_true (jac_time_view_get_busy (window->time_view));
  g_assert_true (gtk_widget_get_visible (box));
  g_assert_true (gtk_widget_get_visible (bar));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (button)), ==, "_Cancel");
  /* The bar moves. */
  start = g_get_monotonic_time ();
  while (jac_time_view_get_busy (window->time_view)
         && gtk_progress_bar_get_fraction (GTK_PROGRESS_BAR (bar)) == 0
         && g_get_monotonic_time () - start < 20 * G_USEC_PER_SEC)
    jac_test_spin_for (20);
  g_assert_true (jac_time_view_get_busy (window->time_view));
  g_assert_cmpfloat (gtk_progress_bar_get_fraction (GTK_PROGRESS_BAR (bar)), >, 0);
  g_assert_cmpfloat (gtk_progress_bar_get_fraction (GTK_PROGRESS_BAR (bar)), <, 1);
  keep_screenshot ("sequence-progress.png");

  g_signal_emit_by_name (button, "clicked");
  start = g_get_monotonic_time ();
  jac_time_view_wait (window->time_view);
  g_test_message ("Cancel answered in %.1f ms", (g_get_monotonic_time () - start) / 1000.0);
  g_assert_null (jac_time_view_get_sequence (window->time_view));
  g_assert_null (jac_time_view_get_error (window->time_view));
  g_assert_true (gtk_widget_get_visible (box));
  g_assert_false (gtk_widget_get_visible (bar));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (button)), ==, "_Compute Again");
  g_assert_cmpstr (gtk_label_get_text (window->sequence_summary_label), ==, "Cancelled");

  /* A setting changed while it computes: the old one stops, the new one is what shows. */
  g_signal_emit_by_name (button, "clicked");
  g_assert_true (jac_time_view_get_busy (window->time_view));
  activate ("win.steps", g_variant_new_int32 (60));
  jac_time_view_wait (window->time_view);
  g_assert_nonnull (jac_time_view_get_sequence (window->time_view));
  g_assert_cmpuint (jac_time_view_get_sequence (window->time_view)->config.steps, ==, 60);
  g_assert_false (gtk_widget_get_visible (box));
}

/* Load Weights: a PyTorch state dict drives the Through Time view — its cell, its sizes, its
 * weights bit for bit; another Cell draws that cell's; Forget draws again; a bad file is an
 * error naming it, and the figure stays. */
static void
test_sequence_weights (void)
{
  g_autofree char *npz = tmp_path ("lstm.npz");
  g_autofree char *bad = tmp_path ("bad.npz");
  gsize ih[2] = { 16, 2 }, hh[2] = { 16, 4 }, b = 16;
  JacTensor *t[4] = { jac_tensor_new (2, ih, NULL), jac_tensor_new (2, hh, NULL),
                      jac_tensor_new (1, &b, NULL), jac_tensor_new (1, &b, NULL) };
  const char *keys[4] = { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0" };
  const char *bad_keys[3] = { "weight_ih_l0", "weight_hh_l0", "weight_hh_l1" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  const JacSequence *seq;

  for (guint k = 0; k < 4; k++)
    jac_tensor_fill_uniform (t[k], rand, 0.5);
  npz_write_tensors (npz, 4, keys, t, TRUE, FALSE);
  {
    JacTensor *stacked[3] = { t[0], t[1], t[1] };

    npz_write_tensors (bad, 3, bad_keys, stacked, FALSE, FALSE);
  }

  reset ();
  show_sequence ();
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "load-weights"));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "forget-weights"));
  g_action_group_activate_action (G_ACTION_GROUP (window), "load-weights-file",
                                  g_variant_new_string (npz));
  jac_time_view_wait (window->time_view);
  seq = jac_time_view_get_sequence (window->time_view);
  g_assert_nonnull (seq);
  g_assert_cmpint (seq->config.cell, ==, JAC_CELL_LSTM);
  g_assert_true (seq->weights_loaded);
  g_assert_cmpint (window->session->input, ==, 2);
  g_assert_cmpint (window->session->hidden, ==, 4);
  g_assert_nonnull (seq->weight_hh);
  for (gsize e = 0; e < t[1]->size; e++)
    g_assert_cmpfloat (seq->weight_hh->data[e], ==, t[1]->data[e]);
  for (gsize e = 0; e < t[2]->size; e++)
    g_assert_cmpfloat (seq->bias_ih->data[e], ==, t[2]->data[e]);
  g_assert_false (jac_window_get_message_is_error (window));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "forget-weights"));
  keep_screenshot ("sequence-weights.png");

  /* Another cell: drawn weights of its own. */
  g_object_set (window->session, "cell", JAC_CELL_GRU, NULL);
  jac_time_view_wait (window->time_view);
  seq = jac_time_view_get_sequence (window->time_view);
  g_assert_cmpint (seq->config.cell, ==, JAC_CELL_GRU);
  g_assert_cmpuint (seq->weight_hh->shape[0], ==, 12);
  g_object_set (window->session, "cell", JAC_CELL_LSTM, NULL);
  jac_time_view_wait (window->time_view);
  g_assert_cmpfloat (jac_time_view_get_sequence (window->time_view)->weight_hh->data[0], ==,
                     t[1]->data[0]);

  /* Forget: drawn from the seed again. */
  g_action_group_activate_action (G_ACTION_GROUP (window), "forget-weights", NULL);
  jac_time_view_wait (window->time_view);
  g_assert_cmpfloat (jac_time_view_get_sequence (window->time_view)->weight_hh->data[0], !=,
                     t[1]->data[0]);
  g_assert_false (jac_time_view_get_sequence (window->time_view)->weights_loaded);

  /* A stacked network's key: an error naming the file and the key; nothing else changes. */
  g_action_group_activate_action (G_ACTION_GROUP (window), "load-weights-file",
                                  g_variant_new_string (bad));
  jac_time_view_wait (window->time_view);
  g_assert_true (jac_window_get_message_is_error (window));
  g_assert_nonnull (strstr (jac_window_get_message (window), "bad.npz"));
  g_assert_nonnull (strstr (jac_window_get_message (window), "weight_hh_l1"));
  g_assert_nonnull (jac_time_view_get_sequence (window->time_view));
  for (guint k = 0; k < 4; k++)
    jac_tensor_free (t[k]);
}

/* ---- main ------------------------------------------------------------------------------- */

static void
remove_tmpdir (void)
{
  g_autoptr(GDir) dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmpdir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (tmpdir);
}

/* ---- undo and settings ---- */

static int
int_property (const char *name)
{
  int v = 0;

  g_object_get (window->session, name, &v, NULL);
  return v;
}

static char *
string_property (const char *name)
{
  char *v = NULL;

  g_object_get (window->session, name, &v, NULL);
  return v;
}

/* Ctrl+Z and Ctrl+Shift+Z step through the state: one change a step, an expression and the
 * variable picked for it one step, typing one step. */
static void
test_undo (void)
{
  g_autofree char *expr = NULL;
  g_autofree char *wrt = NULL;

  reset ();
  jac_test_spin_for (50);
  jac_history_clear (window->history);
  g_assert_false (jac_history_can_undo (window->history));

  activate ("win.batch", g_variant_new_int32 (4));
  jac_test_spin_for (900);
  activate ("win.seed", g_variant_new_int32 (7));
  jac_test_spin_for (50);
  g_assert_true (jac_history_can_undo (window->history));
  activate ("win.undo", NULL);
  jac_test_spin_for (50);
  g_assert_cmpint (int_property ("seed"), ==, 1);
  g_assert_cmpint (int_property ("batch"), ==, 4);
  activate ("win.undo", NULL);
  jac_test_spin_for (50);
  g_assert_cmpint (int_property ("batch"), ==, 2);
  g_assert_cmpuint (variable_dim (jac_window_get_analysis (window), "h_prev", 0), ==, 2);
  g_assert_false (jac_history_can_undo (window->history));
  activate ("win.redo", NULL);
  jac_test_spin_for (50);
  g_assert_cmpint (int_property ("batch"), ==, 4);
  g_assert_true (jac_history_can_redo (window->history));

  /* A preset changes the expression, its shapes and the variable: undone at once. */
  activate ("win.preset", g_variant_new_string ("gram"));
  jac_test_spin_for (900);
  g_assert_false (jac_history_can_redo (window->history));
  activate ("win.undo", NULL);
  jac_test_spin_for (100);
  expr = string_property ("expression");
  wrt = string_property ("wrt");
  g_assert_cmpstr (expr, ==, "");
  g_assert_cmpstr (wrt, ==, "h_prev");
  g_assert_cmpstr (jac_window_get_analysis (window)->output_name, ==, "h");

  /* Typing: changes of one property in quick succession are one step. */
  jac_history_clear (window->history);
  g_object_set (window->session, "shapes", "X: 3×2", NULL);
  jac_test_spin_for (900);
  g_object_set (window->session, "expression", "X", NULL);
  g_object_set (window->session, "expression", "X.T", NULL);
  g_object_set (window->session, "expression", "X.T @ X", NULL);
  jac_test_spin_for (50);
  activate ("win.undo", NULL);
  jac_test_spin_for (100);
  g_clear_pointer (&expr, g_free);
  expr = string_property ("expression");
  g_assert_cmpstr (expr, ==, "");
  reset ();
}

/* The window shows its session: the controls are bound to it both ways, the "win." actions act
 * on it, and the figure follows a change made on the session alone. */
static void
test_session (void)
{
  JacSession *session = jac_window_get_session (window);
  const JacAnalysis *analysis;

  g_assert_true (session == window->session);
  g_object_set (session, "batch", 3, "hidden", 4, NULL);
  jac_test_spin ();
  g_assert_cmpfloat (gtk_spin_button_get_value (step_spin ("batch_spin")), ==, 3);
  g_assert_cmpfloat (gtk_spin_button_get_value (step_spin ("hidden_spin")), ==, 4);
  analysis = jac_window_get_analysis (window);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 0), ==, 3);
  g_assert_cmpuint (variable_dim (analysis, "h_prev", 1), ==, 4);
  gtk_spin_button_set_value (step_spin ("hidden_spin"), 2);
  jac_test_spin ();
  g_assert_cmpint (session->hidden, ==, 2);

  /* Drop-downs list an enum's values in order. */
  g_object_set (session, "colormap", JAC_COLORMAP_GRAY, "upstream", JAC_UPSTREAM_LOSS,
                "activation", JAC_ACTIVATION_RELU, NULL);
  jac_test_spin ();
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (step_child ("colormap_row"))), ==,
                    JAC_COLORMAP_GRAY);
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (step_child ("upstream_dropdown"))),
                    ==, JAC_UPSTREAM_LOSS);
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (step_child ("activation_row"))), ==,
                    JAC_ACTIVATION_RELU);
  adw_combo_row_set_selected (ADW_COMBO_ROW (step_child ("colormap_row")),
                              JAC_COLORMAP_PURPLE_GREEN);
  g_assert_cmpint (session->colormap, ==, JAC_COLORMAP_PURPLE_GREEN);
  g_assert_cmpstr (jac_window_get_analysis (window)->expr->source, ==,
                   "h = relu(h_prev @ W_hh + x @ W_xh + b)");

  /* Actions by nick; the view's stack and the sequence's controls follow. */
  activate ("win.layout", g_variant_new_string ("denominator"));
  g_assert_cmpint (session->layout, ==, JAC_LAYOUT_DENOMINATOR);
  activate ("win.view", g_variant_new_string ("sequence"));
  g_assert_cmpint (session->view, ==, JAC_VIEW_SEQUENCE);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window->view_stack), ==, "sequence");
  g_object_set (session, "steps", 8, NULL);
  jac_test_spin ();
  g_assert_cmpint (session->lag, ==, 8);
  g_assert_cmpfloat (gtk_adjustment_get_upper (gtk_range_get_adjustment (GTK_RANGE (
                       window->lag_scale))), ==, 8);
  /* The cell heads the Through Time controls; the sequence on show is the session's cell's. */
  activate ("win.cell", g_variant_new_string ("gru"));
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (sequence_child ("cell_row"))), ==,
                    JAC_CELL_GRU);
  jac_time_view_wait (window->time_view);
  g_assert_cmpint (jac_time_view_get_sequence (window->time_view)->config.cell, ==, JAC_CELL_GRU);
  adw_combo_row_set_selected (ADW_COMBO_ROW (sequence_child ("cell_row")), JAC_CELL_LSTM);
  g_assert_cmpint (session->cell, ==, JAC_CELL_LSTM);
  jac_time_view_wait (window->time_view);
  g_assert_cmpint (jac_time_view_get_sequence (window->time_view)->config.cell, ==, JAC_CELL_LSTM);
  g_object_set (session, "cell", JAC_CELL_RNN, NULL);
  activate ("win.cycle", g_variant_new_string ("upstream"));   /* loss → ones, never "given" */
  g_assert_cmpint (session->upstream, ==, JAC_UPSTREAM_ONES);
  reset ();
  g_assert_cmpint (session->view, ==, JAC_VIEW_STEP);
  g_assert_cmpint (session->activation, ==, JAC_ACTIVATION_TANH);
}

/* The settings: what was saved is restored in a new window, what changes is saved. */
static void
test_settings (void)
{
  g_autoptr(GSettings) settings = jac_application_dup_settings ();
  JacWindow *second;
  int width = 0, height = 0, hidden = 0;
  JacColormap colormap = JAC_COLORMAP_BLUE_RED;

  g_assert_nonnull (settings);   /* the schema compiled in the build tree */
  g_assert_true (G_IS_SETTINGS (settings));
  g_settings_set (settings, "window-size", "(ii)", 900, 640);
  g_settings_set_string (settings, "style", "dark");
  g_settings_set_int (settings, "hidden", 5);
  g_settings_set_string (settings, "colormap", "gray");
  g_settings_set_string (settings, "expression", "tr(X.T @ A @ X)");
  g_settings_set_string (settings, "wrt", "X");
  g_settings_set_boolean (settings, "hessian", TRUE);

  second = jac_window_new (GTK_APPLICATION (application));
  _jac_window_bind_settings (second, settings);
  gtk_window_get_default_size (GTK_WINDOW (second), &width, &height);
  g_assert_cmpint (width, ==, 900);
  g_assert_cmpint (height, ==, 640);
  g_object_get (second->session, "hidden", &hidden, "colormap", &colormap, NULL);
  g_assert_cmpint (hidden, ==, 5);
  g_assert_cmpint (colormap, ==, JAC_COLORMAP_GRAY);
  g_assert_true (adw_style_manager_get_dark (adw_style_manager_get_default ()));
  g_assert_false (jac_history_can_undo (second->history));
  /* The Second derivative switch is restored with its expression. */
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (expr_child (second, "hessian_check"))));
  g_assert_nonnull (jac_window_get_analysis (second)->hessian);

  /* Changes are saved as they happen, the size when the window closes. */
  gtk_check_button_set_active (GTK_CHECK_BUTTON (expr_child (second, "hessian_check")), FALSE);
  g_assert_false (g_settings_get_boolean (settings, "hessian"));
  g_assert_null (jac_window_get_analysis (second)->hessian);
  g_object_set (second->session, "batch", 4, "layout", JAC_LAYOUT_VEC, NULL);
  g_assert_cmpint (g_settings_get_int (settings, "batch"), ==, 4);
  {
    g_autofree char *layout = g_settings_get_string (settings, "layout");

    g_assert_cmpstr (layout, ==, "vec");
  }
  gtk_window_present (GTK_WINDOW (second));
  jac_test_spin_for (100);
  gtk_window_set_default_size (GTK_WINDOW (second), 1000, 700);
  gtk_window_close (GTK_WINDOW (second));
  jac_test_spin_for (100);
  g_settings_get (settings, "window-size", "(ii)", &width, &height);
  g_assert_cmpint (width, ==, 1000);
  g_assert_cmpint (height, ==, 700);

  /* Leave the defaults for the other tests. */
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);
  for (guint k = 0; k < 10; k++)
    {
      static const char * const keys[] = {
        "window-size", "style", "hidden", "colormap", "batch", "layout", "window-maximized",
        "expression", "wrt", "hessian",
      };

      g_settings_reset (settings, keys[k]);
    }
  gtk_window_present (GTK_WINDOW (window));
  reset ();
}

/* ---- help ---- */

static char *launched_uri;

static gboolean
fake_yelp (GtkWindow  *parent,
           const char *uri)
{
  g_free (launched_uri);
  launched_uri = g_strdup (uri);
  return TRUE;
}

static gboolean
no_yelp (GtkWindow  *parent,
         const char *uri)
{
  return FALSE;
}

/* F1 opens the guide: in Yelp when there is one, else in a window of its own, from the same
 * Mallard pages. */
static void
test_help (void)
{
  GtkWindow *guide;
  g_autofree char *markup = jac_help_guide_markup ();

  reset ();
  jac_help_set_launcher (fake_yelp);
  activate ("win.help", NULL);
  g_assert_cmpstr (launched_uri, ==, "help:jacscope");

  jac_help_set_launcher (no_yelp);
  guide = jac_help_show (GTK_WINDOW (window));
  g_assert_nonnull (guide);
  g_assert_true (gtk_window_get_transient_for (guide) == GTK_WINDOW (window));
  /* Every page, as the markup Pango takes. */
  g_assert_true (pango_parse_markup (markup, -1, 0, NULL, NULL, NULL, NULL));
  for (guint k = 0; k < 6; k++)
    {
      static const char * const titles[] = {
        "Jacscope Help", "What the figure shows", "Layouts", "Expressions", "Through time",
        "Export and presentation",
      };

      g_assert_nonnull (strstr (markup, titles[k]));
    }
  g_assert_nonnull (strstr (markup, "<b>Ctrl</b>+<b>R</b>"));
  g_assert_null (strstr (markup, "<page"));
  gtk_window_destroy (guide);
  jac_help_set_launcher (NULL);
  g_clear_pointer (&launched_uri, g_free);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_setenv ("GSK_RENDERER", "cairo", FALSE);  /* Xvfb has no GPU; start-up is faster */
  g_setenv ("GTK_A11Y", "none", FALSE);       /* no session bus under xvfb-run */
  /* Without a display there is nothing to test: skip, as TAP says it to meson (a plan of 0)
   * and as the exit status 77 says it to everything else. */
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      gboolean tap = FALSE;

      for (int k = 1; k < argc; k++)
        tap |= g_str_equal (argv[k], "--tap");
      g_print (tap ? "1..0 # SKIP no display\n" : "test-app: skipped: no display\n");
      return tap ? 0 : 77;
    }
  gtk_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("jacscope-test-app-XXXXXX", &error);
  g_assert_no_error (error);

  application = jac_application_new ();
  g_application_set_flags (G_APPLICATION (application), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (application), NULL, &error));
  g_assert_no_error (error);
  window = jac_window_new (GTK_APPLICATION (application));
  gtk_window_present (GTK_WINDOW (window));
  jac_test_spin_for (500);

  g_test_add_func ("/app/startup", test_startup);
  g_test_add_func ("/app/help", test_help);
  g_test_add_func ("/app/undo", test_undo);
  g_test_add_func ("/app/settings", test_settings);
  g_test_add_func ("/app/session", test_session);
  g_test_add_func ("/app/change-size", test_change_size);
  g_test_add_func ("/app/switch-wrt", test_switch_wrt);
  g_test_add_func ("/app/switch-layout", test_switch_layout);
  g_test_add_func ("/app/derivation", test_derivation);
  g_test_add_func ("/app/key-steps", test_key_steps);
  g_test_add_func ("/app/controls", test_controls);
  g_test_add_func ("/app/load-npy", test_load_npy);
  g_test_add_func ("/app/load-bad-npy", test_load_bad_npy);
  g_test_add_func ("/app/export", test_export);
  g_test_add_func ("/app/export-dialog", test_export_dialog);
  g_test_add_func ("/app/copy-figure", test_copy_figure);
  g_test_add_func ("/app/shortcuts-window", test_shortcuts_window);
  g_test_add_func ("/app/presentation", test_presentation);
  g_test_add_func ("/app/text-scale", test_text_scale);
  g_test_add_func ("/app/zoom", test_zoom);
  g_test_add_func ("/app/hover", test_hover);
  g_test_add_func ("/app/large", test_large);
  g_test_add_func ("/app/control-change-timing", test_control_change_timing);
  g_test_add_func ("/app/lag-step-timing", test_lag_step_timing);
  g_test_add_func ("/app/screenshot", test_screenshot);
  g_test_add_func ("/app/expr-presets", test_expr_presets);
  g_test_add_func ("/app/expr-type", test_expr_type);
  g_test_add_func ("/app/expr-error", test_expr_error);
  g_test_add_func ("/app/expr-wrt", test_expr_wrt);
  g_test_add_func ("/app/copy-latex", test_copy_latex);
  g_test_add_func ("/app/expr-export", test_expr_export);
  g_test_add_func ("/app/expr-load", test_expr_load);
  g_test_add_func ("/app/sequence-switch", test_sequence_switch);
  g_test_add_func ("/app/expr-hessian", test_expr_hessian);
  g_test_add_func ("/app/sequence-lag", test_sequence_lag);
  g_test_add_func ("/app/sequence-gain", test_sequence_gain);
  g_test_add_func ("/app/sequence-export", test_sequence_export);
  g_test_add_func ("/app/sequence-presentation", test_sequence_presentation);
  g_test_add_func ("/app/sequence-large", test_sequence_large);
  g_test_add_func ("/app/sequence-cancel", test_sequence_cancel);
  g_test_add_func ("/app/sequence-weights", test_sequence_weights);
  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  jac_test_spin ();
  g_clear_object (&application);
  remove_tmpdir ();
  g_free (tmpdir);
  return status;
}
