/* jac-figure.c: the Jacobian figure, drawn into any cairo_t and saved as PNG, SVG or PDF. */
#define G_LOG_DOMAIN "jac-figure"

#include <math.h>
#include <string.h>

#include "core/jac-error.h"
#include "jac-figure-paint.h"
#include "jac-render-tikz-private.h"

void
jac_figure_style_init (JacFigureStyle *style)
{
  g_return_if_fail (style != NULL);

  memset (style, 0, sizeof *style);
  style->denominator_layout = FALSE;
  style->colormap = JAC_COLORMAP_BLUE_RED;
  style->show_values = TRUE;
  style->dark = FALSE;
  style->medium = JAC_MEDIUM_SCREEN;
  style->text_scale = 1;
  style->line_scale = 1;
  style->focus_row = -1;
  style->show_contraction = TRUE;
  style->has_highlight = FALSE;
  style->highlight.panel = JAC_PANEL_NONE;
}

void
jac_figure_style_set_layout (JacFigureStyle *style,
                             JacLayout       layout)
{
  g_return_if_fail (style != NULL);
  g_return_if_fail (layout <= JAC_LAYOUT_PER_SAMPLE);

  style->denominator_layout = layout == JAC_LAYOUT_DENOMINATOR;
  style->vec_layout = layout == JAC_LAYOUT_VEC;
  style->per_sample = layout == JAC_LAYOUT_PER_SAMPLE;
}

/* ---- drawing ---- */

static const JacRgb *
ink_color (const JacFigureLayout *layout,
           JacInk                 ink)
{
  return ink == JAC_INK_FAINT ? &layout->palette.faint_ink : &layout->palette.ink;
}

static void
draw_labels (cairo_t               *cr,
             const JacFigureLayout *layout)
{
  for (guint k = 0; k < layout->labels->len; k++)
    {
      const JacLabel *label = g_ptr_array_index (layout->labels, k);
      JacRect box = { label->x, label->y, label->width, label->height };

      /* Ink may overhang the logical box a little: italics, superscripts. */
      if (!_jac_figure_layout_visible (layout, &box, label->height * 0.5))
        continue;
      if (layout->counters != NULL)
        layout->counters->labels++;
      _jac_figure_record_text (layout, label->layout, label->x, label->y, label->min_size, FALSE);
      _jac_figure_paint_label (cr, label, ink_color (layout, label->ink));
    }
}

static void
draw_rules (cairo_t               *cr,
            const JacFigureLayout *layout)
{
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
  for (guint k = 0; k < layout->rules->len; k++)
    {
      const JacRule *rule = &g_array_index (layout->rules, JacRule, k);
      JacRect box = { MIN (rule->x0, rule->x1), MIN (rule->y0, rule->y1),
                      fabs (rule->x1 - rule->x0), fabs (rule->y1 - rule->y0) };

      if (!_jac_figure_layout_visible (layout, &box, rule->width * layout->line_width))
        continue;
      _jac_set_source_rgb (cr, ink_color (layout, rule->ink));
      cairo_set_line_width (cr, rule->width * layout->line_width);
      cairo_move_to (cr, rule->x0, rule->y0);
      cairo_line_to (cr, rule->x1, rule->y1);
      cairo_stroke (cr);
    }
}

