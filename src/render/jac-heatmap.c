/* jac-heatmap.c: heatmap pixels and their crisp, pixel-snapped painting. */
#define G_LOG_DOMAIN "jac-heatmap"

#include <math.h>

#include "jac-heatmap.h"
#include "core/jac-tensor.h"

gsize
jac_heatmap_sample_count (gsize start,
                          gsize end)
{
  return MIN (end - start, (gsize) JAC_HEATMAP_POOL_SAMPLES);
}

gsize
jac_heatmap_sample (gsize start,
                    gsize end,
                    gsize k)
{
  gsize n = end - start;

  return start + k * n / jac_heatmap_sample_count (start, end);
}

/* The cells pixel @v of @n pixels covers among @cells: one cell (its centre's) when pixels are
 * at least as many as cells, a run of them when they are fewer. */
static void
pixel_span (int    v,
            int    n,
            gsize  cells,
            gsize *start,
            gsize *end)
{
  if ((gsize) n >= cells)
    {
      *start = ((2 * (guint64) v + 1) * cells) / (2 * (guint64) n);
      *end = *start + 1;
      return;
    }
  *start = (guint64) v * cells / n;
  *end = MIN (cells, ((guint64) (v + 1) * cells + n - 1) / n);
  if (*end <= *start)
    *end = *start + 1;
}

void
jac_heatmap_fill_window (guint32                 *pixels,
                         gsize                    stride,
                         int                      width,
                         int                      height,
                         const JacPixelRect      *window,
                         gsize                    rows,
                         gsize                    cols,
                         JacCellPool              pool,
                         gconstpointer            data,
                         const JacHeatmapColors  *colors)
{
  g_autofree gsize *col_start = NULL;
  g_autofree gsize *col_end = NULL;

  g_return_if_fail (rows > 0 && cols > 0);
  g_return_if_fail (window->x >= 0 && window->y >= 0 && window->width >= 0
                    && window->height >= 0 && window->x + window->width <= width
                    && window->y + window->height <= height);

  col_start = g_new (gsize, MAX (window->width, 1));
  col_end = g_new (gsize, MAX (window->width, 1));
  for (int u = 0; u < window->width; u++)
    pixel_span (window->x + u, width, cols, &col_start[u], &col_end[u]);

  for (int v = 0; v < window->height; v++)
    {
      guint32 *line = pixels + (gsize) v * stride;
      gsize row0, row1;

      pixel_span (window->y + v, height, rows, &row0, &row1);
      for (int u = 0; u < window->width; u++)
        {
          double value = 0;

          switch (pool (data, row0, row1, col_start[u], col_end[u], &value))
            {
            case JAC_CELL_EMPTY:
              line[u] = 0;
              break;
            case JAC_CELL_ZERO:
              line[u] = colors->zero_argb;
              break;
            case JAC_CELL_VALUE_ZERO:
              value = 0;
              G_GNUC_FALLTHROUGH;
            case JAC_CELL_VALUE:
            default:
              /* The pool's value is the free entry of largest magnitude: exactly 0 means
               * every entry it looked at is 0 for these values. */
              line[u] = value == 0.0 && colors->value_zero_argb != 0
                        ? colors->value_zero_argb
                        : jac_colormap_argb (colors->colormap, value, colors->range);
              break;
            }
        }
    }
}

void
jac_heatmap_fill (guint32                *pixels,
                  gsize                   stride,
                  int                     width,
                  int                     height,
                  gsize                   rows,
                  gsize                   cols,
                  JacCellPool             pool,
                  gconstpointer           data,
                  const JacHeatmapColors *colors)
{
  g_return_if_fail (pixels != NULL);

  JacPixelRect all = { 0, 0, width, height };

  jac_heatmap_fill_window (pixels, stride, width, height, &all, rows, cols, pool, data, colors);
}

static cairo_surface_t *
new_image (int width,
           int height)
{
  cairo_surface_t *image;

  if (width <= 0 || height <= 0)
    return NULL;
  image = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  if (cairo_surface_status (image) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (image);
      return NULL;
    }
  cairo_surface_flush (image);
  return image;
}

static guint32 *
image_pixels (cairo_surface_t *image,
              gsize           *stride)
{
  *stride = cairo_image_surface_get_stride (image) / 4;
  return (guint32 *) (gpointer) cairo_image_surface_get_data (image);
}

