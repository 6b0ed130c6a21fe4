/* jac-figure-paint.c: what both figures (one step's, through time's) paint and fit the same
 * way: the colour bar's strip, a structural-zero patch, a label, and text fitted to its room. */
#define G_LOG_DOMAIN "jac-render"

#include "jac-figure-paint.h"
#include "jac-render-tikz-private.h"

void
_jac_figure_paint_colorbar (cairo_t       *cr,
                            JacColormap    colormap,
                            const JacRect *bar)
{
  cairo_surface_t *strip;

  g_return_if_fail (cr != NULL);
  g_return_if_fail (bar != NULL);

  if (bar->width <= 0 || bar->height <= 0)
    return;
  /* +max at the top: the strip's first row. */
  strip = jac_heatmap_colorbar_surface (colormap);
  cairo_save (cr);
  cairo_rectangle (cr, bar->x, bar->y, bar->width, bar->height);
  cairo_translate (cr, bar->x, bar->y);
  cairo_scale (cr, bar->width, bar->height / JAC_COLORMAP_SIZE);
  cairo_set_source_surface (cr, strip, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_GOOD);
  cairo_pattern_set_extend (cairo_get_source (cr), CAIRO_EXTEND_PAD);
  cairo_fill (cr);
  cairo_restore (cr);
  cairo_surface_destroy (strip);
}

void
_jac_figure_paint_zero (cairo_t          *cr,
                        const JacPalette *palette,
                        const JacRect    *rect,
                        double            spacing,
                        double            line_width)
{
  g_return_if_fail (cr != NULL);
  g_return_if_fail (palette != NULL);
  g_return_if_fail (rect != NULL);

  cairo_save (cr);
  cairo_rectangle (cr, rect->x, rect->y, rect->width, rect->height);
  _jac_set_source_rgb (cr, &palette->zero_fill);
  cairo_fill_preserve (cr);
  cairo_clip (cr);
  _jac_set_source_rgb (cr, &palette->zero_line);
  cairo_set_line_width (cr, line_width);
  /* A TikZ picture hatches the patch itself, over its flat fill. */
  if (!_jac_tikz_take_hatch (cr, rect, 1, spacing, line_width, &palette->zero_line))
    jac_heatmap_hatch_lines (cr, rect->x, rect->y, rect->width, rect->height, spacing);
  cairo_restore (cr);
}

void
_jac_figure_paint_label (cairo_t        *cr,
                         const JacLabel *label,
                         const JacRgb   *rgb)
{
  g_return_if_fail (cr != NULL);
  g_return_if_fail (label != NULL);
  g_return_if_fail (rgb != NULL);

  _jac_set_source_rgb (cr, rgb);
  if (_jac_tikz_take_label (cr, label))
    return;
  cairo_move_to (cr, label->x, label->y);
  pango_cairo_show_layout (cr, label->layout);
}

/* ---- text fitted to its room ---- */

double
_jac_label_measure (PangoContext *context,
                    const char   *markup,
                    double        size,
                    gboolean      bold,
                    double        wrap_width,
                    double       *height)
{
  JacLabel *label;
  double width;

  g_return_val_if_fail (PANGO_IS_CONTEXT (context), 0);
  g_return_val_if_fail (markup != NULL, 0);

  label = _jac_label_new (context, markup, size, bold, wrap_width);
  width = label->width;
  if (height != NULL)
    *height = label->height;
  _jac_label_free (label);
  return width;
}

double
_jac_label_width (PangoContext *context,
                  const char   *markup,
                  double        size)
{
  g_return_val_if_fail (PANGO_IS_CONTEXT (context), 0);
  g_return_val_if_fail (markup != NULL, 0);

  return _jac_label_measure (context, markup, size, FALSE, -1, NULL);
}

JacLabel *
_jac_label_fitting (PangoContext *context,
                    const char   *markup,
                    double        size,
                    gboolean      bold,
                    double        width,
                    int           lines)
{
  JacLabel *label;

  g_return_val_if_fail (PANGO_IS_CONTEXT (context), NULL);
  g_return_val_if_fail (markup != NULL, NULL);

  label = _jac_label_new (context, markup, size, bold, MAX (width, 1));
  if (pango_layout_get_line_count (label->layout) <= lines && label->width <= MAX (width, 1) + 0.01)
    return label;
  _jac_label_free (label);
  return NULL;
}

JacLabel *
_jac_label_fit (PangoContext *context,
                const char   *markup,
                double        size,
                double        min_size,
                gboolean      bold,
                double        width,
                int           lines,
                gboolean     *overflow)
{
  double floor_size = MIN (size, min_size);
  JacLabel *label;

  g_return_val_if_fail (PANGO_IS_CONTEXT (context), NULL);
  g_return_val_if_fail (markup != NULL, NULL);
  g_return_val_if_fail (overflow != NULL, NULL);

  if ((label = _jac_label_fitting (context, markup, size, bold, width, lines)) != NULL)
    return label;
  for (double s = size * 0.9; s > floor_size; s *= 0.9)
    if ((label = _jac_label_fitting (context, markup, s, bold, width, lines)) != NULL)
      return label;
  if ((label = _jac_label_fitting (context, markup, floor_size, bold, width, lines)) != NULL)
    return label;
  *overflow = TRUE;
  return _jac_label_new (context, markup, floor_size, bold, MAX (width, 1));
}

double
_jac_fit_text_size (double size,
                    double text_width,
                    double text_height,
                    double room_width,
                    double room_height,
                    double max_size,
                    double min_size)
{
  double fit;

  g_return_val_if_fail (text_width > 0 && text_height > 0, 0);

  fit = size * MIN (room_width / text_width, room_height / text_height);
  fit = MIN (fit, max_size);
  return fit >= min_size - 1e-9 ? fit : 0;
}
