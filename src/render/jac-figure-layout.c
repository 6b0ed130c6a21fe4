/* jac-figure-layout.c: where everything goes, computed once for drawing and hit-testing. */
#define G_LOG_DOMAIN "jac-figure"

#include <math.h>
#include <string.h>

#include "jac-figure-paint.h"
#include "core/jac-hessian.h"

static const JacRgb black = { 0, 0, 0 };
static const JacRgb white = { 1, 1, 1 };

static JacRgb
rgb_hex (guint32 hex)
{
  JacRgb rgb = {
    ((hex >> 16) & 0xff) / 255.0,
    ((hex >> 8) & 0xff) / 255.0,
    (hex & 0xff) / 255.0,
  };

  return rgb;
}

void
_jac_palette_init (JacPalette           *palette,
                   const JacFigureStyle *style)
{
  /* Structural zeros are neutral greys, which no diverging map contains; the grey map contains
   * every grey, so there they take a warm tint instead. */
  gboolean tint = style->colormap == JAC_COLORMAP_GRAY;

  if (style->dark)
    {
      palette->background = rgb_hex (0x1e1e1e);
      palette->ink = rgb_hex (0xededed);
      palette->faint_ink = rgb_hex (0xa8a8a8);
      palette->frame = rgb_hex (0x707070);
      palette->zero_fill = rgb_hex (tint ? 0x463c28 : 0x3a3a3a);
      palette->zero_line = rgb_hex (tint ? 0x7c6a44 : 0x626262);
      palette->zero_ink = rgb_hex (tint ? 0xc8b07a : 0xb0b0b0);
      palette->outline = white;
      palette->halo = black;
    }
  else
    {
      palette->background = white;
      palette->ink = rgb_hex (0x1a1a1a);
      palette->faint_ink = rgb_hex (0x5c5c5c);
      palette->frame = rgb_hex (0xa0a0a0);
      palette->zero_fill = rgb_hex (tint ? 0xeadcb8 : 0xd9d9d9);
      palette->zero_line = rgb_hex (tint ? 0xb59c64 : 0xa3a3a3);
      palette->zero_ink = rgb_hex (tint ? 0x6e5a30 : 0x5e5e5e);
      palette->outline = black;
      palette->halo = white;
    }
}

JacLabel *
_jac_figure_layout_take_label (JacFigureLayout *layout,
                               JacLabel        *label,
                               double           x,
                               double           y,
                               double           xalign,
                               double           yalign,
                               JacInk           ink)
{
  _jac_label_place (label, x, y, xalign, yalign);
  label->ink = ink;
  g_ptr_array_add (layout->labels, label);
  return label;
}

void
_jac_figure_layout_add_rule (JacFigureLayout *layout,
                             double           x0,
                             double           y0,
                             double           x1,
                             double           y1,
                             double           width,
                             JacInk           ink)
{
  JacRule rule = { x0, y0, x1, y1, width, ink };

  g_array_append_val (layout->rules, rule);
}

JacLabel *
_jac_figure_layout_add_label (JacFigureLayout *layout,
                              const char      *markup,
                              double           size,
                              gboolean         bold,
                              double           x,
                              double           y,
                              double           xalign,
                              double           yalign,
                              JacInk           ink)
{
  JacLabel *label = _jac_label_new (layout->context, markup, size, bold, -1);

  return _jac_figure_layout_take_label (layout, label, x, y, xalign, yalign, ink);
}

double
_jac_figure_layout_text_width (JacFigureLayout *layout,
                               const char      *markup,
                               double           size)
{
  return _jac_label_width (layout->context, markup, size);
}

/* ---- slots ---- */

gboolean
_jac_figure_layout_slot_block (const JacFigureLayout *layout,
                               gsize                  slot_row,
                               gsize                  slot_col,
                               gsize                 *block_row,
                               gsize                 *block_col)
{
  gsize band = slot_row / layout->rows_per_band;
  gsize col = band * layout->band_cols + slot_col;
  gsize row = slot_row % layout->rows_per_band;

  if (slot_row >= layout->slot_rows || slot_col >= layout->slot_cols || col >= layout->disp_cols)
    return FALSE;
  if (layout->focus)
    {
      *block_row = layout->per_sample ? col : layout->focus_block_row;
      *block_col = col;
    }
  else
    {
      *block_row = layout->transposed ? col : row;
      *block_col = layout->transposed ? row : col;
    }
  return TRUE;
}