static void
frame_rect (cairo_t               *cr,
            const JacFigureLayout *layout,
            const JacRect         *rect)
{
  int x, y, w, h;

  double line = _jac_figure_frame_width (layout, cr);

  if (_jac_tikz_take_frame (cr, rect, &layout->palette.frame))
    return;
  jac_heatmap_device_rect (cr, rect->x, rect->y, rect->width, rect->height, &x, &y, &w, &h);
  jac_heatmap_enter_device (cr, NULL);
  cairo_rectangle (cr, x - line / 2, y - line / 2, w + line, h + line);
  _jac_set_source_rgb (cr, &layout->palette.frame);
  cairo_set_line_width (cr, line);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_colorbar (cairo_t               *cr,
               const JacFigureLayout *layout)
{
  const JacRect *bar = &layout->colorbar;

  if (bar->height <= 0)
    return;
  _jac_figure_paint_colorbar (cr, layout->style.colormap, bar);
  frame_rect (cr, layout, bar);
}

static void
draw_legend (cairo_t               *cr,
             const JacFigureLayout *layout)
{
  const JacRect *swatch = &layout->legend_swatch;

  _jac_figure_paint_zero (cr, &layout->palette, swatch, MAX (3, swatch->width / 3),
                          layout->line_width * 0.8);
  frame_rect (cr, layout, swatch);
}

static void
draw_matrix_values (cairo_t               *cr,
                    const JacFigureLayout *layout,
                    const JacMatrixView   *view)
{
  double cell_w = view->rect.width / view->cols;
  double cell_h = view->rect.height / view->rows;
  double size = _jac_figure_value_font (layout, cell_w, cell_h);
  const JacRect *v = &layout->visible;
  PangoLayout *text;
  gsize r0, r1, c0, c1;

  if (size <= 0
      || !_jac_span_visible (view->rect.y, view->rect.height, view->rows, v->y,
                             v->y + v->height, &r0, &r1)
      || !_jac_span_visible (view->rect.x, view->rect.width, view->cols, v->x,
                             v->x + v->width, &c0, &c1))
    return;
  text = _jac_text_layout_new (layout->context, size);

  for (gsize r = r0; r < r1; r++)
    for (gsize c = c0; c < c1; c++)
      {
        double value = view->tensor->rank == 2 ? JAC_AT2 (view->tensor, r, c)
                                               : view->tensor->data[c];
        guint32 argb = jac_colormap_argb (layout->style.colormap, value, view->range);
        g_autofree char *label = _jac_format_cell (value);
        PangoRectangle ink, logical;

        double tx, ty;

        pango_layout_set_text (text, label, -1);
        pango_layout_get_extents (text, &ink, &logical);
        if (jac_colormap_prefers_dark_ink (argb))
          cairo_set_source_rgb (cr, 0.08, 0.08, 0.08);
        else
          cairo_set_source_rgb (cr, 1, 1, 1);
        tx = view->rect.x + (c + 0.5) * cell_w - (logical.x + logical.width / 2.0) / PANGO_SCALE;
        ty = view->rect.y + (r + 0.5) * cell_h - (ink.y + ink.height / 2.0) / PANGO_SCALE;
        _jac_figure_record_text (layout, text, tx, ty, size, TRUE);
        if (!_jac_tikz_take_text (cr, text, tx, ty, 0.5))
          {
            cairo_move_to (cr, tx, ty);
            pango_cairo_show_layout (cr, text);
          }
        if (layout->counters != NULL)
          layout->counters->values++;
      }
  g_object_unref (text);
}

static void
draw_matrices (cairo_t               *cr,
               const JacFigureLayout *layout)
{
  JacPixelRect visible;

  _jac_figure_layout_visible_device (layout, cr, &visible);
  for (guint m = 0; m < layout->n_matrices; m++)
    {
      const JacMatrixView *view = &layout->matrices[m];
      JacHeatmapColors colors = { layout->style.colormap, view->range,
                                  _jac_rgb_argb (&layout->palette.zero_fill) };
      JacPixelRect device;
      guint64 pixels;
      int k;

      if (!_jac_figure_layout_visible (layout, &view->rect, layout->line_width * 2))
        continue;
      jac_heatmap_device_rect (cr, view->rect.x, view->rect.y, view->rect.width,
                               view->rect.height, &device.x, &device.y, &device.width,
                               &device.height);
      if (device.width <= 0 || device.height <= 0)
        continue;
      /* One pixel per cell, or pooled to the pixels when there are fewer pixels than cells;
       * only the part in view is built. */
      k = jac_heatmap_oversample (cr, MAX (device.width, device.height),
                                  MAX (view->rows, view->cols), 2048);
      pixels = jac_heatmap_paint_visible (cr, &device, &visible,
                                          (gsize) device.width >= view->cols
                                            ? (int) view->cols * k : device.width,
                                          (gsize) device.height >= view->rows
                                            ? (int) view->rows * k : device.height,
                                          view->rows, view->cols, jac_heatmap_pool_matrix,
                                          view->tensor, &colors);
      if (layout->counters != NULL)
        {
          layout->counters->matrices++;
          layout->counters->pixels += pixels;
        }
      frame_rect (cr, layout, &view->rect);
      if (layout->style.show_values)
        draw_matrix_values (cr, layout, view);
    }
}

/* ---- highlight ---- */

static gboolean
mark_rect (const JacFigureLayout *layout,
           const JacMark         *mark,
           JacRect               *rect)
{
  if (mark->panel == JAC_PANEL_JACOBIAN)
    {
      gsize sr, sc;
      JacRect block;

      if (!_jac_figure_layout_block_slot (layout, mark->block_row, mark->block_col, &sr, &sc))
        return FALSE;
      _jac_figure_layout_slot_rect (layout, sr, sc, &block);
      _jac_figure_layout_entry_rect (layout, &block, mark->row0, mark->row1, mark->col0,
                                     mark->col1, rect);
      return TRUE;
    }
  for (guint m = 0; m < layout->n_matrices; m++)
    {
      const JacMatrixView *view = &layout->matrices[m];
      double cw = view->rect.width / view->cols, ch = view->rect.height / view->rows;

      if (view->panel != mark->panel)
        continue;
      rect->x = view->rect.x + mark->col0 * cw;
      rect->y = view->rect.y + mark->row0 * ch;
      rect->width = (mark->col1 - mark->col0) * cw;
      rect->height = (mark->row1 - mark->row0) * ch;
      return TRUE;
    }
  return FALSE;
}

static void
outline (cairo_t               *cr,
         const JacFigureLayout *layout,
         JacRect                rect,
         gboolean               primary)
{
  double width = layout->line_width * (primary ? 3 : 2);
  double min_size = layout->line_width * 4;

  /* Keep outlines of cells smaller than a few pixels visible. */
  if (rect.width < min_size)
    {
      rect.x -= (min_size - rect.width) / 2;
      rect.width = min_size;
    }
  if (rect.height < min_size)
    {
      rect.y -= (min_size - rect.height) / 2;
      rect.height = min_size;
    }
  cairo_rectangle (cr, rect.x, rect.y, rect.width, rect.height);
  _jac_set_source_rgb (cr, &layout->palette.halo);
  cairo_set_line_width (cr, width + 2 * layout->line_width);
  cairo_stroke_preserve (cr);
  _jac_set_source_rgb (cr, &layout->palette.outline);
  cairo_set_line_width (cr, width);
  cairo_stroke (cr);
}

static void
draw_highlight (cairo_t               *cr,
                const JacFigureLayout *layout)
{
  GArray *marks = _jac_figure_marks (layout->analysis, &layout->style.highlight);

  cairo_save (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);
  /* The primary mark last, so that it is on top; it is also the first in the list. */
  for (guint pass = 0; pass < 2; pass++)
    for (guint k = 0; k < marks->len; k++)
      {
        const JacMark *mark = &g_array_index (marks, JacMark, k);
        JacRect rect;

        if (mark->primary != (pass == 1))
          continue;
        if (mark->panel == JAC_PANEL_GATED)
          {
            /* G ⊙ S is shown twice. */
            for (guint m = 0; m < layout->n_matrices; m++)
              if (layout->matrices[m].panel == JAC_PANEL_GATED)
                {
                  const JacMatrixView *view = &layout->matrices[m];
                  double cw = view->rect.width / view->cols, ch = view->rect.height / view->rows;
                  JacRect r = { view->rect.x + mark->col0 * cw, view->rect.y + mark->row0 * ch,
                                (mark->col1 - mark->col0) * cw, (mark->row1 - mark->row0) * ch };

                  outline (cr, layout, r, mark->primary);
                }
            continue;
          }
        if (mark_rect (layout, mark, &rect))
          outline (cr, layout, rect, mark->primary);
      }
  cairo_restore (cr);
  g_array_unref (marks);
}

void
_jac_figure_draw_counted (cairo_t              *cr,
                          double                width,
                          double                height,
                          const JacAnalysis    *analysis,
                          const JacFigureStyle *style,
                          gboolean              whole,
                          JacFigureCounters    *counters)
{
  JacFigureLayout *layout;

  if (!(width > 0) || !(height > 0))
    return;

  layout = _jac_figure_layout_new (analysis, style, width, height, cr);
  layout->counters = counters;
  cairo_save (cr);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_clip (cr);
  /* A zoomed view draws a huge figure into a small target: its clip says what is in view. */
  if (!whole)
    {
      double x0, y0, x1, y1;

      cairo_clip_extents (cr, &x0, &y0, &x1, &y1);
      layout->visible = (JacRect) { x0, y0, x1 - x0, y1 - y0 };
    }
  _jac_set_source_rgb (cr, &layout->palette.background);
  cairo_paint (cr);

  if (layout->visible.width > 0 && layout->visible.height > 0)
    {
      _jac_figure_draw_jacobian (cr, layout);
      draw_colorbar (cr, layout);
      draw_legend (cr, layout);
      draw_matrices (cr, layout);
      draw_rules (cr, layout);
      draw_labels (cr, layout);
      if (style->has_highlight)
        draw_highlight (cr, layout);
    }

  cairo_restore (cr);
  _jac_figure_layout_free (layout);
}

void
jac_figure_draw (cairo_t              *cr,
                 double                width,
                 double                height,
                 const JacAnalysis    *analysis,
                 const JacFigureStyle *style)
{
  g_return_if_fail (cr != NULL);
  g_return_if_fail (analysis != NULL);
  g_return_if_fail (style != NULL);

  _jac_figure_draw_counted (cr, width, height, analysis, style, FALSE, NULL);
}

double
_jac_figure_frame_width (const JacFigureLayout *layout,
                         cairo_t               *cr)
{
  /* Crisp whole device pixels on screens; a hairline of 0.4 pt on a page, where a device unit
   * is a whole point. */
  double dx = 1, dy = 0;

  if (layout->style.medium == JAC_MEDIUM_PAPER
      && cairo_surface_get_type (cairo_get_target (cr)) != CAIRO_SURFACE_TYPE_IMAGE)
    return 0.4;
  /* A pixel per unit of the figure, so that 2× and 3× keep its weight. */
  cairo_user_to_device_distance (cr, &dx, &dy);
  return MAX (1, round (hypot (dx, dy)));
}

/* ---- what was drawn, for tests ---- */

void
_jac_figure_record_text (const JacFigureLayout *layout,
                         PangoLayout           *text,
                         double                 x,
                         double                 y,
                         double                 size,
                         gboolean               value)
{
  PangoRectangle logical;
  JacTextRect rect;

  if (layout->counters == NULL || layout->counters->texts == NULL)
    return;
  pango_layout_get_extents (text, NULL, &logical);
  rect.text = g_strdup (pango_layout_get_text (text));
  rect.x = x + (double) logical.x / PANGO_SCALE;
  rect.y = y + (double) logical.y / PANGO_SCALE;
  rect.width = (double) logical.width / PANGO_SCALE;
  rect.height = (double) logical.height / PANGO_SCALE;
  rect.size = size;
  rect.value = value;
  g_array_append_val (layout->counters->texts, rect);
}

static void
clear_text_rect (gpointer data)
{
  JacTextRect *rect = data;

  g_clear_pointer (&rect->text, g_free);
}

GArray *
jac_figure_text_rects (double                width,
                       double                height,
                       const JacAnalysis    *analysis,
                       const JacFigureStyle *style)
{
  JacFigureCounters counters = { 0 };
  cairo_surface_t *surface;
  cairo_t *cr;

  g_return_val_if_fail (analysis != NULL, NULL);
  g_return_val_if_fail (style != NULL, NULL);

  counters.texts = g_array_new (FALSE, FALSE, sizeof (JacTextRect));
  g_array_set_clear_func (counters.texts, clear_text_rect);
  surface = cairo_recording_surface_create (CAIRO_CONTENT_COLOR_ALPHA, NULL);
  cr = cairo_create (surface);
  _jac_figure_draw_counted (cr, width, height, analysis, style, TRUE, &counters);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  return counters.texts;
}

/* ---- files ---- */

gboolean
jac_figure_format_from_path (const char       *path,
                             JacFigureFormat  *format,
                             GError          **error)
{
  static const struct
  {
    const char     *extension;
    JacFigureFormat format;
  } formats[] = {
    { ".png", JAC_FIGURE_PNG },
    { ".svg", JAC_FIGURE_SVG },
    { ".pdf", JAC_FIGURE_PDF },
    { ".tex", JAC_FIGURE_TIKZ },
  };
  g_autofree char *base = NULL;
  const char *dot;

  g_return_val_if_fail (path != NULL, FALSE);

  base = g_path_get_basename (path);
  dot = strrchr (base, '.');
  if (dot == NULL || dot == base || dot[1] == '\0')
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s has no file extension to name the figure format: "
                   "use .png, .svg, .pdf or .tex", path);
      return FALSE;
    }
  for (guint k = 0; k < G_N_ELEMENTS (formats); k++)
    if (g_ascii_strcasecmp (dot, formats[k].extension) == 0)
      {
        if (format != NULL)
          *format = formats[k].format;
        return TRUE;
      }
  g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
               "unsupported figure format “%s” in %s: use .png, .svg, .pdf or .tex", dot, path);
  return FALSE;
}

typedef struct
{
  const JacAnalysis    *analysis;
  const JacFigureStyle *style;
} JacFigureContent;

static void
draw_content (cairo_t  *cr,
              double    width,
              double    height,
              gpointer  user_data)
{
  const JacFigureContent *content = user_data;

  jac_figure_draw (cr, width, height, content->analysis, content->style);
}

gboolean
jac_figure_save (const char            *path,
                 double                 width,
                 double                 height,
                 double                 scale,
                 const JacAnalysis     *analysis,
                 const JacFigureStyle  *style,
                 GError               **error)
{
  JacFigureContent content = { analysis, style };

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (analysis != NULL, FALSE);
  g_return_val_if_fail (style != NULL, FALSE);

  return _jac_render_save (path, width, height, scale, style->medium, "Jacobian figure",
                           draw_content, &content, error);
}
