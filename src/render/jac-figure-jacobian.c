/* jac-figure-jacobian.c: the blocks of J, drawn at a cost bounded by the pixels they cover. */
#define G_LOG_DOMAIN "jac-figure"

#include <math.h>
#include <string.h>

#include "jac-figure-paint.h"
#include "jac-render-tikz-private.h"

/* ---- reading J ---- */

void
_jac_jacobian_access_init (JacJacobianAccess *access,
                           const JacAnalysis *analysis)
{
  const JacStructured *s = analysis->jacobian;
  const JacSparsity *sp = &analysis->sparsity;
  const JacTensor *core;
  gboolean tied_p, tied_q;
  int ties[2];
  guint k = 2;

  memset (access, 0, sizeof *access);
  access->analysis = analysis;
  access->i_tie = access->j_tie = -1;

  /* The direct path reads one δ pattern's core; a sum of terms, or zeros the δs do not say,
   * go through jac_structured_get. */
  if (s == NULL || s->n_terms != 1 || jac_structured_has_proved_zeros (s) || s->out_rank != 2 ||
      (s->wrt_rank != 1 && s->wrt_rank != 2))
    return;
  if (sp->n_block_rows != s->out_shape[0] || sp->block_height != s->out_shape[1])
    return;
  if (s->wrt_rank == 2 && (sp->n_block_cols != s->wrt_shape[0]
                           || sp->block_width != s->wrt_shape[1]))
    return;
  if (s->wrt_rank == 1 && (sp->n_block_cols != 1 || sp->block_width != s->wrt_shape[0]))
    return;

  /* The grid calls the variable's axes p and q; a rank-1 variable has only q. */
  for (guint axis = 0; axis < 2; axis++)
    {
      int w = s->pair[axis];

      if (w >= (int) s->wrt_rank)
        return;
      ties[axis] = w < 0 ? -1 : s->wrt_rank == 2 ? w : 1;
    }
  tied_p = ties[0] == 0 || ties[1] == 0;
  tied_q = ties[0] == 1 || ties[1] == 1;

  core = s->core;
  if (core->rank < 2 || core->shape[0] != s->out_shape[0] || core->shape[1] != s->out_shape[1])
    return;
  access->stride_i = core->strides[0];
  access->stride_j = core->strides[1];
  if (s->wrt_rank == 2 && !tied_p)
    {
      if (core->rank <= k || core->shape[k] != s->wrt_shape[0])
        return;
      access->stride_p = core->strides[k++];
    }
  if (!tied_q)
    {
      if (core->rank <= k || core->shape[k] != s->wrt_shape[s->wrt_rank - 1])
        return;
      access->stride_q = core->strides[k++];
    }
  if (core->rank != k)
    return;

  access->i_tie = ties[0];
  access->j_tie = ties[1];
  access->core = core->data;
  access->direct = TRUE;
}

double
_jac_jacobian_access_entry (const JacJacobianAccess *access,
                            gsize                    block_row,
                            gsize                    block_col,
                            gsize                    row,
                            gsize                    col,
                            gboolean                *structural_zero)
{
  gsize wrt[2] = { block_col, col };
  gboolean zero;

  if (!access->direct)
    return jac_analysis_block_entry (access->analysis, block_row, block_col, row, col,
                                     structural_zero);

  zero = (access->i_tie >= 0 && wrt[access->i_tie] != block_row)
         || (access->j_tie >= 0 && wrt[access->j_tie] != row);
  if (structural_zero != NULL)
    *structural_zero = zero;
  if (zero)
    return 0;
  return access->core[block_row * access->stride_i + row * access->stride_j
                      + block_col * access->stride_p + col * access->stride_q];
}

/* ---- pooling a block ---- */

typedef struct
{
  const JacJacobianAccess *access;
  gsize                    i;
  gsize                    p;
  gboolean                 transposed;
} JacBlockPool;

static JacCellKind
pool_sampled (const JacBlockPool *b,
              gsize               j0,
              gsize               j1,
              gsize               q0,
              gsize               q1,
              double             *value)
{
  gboolean any = FALSE;
  double best = 0;

  for (gsize a = 0; a < jac_heatmap_sample_count (j0, j1); a++)
    for (gsize c = 0; c < jac_heatmap_sample_count (q0, q1); c++)
      {
        gboolean zero = FALSE;
        double v = _jac_jacobian_access_entry (b->access, b->i, b->p,
                                               jac_heatmap_sample (j0, j1, a),
                                               jac_heatmap_sample (q0, q1, c), &zero);

        if (zero)
          continue;
        if (!any || fabs (v) > fabs (best))
          best = v;
        any = TRUE;
      }
  *value = best;
  return any ? JAC_CELL_VALUE : JAC_CELL_ZERO;
}