gboolean
_jac_figure_layout_block_slot (const JacFigureLayout *layout,
                               gsize                  block_row,
                               gsize                  block_col,
                               gsize                 *slot_row,
                               gsize                 *slot_col)
{
  gsize band, row, col;

  if (block_row >= layout->analysis->sparsity.n_block_rows
      || block_col >= layout->analysis->sparsity.n_block_cols
      || (layout->per_sample && block_row != block_col)
      || (layout->focus && !layout->per_sample && block_row != layout->focus_block_row))
    return FALSE;
  row = layout->focus ? 0 : layout->transposed ? block_col : block_row;
  col = layout->transposed && !layout->focus ? block_row : block_col;
  band = col / layout->band_cols;
  *slot_row = band * layout->rows_per_band + row;
  *slot_col = col % layout->band_cols;
  return TRUE;
}

void
_jac_figure_layout_slot_rect (const JacFigureLayout *layout,
                              gsize                  slot_row,
                              gsize                  slot_col,
                              JacRect               *rect)
{
  gsize band = slot_row / layout->rows_per_band;

  rect->x = layout->grid_x + slot_col * layout->pitch_x;
  rect->y = layout->grid_y + band * layout->band_pitch
            + (slot_row % layout->rows_per_band) * layout->pitch_y;
  rect->width = layout->block_width;
  rect->height = layout->block_height;
}

void
_jac_figure_layout_entry_rect (const JacFigureLayout *layout,
                               const JacRect         *block,
                               gsize                  row0,
                               gsize                  row1,
                               gsize                  col0,
                               gsize                  col1,
                               JacRect               *rect)
{
  double cell_w = block->width / layout->cell_cols;
  double cell_h = block->height / layout->cell_rows;

  if (layout->style.denominator_layout)
    {
      gsize t0 = row0, t1 = row1;

      row0 = col0;
      row1 = col1;
      col0 = t0;
      col1 = t1;
    }
  rect->x = block->x + col0 * cell_w;
  rect->y = block->y + row0 * cell_h;
  rect->width = (col1 - col0) * cell_w;
  rect->height = (row1 - row0) * cell_h;
}

/* ---- what is visible ---- */

gboolean
_jac_figure_layout_visible (const JacFigureLayout *layout,
                            const JacRect         *rect,
                            double                 margin)
{
  const JacRect *v = &layout->visible;

  return rect->x - margin < v->x + v->width && rect->x + rect->width + margin > v->x
         && rect->y - margin < v->y + v->height && rect->y + rect->height + margin > v->y;
}

void
_jac_figure_layout_visible_device (const JacFigureLayout *layout,
                                   cairo_t               *cr,
                                   JacPixelRect          *device)
{
  const JacRect *v = &layout->visible;

  jac_heatmap_device_rect (cr, v->x, v->y, v->width, v->height, &device->x, &device->y,
                           &device->width, &device->height);
  device->x -= 1;
  device->y -= 1;
  device->width += 2;
  device->height += 2;
}

gboolean
_jac_span_visible (double  start,
                   double  extent,
                   gsize   n,
                   double  from,
                   double  to,
                   gsize  *first,
                   gsize  *last)
{
  double a, b;

  *first = *last = 0;
  if (n == 0 || !(extent > 0) || to <= start || from >= start + extent)
    return FALSE;
  a = floor ((from - start) / extent * n);
  b = ceil ((to - start) / extent * n);
  *first = (gsize) CLAMP (a, 0, (double) n);
  *last = (gsize) CLAMP (b, 0, (double) n);
  return *last > *first;
}

/* The first of @n slots, placed at increasing offsets, for which @past is true. */
static gsize
first_slot (const JacFigureLayout *layout,
            gsize                  n,
            gboolean             (*past) (const JacFigureLayout *, gsize, double),
            double                 limit)
{
  gsize lo = 0, hi = n;

  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;

      if (past (layout, mid, limit))
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}

