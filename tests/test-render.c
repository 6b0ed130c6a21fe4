/* test-render.c: the figure layer: files, structural-zero pixels, hit-testing and descriptions. */
#define G_LOG_DOMAIN "test-render"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "jac-test-util.h"
#include "core/jac-analysis.h"
#include "core/jac-error.h"
#include "core/jac-kron.h"
#include "render/jac-colormap.h"
#include "render/jac-figure.h"
#include "render/jac-figure-paint.h"

#define MINUS "\xe2\x88\x92"

/* ---- helpers ---- */

static JacAnalysis *
make_analysis_full (gsize       batch,
                    gsize       input,
                    gsize       hidden,
                    gboolean    b_per_row,
                    JacVariable wrt)
{
  return jac_test_rnn_analysis (batch, input, hidden, JAC_FUNC_TANH, b_per_row, wrt);
}

static JacAnalysis *
make_analysis (JacVariable wrt)
{
  JacRnnConfig config;

  jac_rnn_config_init_default (&config);
  return make_analysis_full (config.batch, config.input, config.hidden, FALSE, wrt);
}

/* @source with variables declared by @shapes, seeded values, G random. */
static JacAnalysis *
make_expr_analysis (const char *source,
                    const char *shapes,
                    const char *wrt)
{
  return jac_test_expr_analysis (source, shapes, wrt);
}

typedef struct
{
  const char *source;
  const char *shapes;
  const char *wrt;
} ExprCase;

/* Matrix, scalar and vector outputs and variables. */
static const ExprCase expr_cases[] = {
  { "U = V @ A", "V: 2×4, A: 4×3", "V" },
  { "U = V @ A", "V: 2×4, A: 4×3", "A" },
  { "sum(X)", "X: 2×3", "X" },
  { "X + v", "X: 2×3, v: 3", "v" },
  { "X + v", "X: 2×3, v: 3", "X" },
  { "sum(X * s)", "X: 2×3, s: ()", "s" },
  { "softmax(X @ W)", "X: 2×3, W: 3×4", "X" },
  { "softmax(X @ W)", "X: 2×3, W: 3×4", "W" },
  { "X.T @ X", "X: 3×2", "X" },
  { "h = tanh(h_prev @ W_hh + x @ W_xh + b)",
    "h_prev: 2×3, W_hh: 3×3, x: 2×3, W_xh: 3×3, b: 3", "W_hh" },
};

static JacAnalysis *
make_expr_case (guint k)
{
  return make_expr_analysis (expr_cases[k].source, expr_cases[k].shapes, expr_cases[k].wrt);
}

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("jacscope-render-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static GPtrArray *
list_dir (const char *dir)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_dir_close (d);
  return names;
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GPtrArray) names = list_dir (dir);

  for (guint k = 0; k < names->len; k++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, k), NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static JacFigureStyle
plain_style (void)
{
  JacFigureStyle style;

  jac_figure_style_init (&style);
  style.show_values = FALSE;
  return style;
}

/* Pixel (x, y) of an ARGB32 surface. */
static guint32
pixel_at (cairo_surface_t *surface,
          int              x,
          int              y)
{
  const guchar *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);

  return *(const guint32 *) (gconstpointer) (data + (gsize) y * stride + (gsize) x * 4);
}

static int
channel (guint32 argb,
         int     shift)
{
  return (argb >> shift) & 0xff;
}

/* Largest channel difference to the nearest entry of @colormap. */
static int
distance_to_colormap (JacColormap colormap,
                      guint32     argb)
{
  const guint32 *table = jac_colormap_table (colormap);
  int best = 256;

  for (guint e = 0; e < JAC_COLORMAP_SIZE; e++)
    {
      int d = 0;

      for (int shift = 0; shift <= 16; shift += 8)
        d = MAX (d, ABS (channel (table[e], shift) - channel (argb, shift)));
      best = MIN (best, d);
    }
  return best;
}

static cairo_surface_t *
draw_figure (const JacAnalysis    *analysis,
             const JacFigureStyle *style,
             int                   width,
             int                   height)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);

  jac_figure_draw (cr, width, height, analysis, style);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

static gboolean
same_hit (const JacFigureHit *a,
          const JacFigureHit *b)
{
  if (a->panel != b->panel || a->row != b->row || a->col != b->col)
    return FALSE;
  return a->panel != JAC_PANEL_JACOBIAN
         || (a->block_row == b->block_row && a->block_col == b->block_col);
}

/* Whether the hit at (x, y) is @want and so are those 3 px around it: away from any edge. */
static gboolean
well_inside (const JacFigureLayout *layout,
             int                    x,
             int                    y,
             gboolean             (*want) (const JacFigureHit *, gconstpointer),
             gconstpointer          data)
{
  for (int dy = -3; dy <= 3; dy += 3)
    for (int dx = -3; dx <= 3; dx += 3)
      {
        JacFigureHit hit;

        if (!_jac_figure_layout_hit (layout, x + dx + 0.5, y + dy + 0.5, &hit)
            || !want (&hit, data))
          return FALSE;
      }
  return TRUE;
}

static gboolean
is_block (const JacFigureHit *hit,
          gconstpointer       data)
{
  const gsize *block = data;

  return hit->panel == JAC_PANEL_JACOBIAN && hit->block_row == block[0]
         && hit->block_col == block[1];
}

static gboolean
is_cell (const JacFigureHit *hit,
         gconstpointer       data)
{
  return same_hit (hit, data);
}

static char *
format_expected (double value)
{
  g_autofree char *plain = g_strdup_printf ("%.2f", fabs (value));

  return g_strconcat (value < 0 ? MINUS : "", plain, NULL);
}

/* ---- colour maps and formats ---- */

static void
test_colormap (void)
{
  for (JacColormap c = 0; c < JAC_N_COLORMAPS; c++)
    {
      g_autofree char *upper = g_ascii_strup (jac_colormap_name (c), -1);
      JacColormap back = JAC_N_COLORMAPS;

      g_assert_true (jac_colormap_from_name (jac_colormap_name (c), &back));
      g_assert_cmpint (back, ==, c);
      g_assert_true (jac_colormap_from_name (upper, &back));
      g_assert_cmpint (back, ==, c);
      /* The diverging maps are white at zero, whatever the range; the two ends differ from
       * it. */
      if (c != JAC_COLORMAP_GRAY)
        {
          g_assert_cmphex (jac_colormap_argb (c, 0, 1), ==, 0xffffffff);
          g_assert_cmphex (jac_colormap_argb (c, 0, 1e-9), ==, 0xffffffff);
        }
      g_assert_cmphex (jac_colormap_argb (c, 5, 1), ==, jac_colormap_argb (c, 1, 1));
      g_assert_cmphex (jac_colormap_argb (c, -1, 1), !=, jac_colormap_argb (c, 0, 1));
      g_assert_cmphex (jac_colormap_argb (c, 1, 1), !=, jac_colormap_argb (c, 0, 1));
    }
  /* The grey map keeps the sign for black-and-white handouts: dark below zero, mid-grey at
   * zero, light above, strictly increasing, and never the structural-zero tint. */
  for (int k = -10; k < 10; k++)
    {
      guint32 lo = jac_colormap_argb (JAC_COLORMAP_GRAY, k / 10.0, 1);
      guint32 hi = jac_colormap_argb (JAC_COLORMAP_GRAY, (k + 1) / 10.0, 1);

      g_assert_cmpint (channel (lo, 8), <, channel (hi, 8));
      g_assert_cmpint (channel (lo, 0), ==, channel (lo, 16));
    }
  g_assert_cmpint (channel (jac_colormap_argb (JAC_COLORMAP_GRAY, -1, 1), 8), <, 64);
  g_assert_cmpint (channel (jac_colormap_argb (JAC_COLORMAP_GRAY, 0, 1), 8), >, 96);
  g_assert_cmpint (channel (jac_colormap_argb (JAC_COLORMAP_GRAY, 0, 1), 8), <, 160);
  g_assert_cmpint (channel (jac_colormap_argb (JAC_COLORMAP_GRAY, 1, 1), 8), >, 224);
  g_assert_true (jac_colormap_from_name ("blue-red", NULL));
  g_assert_false (jac_colormap_from_name ("viridis", NULL));
  /* Blue below zero, red above. */
  g_assert_cmpint (channel (jac_colormap_argb (JAC_COLORMAP_BLUE_RED, -1, 1), 0), >,
                   channel (jac_colormap_argb (JAC_COLORMAP_BLUE_RED, -1, 1), 16));
  g_assert_cmpint (channel (jac_colormap_argb (JAC_COLORMAP_BLUE_RED, 1, 1), 16), >,
                   channel (jac_colormap_argb (JAC_COLORMAP_BLUE_RED, 1, 1), 0));
  g_assert_cmpfloat (jac_colormap_tick_step (0.97), ==, 0.5);
  g_assert_cmpfloat (jac_colormap_tick_step (3e-17), ==, 1e-17);
}

static void
test_format_from_path (void)
{
  static const struct
  {
    const char     *path;
    JacFigureFormat format;
  } good[] = {
    { "a.png", JAC_FIGURE_PNG },
    { "dir.x/b.PNG", JAC_FIGURE_PNG },
    { "c.svg", JAC_FIGURE_SVG },
    { "d.Svg", JAC_FIGURE_SVG },
    { "/tmp/e.pdf", JAC_FIGURE_PDF },
  };
  static const char * const bad[] = { "figure.jpg", "figure", "dir.png/figure", "figure.", ".png" };

  for (guint k = 0; k < G_N_ELEMENTS (good); k++)
    {
      g_autoptr(GError) error = NULL;
      JacFigureFormat format = JAC_FIGURE_PDF + 1;

      g_assert_true (jac_figure_format_from_path (good[k].path, &format, &error));
      g_assert_no_error (error);
      g_assert_cmpint (format, ==, good[k].format);
    }
  for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      g_autoptr(GError) error = NULL;
      JacFigureFormat format;

      g_assert_false (jac_figure_format_from_path (bad[k], &format, &error));
      g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, ".png"));
      g_assert_nonnull (strstr (error->message, ".svg"));
      g_assert_nonnull (strstr (error->message, ".pdf"));
    }
  {
    g_autoptr(GError) error = NULL;

    jac_figure_format_from_path ("out/figure.jpeg", NULL, &error);
    g_assert_nonnull (strstr (error->message, ".jpeg"));
  }
}

/* ---- files ---- */

static void
test_png (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "figure.png", NULL);
  g_autofree char *path2 = g_build_filename (dir, "figure@2x.PNG", NULL);
  g_autoptr(GError) error = NULL;
  JacFigureStyle style;
  g_autofree char *contents = NULL;
  gsize length = 0;
  cairo_surface_t *png;

  jac_figure_style_init (&style);
  g_assert_true (jac_figure_save (path, 640, 360, 1, analysis, &style, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpuint (length, >, 8);
  g_assert_cmpmem (contents, 8, "\x89PNG\r\n\x1a\n", 8);
  png = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, 640);
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, 360);
  cairo_surface_destroy (png);

  g_assert_true (jac_figure_save (path2, 640, 360, 2, analysis, &style, &error));
  g_assert_no_error (error);
  png = cairo_image_surface_create_from_png (path2);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, 1280);
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, 720);
  cairo_surface_destroy (png);
  remove_dir (dir);
}

static void
test_vector (gconstpointer data)
{
  const char *extension = data;
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_W_HH);
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *name = g_strconcat ("figure", extension, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  JacFigureStyle style;

  jac_figure_style_init (&style);
  style.has_highlight = TRUE;
  style.highlight.panel = JAC_PANEL_JACOBIAN;
  style.highlight.block_row = 1;
  style.highlight.block_col = 0;
  style.highlight.row = 2;
  style.highlight.col = 2;
  g_assert_true (jac_figure_save (path, 1600, 900, 1, analysis, &style, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  if (g_str_equal (extension, ".svg"))
    {
      g_assert_true (g_str_has_prefix (contents, "<?xml"));
      g_assert_nonnull (strstr (contents, "<svg"));
      g_assert_nonnull (strstr (contents, "</svg>"));
    }
  else
    {
      g_assert_true (g_str_has_prefix (contents, "%PDF"));
      g_assert_cmpuint (length, >, 64);
      /* The trailer is written last: the file is complete. */
      g_assert_nonnull (memmem (contents + length - 64, 64, "%%EOF", 5));
    }
  remove_dir (dir);
}

static void
test_no_temp_files (void)
{
  static const char * const names[] = { "a.png", "b.svg", "c.pdf" };
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_X);
  g_autofree char *dir = make_temp_dir ();
  g_autoptr(GPtrArray) listed = NULL;
  JacFigureStyle style;

  jac_figure_style_init (&style);
  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    {
      g_autofree char *path = g_build_filename (dir, names[k], NULL);
      g_autoptr(GError) error = NULL;

      g_assert_true (jac_figure_save (path, 800, 450, 1, analysis, &style, &error));
      g_assert_no_error (error);
    }
  listed = list_dir (dir);
  g_assert_cmpuint (listed->len, ==, G_N_ELEMENTS (names));
  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    g_assert_true (g_ptr_array_find_with_equal_func (listed, names[k], g_str_equal, NULL));
  remove_dir (dir);
}

static void
test_bad_requests (void)
{
  static const struct
  {
    const char *name;
    int         width;
    int         height;
    double      scale;
  } bad[] = {
    { "figure.jpg", 800, 450, 1 },
    { "figure", 800, 450, 1 },
    { "figure.png", 8, 450, 1 },
    { "figure.png", 800, 0, 1 },
    { "figure.png", -5, 450, 1 },
    { "figure.png", 20000, 450, 1 },
    { "figure.png", 10000, 450, 2 },
    { "figure.png", 800, 450, 0 },
    { "figure.png", 800, 450, NAN },
    { "figure.svg", 100000, 450, 1 },
    { "figure.pdf", 10, 10, 1 },
  };
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);
  g_autofree char *dir = make_temp_dir ();
  JacFigureStyle style;

  jac_figure_style_init (&style);
  for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      g_autofree char *path = g_build_filename (dir, bad[k].name, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) listed = NULL;

      g_assert_false (jac_figure_save (path, bad[k].width, bad[k].height, bad[k].scale, analysis,
                                       &style, &error));
      g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
      listed = list_dir (dir);
      g_assert_cmpuint (listed->len, ==, 0);
    }
  remove_dir (dir);
}

