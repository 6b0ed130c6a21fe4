/* jac-figure.c: the Jacobian figure, drawn into any cairo_t and saved as PNG, SVG or PDF. */
#define G_LOG_DOMAIN "jac-figure"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/jac-atomic-file.h"
#include "core/jac-error.h"
#include "jac-figure-private.h"

#define MIN_PIXELS 16
#define MAX_PIXELS 16384
#define MAX_SCALE 16.0

void
jac_figure_style_init (JacFigureStyle *style)
{
  g_return_if_fail (style != NULL);

  memset (style, 0, sizeof *style);
  style->denominator_layout = FALSE;
  style->colormap = JAC_COLORMAP_BLUE_RED;
  style->show_values = TRUE;
  style->dark = FALSE;
  style->text_scale = 1;
  style->line_scale = 1;
  style->focus_row = -1;
  style->show_contraction = TRUE;
  style->has_highlight = FALSE;
  style->highlight.panel = JAC_PANEL_NONE;
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

      _jac_set_source_rgb (cr, ink_color (layout, label->ink));
      cairo_move_to (cr, label->x, label->y);
      pango_cairo_show_layout (cr, label->layout);
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

  jac_heatmap_device_rect (cr, rect->x, rect->y, rect->width, rect->height, &x, &y, &w, &h);
  jac_heatmap_enter_device (cr, NULL);
  cairo_rectangle (cr, x - 0.5, y - 0.5, w + 1, h + 1);
  _jac_set_source_rgb (cr, &layout->palette.frame);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_colorbar (cairo_t               *cr,
               const JacFigureLayout *layout)
{
  const JacRect *bar = &layout->colorbar;
  cairo_surface_t *strip;

  if (bar->height <= 0)
    return;
  strip = jac_heatmap_colorbar_surface (layout->style.colormap);
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
  frame_rect (cr, layout, bar);
}

static void
draw_legend (cairo_t               *cr,
             const JacFigureLayout *layout)
{
  const JacRect *swatch = &layout->legend_swatch;

  cairo_save (cr);
  cairo_rectangle (cr, swatch->x, swatch->y, swatch->width, swatch->height);
  _jac_set_source_rgb (cr, &layout->palette.zero_fill);
  cairo_fill_preserve (cr);
  cairo_clip (cr);
  _jac_set_source_rgb (cr, &layout->palette.zero_line);
  cairo_set_line_width (cr, layout->line_width * 0.8);
  jac_heatmap_hatch_lines (cr, swatch->x, swatch->y, swatch->width, swatch->height,
                           MAX (3, swatch->width / 3));
  cairo_restore (cr);
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
  PangoFontDescription *font;
  PangoLayout *text;

  if (size <= 0)
    return;
  text = pango_layout_new (layout->context);
  font = pango_font_description_from_string ("Cantarell, DejaVu Sans, Sans");
  pango_font_description_set_absolute_size (font, size * PANGO_SCALE);
  pango_layout_set_font_description (text, font);
  pango_font_description_free (font);

  for (gsize r = 0; r < view->rows; r++)
    for (gsize c = 0; c < view->cols; c++)
      {
        double v = view->tensor->rank == 2 ? JAC_AT2 (view->tensor, r, c) : view->tensor->data[c];
        guint32 argb = jac_colormap_argb (layout->style.colormap, v, view->range);
        g_autofree char *label = _jac_format_cell (v);
        PangoRectangle ink, logical;

        pango_layout_set_text (text, label, -1);
        pango_layout_get_extents (text, &ink, &logical);
        if (jac_colormap_prefers_dark_ink (argb))
          cairo_set_source_rgb (cr, 0.08, 0.08, 0.08);
        else
          cairo_set_source_rgb (cr, 1, 1, 1);
        cairo_move_to (cr,
                       view->rect.x + (c + 0.5) * cell_w
                       - (logical.x + logical.width / 2.0) / PANGO_SCALE,
                       view->rect.y + (r + 0.5) * cell_h
                       - (ink.y + ink.height / 2.0) / PANGO_SCALE);
        pango_cairo_show_layout (cr, text);
      }
  g_object_unref (text);
}

static void
draw_matrices (cairo_t               *cr,
               const JacFigureLayout *layout)
{
  for (guint m = 0; m < layout->n_matrices; m++)
    {
      const JacMatrixView *view = &layout->matrices[m];
      JacHeatmapColors colors = { layout->style.colormap, view->range,
                                  _jac_rgb_argb (&layout->palette.zero_fill) };
      cairo_surface_t *image;
      int x, y, w, h, k;

      jac_heatmap_device_rect (cr, view->rect.x, view->rect.y, view->rect.width,
                               view->rect.height, &x, &y, &w, &h);
      if (w <= 0 || h <= 0)
        continue;
      /* One pixel per cell, or pooled to the pixels when there are fewer pixels than cells. */
      k = jac_heatmap_oversample (cr, MAX (w, h), MAX (view->rows, view->cols), 2048);
      image = jac_heatmap_build ((gsize) w >= view->cols ? (int) view->cols * k : w,
                                 (gsize) h >= view->rows ? (int) view->rows * k : h,
                                 view->rows, view->cols, jac_heatmap_pool_matrix, view->tensor,
                                 &colors);
      jac_heatmap_paint_device (cr, image, x, y, w, h);
      cairo_surface_destroy (image);
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
jac_figure_draw (cairo_t              *cr,
                 double                width,
                 double                height,
                 const JacAnalysis    *analysis,
                 const JacFigureStyle *style)
{
  JacFigureLayout *layout;

  g_return_if_fail (cr != NULL);
  g_return_if_fail (analysis != NULL);
  g_return_if_fail (style != NULL);

  if (!(width > 0) || !(height > 0))
    return;

  layout = _jac_figure_layout_new (analysis, style, width, height, cr);
  cairo_save (cr);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_clip (cr);
  _jac_set_source_rgb (cr, &layout->palette.background);
  cairo_paint (cr);

  _jac_figure_draw_jacobian (cr, layout);
  draw_colorbar (cr, layout);
  draw_legend (cr, layout);
  draw_matrices (cr, layout);
  draw_rules (cr, layout);
  draw_labels (cr, layout);
  if (style->has_highlight)
    draw_highlight (cr, layout);

  cairo_restore (cr);
  _jac_figure_layout_free (layout);
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
  };
  g_autofree char *base = NULL;
  const char *dot;

  g_return_val_if_fail (path != NULL, FALSE);

  base = g_path_get_basename (path);
  dot = strrchr (base, '.');
  if (dot == NULL || dot == base || dot[1] == '\0')
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s has no file extension to name the figure format: use .png, .svg or .pdf",
                   path);
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
               "unsupported figure format “%s” in %s: use .png, .svg or .pdf", dot, path);
  return FALSE;
}