static gboolean
col_ends_after (const JacFigureLayout *layout,
                gsize                  slot_col,
                double                 x)
{
  return layout->grid_x + slot_col * layout->pitch_x + layout->block_width > x;
}

static gboolean
col_starts_at (const JacFigureLayout *layout,
               gsize                  slot_col,
               double                 x)
{
  return layout->grid_x + slot_col * layout->pitch_x >= x;
}

static gboolean
row_ends_after (const JacFigureLayout *layout,
                gsize                  slot_row,
                double                 y)
{
  JacRect rect;

  _jac_figure_layout_slot_rect (layout, slot_row, 0, &rect);
  return rect.y + rect.height > y;
}

static gboolean
row_starts_at (const JacFigureLayout *layout,
               gsize                  slot_row,
               double                 y)
{
  JacRect rect;

  _jac_figure_layout_slot_rect (layout, slot_row, 0, &rect);
  return rect.y >= y;
}

void
_jac_figure_layout_visible_slots (const JacFigureLayout *layout,
                                  JacSlotRange          *range)
{
  const JacRect *v = &layout->visible;

  /* Slots lie left to right and top to bottom, bands included: a binary search finds the
   * first and the last that reach into view. */
  range->col0 = first_slot (layout, layout->slot_cols, col_ends_after, v->x);
  range->col1 = first_slot (layout, layout->slot_cols, col_starts_at, v->x + v->width);
  range->row0 = first_slot (layout, layout->slot_rows, row_ends_after, v->y);
  range->row1 = first_slot (layout, layout->slot_rows, row_starts_at, v->y + v->height);
  range->col1 = MAX (range->col1, range->col0);
  range->row1 = MAX (range->row1, range->row0);
}

/* ---- hit-testing ---- */

static gboolean
rect_contains (const JacRect *rect,
               double         x,
               double         y)
{
  return x >= rect->x && y >= rect->y && x < rect->x + rect->width && y < rect->y + rect->height;
}

static gsize
cell_index (double offset,
            double extent,
            gsize  cells)
{
  double k = floor (offset * cells / extent);

  return (gsize) CLAMP (k, 0, (double) cells - 1);
}

static gboolean
hit_jacobian (const JacFigureLayout *layout,
              double                 x,
              double                 y,
              JacFigureHit          *hit)
{
  double band = floor ((y - layout->grid_y) / layout->band_pitch);
  double sc = floor ((x - layout->grid_x) / layout->pitch_x);
  double r, sr;
  gsize block_row, block_col, row, col;
  JacRect block;

  if (band < 0 || band >= layout->n_bands || sc < 0 || sc >= layout->slot_cols)
    return FALSE;
  r = floor ((y - layout->grid_y - band * layout->band_pitch) / layout->pitch_y);
  if (r < 0 || r >= layout->rows_per_band)
    return FALSE;
  sr = band * layout->rows_per_band + r;
  if (!_jac_figure_layout_slot_block (layout, (gsize) sr, (gsize) sc, &block_row, &block_col))
    return FALSE;
  _jac_figure_layout_slot_rect (layout, (gsize) sr, (gsize) sc, &block);
  if (!rect_contains (&block, x, y))
    return FALSE;

  row = cell_index (y - block.y, block.height, layout->cell_rows);
  col = cell_index (x - block.x, block.width, layout->cell_cols);
  hit->panel = JAC_PANEL_JACOBIAN;
  hit->block_row = block_row;
  hit->block_col = block_col;
  hit->row = layout->style.denominator_layout ? col : row;
  hit->col = layout->style.denominator_layout ? row : col;
  return TRUE;
}