static void
test_existing_file_intact (void)
{
  static const char precious[] = "a figure someone cares about";
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *png = g_build_filename (dir, "figure.png", NULL);
  g_autofree char *txt = g_build_filename (dir, "figure.txt", NULL);
  g_autofree char *missing = g_build_filename (dir, "no-such-folder", "figure.png", NULL);
  JacFigureStyle style;

  jac_figure_style_init (&style);
  g_assert_true (g_file_set_contents (png, precious, -1, NULL));
  g_assert_true (g_file_set_contents (txt, precious, -1, NULL));

  for (guint k = 0; k < 3; k++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *contents = NULL;
      g_autoptr(GPtrArray) listed = NULL;
      const char *path = k == 0 ? png : k == 1 ? txt : missing;
      int width = k == 0 ? 3 : 800;

      g_assert_false (jac_figure_save (path, width, 450, 1, analysis, &style, &error));
      g_assert_nonnull (error);
      g_assert_true (g_file_get_contents (k == 1 ? txt : png, &contents, NULL, NULL));
      g_assert_cmpstr (contents, ==, precious);
      listed = list_dir (dir);
      g_assert_cmpuint (listed->len, ==, 2);
    }
  /* A missing folder is an I/O error naming the path. */
  {
    g_autoptr(GError) error = NULL;

    jac_figure_save (missing, 800, 450, 1, analysis, &style, &error);
    g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "no-such-folder"));
  }
  remove_dir (dir);
}

/* ---- pixels ---- */

static void
check_zero_block_pixels (const JacAnalysis *analysis,
                         gboolean           dark)
{
  JacFigureStyle style = plain_style ();
  const int width = 1600, height = 900;
  const gsize block[2] = { 0, 1 };
  JacFigureLayout *layout;
  cairo_surface_t *surface;
  JacPalette palette;
  int lo = 255, hi = 0;
  guint n_zero = 0, n_checked_hits = 0;

  style.dark = dark;
  g_assert_true (jac_analysis_block_is_zero (analysis, 0, 1));
  surface = draw_figure (analysis, &style, width, height);
  layout = _jac_figure_layout_new (analysis, &style, width, height, NULL);
  _jac_palette_init (&palette, &style);

  /* The zero style is neutral grey: between the darkest and lightest of its colours. */
  for (const JacRgb *c = &palette.zero_fill; c <= &palette.zero_ink; c++)
    {
      int v = (int) lround (c->red * 255);

      lo = MIN (lo, v);
      hi = MAX (hi, v);
    }

  for (int y = 0; y < height; y += 2)
    for (int x = 0; x < width; x += 2)
      {
        guint32 argb;
        int r, g, b;

        if (!well_inside (layout, x, y, is_block, block))
          continue;
        argb = pixel_at (surface, x, y);
        r = channel (argb, 16);
        g = channel (argb, 8);
        b = channel (argb, 0);
        g_assert_cmpint (ABS (r - g), <=, 1);
        g_assert_cmpint (ABS (g - b), <=, 1);
        g_assert_cmpint (r, >=, lo - 1);
        g_assert_cmpint (r, <=, hi + 1);
        g_assert_cmpint (distance_to_colormap (style.colormap, argb), >, 8);
        n_zero++;

        /* The public hit-test agrees with the layout it shares with drawing. */
        if (n_zero % 997 == 0)
          {
            JacFigureHit hit;

            g_assert_true (jac_figure_hit_test (analysis, &style, width, height, x + 0.5, y + 0.5,
                                                &hit));
            g_assert_true (is_block (&hit, block));
            n_checked_hits++;
          }
      }
  g_assert_cmpuint (n_zero, >, 1000);
  g_assert_cmpuint (n_checked_hits, >, 0);

  /* A nonzero block shows its value's colour at a cell's centre. */
  for (gsize j = 0; j < analysis->sparsity.block_height; j++)
    for (gsize q = 0; q < analysis->sparsity.block_width; q++)
      {
        JacFigureHit want = { JAC_PANEL_JACOBIAN, 1, 1, j, q };
        double value = jac_analysis_block_entry (analysis, 1, 1, j, q, NULL);
        guint32 expected = jac_colormap_argb (style.colormap, value, analysis->jacobian_max_abs);
        gboolean found = FALSE;

        for (int y = 0; y < height && !found; y += 3)
          for (int x = 0; x < width && !found; x += 3)
            if (well_inside (layout, x, y, is_cell, &want))
              {
                g_assert_cmphex (pixel_at (surface, x, y) & 0xffffff, ==, expected & 0xffffff);
                g_assert_cmpint (distance_to_colormap (style.colormap, pixel_at (surface, x, y)),
                                 ==, 0);
                found = TRUE;
              }
        g_assert_true (found);
      }

  _jac_figure_layout_free (layout);
  cairo_surface_destroy (surface);
}

static void
test_zero_block_pixels (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);

  check_zero_block_pixels (analysis, FALSE);
  check_zero_block_pixels (analysis, TRUE);
}

/* U = V A wrt V has the RNN's δ_ip: the same hatched blocks off the diagonal. */
static void
test_expr_zero_block_pixels (void)
{
  g_autoptr(JacAnalysis) analysis = make_expr_analysis ("U = V @ A", "V: 2×4, A: 4×3", "V");

  check_zero_block_pixels (analysis, FALSE);
  check_zero_block_pixels (analysis, TRUE);
}

/* A block drawn far smaller than its cells still shows its diagonal (wrt W_hh, only l = j). */
static void
test_pooled_diagonal (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis_full (3, 3, 200, FALSE, JAC_VAR_W_HH);
  JacFigureStyle style = plain_style ();
  /* Blocks of about 25 px for 200 cells: 8 cells a pixel, as many as a pixel samples. */
  const int width = 1800, height = 1100;
  JacFigureLayout *layout = _jac_figure_layout_new (analysis, &style, width, height, NULL);
  cairo_surface_t *surface = draw_figure (analysis, &style, width, height);
  gsize sr, sc;
  JacRect block;
  guint n_on = 0, n_off = 0;

  g_assert_true (_jac_figure_layout_block_slot (layout, 0, 0, &sr, &sc));
  _jac_figure_layout_slot_rect (layout, sr, sc, &block);
  g_assert_cmpfloat (block.width, <, analysis->sparsity.block_width);
  for (int k = 1; k + 1 < (int) block.width; k++)
    {
      int x = (int) block.x + k, y = (int) block.y + k;
      guint32 on = pixel_at (surface, x, y);
      guint32 off = pixel_at (surface, x, (int) (block.y + block.height) - 1 - k);

      n_on += distance_to_colormap (style.colormap, on) == 0;
      n_off += distance_to_colormap (style.colormap, off) > 8;
    }
  g_assert_cmpuint (n_on, >=, (guint) (block.width * 0.8));
  g_assert_cmpuint (n_off, >=, (guint) block.width - 8);
  _jac_figure_layout_free (layout);
  cairo_surface_destroy (surface);
}

/* ---- hit-testing ---- */

typedef struct
{
  JacVariable wrt;
  gboolean    b_per_row;
} WrtCase;

static const WrtCase wrt_cases[] = {
  { JAC_VAR_H_PREV, FALSE },
  { JAC_VAR_X, FALSE },
  { JAC_VAR_W_HH, FALSE },
  { JAC_VAR_W_XH, FALSE },
  { JAC_VAR_B, FALSE },
  { JAC_VAR_B, TRUE },
};

static void
check_round_trip (const JacAnalysis    *analysis,
                  const JacFigureStyle *style,
                  double                width,
                  double                height)
{
  const JacSparsity *sp = &analysis->sparsity;
  JacFigureLayout *layout = _jac_figure_layout_new (analysis, style, width, height, NULL);
  guint n = 0;

  for (gsize i = 0; i < sp->n_block_rows; i++)
    for (gsize p = 0; p < sp->n_block_cols; p++)
      {
        gsize sr, sc;
        JacRect block;

        if (!_jac_figure_layout_block_slot (layout, i, p, &sr, &sc))
          continue;
        _jac_figure_layout_slot_rect (layout, sr, sc, &block);
        for (gsize j = 0; j < sp->block_height; j++)
          for (gsize q = 0; q < sp->block_width; q++)
            {
              JacFigureHit want = { JAC_PANEL_JACOBIAN, i, p, j, q }, got;
              JacRect cell;

              _jac_figure_layout_entry_rect (layout, &block, j, j + 1, q, q + 1, &cell);
              g_assert_true (jac_figure_hit_test (analysis, style, width, height,
                                                  cell.x + cell.width / 2,
                                                  cell.y + cell.height / 2, &got));
              g_assert_true (same_hit (&want, &got));
              n++;
            }
      }
  g_assert_cmpuint (n, >, 0);

  for (guint m = 0; m < layout->n_matrices; m++)
    {
      const JacMatrixView *view = &layout->matrices[m];

      for (gsize r = 0; r < view->rows; r++)
        for (gsize c = 0; c < view->cols; c++)
          {
            JacFigureHit want = { view->panel, 0, 0, r, c }, got;
            double x = view->rect.x + (c + 0.5) * view->rect.width / view->cols;
            double y = view->rect.y + (r + 0.5) * view->rect.height / view->rows;
            g_autofree char *text = NULL;

            g_assert_true (jac_figure_hit_test (analysis, style, width, height, x, y, &got));
            g_assert_true (same_hit (&want, &got));
            text = jac_figure_describe_hit (analysis, &got);
            g_assert_nonnull (text);
          }
    }
  /* Outside everything: the margin. */
  {
    JacFigureHit got;

    g_assert_false (jac_figure_hit_test (analysis, style, width, height, 2, height - 2, &got));
    g_assert_cmpint (got.panel, ==, JAC_PANEL_NONE);
  }
  _jac_figure_layout_free (layout);
}

static void
test_hit_round_trip (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (wrt_cases); k++)
    for (guint variant = 0; variant < 4; variant++)
      {
        g_autoptr(JacAnalysis) analysis = make_analysis_full (2, 2, 3, wrt_cases[k].b_per_row,
                                                              wrt_cases[k].wrt);
        JacFigureStyle style;

        jac_figure_style_init (&style);
        style.denominator_layout = variant & 1;
        if (variant & 2)
          style.focus_row = 1;
        check_round_trip (analysis, &style, 1600, 900);
        check_round_trip (analysis, &style, 900, 600);
      }
}

/* Blocks wrapped into bands (a wide grid) and pooled blocks hit-test consistently too. */
static void
test_hit_round_trip_wide (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis_full (2, 2, 16, FALSE, JAC_VAR_W_HH);
  JacFigureStyle style;
  JacFigureLayout *layout;

  jac_figure_style_init (&style);
  style.show_contraction = FALSE;
  layout = _jac_figure_layout_new (analysis, &style, 1600, 900, NULL);
  g_assert_cmpuint (layout->n_bands, >, 1);
  _jac_figure_layout_free (layout);
  check_round_trip (analysis, &style, 1600, 900);
  style.denominator_layout = TRUE;
  check_round_trip (analysis, &style, 1600, 900);
}

/* ---- the direct reader of J agrees with the analysis ---- */

static void
test_access (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (wrt_cases); k++)
    {
      g_autoptr(JacAnalysis) analysis = make_analysis_full (3, 2, 4, wrt_cases[k].b_per_row,
                                                            wrt_cases[k].wrt);
      const JacSparsity *sp = &analysis->sparsity;
      JacJacobianAccess access;

      _jac_jacobian_access_init (&access, analysis);
      g_assert_true (access.direct);
      for (gsize i = 0; i < sp->n_block_rows; i++)
        for (gsize p = 0; p < sp->n_block_cols; p++)
          for (gsize j = 0; j < sp->block_height; j++)
            for (gsize q = 0; q < sp->block_width; q++)
              {
                gboolean zero_a = FALSE, zero_b = FALSE;
                double a = jac_analysis_block_entry (analysis, i, p, j, q, &zero_a);
                double b = _jac_jacobian_access_entry (&access, i, p, j, q, &zero_b);

                g_assert_cmpint (zero_a, ==, zero_b);
                g_assert_cmpfloat (a, ==, b);
              }
    }
}

/* kron's one term has no δ the direct reader understands, but zeros bounded by composite δs:
 * the figure reads them through the analysis, hatched where ⌊i/2⌋ ≠ p or ⌊j/2⌋ ≠ q. */