/* Only the entries no δ forces to zero are looked at: along the diagonal when j = q is forced,
 * so that a thin diagonal still shows however small the block is drawn. */
static JacCellKind
pool_block (gconstpointer  data,
            gsize          row0,
            gsize          row1,
            gsize          col0,
            gsize          col1,
            double        *value)
{
  const JacBlockPool *b = data;
  const JacJacobianAccess *access = b->access;
  gsize j0 = b->transposed ? col0 : row0, j1 = b->transposed ? col1 : row1;
  gsize q0 = b->transposed ? row0 : col0, q1 = b->transposed ? row1 : col1;
  gsize cols[JAC_HEATMAP_POOL_SAMPLES], n_cols;
  const double *base;
  double best = 0;

  if (!access->direct)
    return pool_sampled (b, j0, j1, q0, q1, value);
  if (access->i_tie == 0 && b->p != b->i)
    return JAC_CELL_ZERO;
  if (access->i_tie == 1)
    {
      if (b->i < q0 || b->i >= q1)
        return JAC_CELL_ZERO;
      q0 = b->i;
      q1 = q0 + 1;
    }
  if (access->j_tie == 0)
    {
      if (b->p < j0 || b->p >= j1)
        return JAC_CELL_ZERO;
      j0 = b->p;
      j1 = j0 + 1;
    }

  base = access->core + b->i * access->stride_i + b->p * access->stride_p;
  if (access->j_tie == 1)
    {
      gsize lo = MAX (j0, q0), hi = MIN (j1, q1);

      if (lo >= hi)
        return JAC_CELL_ZERO;
      for (gsize k = 0; k < jac_heatmap_sample_count (lo, hi); k++)
        {
          double v = base[jac_heatmap_sample (lo, hi, k) * access->stride_j];

          if (fabs (v) > fabs (best))
            best = v;
        }
      *value = best;
      return JAC_CELL_VALUE;
    }

  n_cols = jac_heatmap_sample_count (q0, q1);
  /* The offsets along q once per pixel rather than once per sample, in the same order. */
  for (gsize c = 0; c < n_cols; c++)
    cols[c] = jac_heatmap_sample (q0, q1, c) * access->stride_q;
  for (gsize a = 0; a < jac_heatmap_sample_count (j0, j1); a++)
    {
      const double *line = base + jac_heatmap_sample (j0, j1, a) * access->stride_j;

      for (gsize c = 0; c < n_cols; c++)
        {
          double v = line[cols[c]];

          if (fabs (v) > fabs (best))
            best = v;
        }
    }
  *value = best;
  return JAC_CELL_VALUE;
}

/* ---- drawing ---- */

typedef struct
{
  cairo_t               *cr;
  const JacFigureLayout *layout;
  JacJacobianAccess      access;
  JacHeatmapColors       colors;
  double                 pixels_per_unit;
  JacSlotRange           slots;     /* those in view */
  JacPixelRect           visible;   /* in device pixels */
  JacFigureCounters      unused;    /* counts nobody asked for */
  JacFigureCounters     *counters;
} JacGridPainter;

static gsize
n_slots (const JacGridPainter *painter)
{
  const JacSlotRange *range = &painter->slots;

  return (range->row1 - range->row0) * (range->col1 - range->col0);
}

/* Slot @index of those in view: its block and where it is drawn. */
static gboolean
next_block (const JacGridPainter *painter,
            gsize                 index,
            gsize                *i,
            gsize                *p,
            JacRect              *rect)
{
  const JacSlotRange *range = &painter->slots;
  gsize cols = range->col1 - range->col0;
  gsize sr = range->row0 + index / cols, sc = range->col0 + index % cols;

  if (!_jac_figure_layout_slot_block (painter->layout, sr, sc, i, p))
    return FALSE;
  _jac_figure_layout_slot_rect (painter->layout, sr, sc, rect);
  return TRUE;
}