gboolean
_jac_figure_layout_hit (const JacFigureLayout *layout,
                        double                 x,
                        double                 y,
                        JacFigureHit          *hit)
{
  memset (hit, 0, sizeof *hit);
  hit->panel = JAC_PANEL_NONE;

  if (rect_contains (&layout->grid, x, y) && hit_jacobian (layout, x, y, hit))
    return TRUE;

  for (guint m = 0; m < layout->n_matrices; m++)
    {
      const JacMatrixView *view = &layout->matrices[m];

      if (!rect_contains (&view->rect, x, y))
        continue;
      hit->panel = view->panel;
      hit->row = cell_index (y - view->rect.y, view->rect.height, view->rows);
      hit->col = cell_index (x - view->rect.x, view->rect.width, view->cols);
      return TRUE;
    }
  return FALSE;
}

/* ---- title ---- */

/* "<b>∂U/∂V</b>   —   U = V @ A", from the expression as typed. */
static char *
expr_title_markup (const JacAnalysis *analysis)
{
  const JacExpr *expr = analysis->expr;
  g_autofree char *out = _jac_markup_from_text (analysis->output_name);
  g_autofree char *wrt = _jac_markup_from_text (analysis->wrt_name);
  g_autofree char *trimmed = g_strstrip (g_strdup (expr->source));
  g_autofree char *source = _jac_markup_from_text (trimmed);

  if (analysis->hessian != NULL)
    {
      /* ∂²F/∂W∂W of F = …, drawn as ∂grad/∂W: the gradient's name is the one the panels use. */
      const JacHessianInfo *h = analysis->hessian;
      g_autofree char *f = _jac_markup_from_text (h->function_name);
      g_autofree char *x = _jac_markup_from_text (h->wrt);
      g_autofree char *f_source = g_strstrip (g_strdup (h->function_source));
      g_autofree char *f_markup = _jac_markup_from_text (f_source);

      return g_strdup_printf ("<b>∂²%s/∂%s∂%s = ∂%s/∂%s</b>   —   %s = %s,   %s = ∂%s/∂%s", f, x,
                              wrt, out, wrt, f, f_markup, out, f, x);
    }
  if (expr->output_named)
    return g_strdup_printf ("<b>∂%s/∂%s</b>   —   %s", out, wrt, source);
  return g_strdup_printf ("<b>∂%s/∂%s</b>   —   %s = %s", out, wrt, out, source);
}

static char *
title_markup (const JacAnalysis *analysis)
{
  return expr_title_markup (analysis);
}

static char *
shape_markup (const JacAnalysis *analysis)
{
  const JacSparsity *sparsity = &analysis->sparsity;
  gsize shape[4] = { 0 };
  guint rank = jac_structured_dense_shape (analysis->jacobian, shape);
  g_autofree char *numbers = jac_shape_string (rank, shape);
  g_autofree char *entries = _jac_format_count (sparsity->n_entries);
  g_autofree char *free_entries = _jac_format_count (sparsity->n_free_entries);

  return g_strdup_printf ("shape %s  ·  %s %s, %s not forced to 0", numbers, entries,
                          sparsity->n_entries == 1 ? "entry" : "entries", free_entries);
}

static double
layout_title (JacFigureLayout *layout,
              double           margin)
{
  g_autofree char *title = title_markup (layout->analysis);
  g_autofree char *shape = shape_markup (layout->analysis);
  /* A typed expression can be long, a page narrow: the title wraps rather than run off. */
  double wrap = layout->width - 2 * margin;
  JacLabel *t = _jac_figure_layout_take_label (layout,
                                               _jac_label_new (layout->context, title,
                                                               layout->title_px, FALSE, wrap),
                                               margin, margin, 0, 0, JAC_INK_NORMAL);
  JacLabel *s = _jac_label_new (layout->context, shape, layout->font_px, FALSE, -1);
  double bottom = t->y + t->height;

  if (layout->omit & JAC_OMIT_SHAPE)
    _jac_label_free (s);
  else if (t->width + 2 * layout->font_px + s->width <= layout->width - 2 * margin)
    {
      double baseline_t = (double) pango_layout_get_baseline (t->layout) / PANGO_SCALE;
      double baseline_s = (double) pango_layout_get_baseline (s->layout) / PANGO_SCALE;

      _jac_figure_layout_take_label (layout, s, layout->width - margin,
                                     t->y + baseline_t - baseline_s, 1, 0, JAC_INK_FAINT);
    }
  else
    {
      _jac_label_free (s);
      s = _jac_label_new (layout->context, shape, layout->font_px, FALSE, wrap);
      _jac_figure_layout_take_label (layout, s, margin, bottom, 0, 0, JAC_INK_FAINT);
      bottom = s->y + s->height;
    }
  return bottom + layout->font_px * (layout->style.medium == JAC_MEDIUM_PAPER ? 0.5 : 0.9);
}