static void
test_access_kron (void)
{
  g_autoptr(JacAnalysis) analysis = jac_test_expr_analysis ("Y = kron(A, B)", "A: 2×2, B: 2×2",
                                                            "A");
  JacJacobianAccess access;
  guint n_zero = 0;

  _jac_jacobian_access_init (&access, analysis);
  g_assert_false (access.direct);
  for (gsize i = 0; i < 4; i++)
    for (gsize p = 0; p < 2; p++)
      for (gsize j = 0; j < 4; j++)
        for (gsize q = 0; q < 2; q++)
          {
            gboolean zero = FALSE;

            _jac_jacobian_access_entry (&access, i, p, j, q, &zero);
            g_assert_cmpint (zero, ==, !(i / 2 == p && j / 2 == q));
            n_zero += zero;
          }
  g_assert_cmpuint (n_zero, ==, 64 - 16);
}

/* ---- descriptions ---- */

static void
assert_contains (const char *text,
                 const char *part)
{
  if (strstr (text, part) == NULL)
    g_error ("“%s” does not contain “%s”", text, part);
}

static const JacTensor *
variable_value (const JacAnalysis *analysis,
                const char        *name)
{
  int node = jac_graph_find_variable (analysis->graph, name);

  g_assert_cmpint (node, >=, 0);
  return jac_graph_node (analysis->graph, node)->value;
}

static void
test_describe (void)
{
  g_autoptr(JacAnalysis) h_prev = make_analysis (JAC_VAR_H_PREV);
  g_autoptr(JacAnalysis) w_hh = make_analysis (JAC_VAR_W_HH);
  g_autoptr(JacAnalysis) b = make_analysis (JAC_VAR_B);
  /* Everything comes out of the generic machinery: the named slope S, the variables' values. */
  const JacTensor *slope = h_prev->slope;
  const JacTensor *weights = variable_value (h_prev, "W_hh");
  const JacTensor *previous = variable_value (w_hh, "h_prev");

  /* J[1,2,1,0] = S[1,2] · W_hh[0,2], with the numbers from the tensors. */
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 1, 1, 2, 0 };
    g_autofree char *text = jac_figure_describe_hit (h_prev, &hit);
    g_autofree char *s = format_expected (JAC_AT2 (slope, 1, 2));
    g_autofree char *w = format_expected (JAC_AT2 (weights, 0, 2));
    g_autofree char *v = format_expected (JAC_AT2 (slope, 1, 2) * JAC_AT2 (weights, 0, 2));
    g_autofree char *product = g_strdup_printf ("%s × %s = %s", s, w, v);

    assert_contains (text, "J[1,2,1,0] = ∂h[1,2]/∂h_prev[1,0] = S[1,2] · W_hh[0,2]");
    assert_contains (text, product);
  }
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 0, 1, 1, 2 };
    g_autofree char *text = jac_figure_describe_hit (h_prev, &hit);

    assert_contains (text, "J[0,1,1,2]");
    assert_contains (text, "= 0 (δ_ip: i ≠ p)");
  }
  /* wrt W_hh: J[i,j,k,l] = S[i,j] · h_prev[i,k] where l = j. */
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 1, 0, 2, 2 };
    g_autofree char *text = jac_figure_describe_hit (w_hh, &hit);
    g_autofree char *s = format_expected (JAC_AT2 (w_hh->slope, 1, 2));
    g_autofree char *x = format_expected (JAC_AT2 (previous, 1, 0));

    assert_contains (text, "J[1,2,0,2] = ∂h[1,2]/∂W_hh[0,2] = S[1,2] · h_prev[1,0]");
    assert_contains (text, s);
    assert_contains (text, x);
  }
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 1, 0, 2, 1 };
    g_autofree char *text = jac_figure_describe_hit (w_hh, &hit);

    assert_contains (text, "(δ_jl: j ≠ l)");
  }
  /* wrt b of shape (H): three indices. */
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 1, 0, 2, 2 };
    g_autofree char *text = jac_figure_describe_hit (b, &hit);
    g_autofree char *s = format_expected (JAC_AT2 (b->slope, 1, 2));

    assert_contains (text, "J[1,2,2] = ∂h[1,2]/∂b[2] = S[1,2]");
    assert_contains (text, s);
  }
  /* The other panels. */
  {
    JacFigureHit hit = { JAC_PANEL_GATED, 0, 0, 1, 2 };
    g_autofree char *text = jac_figure_describe_hit (h_prev, &hit);
    g_autofree char *g = format_expected (JAC_AT2 (h_prev->upstream, 1, 2));
    g_autofree char *v = format_expected (JAC_AT2 (h_prev->factors[0], 1, 2));

    assert_contains (text, "(G ⊙ S)[1,2] = G[1,2] · S[1,2] = ");
    assert_contains (text, g);
    assert_contains (text, v);
  }
  {
    JacFigureHit hit = { JAC_PANEL_FORMULA, 0, 0, 1, 0 };
    g_autofree char *text = jac_figure_describe_hit (h_prev, &hit);
    g_autofree char *v = format_expected (JAC_AT2 (h_prev->contract_formula, 1, 0));

    assert_contains (text, "((G ⊙ S) W_hhᵀ)[1,0] = Σ_j (G ⊙ S)[1,j] W_hh[0,j]");
    assert_contains (text, v);
  }
  {
    JacFigureHit hit = { JAC_PANEL_FACTOR, 0, 0, 2, 0 };
    g_autofree char *text = jac_figure_describe_hit (h_prev, &hit);

    assert_contains (text, "W_hhᵀ[2,0] = W_hh[0,2]");
  }
  {
    JacFigureHit hit = { JAC_PANEL_CONTRACTION, 0, 0, 0, 1 };
    g_autofree char *text = jac_figure_describe_hit (b, &hit);

    assert_contains (text, "Σ_ij G[i,j] J[i,j,1]");
  }
  /* Out of range: nothing. */
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 7, 0, 0, 0 };

    g_assert_null (jac_figure_describe_hit (h_prev, &hit));
    hit.panel = JAC_PANEL_SLOPE;
    hit.row = 9;
    g_assert_null (jac_figure_describe_hit (h_prev, &hit));
  }
}

/* ---- every style draws, at every size ---- */

static void
test_styles (void)
{
  static const int sizes[][2] = { { 1600, 900 }, { 900, 600 }, { 1920, 1080 }, { 16, 16 } };

  for (guint k = 0; k < G_N_ELEMENTS (wrt_cases); k++)
    {
      g_autoptr(JacAnalysis) analysis = make_analysis_full (2, 3, 3, wrt_cases[k].b_per_row,
                                                            wrt_cases[k].wrt);

      for (guint variant = 0; variant < 8; variant++)
        for (JacPanel panel = JAC_PANEL_JACOBIAN; panel < JAC_N_PANELS; panel++)
          {
            JacFigureStyle style;
            const int *size = sizes[(variant + panel) % G_N_ELEMENTS (sizes)];
            cairo_surface_t *surface;

            jac_figure_style_init (&style);
            style.colormap = variant % JAC_N_COLORMAPS;
            style.dark = variant & 1;
            style.denominator_layout = variant & 2;
            style.focus_row = variant & 4 ? 0 : -1;
            style.text_scale = variant == 5 ? 2 : 1;
            style.line_scale = variant == 5 ? 2 : 1;
            style.show_contraction = variant != 6;
            style.has_highlight = TRUE;
            style.highlight.panel = panel;
            style.highlight.block_row = 1;
            style.highlight.block_col = wrt_cases[k].wrt == JAC_VAR_B ? 0 : 1;
            style.highlight.row = 1;
            style.highlight.col = 0;
            surface = draw_figure (analysis, &style, size[0], size[1]);
            cairo_surface_destroy (surface);
          }
    }
}

/* N = 64, H = 256: the grid has 268 million entries; drawing must not build them. */
static void
test_big (void)
{
  static const JacVariable wrts[] = { JAC_VAR_H_PREV, JAC_VAR_W_HH };

  for (guint k = 0; k < G_N_ELEMENTS (wrts); k++)
    {
      g_autoptr(JacAnalysis) analysis = make_analysis_full (64, 3, 256, FALSE, wrts[k]);
      JacFigureStyle style = plain_style ();
      cairo_surface_t *surface;
      JacFigureHit hit;
      g_autofree char *text = NULL;

      g_assert_cmpuint (analysis->sparsity.n_entries, >=, (gsize) 64 * 256 * 64 * 256);
      surface = draw_figure (analysis, &style, 1600, 900);
      cairo_surface_destroy (surface);
      style.focus_row = 3;
      surface = draw_figure (analysis, &style, 1600, 900);
      cairo_surface_destroy (surface);
      g_assert_true (jac_figure_hit_test (analysis, &style, 1600, 900, 400, 450, &hit)
                     || hit.panel == JAC_PANEL_NONE);
      if (hit.panel != JAC_PANEL_NONE)
        {
          text = jac_figure_describe_hit (analysis, &hit);
          g_assert_nonnull (text);
        }
    }
}

/* ---- zoomed views ---- */

/* What the window does when zoomed: the figure drawn @zoom times larger into a @width ×
 * @height target, moved by the pan; with @whole, the reference that draws all of it. */
static cairo_surface_t *
draw_view (const JacAnalysis    *analysis,
           const JacFigureStyle *style,
           int                   width,
           int                   height,
           double                zoom,
           double                pan_x,
           double                pan_y,
           gboolean              whole,
           JacFigureCounters    *counters)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);

  cairo_translate (cr, -pan_x, -pan_y);
  _jac_figure_draw_counted (cr, width * zoom, height * zoom, analysis, style, whole, counters);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

static gboolean
pixel_near (cairo_surface_t *surface,
            int              x,
            int              y,
            guint32          argb)
{
  static const int steps[4][2] = { { -1, 0 }, { 1, 0 }, { 0, -1 }, { 0, 1 } };

  for (guint k = 0; k < G_N_ELEMENTS (steps); k++)
    {
      int u = x + steps[k][0], v = y + steps[k][1];

      if (u >= 0 && v >= 0 && u < cairo_image_surface_get_width (surface)
          && v < cairo_image_surface_get_height (surface) && pixel_at (surface, u, v) == argb)
        return TRUE;
    }
  return FALSE;
}

/* Compares @view with the part of @full at (@x, @y). A heatmap cell's edge that falls exactly
 * on a pixel's centre may go to either cell, depending on the rounding of where the image
 * lands; such pixels, which take the colour of a neighbour, are counted in @shifted, the
 * others are returned. */
static guint
count_differences (cairo_surface_t *view,
                   cairo_surface_t *full,
                   int              x,
                   int              y,
                   guint           *shifted)
{
  int width = cairo_image_surface_get_width (view);
  int height = cairo_image_surface_get_height (view);
  guint n = 0;

  g_assert_cmpint (x + width, <=, cairo_image_surface_get_width (full));
  g_assert_cmpint (y + height, <=, cairo_image_surface_get_height (full));
  *shifted = 0;
  for (int v = 0; v < height; v++)
    for (int u = 0; u < width; u++)
      {
        guint32 mine = pixel_at (view, u, v), theirs = pixel_at (full, x + u, y + v);
        int d = 0;

        for (int shift = 0; shift <= 16; shift += 8)
          d = MAX (d, ABS (channel (mine, shift) - channel (theirs, shift)));
        /* The colour bar's gradient is interpolated: a sample on a rounding edge may come out
         * one level apart. */
        if (d <= 1)
          continue;
        if (pixel_near (full, x + u, y + v, mine) && pixel_near (view, u, v, theirs))
          (*shifted)++;
        else
          n++;
      }
  return n;
}

static void
assert_same_view (cairo_surface_t *view,
                  cairo_surface_t *full,
                  int              x,
                  int              y)
{
  guint shifted = 0;

  g_assert_cmpuint (count_differences (view, full, x, y, &shifted), ==, 0);
  /* A line of pixels here and there, never a whole region. */
  g_assert_cmpuint (shifted, <=, (guint) (cairo_image_surface_get_width (view)
                                          + cairo_image_surface_get_height (view)) * 4);
}

/* A pan that puts (@fx, @fy) of the zoomed figure, in fractions of the grid, in the middle. */
static void
pan_to_grid (const JacAnalysis    *analysis,
             const JacFigureStyle *style,
             int                   width,
             int                   height,
             double                zoom,
             double                fx,
             double                fy,
             double               *pan_x,
             double               *pan_y)
{
  JacFigureLayout *layout = _jac_figure_layout_new (analysis, style, width * zoom, height * zoom,
                                                    NULL);

  *pan_x = CLAMP (layout->grid.x + fx * layout->grid.width - width / 2.0, 0,
                  width * (zoom - 1));
  *pan_y = CLAMP (layout->grid.y + fy * layout->grid.height - height / 2.0, 0,
                  height * (zoom - 1));
  _jac_figure_layout_free (layout);
}

/* A zoomed view is the same region cut from the figure drawn whole at full size. */
static void
test_zoom_matches_full (void)
{
  static const struct
  {
    gsize  batch, hidden;
    int    width, height;
    double zoom;
  } cases[] = {
    { 2, 3, 400, 225, 4 },
    { 2, 3, 320, 180, 9 },
    { 64, 256, 1600, 900, 3 },
    { 64, 256, 800, 450, 5 },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(JacAnalysis) analysis = make_analysis_full (cases[k].batch, 3, cases[k].hidden,
                                                            FALSE, JAC_VAR_H_PREV);
      int width = cases[k].width, height = cases[k].height;
      int full_w = (int) (width * cases[k].zoom), full_h = (int) (height * cases[k].zoom);
      JacFigureStyle style;
      cairo_surface_t *full;

      jac_figure_style_init (&style);
      style.dark = k % 2;
      full = draw_figure (analysis, &style, full_w, full_h);
      /* Corners, the grid and the contracted form; whole pixels, so that the cut is exact. */
      for (guint pan = 0; pan < 5; pan++)
        {
          static const double at[5][2] = { { 0, 0 }, { 1, 1 }, { 0.3, 0.4 }, { 0.5, 0.2 },
                                           { 0.8, 0.6 } };
          int x = (int) round (at[pan][0] * (full_w - width));
          int y = (int) round (at[pan][1] * (full_h - height));
          cairo_surface_t *view = draw_view (analysis, &style, width, height, cases[k].zoom, x, y,
                                             FALSE, NULL);

          assert_same_view (view, full, x, y);
          cairo_surface_destroy (view);
        }
      cairo_surface_destroy (full);
    }
}