/* The displayed rows and columns of the block at @block that are in view. */
static gboolean
visible_cells (const JacGridPainter *painter,
               const JacRect        *block,
               JacSlotRange         *cells)
{
  const JacFigureLayout *layout = painter->layout;
  const JacRect *v = &layout->visible;

  return _jac_span_visible (block->y, block->height, layout->cell_rows, v->y, v->y + v->height,
                            &cells->row0, &cells->row1)
         && _jac_span_visible (block->x, block->width, layout->cell_cols, v->x,
                               v->x + v->width, &cells->col0, &cells->col1);
}

/* Entry (j, q) shown at displayed row @r and column @c. */
static void
displayed_entry (const JacFigureLayout *layout,
                 gsize                  r,
                 gsize                  c,
                 gsize                 *j,
                 gsize                 *q)
{
  *j = layout->style.denominator_layout ? c : r;
  *q = layout->style.denominator_layout ? r : c;
}

/* Blocks drawn at least one pixel per cell: one image per nonzero block, one pixel per cell,
 * of the cells in view. */
static void
paint_cells (JacGridPainter *painter)
{
  const JacFigureLayout *layout = painter->layout;
  const JacAnalysis *analysis = layout->analysis;
  int k = jac_heatmap_oversample (painter->cr,
                                  MAX (layout->block_width, layout->block_height)
                                  * painter->pixels_per_unit,
                                  MAX (layout->cell_cols, layout->cell_rows), 2048);

  for (gsize s = 0; s < n_slots (painter); s++)
    {
      JacBlockPool pool = { &painter->access, 0, 0, layout->style.denominator_layout };
      JacPixelRect device;
      JacRect rect;

      if (!next_block (painter, s, &pool.i, &pool.p, &rect)
          || jac_analysis_block_is_zero (analysis, pool.i, pool.p))
        continue;
      jac_heatmap_device_rect (painter->cr, rect.x, rect.y, rect.width, rect.height,
                               &device.x, &device.y, &device.width, &device.height);
      painter->counters->pixels
        += jac_heatmap_paint_visible (painter->cr, &device, &painter->visible,
                                      layout->cell_cols * k, layout->cell_rows * k,
                                      layout->cell_rows, layout->cell_cols, pool_block, &pool,
                                      &painter->colors);
      painter->counters->blocks++;
    }
}

/* Blocks drawn smaller than their cells: one image of the grid in view at the target's
 * resolution, each pixel pooling the cells under it. */
static void
paint_pooled (JacGridPainter *painter)
{
  const JacFigureLayout *layout = painter->layout;
  const JacAnalysis *analysis = layout->analysis;
  const JacRect *grid = &layout->grid;
  JacPixelRect whole, shown;
  cairo_surface_t *image;
  guint32 *pixels;
  gsize stride;

  /* On vector targets, twice the resolution, so that zooming in stays sharp a while longer. */
  int o = jac_heatmap_target_is_vector (painter->cr) ? 2 : 1;

  jac_heatmap_device_rect (painter->cr, grid->x, grid->y, grid->width, grid->height,
                           &whole.x, &whole.y, &whole.width, &whole.height);
  if (!jac_pixel_rect_intersect (&whole, &painter->visible, &shown))
    return;
  image = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, shown.width * o, shown.height * o);
  if (cairo_surface_status (image) != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (image);
      return;
    }
  cairo_surface_flush (image);
  pixels = (guint32 *) (gpointer) cairo_image_surface_get_data (image);
  stride = cairo_image_surface_get_stride (image) / 4;

  for (gsize s = 0; s < n_slots (painter); s++)
    {
      JacBlockPool pool = { &painter->access, 0, 0, layout->style.denominator_layout };
      JacPixelRect block, part;
      JacRect rect;

      if (!next_block (painter, s, &pool.i, &pool.p, &rect)
          || jac_analysis_block_is_zero (analysis, pool.i, pool.p))
        continue;
      jac_heatmap_device_rect (painter->cr, rect.x, rect.y, rect.width, rect.height,
                               &block.x, &block.y, &block.width, &block.height);
      if (!jac_pixel_rect_intersect (&block, &shown, &part))
        continue;
      /* In the image's pixels: the part of the block in view, from the block's corner. */
      part.x = (part.x - block.x) * o;
      part.y = (part.y - block.y) * o;
      part.width *= o;
      part.height *= o;
      jac_heatmap_fill_window (pixels + (gsize) ((block.y - shown.y) * o + part.y) * stride
                               + (block.x - shown.x) * o + part.x,
                               stride, block.width * o, block.height * o, &part,
                               layout->cell_rows, layout->cell_cols, pool_block, &pool,
                               &painter->colors);
      painter->counters->blocks++;
      painter->counters->pixels += (guint64) part.width * part.height;
    }
  cairo_surface_mark_dirty (image);
  jac_heatmap_paint_device (painter->cr, image, shown.x, shown.y, shown.width, shown.height);
  cairo_surface_destroy (image);
}