static const struct
{
  JacOmit     omit;
  const char *words;
} omissions[] = {
  { JAC_OMIT_SCALE_NOTE, "the colour-scale note" },
  { JAC_OMIT_ARRANGEMENT, "the arrangement caption" },
  { JAC_OMIT_INTERMEDIATES, "the intermediate matrices" },
  { JAC_OMIT_MATRIX_CAPTIONS, "the matrices' shapes" },
  { JAC_OMIT_MINOR_TICKS, "minor ticks" },
  { JAC_OMIT_SHAPE, "the shape line" },
  { JAC_OMIT_CONTRACTION, "the contracted form" },
  { JAC_OMIT_SPARSITY, "the sparsity sentence" },
  { JAC_OMIT_WHY, "the why line" },
  { JAC_OMIT_BLOCK_CAPTION, "the block formula" },
};

/* "left out to fit: the colour-scale note, minor ticks", or NULL. */
static char *
omitted_markup (JacOmit  omit,
                gboolean show_contraction)
{
  const JacOmit panel_parts = JAC_OMIT_SCALE_NOTE | JAC_OMIT_INTERMEDIATES
                              | JAC_OMIT_MATRIX_CAPTIONS;
  GString *s = g_string_new ("left out to fit: ");
  gboolean first = TRUE;

  /* Parts of a panel that is gone, or a panel the user hid, go without saying. */
  if ((omit & JAC_OMIT_CONTRACTION) || !show_contraction)
    omit &= ~panel_parts;
  if (!show_contraction)
    omit &= ~JAC_OMIT_CONTRACTION;
  for (guint k = 0; k < G_N_ELEMENTS (omissions); k++)
    if (omit & omissions[k].omit)
      {
        g_string_append_printf (s, "%s%s", first ? "" : ", ", omissions[k].words);
        first = FALSE;
      }
  return g_string_free (s, first);
}

/* The block formula in the layout shown when the derivative reads as blocks (diag(S_i) W_hhᵀ);
 * else its index form, whose sparsity the legend beside the swatch already says. */
static char *
block_caption_markup (const JacFigureLayout *layout)
{
  const JacAnalysis *a = layout->analysis;
  const JacDerivation *d = a->derivation;

  if (jac_analysis_reads_as_blocks (a) || d == NULL || d->result_markup == NULL)
    return jac_analysis_block_markup (a, layout->style.denominator_layout);
  return g_strdup_printf ("J<sub><i>%s%s</i></sub> = %s", d->out_letters, d->wrt_letters,
                          d->result_markup);
}

/* The answer under everything: the block formula in this layout and why the contracted form
 * has its transpose; returns the top of what it placed. */
static double
layout_answer (JacFigureLayout *layout,
               double           margin,
               double           bottom)
{
  double width = layout->width - 2 * margin;
  double y = bottom;

  if (!(layout->omit & JAC_OMIT_WHY))
    {
      g_autofree char *why = jac_analysis_why_markup (layout->analysis);
      JacLabel *label = _jac_label_new (layout->context, why, layout->small_px, FALSE, width);

      _jac_figure_layout_take_label (layout, label, margin, y, 0, 1, JAC_INK_NORMAL);
      y = label->y - layout->small_px * 0.15;
    }
  if (!(layout->omit & JAC_OMIT_BLOCK_CAPTION) && layout->style.vec_layout)
    {
      g_autofree char *identity = _jac_figure_vec_answer_markup (layout->analysis);
      JacLabel *label = _jac_label_new (layout->context, identity, layout->font_px, FALSE, width);

      _jac_figure_layout_take_label (layout, label, margin, y, 0, 1, JAC_INK_NORMAL);
      y = label->y;
    }
  else if (!(layout->omit & JAC_OMIT_BLOCK_CAPTION))
    {
      g_autofree char *block = block_caption_markup (layout);
      g_autofree char *markup = NULL;
      JacLabel *label;

      if (layout->transposed)
        markup = g_strdup_printf ("%s   ·   denominator layout: the transpose of the numerator "
                                  "figure, blocks (<i>p</i>, <i>i</i>)", block);
      else
        markup = g_strdup (block);
      label = _jac_label_new (layout->context, markup, layout->font_px, FALSE, width);
      _jac_figure_layout_take_label (layout, label, margin, y, 0, 1, JAC_INK_NORMAL);
      y = label->y;
    }
  return y;
}