/* Deep zoom, where the whole figure is too large to draw at full size: what is drawn matches
 * the plain drawing of everything, pixel for pixel. */
static void
test_zoom_matches_whole (void)
{
  static const struct
  {
    gsize       batch, hidden;
    JacVariable wrt;
    double      zoom;
    double      fx, fy;
    gboolean    values;
  } cases[] = {
    { 2, 3, JAC_VAR_W_HH, 20, 0.3, 0.3, TRUE },
    { 2, 3, JAC_VAR_H_PREV, 150, 0.45, 0.7, TRUE },
    { 2, 3, JAC_VAR_W_HH, 150, 1.9, 0.4, TRUE },          /* the contracted form */
    { 64, 256, JAC_VAR_H_PREV, 20, 0.37, 0.31, TRUE },
    { 64, 256, JAC_VAR_H_PREV, 20, 1.5, 0.5, TRUE },      /* the contracted form, its values */
    { 64, 256, JAC_VAR_H_PREV, 60, 0.52, 0.51, FALSE },
    { 8, 32, JAC_VAR_W_HH, 150, 0.52, 0.51, TRUE },
    { 64, 256, JAC_VAR_H_PREV, 150, 0.02, 0.98, FALSE },
  };
  const int width = 640, height = 360;

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(JacAnalysis) analysis = make_analysis_full (cases[k].batch, 3, cases[k].hidden,
                                                            FALSE, cases[k].wrt);
      JacFigureStyle style;
      cairo_surface_t *view, *whole;
      double pan_x, pan_y;

      jac_figure_style_init (&style);
      style.show_values = cases[k].values;
      style.denominator_layout = k == 1;
      pan_to_grid (analysis, &style, width, height, cases[k].zoom, cases[k].fx, cases[k].fy,
                   &pan_x, &pan_y);
      /* Part of a pixel too: the window pans by any amount. */
      pan_x += 0.37;
      view = draw_view (analysis, &style, width, height, cases[k].zoom, pan_x, pan_y, FALSE,
                        NULL);
      whole = draw_view (analysis, &style, width, height, cases[k].zoom, pan_x, pan_y, TRUE,
                         NULL);
      assert_same_view (view, whole, 0, 0);
      cairo_surface_destroy (view);
      cairo_surface_destroy (whole);
    }
}

/* At 150×, N = 64, H = 256, a 1600 × 900 view shows a couple of blocks: the work is theirs,
 * not the other 4 094's; unzoomed, everything is drawn. */
static void
test_zoom_bounded_work (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis_full (64, 3, 256, FALSE, JAC_VAR_H_PREV);
  JacFigureStyle style;
  JacFigureCounters shown = { 0 }, all = { 0 }, unzoomed = { 0 }, unzoomed_all = { 0 };
  const int width = 1600, height = 900;
  double pan_x, pan_y;

  jac_figure_style_init (&style);
  pan_to_grid (analysis, &style, width, height, 150, 0.5, 0.5, &pan_x, &pan_y);
  cairo_surface_destroy (draw_view (analysis, &style, width, height, 150, pan_x, pan_y, FALSE,
                                    &shown));
  cairo_surface_destroy (draw_view (analysis, &style, width, height, 150, pan_x, pan_y, TRUE,
                                    &all));
  g_assert_cmpuint (all.blocks, ==, 64);
  g_assert_cmpuint (all.zero_blocks, ==, 64 * 63);
  g_assert_cmpuint (shown.blocks + shown.zero_blocks, >=, 1);
  g_assert_cmpuint (shown.blocks + shown.zero_blocks, <=, 4);
  g_assert_cmpuint (shown.matrices, ==, 0);
  g_assert_cmpuint (shown.pixels, <=, (guint64) width * height);
  g_assert_cmpuint (shown.pixels * 10, <, all.pixels);
  g_assert_cmpuint (shown.labels * 10, <, all.labels);

  cairo_surface_destroy (draw_view (analysis, &style, width, height, 1, 0, 0, FALSE, &unzoomed));
  cairo_surface_destroy (draw_view (analysis, &style, width, height, 1, 0, 0, TRUE,
                                    &unzoomed_all));
  g_assert_cmpmem (&unzoomed, sizeof unzoomed, &unzoomed_all, sizeof unzoomed_all);
  g_assert_cmpuint (unzoomed.blocks, ==, 64);
  g_assert_cmpuint (unzoomed.matrices, >, 0);
}

/* ---- typed expressions ---- */

static void
test_expr_files (void)
{
  g_autofree char *dir = make_temp_dir ();

  for (guint k = 0; k < G_N_ELEMENTS (expr_cases); k++)
    {
      g_autoptr(JacAnalysis) analysis = make_expr_case (k);
      JacFigureStyle style;

      jac_figure_style_init (&style);
      for (guint f = 0; f < 3; f++)
        {
          static const char * const extensions[] = { "png", "svg", "pdf" };
          static const char * const signatures[] = { "\x89PNG", "<?xml", "%PDF-" };
          g_autofree char *name = g_strdup_printf ("expr-%u.%s", k, extensions[f]);
          g_autofree char *path = g_build_filename (dir, name, NULL);
          g_autofree char *contents = NULL;
          g_autoptr(GError) error = NULL;

          g_assert_true (jac_figure_save (path, 1200, 700, 1, analysis, &style, &error));
          g_assert_no_error (error);
          g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
          g_assert_true (g_str_has_prefix (contents, signatures[f]));
        }
    }
  remove_dir (dir);
}

/* Every style and every highlight draws, at every size, for every kind of output and variable. */
static void
test_expr_styles (void)
{
  static const int sizes[][2] = { { 1600, 900 }, { 900, 600 }, { 16, 16 } };

  for (guint k = 0; k < G_N_ELEMENTS (expr_cases); k++)
    {
      g_autoptr(JacAnalysis) analysis = make_expr_case (k);

      for (guint variant = 0; variant < 8; variant++)
        for (JacPanel panel = JAC_PANEL_JACOBIAN; panel < JAC_N_PANELS; panel++)
          {
            JacFigureStyle style;
            const int *size = sizes[(variant + panel) % G_N_ELEMENTS (sizes)];

            jac_figure_style_init (&style);
            style.dark = variant & 1;
            style.denominator_layout = variant & 2;
            style.focus_row = variant & 4 ? 0 : -1;
            style.show_contraction = variant != 6;
            style.has_highlight = TRUE;
            style.highlight.panel = panel;
            style.highlight.block_row = analysis->sparsity.n_block_rows - 1;
            style.highlight.block_col = analysis->sparsity.n_block_cols - 1;
            style.highlight.row = 0;
            style.highlight.col = analysis->sparsity.block_width - 1;
            cairo_surface_destroy (draw_figure (analysis, &style, size[0], size[1]));
          }
    }
}

static void
test_expr_hit_round_trip (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (expr_cases); k++)
    for (guint variant = 0; variant < 4; variant++)
      {
        g_autoptr(JacAnalysis) analysis = make_expr_case (k);
        const JacSparsity *sp = &analysis->sparsity;
        JacFigureStyle style;

        jac_figure_style_init (&style);
        style.denominator_layout = variant & 1;
        if (variant & 2)
          style.focus_row = (gssize) sp->n_block_rows - 1;
        check_round_trip (analysis, &style, 1600, 900);
        check_round_trip (analysis, &style, 900, 600);

        /* Every entry of J is described, and its outlines stay inside the panels. */
        for (gsize i = 0; i < sp->n_block_rows; i++)
          for (gsize p = 0; p < sp->n_block_cols; p++)
            for (gsize j = 0; j < sp->block_height; j++)
              for (gsize q = 0; q < sp->block_width; q++)
                {
                  JacFigureHit hit = { JAC_PANEL_JACOBIAN, i, p, j, q };
                  g_autofree char *text = jac_figure_describe_hit (analysis, &hit);
                  GArray *marks = _jac_figure_marks (analysis, &hit);

                  g_assert_nonnull (text);
                  g_assert_true (g_str_has_prefix (text, "J"));
                  g_assert_cmpuint (marks->len, >=, 1);
                  g_assert_true (g_array_index (marks, JacMark, 0).primary);
                  g_array_unref (marks);
                }
      }
}

static gboolean
has_mark (GArray   *marks,
          JacPanel  panel,
          gsize     block_row,
          gsize     block_col,
          gsize     row0,
          gsize     row1,
          gsize     col0,
          gsize     col1)
{
  for (guint k = 0; k < marks->len; k++)
    {
      const JacMark *m = &g_array_index (marks, JacMark, k);

      if (m->panel == panel && m->row0 == row0 && m->row1 == row1 && m->col0 == col0
          && m->col1 == col1
          && (panel != JAC_PANEL_JACOBIAN || (m->block_row == block_row
                                              && m->block_col == block_col)))
        return TRUE;
    }
  return FALSE;
}

static void
test_expr_describe (void)
{
  g_autoptr(JacAnalysis) uva = make_expr_analysis ("U = V @ A", "V: 2×4, A: 4×3", "V");
  g_autoptr(JacAnalysis) sum = make_expr_analysis ("sum(X)", "X: 2×3", "X");
  g_autoptr(JacAnalysis) bias = make_expr_analysis ("X + v", "X: 2×3, v: 3", "v");
  int a_node = jac_graph_find_variable (uva->graph, "A");
  const JacTensor *a = jac_graph_node (uva->graph, a_node)->value;

  /* J[i,j,p,q] = δ_ip A[q,j]. */
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 1, 1, 2, 0 };
    g_autofree char *text = jac_figure_describe_hit (uva, &hit);
    g_autofree char *v = format_expected (JAC_AT2 (a, 0, 2));
    g_autofree char *want = g_strdup_printf ("J[1,2,1,0] = ∂U[1,2]/∂V[1,0] = A[0,2] = %s", v);

    g_assert_cmpstr (text, ==, want);
  }
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 0, 1, 1, 2 };
    g_autofree char *text = jac_figure_describe_hit (uva, &hit);

    g_assert_cmpstr (text, ==, "J[0,1,1,2] = ∂U[0,1]/∂V[1,2] = 0 (δ_ip: i ≠ p)");
  }
  /* A scalar output: J has only the variable's indices. */
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 0, 1, 0, 2 };
    g_autofree char *text = jac_figure_describe_hit (sum, &hit);

    g_assert_cmpstr (text, ==, "J[1,2] = ∂Y/∂X[1,2] = 1.00");
  }
  /* A vector variable: three indices, and δ_jq. */
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 1, 0, 2, 2 };
    g_autofree char *text = jac_figure_describe_hit (bias, &hit);

    g_assert_cmpstr (text, ==, "J[1,2,2] = ∂Y[1,2]/∂v[2] = 1.00");
    hit.col = 1;
    g_clear_pointer (&text, g_free);
    text = jac_figure_describe_hit (bias, &hit);
    g_assert_cmpstr (text, ==, "J[1,2,1] = ∂Y[1,2]/∂v[1] = 0 (δ_jq: j ≠ q)");
  }
  /* G, the contracted form and the contraction. */
  {
    JacFigureHit hit = { JAC_PANEL_UPSTREAM, 0, 0, 1, 2 };
    g_autofree char *text = jac_figure_describe_hit (uva, &hit);
    g_autofree char *g = format_expected (JAC_AT2 (uva->upstream, 1, 2));

    assert_contains (text, "G[1,2] = ∂L/∂U[1,2] = ");
    assert_contains (text, g);
  }
  {
    JacFigureHit hit = { JAC_PANEL_UPSTREAM, 0, 0, 0, 0 };
    g_autofree char *text = jac_figure_describe_hit (sum, &hit);

    assert_contains (text, "G = ∂L/∂Y = ");
  }
  {
    JacFigureHit hit = { JAC_PANEL_FORMULA, 0, 0, 1, 0 };
    g_autofree char *text = jac_figure_describe_hit (uva, &hit);
    g_autofree char *v = format_expected (JAC_AT2 (uva->contract_formula, 1, 0));

    assert_contains (text, "(G Aᵀ)[1,0] = ");
    assert_contains (text, v);
  }
  {
    JacFigureHit hit = { JAC_PANEL_CONTRACTION, 0, 0, 1, 0 };
    g_autofree char *text = jac_figure_describe_hit (uva, &hit);

    assert_contains (text, "Σ_ij G[i,j] J[i,j,1,0] = ");
    assert_contains (text, "contracted form (G Aᵀ)[1,0]");
  }
  {
    JacFigureHit hit = { JAC_PANEL_CONTRACTION, 0, 0, 0, 2 };
    g_autofree char *text = jac_figure_describe_hit (bias, &hit);

    assert_contains (text, "Σ_ij G[i,j] J[i,j,2] = ");
  }
  /* Panels an expression does not have, and cells out of range: nothing. */
  {
    JacFigureHit hit = { JAC_PANEL_SLOPE, 0, 0, 0, 0 };

    g_assert_null (jac_figure_describe_hit (uva, &hit));
    hit.panel = JAC_PANEL_JACOBIAN;
    hit.block_row = 5;
    g_assert_null (jac_figure_describe_hit (uva, &hit));
  }

  /* Outlines: a J entry shows the G entry weighing it and the result entry it feeds… */
  {
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 1, 1, 2, 0 };
    GArray *marks = _jac_figure_marks (uva, &hit);

    g_assert_true (has_mark (marks, JAC_PANEL_JACOBIAN, 1, 1, 2, 3, 0, 1));
    g_assert_true (has_mark (marks, JAC_PANEL_UPSTREAM, 0, 0, 1, 2, 2, 3));
    g_assert_true (has_mark (marks, JAC_PANEL_FORMULA, 0, 0, 1, 2, 0, 1));
    g_assert_true (has_mark (marks, JAC_PANEL_CONTRACTION, 0, 0, 1, 2, 0, 1));
    g_array_unref (marks);
  }
  /* … and a result entry [p,q] the entries of J it sums: δ_ip keeps block (p, p) only. */
  {
    JacFigureHit hit = { JAC_PANEL_CONTRACTION, 0, 0, 1, 0 };
    GArray *marks = _jac_figure_marks (uva, &hit);

    g_assert_true (has_mark (marks, JAC_PANEL_JACOBIAN, 1, 1, 0, 3, 0, 1));
    g_assert_false (has_mark (marks, JAC_PANEL_JACOBIAN, 0, 1, 0, 3, 0, 1));
    g_assert_true (has_mark (marks, JAC_PANEL_UPSTREAM, 0, 0, 1, 2, 0, 3));
    g_assert_true (has_mark (marks, JAC_PANEL_FORMULA, 0, 0, 1, 2, 0, 1));
    g_array_unref (marks);
  }
  /* δ_jq: result entry [q] of X + v sums column j = q of every row. */
  {
    JacFigureHit hit = { JAC_PANEL_FORMULA, 0, 0, 0, 2 };
    GArray *marks = _jac_figure_marks (bias, &hit);

    g_assert_true (has_mark (marks, JAC_PANEL_JACOBIAN, 0, 0, 2, 3, 2, 3));
    g_assert_true (has_mark (marks, JAC_PANEL_JACOBIAN, 1, 0, 2, 3, 2, 3));
    g_assert_true (has_mark (marks, JAC_PANEL_UPSTREAM, 0, 0, 0, 2, 2, 3));
    g_array_unref (marks);
  }
}