/* The structural-zero cells of a nonzero block, where they are in view. */
static void
append_zero_cells (JacGridPainter *painter,
                   gsize           i,
                   gsize           p,
                   const JacRect  *block,
                   GArray         *rects)
{
  JacSlotRange cells;

  if (!visible_cells (painter, block, &cells))
    return;
  for (gsize r = cells.row0; r < cells.row1; r++)
    for (gsize c = cells.col0; c < cells.col1; c++)
      {
        gboolean zero = FALSE;
        gsize j, q;
        JacRect cell;

        displayed_entry (painter->layout, r, c, &j, &q);
        _jac_jacobian_access_entry (&painter->access, i, p, j, q, &zero);
        if (!zero)
          continue;
        _jac_figure_layout_entry_rect (painter->layout, block, j, j + 1, q, q + 1, &cell);
        g_array_append_val (rects, cell);
      }
}

/* The hatch of a raster target, its lines anchored to the figure rather than to the target, so
 * that they stay put as a zoomed view pans. */
static cairo_pattern_t *
hatch_tile (JacGridPainter *painter,
            double          spacing,
            double          line_width)
{
  const JacFigureLayout *layout = painter->layout;
  cairo_pattern_t *tile = jac_heatmap_hatch_tile ((int) spacing, line_width,
                                                  _jac_rgb_argb (&layout->palette.zero_fill),
                                                  _jac_rgb_argb (&layout->palette.zero_line));
  int ox, oy, ow, oh;
  cairo_matrix_t matrix;

  jac_heatmap_device_rect (painter->cr, 0, 0, 0, 0, &ox, &oy, &ow, &oh);
  cairo_matrix_init_translate (&matrix, -(ox % (int) spacing), -(oy % (int) spacing));
  cairo_pattern_set_matrix (tile, &matrix);
  return tile;
}