/* Labels [@first, @last) were put at the bottom before the rest was laid out: they move up to
 * @gap under the lowest of everything else, so that a figure with room to spare keeps its
 * answer next to the grid. */
static void
raise_answer (JacFigureLayout *layout,
              guint            first,
              guint            last,
              double           gap)
{
  double top = G_MAXDOUBLE, lowest = layout->grid.y + layout->grid.height, shift;

  if (first == last)
    return;
  for (guint k = 0; k < layout->labels->len; k++)
    {
      const JacLabel *label = g_ptr_array_index (layout->labels, k);

      if (k >= first && k < last)
        top = MIN (top, label->y);
      else if (k >= last)
        lowest = MAX (lowest, label->y + label->height);
    }
  lowest = MAX (lowest, layout->colorbar.y + layout->colorbar.height);
  lowest = MAX (lowest, layout->legend_swatch.y + layout->legend_swatch.height);
  for (guint m = 0; m < layout->n_matrices; m++)
    lowest = MAX (lowest, layout->matrices[m].rect.y + layout->matrices[m].rect.height);
  shift = round (lowest + gap - top);
  if (shift >= 0)
    return;
  for (guint k = first; k < last; k++)
    {
      JacLabel *label = g_ptr_array_index (layout->labels, k);

      label->y += shift;
    }
}