/* The title names the expression as typed, with subscripts. */
static void
test_expr_title (void)
{
  g_autoptr(JacAnalysis) rnn = make_expr_case (G_N_ELEMENTS (expr_cases) - 1);
  g_autoptr(JacAnalysis) uva = make_expr_case (0);
  JacFigureStyle style;
  JacFigureLayout *layout;
  gboolean found_title = FALSE, found_rnn = FALSE;

  jac_figure_style_init (&style);
  layout = _jac_figure_layout_new (uva, &style, 1600, 900, NULL);
  for (guint k = 0; k < layout->labels->len; k++)
    {
      const JacLabel *label = g_ptr_array_index (layout->labels, k);

      found_title |= g_str_equal (pango_layout_get_text (label->layout), "∂U/∂V   —   U = V @ A");
    }
  _jac_figure_layout_free (layout);
  layout = _jac_figure_layout_new (rnn, &style, 1600, 900, NULL);
  for (guint k = 0; k < layout->labels->len; k++)
    {
      const JacLabel *label = g_ptr_array_index (layout->labels, k);

      found_rnn |= g_str_has_prefix (pango_layout_get_text (label->layout),
                                     "∂h/∂Whh   —   h = tanh(hprev @ Whh");
    }
  _jac_figure_layout_free (layout);
  g_assert_true (found_title);
  g_assert_true (found_rnn);
}


/* ---- the figure's contract: type, overlaps, values, scale, what is left out ---- */

typedef struct
{
  JacMedium medium;
  double    width, height;
} MediumCase;

static const MediumCase medium_cases[] = {
  { JAC_MEDIUM_SCREEN, 930, 470 },          /* the window's pane at 1280×720 */
  { JAC_MEDIUM_SCREEN, 700, 560 },          /* … at 1024×768 */
  { JAC_MEDIUM_PRESENTATION, 1280, 720 },
  { JAC_MEDIUM_PRESENTATION, 1024, 768 },
  { JAC_MEDIUM_PAPER, 252, 180 },           /* 3.5 in × 2.5 in */
  { JAC_MEDIUM_PAPER, 504, 283.5 },         /* 7 in, 16:9 */
  { JAC_MEDIUM_SCREEN, 500, 900 },          /* a tall column */
};

/* Every analysis the contract is checked on: each wrt and b shape, and expressions. */
static GPtrArray *
contract_analyses (void)
{
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) jac_analysis_free);

  for (guint k = 0; k < G_N_ELEMENTS (wrt_cases); k++)
    g_ptr_array_add (all, make_analysis_full (2, 3, 3, wrt_cases[k].b_per_row, wrt_cases[k].wrt));
  g_ptr_array_add (all, make_analysis_full (3, 4, 5, FALSE, JAC_VAR_W_HH));
  g_ptr_array_add (all, make_expr_case (0));
  g_ptr_array_add (all, make_expr_case (6));
  g_ptr_array_add (all, make_expr_case (8));
  return all;
}

static void
medium_minimums (JacMedium  medium,
                 double    *min_text,
                 double    *min_script)
{
  JacType type;

  _jac_type_init (&type, medium, 1, 1000, 1000);
  *min_text = type.min_text;
  *min_script = type.min_script;
}

static gboolean
boxes_overlap (const JacTextRect *a,
               const JacTextRect *b)
{
  const double slack = 0.5;

  return a->x + slack < b->x + b->width && b->x + slack < a->x + a->width
         && a->y + slack < b->y + b->height && b->y + slack < a->y + a->height;
}

/* The styles a figure is checked in: layouts, one output row, values, dark, grey. */
static guint
contract_style (guint                k,
                const MediumCase    *m,
                JacFigureStyle      *style)
{
  jac_figure_style_init (style);
  style->medium = m->medium;
  style->show_values = TRUE;
  style->denominator_layout = k & 1;
  style->focus_row = k & 2 ? 1 : -1;
  style->dark = k == 1;
  style->colormap = k == 2 ? JAC_COLORMAP_GRAY : JAC_COLORMAP_BLUE_RED;
  return 4;
}

static void
check_contract (const JacAnalysis    *analysis,
                const JacFigureStyle *style,
                const MediumCase     *m)
{
  g_autoptr(GArray) texts = jac_figure_text_rects (m->width, m->height, analysis, style);
  JacFigureLayout *layout = _jac_figure_layout_new (analysis, style, m->width, m->height, NULL);
  double min_text, min_script;

  medium_minimums (m->medium, &min_text, &min_script);
  g_assert_cmpuint (texts->len, >, 5);
  /* Type: labels at the medium's minimum or more, their sub/superscripts at its script
   * minimum or more; the numbers in cells too. */
  for (guint k = 0; k < layout->labels->len; k++)
    {
      const JacLabel *label = g_ptr_array_index (layout->labels, k);

      g_assert_cmpfloat (label->size, >=, min_text - 1e-9);
      g_assert_cmpfloat (label->min_size, >=, min_script - 1e-9);
      /* Inside the figure. */
      g_assert_cmpfloat (label->x, >=, -0.5);
      g_assert_cmpfloat (label->y, >=, -0.5);
      g_assert_cmpfloat (label->x + label->width, <=, m->width + 0.5);
      g_assert_cmpfloat (label->y + label->height, <=, m->height + 0.5);
    }
  for (guint k = 0; k < texts->len; k++)
    {
      const JacTextRect *t = &g_array_index (texts, JacTextRect, k);

      g_assert_cmpfloat (t->size, >=, (t->value ? min_text : min_script) - 1e-9);
    }
  /* No two labels overlap (numbers in cells lie on their cells, not on labels). */
  for (guint a = 0; a < texts->len; a++)
    for (guint b = a + 1; b < texts->len; b++)
      {
        const JacTextRect *ta = &g_array_index (texts, JacTextRect, a);
        const JacTextRect *tb = &g_array_index (texts, JacTextRect, b);

        if (ta->value || tb->value || !boxes_overlap (ta, tb))
          continue;
        g_error ("“%s” overlaps “%s” at %g×%g (medium %d)", ta->text, tb->text, m->width,
                 m->height, m->medium);
      }
  _jac_figure_layout_free (layout);
}

static void
test_type_minimum (void)
{
  g_autoptr(GPtrArray) analyses = contract_analyses ();

  for (guint m = 0; m < G_N_ELEMENTS (medium_cases); m++)
    for (guint a = 0; a < analyses->len; a++)
      for (guint k = 0; k < 4; k++)
        {
          JacFigureStyle style;

          contract_style (k, &medium_cases[m], &style);
          check_contract (g_ptr_array_index (analyses, a), &style, &medium_cases[m]);
          style.show_contraction = FALSE;
          check_contract (g_ptr_array_index (analyses, a), &style, &medium_cases[m]);
        }
}

static guint
count_values (GArray *texts)
{
  guint n = 0;

  for (guint k = 0; k < texts->len; k++)
    n += g_array_index (texts, JacTextRect, k).value;
  return n;
}

/* At the window's size on a 1280×720 projector (cells of ~60 px) every cell shows its value;
 * values never go under the minimum, so tiny cells show none. */
static void
test_values_when_they_fit (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);
  g_autoptr(JacAnalysis) big = make_analysis_full (16, 3, 32, FALSE, JAC_VAR_H_PREV);
  JacFigureStyle style;
  g_autoptr(GArray) texts = NULL;
  g_autoptr(GArray) tiny = NULL;

  jac_figure_style_init (&style);
  style.show_values = TRUE;
  texts = jac_figure_text_rects (930, 470, analysis, &style);
  /* 2 nonzero blocks of 3×3, and the "0" of the 2 zero blocks. */
  g_assert_cmpuint (count_values (texts), >=, 2 * 9 + 2);
  tiny = jac_figure_text_rects (930, 470, big, &style);
  for (guint k = 0; k < tiny->len; k++)
    if (g_array_index (tiny, JacTextRect, k).value)
      g_assert_cmpfloat (g_array_index (tiny, JacTextRect, k).size, >=, 11);
}

/* The answer is on the figure, in the layout asked for. */
static gboolean
texts_contain (GArray     *texts,
               const char *needle)
{
  for (guint k = 0; k < texts->len; k++)
    if (strstr (g_array_index (texts, JacTextRect, k).text, needle) != NULL)
      return TRUE;
  return FALSE;
}

static void
test_answer_on_figure (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);
  g_autoptr(JacAnalysis) expr = make_expr_case (0);
  JacFigureStyle style;
  g_autoptr(GArray) numerator = NULL;
  g_autoptr(GArray) denominator = NULL;
  g_autoptr(GArray) row = NULL;
  g_autoptr(GArray) typed = NULL;

  jac_figure_style_init (&style);
  numerator = jac_figure_text_rects (930, 470, analysis, &style);
  g_assert_true (texts_contain (numerator, "block (i, i) = diag(Si) Whhᵀ; blocks with p ≠ i are 0"));
  g_assert_true (texts_contain (numerator, "why the transpose"));
  g_assert_true (texts_contain (numerator, "so Σ G·J = (G ⊙ S) Whhᵀ"));
  g_assert_false (texts_contain (numerator, "left out"));
  style.denominator_layout = TRUE;
  denominator = jac_figure_text_rects (930, 470, analysis, &style);
  g_assert_true (texts_contain (denominator, "block (i, i) = Whh diag(Si)"));
  g_assert_true (texts_contain (denominator, "the transpose of the numerator figure"));
  g_assert_true (texts_contain (denominator, "blocks (p, i)"));
  style.denominator_layout = FALSE;
  style.focus_row = 1;
  row = jac_figure_text_rects (930, 470, analysis, &style);
  g_assert_true (texts_contain (row, "row i = 1: only block p = 1 is nonzero"));
  style.focus_row = -1;
  typed = jac_figure_text_rects (930, 470, expr, &style);
  g_assert_true (texts_contain (typed, "nonzero only where p = i"));
  g_assert_true (texts_contain (typed, "Σ G·J = G Aᵀ"));
}

/* Denominator layout is the transpose of the numerator figure, block grid included: block
 * (i, p) entry (j, q) sits where the numerator figure has block (p, i) entry (q, j), mirrored. */