/* Structural zeros: the zero blocks, and the zero cells of other blocks when cells are large. */
static void
paint_zero_style (JacGridPainter *painter,
                  gboolean        cells_large)
{
  const JacFigureLayout *layout = painter->layout;
  const JacAnalysis *analysis = layout->analysis;
  cairo_t *cr = painter->cr;
  double ppu = painter->pixels_per_unit;
  GArray *rects = g_array_new (FALSE, FALSE, sizeof (JacRect));
  cairo_pattern_t *tile = NULL;
  double spacing, line_width;
  gboolean flat;
  JacPixelRect grid, shown;

  for (gsize s = 0; s < n_slots (painter); s++)
    {
      gsize i, p;
      JacRect rect;

      if (!next_block (painter, s, &i, &p, &rect))
        continue;
      if (jac_analysis_block_is_zero (analysis, i, p))
        {
          g_array_append_val (rects, rect);
          painter->counters->zero_blocks++;
        }
      else if (cells_large)
        append_zero_cells (painter, i, p, &rect, rects);
    }

  jac_heatmap_device_rect (cr, layout->grid.x, layout->grid.y, layout->grid.width,
                           layout->grid.height, &grid.x, &grid.y, &grid.width, &grid.height);
  jac_pixel_rect_intersect (&grid, &painter->visible, &shown);
  /* Whole units of the figure times the pixels per unit: at 2× and 3× the same lines. */
  spacing = round (MAX (4, round (layout->font_px * 0.42)) * ppu);
  line_width = MAX (1, round (layout->line_width * ppu * 0.8));
  flat = MIN (layout->block_width, layout->block_height) * ppu < 2.5 * spacing;
  /* A TikZ picture hatches the blocks itself, over their flat fill. */
  if (!flat && _jac_tikz_take_hatch (cr, (const JacRect *) (gconstpointer) rects->data, rects->len,
                                     spacing / ppu, line_width / ppu,
                                     &layout->palette.zero_line))
    flat = TRUE;
  if (!flat && !jac_heatmap_target_is_vector (cr))
    tile = hatch_tile (painter, spacing, line_width);
  /* Device rectangles are computed before switching cr to pixels. */
  {
    g_autofree int *device = g_new (int, 4 * MAX (rects->len, 1));

    for (guint r = 0; r < rects->len; r++)
      {
        const JacRect *rect = &g_array_index (rects, JacRect, r);

        jac_heatmap_device_rect (cr, rect->x, rect->y, rect->width, rect->height,
                                 &device[4 * r], &device[4 * r + 1], &device[4 * r + 2],
                                 &device[4 * r + 3]);
      }
    jac_heatmap_enter_device (cr, NULL);
    for (guint r = 0; r < rects->len; r++)
      cairo_rectangle (cr, device[4 * r], device[4 * r + 1], device[4 * r + 2],
                       device[4 * r + 3]);
  }
  /* A hatch needs room for a few lines to read as one; tiny blocks are flat grey. */
  if (flat)
    {
      _jac_set_source_rgb (cr, &layout->palette.zero_fill);
      cairo_fill (cr);
    }
  else if (tile == NULL)
    {
      _jac_set_source_rgb (cr, &layout->palette.zero_fill);
      cairo_fill_preserve (cr);
      cairo_clip (cr);
      _jac_set_source_rgb (cr, &layout->palette.zero_line);
      cairo_set_line_width (cr, line_width);
      jac_heatmap_hatch_lines (cr, shown.x, shown.y, shown.width, shown.height, spacing);
    }
  else
    {
      /* Stroking long lines through a clip of many blocks is slow; a tile is not. */
      cairo_set_source (cr, tile);
      cairo_fill (cr);
    }
  cairo_new_path (cr);
  cairo_restore (cr);
  if (tile != NULL)
    cairo_pattern_destroy (tile);
  g_array_unref (rects);
}

static void
paint_frames (JacGridPainter *painter)
{
  const JacFigureLayout *layout = painter->layout;
  cairo_t *cr = painter->cr;
  GArray *device = g_array_new (FALSE, FALSE, sizeof (int));
  double line = _jac_figure_frame_width (layout, cr);

  if (MIN (layout->pitch_x, layout->pitch_y) * painter->pixels_per_unit < 14)
    {
      g_array_unref (device);
      return;
    }
  for (gsize s = 0; s < n_slots (painter); s++)
    {
      int d[4];
      gsize i, p;
      JacRect rect;

      if (!next_block (painter, s, &i, &p, &rect))
        continue;
      if (_jac_tikz_take_frame (cr, &rect, &layout->palette.frame))
        continue;
      jac_heatmap_device_rect (cr, rect.x, rect.y, rect.width, rect.height,
                               &d[0], &d[1], &d[2], &d[3]);
      g_array_append_vals (device, d, 4);
    }
  jac_heatmap_enter_device (cr, NULL);
  for (guint k = 0; k + 3 < device->len; k += 4)
    {
      int *d = &g_array_index (device, int, k);

      cairo_rectangle (cr, d[0] - line / 2, d[1] - line / 2, d[2] + line, d[3] + line);
    }
  _jac_set_source_rgb (cr, &layout->palette.frame);
  cairo_set_line_width (cr, line);
  cairo_stroke (cr);
  cairo_restore (cr);
  g_array_unref (device);
}

/* Centres @text in @rect; with @pad, on a patch of the zero colour so that hatching stays off
 * the glyphs. */
static void
show_centred (const JacFigureLayout *layout,
              cairo_t               *cr,
              PangoLayout           *text,
              double                 size,
              const JacRect         *rect,
              const JacRgb          *ink,
              const JacRgb          *pad)
{
  PangoRectangle ink_rect, logical;
  double x, y;

  pango_layout_get_extents (text, &ink_rect, &logical);
  x = rect->x + rect->width / 2 - (logical.x + logical.width / 2.0) / PANGO_SCALE;
  y = rect->y + rect->height / 2 - (ink_rect.y + ink_rect.height / 2.0) / PANGO_SCALE;
  if (pad != NULL)
    {
      double margin = logical.height / (double) PANGO_SCALE * 0.25;

      JacRect patch = { x + (double) logical.x / PANGO_SCALE - margin,
                        y + (double) ink_rect.y / PANGO_SCALE - margin,
                        (double) logical.width / PANGO_SCALE + 2 * margin,
                        (double) ink_rect.height / PANGO_SCALE + 2 * margin };

      _jac_set_source_rgb (cr, pad);
      cairo_rectangle (cr, patch.x, patch.y, patch.width, patch.height);
      cairo_fill (cr);
      _jac_tikz_add_fill (cr, &patch, pad);
    }
  _jac_set_source_rgb (cr, ink);
  _jac_figure_record_text (layout, text, x, y, size, TRUE);
  if (_jac_tikz_take_text (cr, text, x, y, 0.5))
    return;
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, text);
}