static gboolean
check_size (int               width,
            int               height,
            double            scale,
            JacFigureFormat   format,
            GError          **error)
{
  double pixels_w, pixels_h;

  if (!isfinite (scale) || scale <= 0 || scale > MAX_SCALE)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "figure scale %g is out of range: it must be above 0 and at most %g",
                   scale, MAX_SCALE);
      return FALSE;
    }
  pixels_w = format == JAC_FIGURE_PNG ? round (width * scale) : width;
  pixels_h = format == JAC_FIGURE_PNG ? round (height * scale) : height;
  if (width < MIN_PIXELS || height < MIN_PIXELS
      || pixels_w < MIN_PIXELS || pixels_h < MIN_PIXELS
      || pixels_w > MAX_PIXELS || pixels_h > MAX_PIXELS)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "figure size %d×%d (scale %g) is out of range: width and height must be "
                   "%d to %d pixels", width, height, scale, MIN_PIXELS, MAX_PIXELS);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  FILE    *stream;
  gboolean failed;
  int      saved_errno;
} JacFigureWriter;

static cairo_status_t
write_cb (void                *closure,
          const unsigned char *data,
          unsigned int         length)
{
  JacFigureWriter *writer = closure;

  if (writer->failed)
    return CAIRO_STATUS_WRITE_ERROR;
  if (fwrite (data, 1, length, writer->stream) != length)
    {
      writer->failed = TRUE;
      writer->saved_errno = errno;
      return CAIRO_STATUS_WRITE_ERROR;
    }
  return CAIRO_STATUS_SUCCESS;
}