static void
test_denominator_transposes_grid (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis_full (2, 3, 3, FALSE, JAC_VAR_W_HH);
  JacFigureStyle num, den;
  JacFigureLayout *a, *b;
  cairo_surface_t *sa, *sb;
  const int width = 1200, height = 800;

  jac_figure_style_init (&num);
  num.show_values = FALSE;
  num.show_contraction = FALSE;
  den = num;
  den.denominator_layout = TRUE;
  a = _jac_figure_layout_new (analysis, &num, width, height, NULL);
  b = _jac_figure_layout_new (analysis, &den, width, height, NULL);
  g_assert_cmpuint (a->disp_rows, ==, 2);
  g_assert_cmpuint (a->disp_cols, ==, 3);
  g_assert_cmpuint (b->disp_rows, ==, 3);
  g_assert_cmpuint (b->disp_cols, ==, 2);
  sa = draw_figure (analysis, &num, width, height);
  sb = draw_figure (analysis, &den, width, height);
  for (gsize i = 0; i < 2; i++)
    for (gsize p = 0; p < 3; p++)
      {
        gsize ra, ca, rb, cb;
        JacRect block_a, block_b;

        g_assert_true (_jac_figure_layout_block_slot (a, i, p, &ra, &ca));
        g_assert_true (_jac_figure_layout_block_slot (b, i, p, &rb, &cb));
        g_assert_cmpuint (ra, ==, cb);
        g_assert_cmpuint (ca, ==, rb);
        _jac_figure_layout_slot_rect (a, ra, ca, &block_a);
        _jac_figure_layout_slot_rect (b, rb, cb, &block_b);
        for (gsize j = 0; j < 3; j++)
          for (gsize q = 0; q < 3; q++)
            {
              gboolean zero = FALSE;
              JacRect ea, eb;

              jac_analysis_block_entry (analysis, i, p, j, q, &zero);
              _jac_figure_layout_entry_rect (a, &block_a, j, j + 1, q, q + 1, &ea);
              _jac_figure_layout_entry_rect (b, &block_b, j, j + 1, q, q + 1, &eb);
              /* Rows j in one are columns j in the other (the cells' sizes may differ). */
              g_assert_cmpfloat (fabs ((ea.y - block_a.y) / ea.height
                                       - (eb.x - block_b.x) / eb.width), <, 1e-9);
              g_assert_cmpfloat (fabs ((ea.x - block_a.x) / ea.width
                                       - (eb.y - block_b.y) / eb.height), <, 1e-9);
              /* Hatching is anchored to each block; values must be the same colour. */
              if (!zero)
                g_assert_cmphex (pixel_at (sa, (int) (ea.x + ea.width / 2),
                                           (int) (ea.y + ea.height / 2)), ==,
                                 pixel_at (sb, (int) (eb.x + eb.width / 2),
                                           (int) (eb.y + eb.height / 2)));
            }
      }
  cairo_surface_destroy (sa);
  cairo_surface_destroy (sb);
  _jac_figure_layout_free (a);
  _jac_figure_layout_free (b);
}

/* What the figure draws into @cr scaled by @scale, as text rects. */
static GArray *
texts_at_scale (const JacAnalysis    *analysis,
                const JacFigureStyle *style,
                int                   width,
                int                   height,
                double                scale,
                cairo_surface_t     **surface)
{
  JacFigureCounters counters = { 0 };
  cairo_t *cr;

  *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) (width * scale),
                                         (int) (height * scale));
  cr = cairo_create (*surface);
  cairo_scale (cr, scale, scale);
  counters.texts = g_array_new (FALSE, FALSE, sizeof (JacTextRect));
  _jac_figure_draw_counted (cr, width, height, analysis, style, TRUE, &counters);
  cairo_destroy (cr);
  cairo_surface_flush (*surface);
  return counters.texts;
}

static void
free_texts (GArray *texts)
{
  for (guint k = 0; k < texts->len; k++)
    g_free (g_array_index (texts, JacTextRect, k).text);
  g_array_unref (texts);
}

/* Mean absolute difference per channel between @small and @large box-filtered down by @k. */
static double
downscaled_difference (cairo_surface_t *small,
                       cairo_surface_t *large,
                       int              k)
{
  int width = cairo_image_surface_get_width (small), height = cairo_image_surface_get_height (small);
  double total = 0;

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int shift = 0; shift <= 16; shift += 8)
        {
          double sum = 0;

          for (int v = 0; v < k; v++)
            for (int u = 0; u < k; u++)
              sum += channel (pixel_at (large, x * k + u, y * k + v), shift);
          total += fabs (sum / (k * k) - channel (pixel_at (small, x, y), shift));
        }
  return total / (3.0 * width * height);
}

/* 2× and 3× are the 1× figure with more pixels: the same text in the same places, and the
 * pixels agree once averaged down. */
static void
test_scale_invariant (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);
  g_autoptr(JacAnalysis) expr = make_expr_case (6);
  const JacAnalysis *cases[] = { analysis, expr };
  JacFigureStyle style;

  jac_figure_style_init (&style);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      cairo_surface_t *s1, *s2, *s3;
      GArray *t1 = texts_at_scale (cases[c], &style, 930, 470, 1, &s1);
      GArray *t2 = texts_at_scale (cases[c], &style, 930, 470, 2, &s2);
      GArray *t3 = texts_at_scale (cases[c], &style, 930, 470, 3, &s3);
      double d2, d3;

      g_assert_cmpuint (t1->len, ==, t2->len);
      g_assert_cmpuint (t1->len, ==, t3->len);
      for (guint k = 0; k < t1->len; k++)
        {
          const JacTextRect *a = &g_array_index (t1, JacTextRect, k);
          const JacTextRect *b = &g_array_index (t2, JacTextRect, k);
          const JacTextRect *d = &g_array_index (t3, JacTextRect, k);

          g_assert_cmpstr (a->text, ==, b->text);
          g_assert_cmpstr (a->text, ==, d->text);
          g_assert_cmpfloat (fabs (a->x - b->x) + fabs (a->y - b->y), <, 1e-9);
          g_assert_cmpfloat (fabs (a->width - b->width) + fabs (a->height - b->height), <, 1e-9);
          g_assert_cmpfloat (fabs (a->x - d->x) + fabs (a->width - d->width), <, 1e-9);
          g_assert_cmpfloat (a->size, ==, b->size);
        }
      d2 = downscaled_difference (s1, s2, 2);
      d3 = downscaled_difference (s1, s3, 3);
      g_test_message ("mean |1× − 2×↓| = %.2f, |1× − 3×↓| = %.2f levels", d2, d3);
      /* The text rectangles above are exact; what is left is antialiasing, which grows with
       * the amount of text (the finite-difference check beside the contracted form's took the
       * RNN figure from 2.9 to 3.05 levels). A garbled raster differs by tens of levels. */
      g_assert_cmpfloat (d2, <, 3.5);
      g_assert_cmpfloat (d3, <, 3.5);
      free_texts (t1);
      free_texts (t2);
      free_texts (t3);
      cairo_surface_destroy (s1);
      cairo_surface_destroy (s2);
      cairo_surface_destroy (s3);
    }
}

/* A small area leaves elements out in the documented order and says so; a large one keeps
 * everything and says nothing. */
static void
test_left_out (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);
  JacFigureStyle style;
  JacFigureLayout *large, *small, *hidden;
  g_autoptr(GArray) small_texts = NULL;

  jac_figure_style_init (&style);
  large = _jac_figure_layout_new (analysis, &style, 1600, 900, NULL);
  g_assert_cmpint (large->omit, ==, 0);
  small = _jac_figure_layout_new (analysis, &style, 640, 400, NULL);
  g_assert_cmpint (small->omit, !=, 0);
  /* Cumulative: whatever is left out, everything earlier in the order is too. */
  for (JacOmit bit = 1; bit < JAC_OMIT_ALL; bit <<= 1)
    if (small->omit & bit)
      g_assert_cmpint (small->omit & (bit - 1) & ~JAC_OMIT_WHY, ==,
                       (JAC_OMIT_ALL & (bit - 1)) & ~JAC_OMIT_WHY);
  small_texts = jac_figure_text_rects (640, 400, analysis, &style);
  g_assert_true (texts_contain (small_texts, "left out to fit:"));
  /* A panel the user hid is not "left out". */
  style.show_contraction = FALSE;
  hidden = _jac_figure_layout_new (analysis, &style, 1600, 900, NULL);
  g_assert_cmpint (hidden->omit, ==, 0);
  _jac_figure_layout_free (large);
  _jac_figure_layout_free (small);
  _jac_figure_layout_free (hidden);
}

/* ---- the vec layout ---- */

/* The figure contract (type minimums, inside the figure, no overlaps) holds in vec layout too. */
static void
test_vec_contract (void)
{
  g_autoptr(GPtrArray) analyses = contract_analyses ();

  g_ptr_array_add (analyses, make_analysis_full (4, 3, 8, FALSE, JAC_VAR_H_PREV));
  g_ptr_array_add (analyses, make_analysis_full (6, 3, 5, FALSE, JAC_VAR_W_HH));
  g_ptr_array_add (analyses, make_expr_case (2));
  g_ptr_array_add (analyses, make_expr_case (3));
  for (guint m = 0; m < G_N_ELEMENTS (medium_cases); m++)
    for (guint a = 0; a < analyses->len; a++)
      for (guint k = 0; k < 4; k++)
        {
          JacFigureStyle style;

          /* Denominator and a focus row are asked for too: vec takes precedence over both. */
          contract_style (k, &medium_cases[m], &style);
          style.vec_layout = TRUE;
          check_contract (g_ptr_array_index (analyses, a), &style, &medium_cases[m]);
          style.show_contraction = FALSE;
          check_contract (g_ptr_array_index (analyses, a), &style, &medium_cases[m]);
        }
}

/* Every cell of the (N·H)×(N·H) matrix: row i·H + j, column p·H + q is J[i, j, p, q] (the dense
 * tensor reshaped), hit-testing finds it there, structural zeros are hatched grey and the others
 * coloured from the map; lines mark where blocks meet; the identity is on the figure. */
static void
test_vec_matrix (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis_full (3, 2, 4, FALSE, JAC_VAR_H_PREV);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) matrix = jac_kron_matricize (analysis->jacobian, FALSE, 0, &error);
  g_autoptr(GArray) texts = NULL;
  JacFigureStyle style = plain_style ();
  const int width = 1600, height = 900;
  JacFigureLayout *layout;
  cairo_surface_t *surface;
  const gsize n = 3, h = 4;
  double cell_w, cell_h;
  gboolean found_identity = FALSE, found_rule = FALSE;
  guint n_zero = 0, n_coloured = 0;

  g_assert_no_error (error);
  style.vec_layout = TRUE;
  style.show_contraction = FALSE;
  layout = _jac_figure_layout_new (analysis, &style, width, height, NULL);
  surface = draw_figure (analysis, &style, width, height);
  g_assert_true (layout->vec);
  /* One matrix: blocks touch. */
  g_assert_cmpfloat (layout->pitch_x, ==, layout->block_width);
  g_assert_cmpfloat (layout->pitch_y, ==, layout->block_height);
  cell_w = layout->block_width / h;
  cell_h = layout->block_height / h;
  g_assert_cmpfloat (layout->grid.width, ==, cell_w * n * h);

  for (gsize r = 0; r < n * h; r++)
    for (gsize c = 0; c < n * h; c++)
      {
        double x = layout->grid_x + (c + 0.5) * cell_w, y = layout->grid_y + (r + 0.5) * cell_h;
        double x_off = layout->grid_x + (c + 0.2) * cell_w;
        JacFigureHit hit;
        gboolean zero;
        double value;
        guint32 argb;

        g_assert_true (jac_figure_hit_test (analysis, &style, width, height, x, y, &hit));
        g_assert_cmpint (hit.panel, ==, JAC_PANEL_JACOBIAN);
        g_assert_cmpuint (hit.block_row, ==, r / h);
        g_assert_cmpuint (hit.block_col, ==, c / h);
        g_assert_cmpuint (hit.row, ==, r % h);
        g_assert_cmpuint (hit.col, ==, c % h);
        value = jac_analysis_block_entry (analysis, hit.block_row, hit.block_col, hit.row,
                                          hit.col, &zero);
        g_assert_cmpfloat (value, ==, JAC_AT2 (matrix, r, c));
        g_assert_cmpint (zero, ==, r / h != c / h);
        /* Off the cell's centre, where a block's "0" is not. */
        argb = pixel_at (surface, (int) x_off, (int) (layout->grid_y + (r + 0.2) * cell_h));
        if (zero)
          {
            g_assert_cmpint (ABS (channel (argb, 16) - channel (argb, 8)), <=, 1);
            g_assert_cmpint (ABS (channel (argb, 8) - channel (argb, 0)), <=, 1);
            g_assert_cmpint (distance_to_colormap (style.colormap, argb), >, 8);
            n_zero++;
          }
        else
          {
            g_assert_cmpint (distance_to_colormap (style.colormap, argb), <=, 2);
            n_coloured++;
          }
      }
  g_assert_cmpuint (n_zero, ==, n * h * n * h - n * h * h);
  g_assert_cmpuint (n_coloured, ==, n * h * h);

  for (guint k = 0; k < layout->rules->len; k++)
    {
      const JacRule *rule = &g_array_index (layout->rules, JacRule, k);

      found_rule |= fabs (rule->y0 - (layout->grid_y + layout->block_height)) < 1e-9
                    && rule->y1 == rule->y0 && fabs (rule->x0 - layout->grid_x) < 1e-9
                    && fabs (rule->x1 - (layout->grid_x + layout->grid.width)) < 1e-9;
    }
  g_assert_true (found_rule);

  texts = jac_figure_text_rects (width, height, analysis, &style);
  for (guint k = 0; k < texts->len; k++)
    {
      const char *text = g_array_index (texts, JacTextRect, k).text;

      found_identity |= strstr (text, "diag(vec S) (I3 ⊗ Whhᵀ) (row-major vec)") != NULL
                        && strstr (text, "diag(vec S) (Whhᵀ ⊗ I3) (column-major vec, "
                                   "Magnus–Neudecker)") != NULL;
    }
  g_assert_true (found_identity);
  _jac_figure_layout_free (layout);
  cairo_surface_destroy (surface);
}

static gboolean
figure_says (const JacAnalysis *analysis,
             const char        *needle)
{
  g_autoptr(GArray) texts = NULL;
  JacFigureStyle style = plain_style ();

  style.vec_layout = TRUE;
  texts = jac_figure_text_rects (1280, 720, analysis, &style);
  for (guint k = 0; k < texts->len; k++)
    if (strstr (g_array_index (texts, JacTextRect, k).text, needle) != NULL)
      return TRUE;
  return FALSE;
}