static void
paint_zero_labels (JacGridPainter *painter)
{
  const JacFigureLayout *layout = painter->layout;
  double size = MIN (layout->font_px * 1.5,
                     MIN (layout->block_width, layout->block_height) * 0.3);
  PangoLayout *zero;

  if (size < layout->type.min_text)
    return;
  zero = _jac_text_layout_new (layout->context, size);
  pango_layout_set_text (zero, "0", -1);
  for (gsize s = 0; s < n_slots (painter); s++)
    {
      gsize i, p;
      JacRect rect;

      if (next_block (painter, s, &i, &p, &rect)
          && jac_analysis_block_is_zero (layout->analysis, i, p))
        {
          show_centred (layout, painter->cr, zero, size, &rect, &layout->palette.zero_ink,
                        &layout->palette.zero_fill);
          painter->counters->values++;
        }
    }
  g_object_unref (zero);
}


double
_jac_figure_value_font (const JacFigureLayout *layout,
                        double                 cell_width,
                        double                 cell_height)
{
  PangoLayout *probe;
  PangoRectangle logical;
  double size;

  /* As large as a cell comfortably holds, up to the body size; never below the minimum. */
  if (cell_height < layout->type.min_text * 1.25)
    return 0;
  size = MIN (layout->font_px, MAX (cell_height * 0.36, layout->type.min_text));
  probe = _jac_text_layout_new (layout->context, size);
  pango_layout_set_text (probe, "\xe2\x88\x92" "0.00", -1);
  pango_layout_get_extents (probe, NULL, &logical);
  g_object_unref (probe);
  return _jac_fit_text_size (size, (double) logical.width / PANGO_SCALE,
                             (double) logical.height / PANGO_SCALE, cell_width * 0.96,
                             G_MAXDOUBLE, size, layout->type.min_text);
}

static const JacRgb dark_ink = { 0.08, 0.08, 0.08 };
static const JacRgb light_ink = { 1, 1, 1 };

/* Whether entry (j, q) of block (i, p) is 0 for these values though no δ forces it. */
static gboolean
is_value_zero (const JacGridPainter *painter,
               gsize                 i,
               gsize                 p,
               gsize                 j,
               gsize                 q)
{
  gboolean zero = FALSE;
  double v = _jac_jacobian_access_entry (&painter->access, i, p, j, q, &zero);

  return !zero && v == 0.0;
}

/* Large value-zero cells also get a dot, so that they read in the grey map and in print, where
 * their fill alone is not enough; with values shown the "0" takes its place. */
static void
paint_value_zero_marks (JacGridPainter *painter)
{
  const JacFigureLayout *layout = painter->layout;
  double cell_w = layout->block_width / layout->cell_cols;
  double cell_h = layout->block_height / layout->cell_rows;
  double side = round (MAX (2.0 / painter->pixels_per_unit, MIN (cell_w, cell_h) * 0.2));

  _jac_set_source_rgb (painter->cr, &dark_ink);
  for (gsize s = 0; s < n_slots (painter); s++)
    {
      JacSlotRange cells;
      gsize i, p;
      JacRect rect;

      if (!next_block (painter, s, &i, &p, &rect)
          || jac_analysis_block_is_zero (layout->analysis, i, p)
          || !visible_cells (painter, &rect, &cells))
        continue;
      for (gsize r = cells.row0; r < cells.row1; r++)
        for (gsize c = cells.col0; c < cells.col1; c++)
          {
            gsize j, q;
            JacRect cell, dot;

            displayed_entry (layout, r, c, &j, &q);
            if (!is_value_zero (painter, i, p, j, q))
              continue;
            _jac_figure_layout_entry_rect (layout, &rect, j, j + 1, q, q + 1, &cell);
            dot = (JacRect) { round (cell.x + (cell.width - side) / 2),
                              round (cell.y + (cell.height - side) / 2), side, side };
            cairo_rectangle (painter->cr, dot.x, dot.y, dot.width, dot.height);
            _jac_tikz_add_fill (painter->cr, &dot, &dark_ink);
          }
    }
  cairo_fill (painter->cr);
}

