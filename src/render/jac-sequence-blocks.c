/* jac-sequence-blocks.c: the through-time figure's left panel: the diagonal blocks of
 * ∂h_T/∂h_{T−k} (or the full grid with its zero blocks), their values and the colour bar. */
#define G_LOG_DOMAIN "jac-sequence-figure"

#include <math.h>
#include <string.h>

#include "jac-render-tikz-private.h"
#include "jac-sequence-figure-private.h"

/* ---- the blocks ---- */

typedef struct
{
  const double *block;       /* H × H, rows j, columns q */
  gsize         h;
  gboolean      transposed;  /* denominator layout: rows q, columns j */
} BlockPool;

static double
pool_value (const BlockPool *pool,
            gsize            row,
            gsize            col)
{
  return pool->transposed ? pool->block[col * pool->h + row] : pool->block[row * pool->h + col];
}

static JacCellKind
pool_block_cb (gconstpointer  data,
               gsize          row0,
               gsize          row1,
               gsize          col0,
               gsize          col1,
               double        *value)
{
  const BlockPool *b = data;
  gsize n_rows = jac_heatmap_sample_count (row0, row1);
  gsize n_cols = jac_heatmap_sample_count (col0, col1);
  gsize row_step = b->transposed ? 1 : b->h, col_step = b->transposed ? b->h : 1;
  gsize cols[JAC_HEATMAP_POOL_SAMPLES];
  double best = 0;

  /* The samples' offsets along a row once per pixel, not once per sample (a division each),
   * visited in the same order: the same pixel. */
  for (gsize c = 0; c < n_cols; c++)
    cols[c] = jac_heatmap_sample (col0, col1, c) * col_step;
  for (gsize a = 0; a < n_rows; a++)
    {
      const double *line = b->block + jac_heatmap_sample (row0, row1, a) * row_step;

      for (gsize c = 0; c < n_cols; c++)
        {
          double v = line[cols[c]];

          if (fabs (v) > fabs (best) || isnan (v))
            best = v;
        }
    }
  *value = best;
  return JAC_CELL_VALUE;
}

static void
frame (JacSequencePainter *p,
       const JacRect      *r)
{
  int x, y, w, h;
  double per_unit, line;

  if (_jac_tikz_take_frame (p->cr, r, &p->layout->palette.frame))
    return;
  jac_heatmap_device_rect (p->cr, r->x, r->y, r->width, r->height, &x, &y, &w, &h);
  jac_heatmap_enter_device (p->cr, &per_unit);
  /* A whole number of device pixels, as many per unit at 2× and 3× as at 1×: crisp, and the
   * same figure with more pixels; on a vector page, half a unit (0.5 pt on paper). */
  if (cairo_surface_get_type (cairo_get_target (p->cr)) == CAIRO_SURFACE_TYPE_IMAGE)
    line = MAX (1, round (per_unit));
  else
    line = per_unit * 0.5;
  cairo_rectangle (p->cr, x - line / 2, y - line / 2, w + line, h + line);
  _jac_set_source_rgb (p->cr, &p->layout->palette.frame);
  cairo_set_line_width (p->cr, line);
  cairo_stroke (p->cr);
  cairo_restore (p->cr);
}

static void
draw_zero_block (JacSequencePainter *p,
                 const JacRect      *r)
{
  const JacSequenceLayout *l = p->layout;

  _jac_figure_paint_zero (p->cr, &l->palette, r, MAX (4, l->base * 0.6), l->line * 0.8);
  _jac_sequence_show_text (p, "0", l->base * 1.2, TRUE, r->x + r->width / 2,
                           r->y + r->height / 2, 0.5, 0.5, &l->palette.zero_ink);
  frame (p, r);
}

/* Two decimals; m×10⁻ⁿ when the block's largest value @top is so small that two decimals would
 * write 0.00 or nearly (deep lags are all tiny). */
static char *
cell_markup (double value,
             double top)
{
  if (top < 0.01 && value != 0)
    return _jac_format_scientific_markup (value);
  return _jac_format_cell (value);
}

static double
pool_max_abs (const BlockPool *pool)
{
  double top = 0;

  for (gsize e = 0; e < pool->h * pool->h; e++)
    top = MAX (top, fabs (pool->block[e]));
  return top;
}

/* The size at which every value of the block fits its cell: the small type, or less down to
 * the medium's minimum; 0 when not even the minimum fits. */