cairo_surface_t *
jac_heatmap_build (int                     width,
                   int                     height,
                   gsize                   rows,
                   gsize                   cols,
                   JacCellPool             pool,
                   gconstpointer           data,
                   const JacHeatmapColors *colors)
{
  g_return_val_if_fail (colors != NULL, NULL);

  cairo_surface_t *image = new_image (width, height);
  guint32 *pixels;
  gsize stride;

  if (image == NULL)
    return NULL;
  pixels = image_pixels (image, &stride);
  jac_heatmap_fill (pixels, stride, width, height, rows, cols, pool, data, colors);
  cairo_surface_mark_dirty (image);
  return image;
}

/* Pixels of the target per device unit: GTK draws HiDPI through the surface's device scale. */
static void
target_scale (cairo_t *cr,
              double  *sx,
              double  *sy)
{
  cairo_surface_get_device_scale (cairo_get_target (cr), sx, sy);
  if (!(*sx > 0) || !(*sy > 0))
    *sx = *sy = 1;
}

void
jac_heatmap_device_rect (cairo_t *cr,
                         double   x,
                         double   y,
                         double   width,
                         double   height,
                         int     *device_x,
                         int     *device_y,
                         int     *device_width,
                         int     *device_height)
{
  g_return_if_fail (cr != NULL);

  double x0 = x, y0 = y, x1 = x + width, y1 = y + height;
  double sx, sy;

  cairo_user_to_device (cr, &x0, &y0);
  cairo_user_to_device (cr, &x1, &y1);
  target_scale (cr, &sx, &sy);
  *device_x = (int) lround (MIN (x0, x1) * sx);
  *device_y = (int) lround (MIN (y0, y1) * sy);
  *device_width = (int) lround (MAX (x0, x1) * sx) - *device_x;
  *device_height = (int) lround (MAX (y0, y1) * sy) - *device_y;
}

void
jac_heatmap_enter_device (cairo_t *cr,
                          double  *pixels_per_unit)
{
  g_return_if_fail (cr != NULL);

  double sx, sy, ux = 1, uy = 0;

  target_scale (cr, &sx, &sy);
  cairo_user_to_device_distance (cr, &ux, &uy);
  if (pixels_per_unit != NULL)
    *pixels_per_unit = hypot (ux, uy) * sx;
  cairo_save (cr);
  cairo_identity_matrix (cr);
  cairo_scale (cr, 1 / sx, 1 / sy);
}

void
jac_heatmap_paint_window (cairo_t            *cr,
                          cairo_surface_t    *image,
                          const JacPixelRect *device,
                          int                 full_width,
                          int                 full_height,
                          int                 window_x,
                          int                 window_y)
{
  g_return_if_fail (cr != NULL);

  double sx, sy, x0, y0, x1, y1;
  cairo_pattern_t *pattern;

  if (image == NULL || device->width <= 0 || device->height <= 0
      || full_width <= 0 || full_height <= 0)
    return;

  /* Where the window's pixels land: the whole image stretched over @device, cut to the
   * window. Translating to the window's corner keeps the pattern's numbers small however far
   * the figure reaches outside the target. */
  sx = (double) device->width / full_width;
  sy = (double) device->height / full_height;
  x0 = device->x + window_x * sx;
  y0 = device->y + window_y * sy;
  x1 = device->x + (window_x + cairo_image_surface_get_width (image)) * sx;
  y1 = device->y + (window_y + cairo_image_surface_get_height (image)) * sy;
  x0 = MAX (floor (x0), device->x);
  y0 = MAX (floor (y0), device->y);
  x1 = MIN (ceil (x1), device->x + device->width);
  y1 = MIN (ceil (y1), device->y + device->height);
  if (x1 <= x0 || y1 <= y0)
    return;

  jac_heatmap_enter_device (cr, NULL);
  cairo_rectangle (cr, x0, y0, x1 - x0, y1 - y0);
  cairo_translate (cr, device->x + window_x * sx, device->y + window_y * sy);
  cairo_scale (cr, sx, sy);
  cairo_set_source_surface (cr, image, 0, 0);
  pattern = cairo_get_source (cr);
  cairo_pattern_set_filter (pattern, CAIRO_FILTER_NEAREST);
  cairo_pattern_set_extend (pattern, CAIRO_EXTEND_PAD);
  cairo_fill (cr);
  cairo_restore (cr);
}

void
jac_heatmap_paint_device (cairo_t         *cr,
                          cairo_surface_t *image,
                          int              device_x,
                          int              device_y,
                          int              device_width,
                          int              device_height)
{
  g_return_if_fail (cr != NULL);

  JacPixelRect device = { device_x, device_y, device_width, device_height };

  if (image == NULL)
    return;
  jac_heatmap_paint_window (cr, image, &device, cairo_image_surface_get_width (image),
                            cairo_image_surface_get_height (image), 0, 0);
}