static void
paint_values (JacGridPainter *painter)
{
  const JacFigureLayout *layout = painter->layout;
  double cell_w = layout->block_width / layout->cell_cols;
  double cell_h = layout->block_height / layout->cell_rows;
  double size = _jac_figure_value_font (layout, cell_w, cell_h);
  PangoLayout *text;

  if (size <= 0)
    return;
  text = _jac_text_layout_new (layout->context, size);
  for (gsize s = 0; s < n_slots (painter); s++)
    {
      JacSlotRange cells;
      gsize i, p;
      JacRect rect;

      if (!next_block (painter, s, &i, &p, &rect)
          || jac_analysis_block_is_zero (layout->analysis, i, p)
          || !visible_cells (painter, &rect, &cells))
        continue;
      for (gsize r = cells.row0; r < cells.row1; r++)
        for (gsize c = cells.col0; c < cells.col1; c++)
          {
            gboolean zero = FALSE;
            gsize j, q;
            double v;
            g_autofree char *label = NULL;
            guint32 argb;
            JacRect cell;

            displayed_entry (layout, r, c, &j, &q);
            v = _jac_jacobian_access_entry (&painter->access, i, p, j, q, &zero);
            /* Exactly 0 for these values: "0", not the "0.00" of a small value. */
            label = zero || v == 0.0 ? g_strdup ("0") : _jac_format_cell (v);
            argb = !zero && v == 0.0 ? painter->colors.value_zero_argb
                                     : jac_colormap_argb (layout->style.colormap, v,
                                                          layout->range);
            _jac_figure_layout_entry_rect (layout, &rect, j, j + 1, q, q + 1, &cell);
            pango_layout_set_text (text, label, -1);
            show_centred (layout, painter->cr, text, size, &cell,
                          zero ? &layout->palette.zero_ink
                               : jac_colormap_prefers_dark_ink (argb) ? &dark_ink : &light_ink,
                          NULL);
            painter->counters->values++;
          }
    }
  g_object_unref (text);
}

void
_jac_figure_draw_jacobian (cairo_t               *cr,
                           const JacFigureLayout *layout)
{
  JacGridPainter painter = { 0 };
  gboolean pooled, cells_large;
  int dx, dy, dw, dh;

  if (layout->slot_rows == 0 || layout->slot_cols == 0)
    return;
  painter.cr = cr;
  painter.layout = layout;
  painter.counters = layout->counters != NULL ? layout->counters : &painter.unused;
  _jac_figure_layout_visible_slots (layout, &painter.slots);
  if (n_slots (&painter) == 0)
    return;
  _jac_figure_layout_visible_device (layout, cr, &painter.visible);
  _jac_jacobian_access_init (&painter.access, layout->analysis);
  painter.colors.colormap = layout->style.colormap;
  painter.colors.range = layout->range;
  painter.colors.zero_argb = _jac_rgb_argb (&layout->palette.zero_fill);
  painter.colors.value_zero_argb = jac_colormap_value_zero_argb (layout->style.colormap);
  jac_heatmap_enter_device (cr, &painter.pixels_per_unit);
  cairo_restore (cr);

  jac_heatmap_device_rect (cr, layout->grid_x, layout->grid_y, layout->block_width,
                           layout->block_height, &dx, &dy, &dw, &dh);
  pooled = (gsize) dw < layout->cell_cols || (gsize) dh < layout->cell_rows;
  cells_large = !pooled
                && MIN (dw / (double) layout->cell_cols, dh / (double) layout->cell_rows) >= 10;

  if (pooled)
    paint_pooled (&painter);
  else
    paint_cells (&painter);
  paint_zero_style (&painter, cells_large);
  paint_frames (&painter);
  paint_zero_labels (&painter);
  if (layout->style.show_values)
    paint_values (&painter);
  else if (cells_large)
    paint_value_zero_marks (&painter);
}