static double
cell_value_size (JacSequencePainter *p,
                 const BlockPool    *pool,
                 double              cell)
{
  const JacSequenceLayout *l = p->layout;
  double widest = 0, tallest = 0, top = pool_max_abs (pool);
  glong longest = 0;

  if (cell < l->type.min_text * 1.4)
    return 0;
  /* Digits have one width: only the texts with the most characters are measured, which keeps a
   * block of 16 × 16 values from laying out 256 texts twice. */
  for (gsize e = 0; e < pool->h * pool->h; e++)
    {
      g_autofree char *text = cell_markup (pool->block[e], top);

      longest = MAX (longest, g_utf8_strlen (text, -1));
    }
  for (gsize e = 0; e < pool->h * pool->h; e++)
    {
      g_autofree char *text = cell_markup (pool->block[e], top);
      JacLabel *label;

      if (g_utf8_strlen (text, -1) < longest)
        continue;
      label = _jac_label_new (p->context, text, l->type.min_text, FALSE, -1);
      widest = MAX (widest, label->width);
      tallest = MAX (tallest, label->height);
      _jac_label_free (label);
    }
  /* Widths grow with the size; sub/superscripts stay at their own minimum, so this errs small. */
  return _jac_fit_text_size (l->type.min_text, MAX (widest, 1), MAX (tallest, 1), cell * 0.88,
                             cell * 0.9, l->small, l->type.min_text);
}

static void
draw_cell_values (JacSequencePainter *p,
                  const BlockPool    *pool,
                  const JacRect      *r,
                  double              range)
{
  const JacSequenceLayout *l = p->layout;
  double cell = r->width / pool->h, size, top = pool_max_abs (pool);

  if (!l->style.show_values || (size = cell_value_size (p, pool, cell)) == 0)
    return;
  for (gsize a = 0; a < pool->h; a++)
    for (gsize c = 0; c < pool->h; c++)
      {
        double v = pool_value (pool, a, c);
        g_autofree char *text = cell_markup (v, top);
        guint32 argb = jac_colormap_argb (l->style.colormap, v, range);
        JacRgb ink = jac_colormap_prefers_dark_ink (argb) ? _jac_rgb_hex (0x1a1a1a)
                                                          : _jac_rgb_hex (0xffffff);

        _jac_sequence_show_inner_text (p, text, size, FALSE, r->x + (c + 0.5) * cell,
                                       r->y + (a + 0.5) * cell, 0.5, 0.5, &ink);
      }
}

static void
draw_block (JacSequencePainter     *p,
            const JacStructured    *jacobian,
            gsize                   i,
            const JacRect          *r,
            const JacHeatmapColors *colors)
{
  gsize h = jacobian->core->shape[1];
  BlockPool pool = { jacobian->core->data + i * h * h, h, p->layout->style.denominator_layout };
  int k = jac_heatmap_oversample (p->cr, r->width, h, 2048);
  int dx, dy, dw, dh;
  cairo_surface_t *image;

  jac_heatmap_device_rect (p->cr, r->x, r->y, r->width, r->height, &dx, &dy, &dw, &dh);
  /* One pixel per cell when the block is drawn larger than its cells, pooled otherwise. */
  if ((gsize) dw >= h && (gsize) dh >= h)
    image = jac_heatmap_build (h * k, h * k, h, h, pool_block_cb, &pool, colors);
  else
    image = jac_heatmap_build (MAX (dw, 1), MAX (dh, 1), h, h, pool_block_cb, &pool, colors);
  jac_heatmap_paint (p->cr, image, r->x, r->y, r->width, r->height);
  if (image != NULL)
    cairo_surface_destroy (image);
  frame (p, r);
  draw_cell_values (p, &pool, r, colors->range);
}

static void
draw_colorbar (JacSequencePainter *p)
{
  const JacSequenceLayout *l = p->layout;
  const JacRect *bar = &l->colorbar;

  _jac_figure_paint_colorbar (p->cr, l->style.colormap, bar);
  frame (p, bar);

  for (guint t = 0; t < 3; t++)
    {
      double y = bar->y + bar->height * t / 2.0;

      _jac_set_source_rgb (p->cr, &l->palette.ink);
      cairo_set_line_width (p->cr, l->line);
      cairo_move_to (p->cr, bar->x + bar->width, y);
      cairo_line_to (p->cr, bar->x + bar->width + l->base * 0.3, y);
      cairo_stroke (p->cr);
      _jac_sequence_paint_label (p, l->bar_ticks[t], &l->palette.ink);
    }
  if (l->range_label != NULL)
    _jac_sequence_paint_label (p, l->range_label, &l->palette.faint_ink);
}