/* The image pixels [*first, *last) of @n stretched over the device pixels @start … @start +
 * @size that cover the visible pixels [@visible_start, @visible_end), a pixel to spare on each
 * side so that rounding at the edges never samples outside them. */
static gboolean
window_axis (int  start,
             int  size,
             int  n,
             int  visible_start,
             int  visible_end,
             int *first,
             int *last)
{
  double a = floor ((double) (visible_start - start) * n / size) - 1;
  double b = ceil ((double) (visible_end - start) * n / size) + 1;

  *first = (int) CLAMP (a, 0, n);
  *last = (int) CLAMP (b, 0, n);
  return *last > *first;
}

guint64
jac_heatmap_paint_visible (cairo_t                *cr,
                           const JacPixelRect     *device,
                           const JacPixelRect     *visible,
                           int                     width,
                           int                     height,
                           gsize                   rows,
                           gsize                   cols,
                           JacCellPool             pool,
                           gconstpointer           data,
                           const JacHeatmapColors *colors)
{
  g_return_val_if_fail (cr != NULL, 0);

  JacPixelRect window;
  cairo_surface_t *image;
  guint32 *pixels;
  gsize stride;
  int x1, y1;

  if (device->width <= 0 || device->height <= 0 || width <= 0 || height <= 0
      || visible->width <= 0 || visible->height <= 0
      || !window_axis (device->x, device->width, width, visible->x,
                       visible->x + visible->width, &window.x, &x1)
      || !window_axis (device->y, device->height, height, visible->y,
                       visible->y + visible->height, &window.y, &y1))
    return 0;
  window.width = x1 - window.x;
  window.height = y1 - window.y;
  image = new_image (window.width, window.height);
  if (image == NULL)
    return 0;
  pixels = image_pixels (image, &stride);
  jac_heatmap_fill_window (pixels, stride, width, height, &window, rows, cols, pool, data,
                           colors);
  cairo_surface_mark_dirty (image);
  jac_heatmap_paint_window (cr, image, device, width, height, window.x, window.y);
  cairo_surface_destroy (image);
  return (guint64) window.width * window.height;
}

void
jac_heatmap_device_clip (cairo_t      *cr,
                         JacPixelRect *clip)
{
  g_return_if_fail (cr != NULL);

  double x0, y0, x1, y1;

  cairo_clip_extents (cr, &x0, &y0, &x1, &y1);
  jac_heatmap_device_rect (cr, x0, y0, x1 - x0, y1 - y0, &clip->x, &clip->y, &clip->width,
                           &clip->height);
}

gboolean
jac_pixel_rect_intersect (const JacPixelRect *a,
                          const JacPixelRect *b,
                          JacPixelRect       *out)
{
  int x0, y0, x1, y1;

  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  x0 = MAX (a->x, b->x);
  y0 = MAX (a->y, b->y);
  x1 = MIN (a->x + a->width, b->x + b->width);
  y1 = MIN (a->y + a->height, b->y + b->height);
  out->x = x0;
  out->y = y0;
  out->width = MAX (x1 - x0, 0);
  out->height = MAX (y1 - y0, 0);
  return x1 > x0 && y1 > y0;
}

void
jac_heatmap_paint (cairo_t         *cr,
                   cairo_surface_t *image,
                   double           x,
                   double           y,
                   double           width,
                   double           height)
{
  g_return_if_fail (cr != NULL);

  int dx, dy, dw, dh;

  jac_heatmap_device_rect (cr, x, y, width, height, &dx, &dy, &dw, &dh);
  jac_heatmap_paint_device (cr, image, dx, dy, dw, dh);
}