static JacFigureLayout *
layout_with (const JacAnalysis    *analysis,
             const JacFigureStyle *style,
             double                width,
             double                height,
             cairo_t              *cr,
             JacOmit               omit,
             double                grid_share)
{
  JacFigureLayout *layout = g_new0 (JacFigureLayout, 1);
  g_autofree char *omitted = NULL;
  double base, margin, top, bottom, full_height;
  guint first_answer, last_answer;
  JacRect area;

  layout->analysis = analysis;
  layout->style = *style;
  /* The vec layout reads entries in numerator order (rows j, columns q within a block). */
  if (layout->style.vec_layout)
    {
      layout->style.denominator_layout = FALSE;
      layout->style.focus_row = -1;
    }
  layout->omit = omit;
  layout->grid_share = grid_share;
  layout->fits = TRUE;
  if (!(layout->style.text_scale > 0) || !isfinite (layout->style.text_scale))
    layout->style.text_scale = 1;
  if (!(layout->style.line_scale > 0) || !isfinite (layout->style.line_scale))
    layout->style.line_scale = 1;
  layout->width = width;
  layout->height = height;
  layout->visible = (JacRect) { 0, 0, width, height };
  layout->transposed = layout->style.denominator_layout && !(style->focus_row >= 0
                       && (gsize) style->focus_row < analysis->sparsity.n_block_rows)
                       && !_jac_figure_shows_per_sample (analysis, style);

  _jac_type_init (&layout->type, layout->style.medium, layout->style.text_scale, width, height);
  base = layout->type.body;
  layout->font_px = base;
  layout->small_px = layout->type.small;
  layout->title_px = layout->type.title;
  layout->line_width = (layout->style.medium == JAC_MEDIUM_PAPER ? 0.5 : MAX (1, base / 16))
                       * layout->style.line_scale;
  _jac_palette_init (&layout->palette, &layout->style);
  layout->context = _jac_text_context_new (cr);
  _jac_text_context_set_type (layout->context, &layout->type);
  layout->labels = g_ptr_array_new_with_free_func (_jac_label_free);
  layout->rules = g_array_new (FALSE, FALSE, sizeof (JacRule));

  margin = round (base * (layout->style.medium == JAC_MEDIUM_PAPER ? 0.75 : 1.2));
  top = layout_title (layout, margin);
  bottom = height - margin;
  /* Said at the top, right-aligned: a window's zoom buttons cover the bottom corner. */
  omitted = omitted_markup (omit, style->show_contraction);
  if (omitted != NULL)
    {
      JacLabel *note = _jac_label_new (layout->context, omitted, layout->type.min_text, FALSE,
                                       width - 2 * margin);

      _jac_figure_layout_take_label (layout, note, width - margin, top - base * 0.3, 1, 0,
                                     JAC_INK_FAINT);
      top = note->y + note->height + base * 0.5;
    }
  first_answer = layout->labels->len;
  bottom = layout_answer (layout, margin, bottom);
  last_answer = layout->labels->len;
  area.x = margin;
  area.y = round (top);
  area.width = width - 2 * margin;
  area.height = floor (bottom - base * 0.6) - area.y;
  full_height = area.height;

  if (layout->style.show_contraction && !(omit & JAC_OMIT_CONTRACTION))
    {
      double gap = round (base * 2);
      JacRect other = area;

      /* Side by side, or stacked in a tall column. */
      if (height > width * 1.1)
        {
          area.height = round ((full_height - gap) * 0.55);
          other.y = area.y + area.height + gap;
          other.height = full_height - area.height - gap;
          _jac_figure_layout_add_rule (layout, area.x, other.y - gap / 2, area.x + area.width,
                                       other.y - gap / 2, 1, JAC_INK_FAINT);
        }
      else
        {
          area.width = round ((width - 2 * margin - gap) * grid_share);
          other.x = area.x + area.width + gap;
          other.width = width - margin - other.x;
          _jac_figure_layout_add_rule (layout, other.x - gap / 2, area.y, other.x - gap / 2,
                                       area.y + area.height, 1, JAC_INK_FAINT);
        }
      _jac_figure_layout_contraction (layout, &other);
    }
  _jac_figure_layout_grid (layout, &area);
  /* The grid must keep the larger part of the figure. */
  if (full_height < (height - top) * 0.45)
    layout->fits = FALSE;
  raise_answer (layout, first_answer, last_answer, base * 0.9);
  return layout;
}

JacFigureLayout *
_jac_figure_layout_new (const JacAnalysis    *analysis,
                        const JacFigureStyle *style,
                        double                width,
                        double                height,
                        cairo_t              *cr)
{
  JacOmit omit = 0;

  /* With each set of omissions, the grid first takes 60 % of the width, then half of it, when
   * the contracted form needs more. */
  for (guint k = 0;; k++)
    for (guint share = 0; share < 2; share++)
      {
        JacFigureLayout *layout = layout_with (analysis, style, width, height, cr, omit,
                                               share == 0 ? 0.6 : 0.5);

        if (layout->fits || (k == G_N_ELEMENTS (omissions) && share == 1))
          return layout;
        _jac_figure_layout_free (layout);
        if (share == 1)
          omit |= omissions[k].omit;
      }
}

void
_jac_figure_layout_free (JacFigureLayout *layout)
{
  if (layout == NULL)
    return;
  g_clear_pointer (&layout->labels, g_ptr_array_unref);
  g_clear_pointer (&layout->rules, g_array_unref);
  g_clear_object (&layout->context);
  g_free (layout);
}

gboolean
jac_figure_hit_test (const JacAnalysis    *analysis,
                     const JacFigureStyle *style,
                     double                width,
                     double                height,
                     double                x,
                     double                y,
                     JacFigureHit         *hit)
{
  JacFigureLayout *layout;
  JacFigureHit found;
  gboolean ok;

  g_return_val_if_fail (analysis != NULL, FALSE);
  g_return_val_if_fail (style != NULL, FALSE);

  layout = _jac_figure_layout_new (analysis, style, width, height, NULL);
  ok = _jac_figure_layout_hit (layout, x, y, &found);
  _jac_figure_layout_free (layout);
  if (hit != NULL)
    *hit = found;
  return ok;
}