static cairo_status_t
draw_to (cairo_surface_t      *surface,
         double                scale,
         int                   width,
         int                   height,
         const JacAnalysis    *analysis,
         const JacFigureStyle *style)
{
  cairo_t *cr;
  cairo_status_t status = cairo_surface_status (surface);

  if (status != CAIRO_STATUS_SUCCESS)
    return status;
  cr = cairo_create (surface);
  cairo_scale (cr, scale, scale);
  jac_figure_draw (cr, width, height, analysis, style);
  status = cairo_status (cr);
  cairo_destroy (cr);
  return status;
}

static cairo_status_t
write_figure (JacFigureFormat       format,
              JacFigureWriter      *writer,
              int                   width,
              int                   height,
              double                scale,
              const JacAnalysis    *analysis,
              const JacFigureStyle *style)
{
  cairo_surface_t *surface;
  cairo_status_t status;

  switch (format)
    {
    case JAC_FIGURE_PNG:
      surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) round (width * scale),
                                            (int) round (height * scale));
      status = draw_to (surface, scale, width, height, analysis, style);
      if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_write_to_png_stream (surface, write_cb, writer);
      break;
    case JAC_FIGURE_SVG:
      surface = cairo_svg_surface_create_for_stream (write_cb, writer, width, height);
      if (cairo_surface_status (surface) == CAIRO_STATUS_SUCCESS)
        cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PX);
      status = draw_to (surface, 1, width, height, analysis, style);
      break;
    case JAC_FIGURE_PDF:
    default:
      surface = cairo_pdf_surface_create_for_stream (write_cb, writer, width, height);
      if (cairo_surface_status (surface) == CAIRO_STATUS_SUCCESS)
        {
          cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE,
                                          "Jacobian figure");
          cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Jacscope");
        }
      status = draw_to (surface, 1, width, height, analysis, style);
      break;
    }
  /* Vector surfaces write their last bytes when finished. */
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  return status;
}

gboolean
jac_figure_save (const char            *path,
                 int                    width,
                 int                    height,
                 double                 scale,
                 const JacAnalysis     *analysis,
                 const JacFigureStyle  *style,
                 GError               **error)
{
  JacFigureWriter writer = { NULL, FALSE, 0 };
  JacFigureFormat format;
  JacAtomicFile *file;
  cairo_status_t status;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (analysis != NULL, FALSE);
  g_return_val_if_fail (style != NULL, FALSE);

  if (!jac_figure_format_from_path (path, &format, error)
      || !check_size (width, height, scale, format, error))
    return FALSE;

  file = jac_atomic_file_new (path, error);
  if (file == NULL)
    return FALSE;
  writer.stream = jac_atomic_file_get_stream (file);
  status = write_figure (format, &writer, width, height, scale, analysis, style);
  if (status != CAIRO_STATUS_SUCCESS || writer.failed)
    {
      jac_atomic_file_abort (file);
      if (writer.failed)
        g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot write %s: %s", path,
                     g_strerror (writer.saved_errno != 0 ? writer.saved_errno : EIO));
      else if (status == CAIRO_STATUS_NO_MEMORY)
        g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                     "not enough memory to draw a %d×%d figure for %s", width, height, path);
      else
        g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot draw %s: %s", path,
                     cairo_status_to_string (status));
      return FALSE;
    }
  return jac_atomic_file_commit (file, error);
}