static void
block_rect (const JacSequenceLayout *l,
            gsize                    slot_row,
            gsize                    slot_col,
            JacRect                 *r)
{
  r->x = l->grid_x + slot_col * l->pitch_x;
  r->y = l->grid_y + slot_row * l->pitch_y;
  r->width = r->height = l->block;
}

/* "i = p = 3" above a block, or as much of it as the block's width holds. */
static void
draw_block_name (JacSequencePainter *p,
                 gsize               i,
                 const JacRect      *r)
{
  const JacSequenceLayout *l = p->layout;
  g_autofree char *name = NULL;

  for (guint form = 0; form < 3; form++)
    {
      g_free (name);
      name = g_strdup_printf (form == 0 ? "i = p = %" G_GSIZE_FORMAT
                              : form == 1 ? "i = %" G_GSIZE_FORMAT : "%" G_GSIZE_FORMAT, i);
      if (_jac_label_width (p->context, name, l->small) <= l->pitch_x - l->base * 0.25)
        break;
    }
  _jac_sequence_show_text (p, name, l->small, FALSE, r->x, r->y - l->small * 0.15, 0, 1,
                           &l->palette.faint_ink);
}

/* "i = …" left of the first column and "p = …" above the first row of the full grid; the
 * other way round in the denominator layout, whose grid is the transpose: blocks (p, i). */
static void
draw_grid_names (JacSequencePainter *p,
                 gsize               row,
                 gsize               col,
                 const JacRect      *r)
{
  const JacSequenceLayout *l = p->layout;
  const char *row_index = l->style.denominator_layout ? "p" : "i";
  const char *col_index = l->style.denominator_layout ? "i" : "p";

  if (col == 0)
    {
      g_autofree char *name = g_strdup_printf ("%s = %" G_GSIZE_FORMAT, row_index, row);

      _jac_sequence_show_text (p, name, l->small, FALSE, r->x - l->base * 0.5,
                               r->y + r->height / 2, 1, 0.5, &l->palette.faint_ink);
    }
  if (row == 0)
    {
      g_autofree char *name = g_strdup_printf ("%s = %" G_GSIZE_FORMAT, col_index, col);

      /* Small blocks (on paper): the index alone, rather than names that run together. */
      if (_jac_label_width (p->context, name, l->small) > l->pitch_x - l->base * 0.4)
        {
          g_free (name);
          name = g_strdup_printf ("%" G_GSIZE_FORMAT, col);
        }
      _jac_sequence_show_text (p, name, l->small, FALSE, r->x + r->width / 2,
                               r->y - l->base * 0.3, 0.5, 1, &l->palette.faint_ink);
    }
}

void
_jac_sequence_draw_blocks (JacSequencePainter *p)
{
  const JacSequence *seq = p->scene->sequence;
  const JacStructured *jacobian = p->scene->jacobian;
  JacSequenceLayout *l = p->layout;
  JacHeatmapColors colors = { l->style.colormap, l->range,
                              _jac_rgb_argb (&l->palette.zero_fill) };
  gsize n = seq->config.config.batch;
  JacRect r = { 0 };
  double caption_y;

  _jac_sequence_paint_label (p, l->blocks_header, &l->palette.ink);
  for (gsize s = 0; s < (l->full_grid ? n * n : l->shown); s++)
    {
      gsize row = l->full_grid ? s / n : s / l->grid_cols;
      gsize col = l->full_grid ? s % n : s % l->grid_cols;
      gsize i = l->full_grid ? row : s;

      block_rect (l, row, col, &r);
      if (l->full_grid && row != col)
        draw_zero_block (p, &r);
      else if (jacobian != NULL)
        draw_block (p, jacobian, i, &r, &colors);
      if (l->full_grid)
        draw_grid_names (p, row, col, &r);
      else
        draw_block_name (p, i, &r);
    }
  draw_colorbar (p);

  /* Below the lowest block and the range label, whichever reaches further. */
  if (l->caption_more == NULL)
    return;
  caption_y = MAX (l->grid_y + l->grid_rows * l->pitch_y - round (l->base * 0.5)
                   - (l->full_grid ? 0 : l->name_height),
                   l->range_label != NULL ? l->range_label->y + l->range_label->height
                                          : l->colorbar.y + l->colorbar.height
                                            + l->bar_ticks[2]->height / 2) + l->small * 0.6;
  _jac_label_place (l->caption_more, l->left.x, caption_y, 0, 0);
  _jac_sequence_paint_label (p, l->caption_more, &l->palette.faint_ink);
}


