/* jac-figure-paint.c: what both figures (one step's, through time's) paint the same way: the
 * colour bar's strip and a structural-zero patch. */
#define G_LOG_DOMAIN "jac-render"

#include "jac-figure-private.h"
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