/* Without a Kronecker form the caption says so rather than state a wrong identity; the identity
 * follows the Jacobian drawn (it is kept between layouts of the same one), also when a new
 * Jacobian reuses the old one's memory. */
static void
test_vec_no_form (void)
{
  g_autoptr(JacAnalysis) softmax = make_expr_case (6);

  g_assert_true (figure_says (softmax, "has no single Kronecker form"));
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(JacAnalysis) by_h_prev = make_analysis (JAC_VAR_H_PREV);
      g_autoptr(JacAnalysis) by_x = NULL;

      g_assert_true (figure_says (by_h_prev, "(I2 ⊗ Whhᵀ)"));
      g_clear_pointer (&by_h_prev, jac_analysis_free);
      by_x = make_analysis (JAC_VAR_X);
      g_assert_true (figure_says (by_x, "(I2 ⊗ Wxhᵀ)"));
      g_assert_false (figure_says (by_x, "(I2 ⊗ Whhᵀ)"));
    }
  g_assert_true (figure_says (softmax, "has no single Kronecker form"));
}

/* ---- value zeros ---- */

static JacAnalysis *
make_relu_analysis (gsize batch,
                    gsize hidden)
{
  g_autoptr(GError) error = NULL;
  JacRnnConfig config;
  JacAnalysis *analysis;
  JacRnn *rnn;

  jac_rnn_config_init_default (&config);
  config.batch = batch;
  config.hidden = hidden;
  config.activation = JAC_FUNC_RELU;
  rnn = jac_rnn_new (&config, NULL, &error);
  g_assert_no_error (error);
  analysis = jac_analysis_new (rnn, JAC_VAR_H_PREV, JAC_UPSTREAM_RANDOM, NULL, &error);
  g_assert_no_error (error);
  return analysis;
}

/* Entries of the dense tensor that are 0 where no δ forces them: the independent count. */
static gsize
dense_value_zeros (const JacAnalysis *analysis)
{
  g_autoptr(JacTensor) dense = jac_structured_to_dense (analysis->jacobian, 0, NULL);
  g_autofree guint8 *mask = NULL;
  gsize shape[JAC_MAX_RANK], count = 0;
  guint rank;

  mask = jac_analysis_structural_zero_mask (analysis, &rank, shape, NULL);
  g_assert_nonnull (mask);
  g_assert_cmpuint (rank, ==, dense->rank);
  for (gsize e = 0; e < dense->size; e++)
    count += !mask[e] && dense->data[e] == 0.0;
  return count;
}

/* A pool that says what its single cell is: kind and value from a table. */
typedef struct
{
  JacCellKind kind[4];
  double      value[4];
} FakeCells;

static JacCellKind
fake_pool (gconstpointer  data,
           gsize          row0,
           gsize          row1,
           gsize          col0,
           gsize          col1,
           double        *value)
{
  const FakeCells *cells = data;

  *value = cells->value[col0];
  return cells->kind[col0];
}

/* The heatmap gives value zeros their colour only when asked; dense panels keep the map's 0. */
static void
test_value_zero_cells (void)
{
  FakeCells cells = { { JAC_CELL_VALUE, JAC_CELL_VALUE, JAC_CELL_VALUE_ZERO, JAC_CELL_ZERO },
                      { 0.25, 0.0, 0.7, 0 } };
  JacHeatmapColors colors = { JAC_COLORMAP_BLUE_RED, 1.0, 0xff808080u, 0 };
  guint32 pixels[4];

  jac_heatmap_fill (pixels, 4, 4, 1, 1, 4, fake_pool, &cells, &colors);
  g_assert_cmphex (pixels[0], ==, jac_colormap_argb (colors.colormap, 0.25, 1.0));
  g_assert_cmphex (pixels[1], ==, jac_colormap_argb (colors.colormap, 0.0, 1.0));
  g_assert_cmphex (pixels[2], ==, jac_colormap_argb (colors.colormap, 0.0, 1.0));
  g_assert_cmphex (pixels[3], ==, 0xff808080u);

  for (JacColormap map = 0; map < JAC_N_COLORMAPS; map++)
    {
      colors.colormap = map;
      colors.value_zero_argb = jac_colormap_value_zero_argb (map);
      jac_heatmap_fill (pixels, 4, 4, 1, 1, 4, fake_pool, &cells, &colors);
      g_assert_cmphex (pixels[0], ==, jac_colormap_argb (map, 0.25, 1.0));
      g_assert_cmphex (pixels[1], ==, colors.value_zero_argb);
      g_assert_cmphex (pixels[2], ==, colors.value_zero_argb);
      g_assert_cmphex (pixels[3], ==, 0xff808080u);
      /* Not a small value: far from the map's 0 and from its colours near 0. */
      g_assert_cmpint (distance_to_colormap (map, colors.value_zero_argb), >,
                       map == JAC_COLORMAP_GRAY ? 4 : 40);
      g_assert_cmpint (ABS (channel (colors.value_zero_argb, 8)
                            - channel (jac_colormap_argb (map, 0.0, 1.0), 8)), >, 40);
    }
}

/* ReLU off empties rows of block (i, i): those cells are amber, the others the map's colour. */
static void
test_value_zero_pixels (void)
{
  g_autoptr(JacAnalysis) analysis = make_relu_analysis (2, 5);
  JacFigureStyle style = plain_style ();
  const int width = 1600, height = 900;
  JacFigureLayout *layout = _jac_figure_layout_new (analysis, &style, width, height, NULL);
  cairo_surface_t *surface = draw_figure (analysis, &style, width, height);
  guint32 amber = jac_colormap_value_zero_argb (style.colormap);
  guint n_value_zero = 0, n_value = 0;

  g_assert_cmpuint (dense_value_zeros (analysis), >, 0);
  for (gsize i = 0; i < 2; i++)
    for (gsize j = 0; j < 5; j++)
      for (gsize q = 0; q < 5; q++)
        {
          JacFigureHit want = { JAC_PANEL_JACOBIAN, i, i, j, q };
          gboolean structural = TRUE;
          double value = jac_analysis_block_entry (analysis, i, i, j, q, &structural);
          gboolean found = FALSE;

          g_assert_false (structural);
          for (int y = 0; y < height && !found; y += 3)
            for (int x = 0; x < width && !found; x += 3)
              if (well_inside (layout, x, y, is_cell, &want))
                {
                  guint32 argb = pixel_at (surface, x, y) & 0xffffff;

                  if (value == 0.0)
                    g_assert_cmphex (argb, ==, amber & 0xffffff);
                  else
                    g_assert_cmphex (argb, ==, jac_colormap_argb (style.colormap, value,
                                                                  analysis->jacobian_max_abs)
                                               & 0xffffff);
                  n_value_zero += value == 0.0;
                  n_value += value != 0.0;
                  found = TRUE;
                }
          g_assert_true (found);
        }
  g_assert_cmpuint (n_value_zero, >, 0);
  g_assert_cmpuint (n_value, >, 0);
  g_assert_cmpuint (n_value_zero, ==, dense_value_zeros (analysis));
  _jac_figure_layout_free (layout);
  cairo_surface_destroy (surface);
}

/* The legend counts them, with the reason, as the dense tensor does; tanh has none. */
static void
test_value_zero_legend (void)
{
  g_autoptr(JacAnalysis) relu = make_relu_analysis (2, 5);
  g_autoptr(JacAnalysis) tanh_analysis = make_analysis (JAC_VAR_H_PREV);
  JacFigureStyle style;
  g_autoptr(GArray) texts = NULL;
  g_autoptr(GArray) tanh_texts = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *sentence = NULL;
  g_autofree char *reason = jac_analysis_value_zero_reason (relu);
  gsize count = dense_value_zeros (relu);

  jac_figure_style_init (&style);
  g_assert_cmpuint (jac_analysis_count_value_zeros (relu), ==, count);
  g_assert_cmpstr (reason, ==, "ReLU off");
  texts = jac_figure_text_rects (2400, 1000, relu, &style);
  expected = g_strdup_printf ("%" G_GSIZE_FORMAT " more are exactly 0 for these values: ReLU off",
                              count);
  g_assert_true (texts_contain (texts, expected));
  sentence = jac_analysis_value_zero_sentence (relu);
  g_assert_true (g_str_has_prefix (sentence, "; "));

  g_assert_cmpuint (jac_analysis_count_value_zeros (tanh_analysis), ==, 0);
  g_assert_cmpuint (dense_value_zeros (tanh_analysis), ==, 0);
  tanh_texts = jac_figure_text_rects (2400, 1000, tanh_analysis, &style);
  g_assert_false (texts_contain (tanh_texts, "for these values"));
}

/* The per-sample view shows the N blocks (i, i) only, hover names them, and the memory line
 * compares the dense tensor with the blocks; a Jacobian that is not batch-diagonal keeps its
 * grid. */