JacCellKind
jac_heatmap_pool_matrix (gconstpointer  data,
                         gsize          row0,
                         gsize          row1,
                         gsize          col0,
                         gsize          col1,
                         double        *value)
{
  const JacTensor *tensor = data;
  gsize row_stride, n_rows, n_cols;
  gsize cols[JAC_HEATMAP_POOL_SAMPLES];
  double best = 0;

  g_return_val_if_fail (tensor != NULL, JAC_CELL_VALUE);
  g_return_val_if_fail (value != NULL, JAC_CELL_VALUE);

  row_stride = tensor->rank == 2 ? tensor->strides[0] : 0;
  n_rows = jac_heatmap_sample_count (row0, row1);
  n_cols = jac_heatmap_sample_count (col0, col1);
  /* The columns sampled, once per pixel rather than once per sample, in the same order. */
  for (gsize b = 0; b < n_cols; b++)
    cols[b] = jac_heatmap_sample (col0, col1, b);
  for (gsize a = 0; a < n_rows; a++)
    {
      const double *line = tensor->data + jac_heatmap_sample (row0, row1, a) * row_stride;

      for (gsize b = 0; b < n_cols; b++)
        {
          double v = line[cols[b]];

          if (fabs (v) > fabs (best))
            best = v;
        }
    }
  *value = best;
  return JAC_CELL_VALUE;
}

void
jac_heatmap_hatch_lines (cairo_t *cr,
                         double   x,
                         double   y,
                         double   width,
                         double   height,
                         double   spacing)
{
  g_return_if_fail (cr != NULL);

  /* Lines x + y = k · spacing, so that hatches of neighbouring blocks continue each other. */
  double first = floor ((x + y) / spacing) * spacing;
  double last = x + width + y + height;

  for (double c = first; c <= last + spacing; c += spacing)
    {
      cairo_move_to (cr, c - y - height - spacing, y + height + spacing);
      cairo_line_to (cr, c - y + spacing, y - spacing);
    }
  cairo_stroke (cr);
}

static void
set_source_argb (cairo_t *cr,
                 guint32  argb)
{
  cairo_set_source_rgb (cr, ((argb >> 16) & 0xff) / 255.0, ((argb >> 8) & 0xff) / 255.0,
                        (argb & 0xff) / 255.0);
}

cairo_pattern_t *
jac_heatmap_hatch_tile (int     spacing,
                        double  line_width,
                        guint32 fill_argb,
                        guint32 line_argb)
{
  cairo_surface_t *tile;
  cairo_pattern_t *pattern;
  cairo_t *cr;

  spacing = MAX (spacing, 2);
  tile = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, spacing, spacing);
  cr = cairo_create (tile);
  set_source_argb (cr, fill_argb);
  cairo_paint (cr);
  set_source_argb (cr, line_argb);
  cairo_set_line_width (cr, line_width);
  /* x + y = 0, spacing and 2 · spacing cross the tile; together they wrap seamlessly. */
  for (int k = 0; k <= 2; k++)
    {
      cairo_move_to (cr, k * spacing + 1, -1);
      cairo_line_to (cr, -1, k * spacing + 1);
    }
  cairo_stroke (cr);
  cairo_destroy (cr);

  pattern = cairo_pattern_create_for_surface (tile);
  cairo_pattern_set_extend (pattern, CAIRO_EXTEND_REPEAT);
  cairo_pattern_set_filter (pattern, CAIRO_FILTER_NEAREST);
  cairo_surface_destroy (tile);
  return pattern;
}

gboolean
jac_heatmap_target_is_vector (cairo_t *cr)
{
  g_return_val_if_fail (cr != NULL, FALSE);

  switch (cairo_surface_get_type (cairo_get_target (cr)))
    {
    case CAIRO_SURFACE_TYPE_PDF:
    case CAIRO_SURFACE_TYPE_PS:
    case CAIRO_SURFACE_TYPE_SVG:
      return TRUE;
    default:
      return FALSE;
    }
}

int
jac_heatmap_oversample (cairo_t *cr,
                        double   device_size,
                        gsize    cells,
                        int      budget)
{
  g_return_val_if_fail (cr != NULL, 0);

  double k;

  if (!jac_heatmap_target_is_vector (cr) || cells == 0)
    return 1;
  k = ceil (2 * device_size / cells);
  k = MIN (k, floor ((double) budget / cells));
  return (int) CLAMP (k, 1, 64);
}

cairo_surface_t *
jac_heatmap_colorbar_surface (JacColormap colormap)
{
  const guint32 *table = jac_colormap_table (colormap);
  cairo_surface_t *image;
  guchar *data;
  int stride;

  image = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, JAC_COLORMAP_SIZE);
  cairo_surface_flush (image);
  data = cairo_image_surface_get_data (image);
  stride = cairo_image_surface_get_stride (image);
  for (int e = 0; e < JAC_COLORMAP_SIZE; e++)
    *(guint32 *) (gpointer) (data + (gsize) e * stride) = table[JAC_COLORMAP_SIZE - 1 - e];
  cairo_surface_mark_dirty (image);
  return image;
}