static void
test_per_sample_layout (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis_full (4, 3, 5, FALSE, JAC_VAR_H_PREV);
  g_autoptr(JacAnalysis) weights = make_analysis_full (3, 3, 3, FALSE, JAC_VAR_W_HH);
  g_autoptr(JacTensor) blocks = jac_analysis_per_sample (analysis, NULL);
  g_autoptr(JacTensor) dense = jac_structured_to_dense (analysis->jacobian, 0, NULL);
  g_autoptr(GArray) texts = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *memory = jac_analysis_per_sample_memory_text (analysis);
  JacFigureStyle style = plain_style ();
  JacFigureLayout *layout, *grid;
  gsize sr, sc;

  /* The blocks are the dense tensor's J[i, :, i, :]. */
  g_assert_nonnull (blocks);
  g_assert_cmpuint (blocks->shape[0], ==, 4);
  for (gsize i = 0; i < 4; i++)
    for (gsize j = 0; j < 5; j++)
      for (gsize q = 0; q < 5; q++)
        g_assert_cmpfloat (blocks->data[(i * 5 + j) * 5 + q], ==,
                           dense->data[((i * 5 + j) * 4 + i) * 5 + q]);
  /* 400 doubles against 100; GLib puts a no-break space before the unit. */
  g_assert_cmpstr (memory, ==, "dense 3.1\xc2\xa0KiB · stored 800 bytes");

  style.per_sample = TRUE;
  layout = _jac_figure_layout_new (analysis, &style, 1600, 900, NULL);
  g_assert_true (layout->per_sample);
  for (gsize i = 0; i < 4; i++)
    for (gsize p = 0; p < 4; p++)
      {
        gboolean shown = _jac_figure_layout_block_slot (layout, i, p, &sr, &sc);
        gsize bi = G_MAXSIZE, bp = G_MAXSIZE;

        g_assert_cmpint (shown, ==, i == p);
        if (!shown)
          continue;
        g_assert_true (_jac_figure_layout_slot_block (layout, sr, sc, &bi, &bp));
        g_assert_cmpuint (bi, ==, i);
        g_assert_cmpuint (bp, ==, i);
      }
  texts = jac_figure_text_rects (1600, 900, analysis, &style);
  g_assert_true (texts_contain (texts, "dense 3.1\xc2\xa0KiB"));
  g_assert_true (texts_contain (texts, "(3, 3)"));
  g_assert_false (texts_contain (texts, "(0, 1)"));

  g_assert_false (jac_analysis_is_batch_diagonal (weights, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==,
                   "∂h/∂W_hh is not batch-diagonal: block (0, 1) is not forced to 0");
  grid = _jac_figure_layout_new (weights, &style, 1600, 900, NULL);
  g_assert_false (grid->per_sample);
  g_assert_true (_jac_figure_layout_block_slot (grid, 0, 1, &sr, &sc));
  _jac_figure_layout_free (layout);
  _jac_figure_layout_free (grid);
}

/* Pooled: ReLU off for a whole row of X empties block (0, 0), drawn smaller than its cells; its
 * pixels are amber, and block (1, 1)'s are the map's. */
static void
test_value_zero_pooled (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  g_autoptr(JacAnalysis) analysis = NULL;
  JacFigureStyle style = plain_style ();
  const int width = 1600, height = 900;
  const gsize off[2] = { 0, 0 }, on[2] = { 1, 1 };
  JacFigureLayout *layout;
  cairo_surface_t *surface;
  JacExpr *expr;
  JacTensor *x;
  guint32 amber = jac_colormap_value_zero_argb (style.colormap) & 0xffffff;
  guint n_off = 0, n_off_amber = 0, n_on = 0, n_on_amber = 0;

  g_assert_true (jac_shape_env_parse_declarations (env, "X: 3×200, W: 200×200", NULL, &error));
  expr = jac_expr_parse ("Y = relu(X) @ W", env, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (jac_expr_draw_variables (expr, NULL, 1, &error));
  x = jac_graph_node (expr->graph, jac_graph_find_variable (expr->graph, "X"))->value;
  for (gsize q = 0; q < 200; q++)
    JAC_AT2 (x, 0, q) = -0.5 - 0.001 * q;
  analysis = jac_analysis_new_expr (expr, "X", JAC_UPSTREAM_RANDOM, NULL, 1, &error);
  g_assert_no_error (error);
  layout = _jac_figure_layout_new (analysis, &style, width, height, NULL);
  g_assert_cmpfloat (layout->block_width, <, 200);
  surface = draw_figure (analysis, &style, width, height);
  for (int y = 0; y < height; y += 2)
    for (int x_px = 0; x_px < width; x_px += 2)
      {
        gboolean is_off = well_inside (layout, x_px, y, is_block, off);
        gboolean is_on = !is_off && well_inside (layout, x_px, y, is_block, on);
        gboolean is_amber = (pixel_at (surface, x_px, y) & 0xffffff) == amber;

        n_off += is_off;
        n_off_amber += is_off && is_amber;
        n_on += is_on;
        n_on_amber += is_on && is_amber;
      }
  g_test_message ("off %u/%u on %u/%u", n_off_amber, n_off, n_on_amber, n_on);
  g_assert_cmpuint (n_off, >, 1000);
  g_assert_cmpuint (n_off_amber, ==, n_off);
  g_assert_cmpuint (n_on, >, 1000);
  /* Block (1, 1) is zero only where X[1, q] < 0: whole columns, none wide enough to fill a
   * pooled pixel's samples every time. */
  g_assert_cmpuint (n_on_amber, <, n_on / 4);
  _jac_figure_layout_free (layout);
  cairo_surface_destroy (surface);
}

/* Where terms overlap their values add: the colour range is the sum's largest entry, so no
 * cell of Xᵀ X is drawn past the colour bar's end. */
static void
test_sum_colour_range (void)
{
  g_autoptr(JacAnalysis) analysis = make_expr_analysis ("X.T @ X", "X: 3×2", "X");
  g_autoptr(JacTensor) dense = jac_structured_to_dense (analysis->jacobian, 0, NULL);

  g_assert_cmpuint (analysis->jacobian->n_terms, ==, 2);
  g_assert_cmpfloat_with_epsilon (analysis->jacobian_max_abs, jac_tensor_max_abs (dense), 1e-15);
}

/* ---- the generic machinery: entry factors, block notes ---- */

/* Hover names the factors of an entry: their values, multiplied, are the entry, for every entry
 * of every expression whose derivative is one term without sums (and those are many). */
static void
test_entry_factors (void)
{
  static const ExprCase cases[] = {
    { "U = V @ A", "V: 2×4, A: 4×3", "V" },
    { "U = V @ A", "V: 2×4, A: 4×3", "A" },
    { "Y = tanh(X @ W + b)", "X: 3×2, W: 2×4, b: 4", "W" },
    { "Y = sigmoid(X @ W)", "X: 3×2, W: 2×4", "X" },
    { "Y = X * X * X", "X: 2×3", "X" },
    { "Y = exp(X) * A", "X: 2×3, A: 2×3", "X" },
    { "Y = relu(X @ W)", "X: 3×2, W: 2×2", "W" },
    { "h = tanh(h_prev @ W_hh + x @ W_xh + b)",
      "h_prev: 2×3, W_hh: 3×3, x: 2×3, W_xh: 3×3, b: 3", "b" },
  };
  guint n_with_factors = 0;

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(JacAnalysis) a = make_expr_analysis (cases[k].source, cases[k].shapes,
                                                     cases[k].wrt);
      const JacDerivation *d = a->derivation;
      const JacStructured *jac = a->jacobian;
      gsize n_out = jac->out_rank == 2 ? jac->out_shape[0] * jac->out_shape[1] : jac->out_shape[0];
      gsize n_wrt = jac->wrt_rank == 2 ? jac->wrt_shape[0] * jac->wrt_shape[1] : jac->wrt_shape[0];

      g_test_message ("%s wrt %s", cases[k].source, cases[k].wrt);
      g_assert_cmpuint (d->n_entry_factors, >, 0);
      n_with_factors++;
      for (gsize o = 0; o < n_out; o++)
        for (gsize w = 0; w < n_wrt; w++)
          {
            gsize out[2], wrt[2];
            gboolean zero = FALSE;
            double value, product = d->entry_coef;

            out[0] = jac->out_rank == 2 ? o / jac->out_shape[1] : o;
            out[1] = jac->out_rank == 2 ? o % jac->out_shape[1] : 0;
            wrt[0] = jac->wrt_rank == 2 ? w / jac->wrt_shape[1] : w;
            wrt[1] = jac->wrt_rank == 2 ? w % jac->wrt_shape[1] : 0;
            value = jac_structured_get (jac, out, wrt, &zero);
            if (zero)
              continue;
            for (guint f = 0; f < d->n_entry_factors; f++)
              product *= jac_entry_factor_value (&d->entry_factors[f], a->graph, out, wrt);
            g_assert_cmpfloat (fabs (product - value), <=, 1e-12 * MAX (1, fabs (value)));
          }
    }
  g_assert_cmpuint (n_with_factors, ==, G_N_ELEMENTS (cases));

  /* And the hover text of an expression with a named slope: Y = tanh(X @ W) wrt W. */
  {
    g_autoptr(JacAnalysis) a = make_expr_analysis ("Y = tanh(X @ W)", "X: 3×2, W: 2×4", "W");
    JacFigureHit hit = { JAC_PANEL_JACOBIAN, 1, 0, 2, 2 };
    g_autofree char *text = jac_figure_describe_hit (a, &hit);

    /* ∂Y_ij/∂W_kl = (1 − Y_ij²) X_ik δ_jl, at i = 1, j = 2, k = 0, l = 2. */
    assert_contains (text, "J[1,2,0,2] = ∂Y[1,2]/∂W[0,2] = tanh′[1,2] · X[1,0] = ");
  }
}

/* The block formula and the why line are read off the derivative for every expression that
 * reads as blocks, not only the RNN. */
static void
test_block_notes (void)
{
  static const struct { const char *source, *shapes, *wrt, *block, *why; } cases[] = {
    { "U = V @ A", "V: 2×4, A: 4×3", "V", "block (<i>i</i>, <i>i</i>) = Aᵀ; blocks with <i>p</i> ≠ "
      "<i>i</i> are 0 (δ<sub><i>ip</i></sub>)", "why the transpose: δ<sub><i>ip</i></sub> collapses "
      "the sum over <i>i</i>; the sum left runs over A’s <i>second</i> index <i>j</i>, so Σ G·J = "
      "G Aᵀ" },
    { "U = V @ A", "V: 2×4, A: 4×3", "A", "block (<i>i</i>, <i>p</i>) = V[<i>i</i>, <i>p</i>] "
      "<i>I</i>: only <i>q</i> = <i>j</i> is nonzero (δ<sub><i>jq</i></sub>)", "why Vᵀ on the left" },
    { "Y = X * A", "X: 2×3, A: 2×3", "X", "block (<i>i</i>, <i>i</i>) = diag(A<sub><i>i</i></sub>); "
      "blocks with <i>p</i> ≠ <i>i</i> are 0 (δ<sub><i>ip</i></sub>)", "both δs collapse their sums" },
    { "Y = X + v", "X: 2×3, v: 3", "v", "block <i>i</i> = <i>I</i>: only <i>q</i> = <i>j</i> is "
      "nonzero (δ<sub><i>jq</i></sub>)", "is shared by every row <i>i</i>" },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(JacAnalysis) a = make_expr_analysis (cases[k].source, cases[k].shapes,
                                                     cases[k].wrt);
      g_autofree char *block = jac_analysis_block_markup (a, FALSE);
      g_autofree char *why = jac_analysis_why_markup (a);

      g_test_message ("%s wrt %s", cases[k].source, cases[k].wrt);
      g_assert_true (jac_analysis_reads_as_blocks (a));
      g_assert_cmpstr (block, ==, cases[k].block);
      assert_contains (why, cases[k].why);
    }
  /* Two terms (Xᵀ X): no block reading; the general words. */
  {
    g_autoptr(JacAnalysis) a = make_expr_analysis ("X.T @ X", "X: 3×2", "X");
    g_autofree char *why = jac_analysis_why_markup (a);

    g_assert_false (jac_analysis_reads_as_blocks (a));
    assert_contains (why, "every δ collapses a sum");
  }
}

/* The label-fitting helpers both figures use: a text too wide for its room is set smaller, in
 * steps of 10 %, until its measured width fits; never below the minimum, where it overflows. */
static void
test_label_fit (void)
{
  PangoContext *context = _jac_text_context_new (NULL);
  const char *markup = "∂h<sub>T</sub>/∂h<sub>T−k</sub> against the lag k, for every row";
  double full, full_height, height, room;
  gboolean overflow = FALSE;
  JacLabel *label;

  full = _jac_label_measure (context, markup, 20, FALSE, -1, &full_height);
  g_assert_cmpfloat (full, >, 100);
  g_assert_cmpfloat (full_height, >, 0);
  /* Wrapped at half its width, it takes more height than one line. */
  _jac_label_measure (context, markup, 20, FALSE, full / 2, &height);
  g_assert_cmpfloat (height, >, full_height * 1.5);

  /* Room for it as it is: the same size. */
  label = _jac_label_fit (context, markup, 20, 8, FALSE, full + 1, 1, &overflow);
  g_assert_cmpfloat (label->size, ==, 20);
  g_assert_false (overflow);
  _jac_label_free (label);
  /* Room for two thirds of it on one line: smaller, fitting, and not smaller than it needs to
   * be by more than one step. */
  room = full * 2 / 3;
  g_assert_null (_jac_label_fitting (context, markup, 20, FALSE, room, 1));
  label = _jac_label_fit (context, markup, 20, 8, FALSE, room, 1, &overflow);
  g_assert_false (overflow);
  g_assert_cmpfloat (label->size, <, 20);
  g_assert_cmpfloat (label->size, >, 8);
  g_assert_cmpfloat (label->width, <=, room + 0.01);
  g_assert_cmpint (pango_layout_get_line_count (label->layout), ==, 1);
  g_assert_cmpfloat (_jac_label_measure (context, markup, label->size / 0.9, FALSE, -1, NULL),
                     >, room);
  _jac_label_free (label);
  /* No room even at the minimum: wrapped at the minimum, and said. */
  label = _jac_label_fit (context, markup, 20, 8, FALSE, full / 10, 1, &overflow);
  g_assert_true (overflow);
  g_assert_cmpfloat (label->size, ==, 8);
  _jac_label_free (label);

  /* A cell value's size: the room's limiting side decides, capped, or 0 under the minimum. */
  g_assert_cmpfloat_with_epsilon (_jac_fit_text_size (10, 40, 12, 20, 100, 50, 4), 5, 1e-12);
  g_assert_cmpfloat_with_epsilon (_jac_fit_text_size (10, 40, 12, 200, 24, 50, 4), 20, 1e-12);
  g_assert_cmpfloat (_jac_fit_text_size (10, 40, 12, 400, 400, 12, 4), ==, 12);
  g_assert_cmpfloat (_jac_fit_text_size (10, 40, 12, 12, 100, 50, 4), ==, 0);
  g_object_unref (context);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/render/colormap", test_colormap);
  g_test_add_func ("/render/format-from-path", test_format_from_path);
  g_test_add_func ("/render/png", test_png);
  g_test_add_data_func ("/render/svg", ".svg", test_vector);
  g_test_add_data_func ("/render/pdf", ".pdf", test_vector);
  g_test_add_func ("/render/no-temp-files", test_no_temp_files);
  g_test_add_func ("/render/bad-requests", test_bad_requests);
  g_test_add_func ("/render/existing-file-intact", test_existing_file_intact);
  g_test_add_func ("/render/zero-block-pixels", test_zero_block_pixels);
  g_test_add_func ("/render/pooled-diagonal", test_pooled_diagonal);
  g_test_add_func ("/render/hit-round-trip", test_hit_round_trip);
  g_test_add_func ("/render/hit-round-trip-wide", test_hit_round_trip_wide);
  g_test_add_func ("/render/access", test_access);
  g_test_add_func ("/render/access-kron", test_access_kron);
  g_test_add_func ("/render/describe", test_describe);
  g_test_add_func ("/render/styles", test_styles);
  g_test_add_func ("/render/big", test_big);
  g_test_add_func ("/render/zoom-matches-full", test_zoom_matches_full);
  g_test_add_func ("/render/zoom-matches-whole", test_zoom_matches_whole);
  g_test_add_func ("/render/zoom-bounded-work", test_zoom_bounded_work);
  g_test_add_func ("/render/expr-files", test_expr_files);
  g_test_add_func ("/render/expr-styles", test_expr_styles);
  g_test_add_func ("/render/expr-zero-block-pixels", test_expr_zero_block_pixels);
  g_test_add_func ("/render/expr-hit-round-trip", test_expr_hit_round_trip);
  g_test_add_func ("/render/expr-describe", test_expr_describe);
  g_test_add_func ("/render/expr-title", test_expr_title);
  g_test_add_func ("/render/type-minimum", test_type_minimum);
  g_test_add_func ("/render/vec-contract", test_vec_contract);
  g_test_add_func ("/render/vec-matrix", test_vec_matrix);
  g_test_add_func ("/render/vec-no-form", test_vec_no_form);
  g_test_add_func ("/render/values-when-they-fit", test_values_when_they_fit);
  g_test_add_func ("/render/answer-on-figure", test_answer_on_figure);
  g_test_add_func ("/render/denominator-transposes-grid", test_denominator_transposes_grid);
  g_test_add_func ("/render/scale-invariant", test_scale_invariant);
  g_test_add_func ("/render/left-out", test_left_out);
  g_test_add_func ("/render/sum-colour-range", test_sum_colour_range);
  g_test_add_func ("/render/value-zero-cells", test_value_zero_cells);
  g_test_add_func ("/render/value-zero-pixels", test_value_zero_pixels);
  g_test_add_func ("/render/value-zero-legend", test_value_zero_legend);
  g_test_add_func ("/render/per-sample-layout", test_per_sample_layout);
  g_test_add_func ("/render/value-zero-pooled", test_value_zero_pooled);
  g_test_add_func ("/render/entry-factors", test_entry_factors);
  g_test_add_func ("/render/block-notes", test_block_notes);
  g_test_add_func ("/render/label-fit", test_label_fit);

  return g_test_run ();
}
