/* jac-figure-grid.c: the layout of the Jacobian's blocks, their labels and the colour bar. */
#define G_LOG_DOMAIN "jac-figure"

#include <math.h>
#include <string.h>

#include "jac-figure-private.h"

/* ---- expressions: words from the index letters of the derivation ---- */

static guint
out_rank (const JacAnalysis *analysis)
{
  return analysis->jacobian->out_rank;
}

static guint
wrt_rank (const JacAnalysis *analysis)
{
  return analysis->jacobian->wrt_rank;
}

/* "rows <i>j</i> (column of U)", "one row (U is a scalar)". */
static char *
expr_axis_words (const char *what,
                 guint       rank,
                 const char *letters,
                 const char *name)
{
  g_autofree char *markup = _jac_markup_from_text (name);

  if (rank == 0)
    return g_strdup_printf ("one %s (%s is a scalar)", g_str_equal (what, "rows") ? "row"
                                                                                   : "column",
                            markup);
  return g_strdup_printf ("%s <i>%c</i> (%s of %s)", what, letters[rank - 1],
                          rank == 2 ? "column" : "entry", markup);
}

gboolean
_jac_figure_shows_per_sample (const JacAnalysis    *analysis,
                              const JacFigureStyle *style)
{
  return style->per_sample && jac_analysis_is_batch_diagonal (analysis, NULL);
}

/* "per sample: blocks J[i, :, i, :] for every i   ·   in a block: rows j, columns q" */
static char *
per_sample_caption_markup (const JacFigureLayout *layout)
{
  const JacAnalysis *a = layout->analysis;
  const char *o = jac_analysis_out_indices (a);
  const char *w = jac_analysis_wrt_indices (a);
  gboolean denominator = layout->style.denominator_layout;

  return g_strdup_printf ("per sample: blocks J[<i>%c</i>, :, <i>%c</i> = <i>%c</i>, :] for every "
                          "<i>%c</i>   ·   in a block: rows <i>%c</i>, columns <i>%c</i>%s",
                          o[0], w[0], o[0], o[0], denominator ? w[1] : o[1],
                          denominator ? o[1] : w[1], denominator ? " — denominator layout" : "");
}

static char *
expr_caption_markup (const JacFigureLayout *layout)
{
  const JacAnalysis *a = layout->analysis;
  const char *o = jac_analysis_out_indices (a);
  const char *w = jac_analysis_wrt_indices (a);
  g_autofree char *out = _jac_markup_from_text (a->output_name);
  g_autofree char *var = _jac_markup_from_text (a->wrt_name);
  gboolean denominator = layout->style.denominator_layout;
  g_autofree char *rows = expr_axis_words ("rows", denominator ? wrt_rank (a) : out_rank (a),
                                           denominator ? w : o,
                                           denominator ? a->wrt_name : a->output_name);
  g_autofree char *cols = expr_axis_words ("columns", denominator ? out_rank (a) : wrt_rank (a),
                                           denominator ? o : w,
                                           denominator ? a->output_name : a->wrt_name);
  g_autofree char *blocks = NULL;

  if (layout->focus && out_rank (a) == 2 && wrt_rank (a) == 2)
    blocks = g_strdup_printf ("row <i>%c</i> = %" G_GSIZE_FORMAT ": blocks J[%" G_GSIZE_FORMAT
                              ", :, <i>%c</i>, :] for every <i>%c</i>", o[0],
                              layout->focus_block_row, layout->focus_block_row, w[0], w[0]);
  else if (layout->focus && out_rank (a) == 2)
    blocks = g_strdup_printf ("row <i>%c</i> = %" G_GSIZE_FORMAT ": block J[%" G_GSIZE_FORMAT
                              ", …]", o[0], layout->focus_block_row, layout->focus_block_row);
  else if (out_rank (a) == 2 && wrt_rank (a) == 2 && layout->transposed)
    blocks = g_strdup_printf ("blocks (<i>%c</i>, <i>%c</i>): rows <i>%c</i> (row of %s), "
                              "columns <i>%c</i> (row of %s)", w[0], o[0], w[0], var, o[0], out);
  else if (out_rank (a) == 2 && wrt_rank (a) == 2)
    blocks = g_strdup_printf ("blocks (<i>%c</i>, <i>%c</i>): rows <i>%c</i> (row of %s), "
                              "columns <i>%c</i> (row of %s)", o[0], w[0], o[0], out, w[0], var);
  else if (out_rank (a) == 2)
    blocks = g_strdup_printf ("blocks <i>%c</i>: one per row of %s", o[0], out);
  else if (wrt_rank (a) == 2)
    blocks = g_strdup_printf ("blocks <i>%c</i>: one per row of %s", w[0], var);
  else
    blocks = g_strdup ("one block");
  return g_strdup_printf ("%s   ·   in a block: %s, %s%s", blocks, rows, cols,
                          denominator ? " — denominator layout" : "");
}

static char *
caption_markup (const JacFigureLayout *layout)
{
  if (layout->vec)
    return _jac_figure_vec_caption_markup (layout);
  if (layout->per_sample)
    return per_sample_caption_markup (layout);
  return expr_caption_markup (layout);
}

static char *
block_label_markup (const JacFigureLayout *layout,
                    gsize                  block_row,
                    gsize                  block_col)
{
  const JacAnalysis *a = layout->analysis;

  if (out_rank (a) < 2 || wrt_rank (a) < 2)
    {
      const char *o = jac_analysis_out_indices (a);
      const char *w = jac_analysis_wrt_indices (a);

      if (out_rank (a) == 2)
        return g_strdup_printf ("<i>%c</i> = %" G_GSIZE_FORMAT, o[0], block_row);
      if (wrt_rank (a) == 2)
        return g_strdup_printf ("<i>%c</i> = %" G_GSIZE_FORMAT, w[0], block_col);
      return g_strdup ("J");
    }
  if (layout->analysis->jacobian->wrt_rank == 1)
    return g_strdup_printf ("<i>i</i> = %" G_GSIZE_FORMAT, block_row);
  /* Denominator layout names a block as it stands: (p, i). */
  if (layout->transposed)
    return g_strdup_printf ("(%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ")", block_col, block_row);
  return g_strdup_printf ("(%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ")", block_row, block_col);
}

typedef struct
{
  double left;      /* width of the row-index column */
  double top;       /* height of the column-index row */
  double band;      /* height of a block label above each block */
  double band_gap;  /* extra space between bands of block columns */
  double label_w;   /* widest block label */
} JacGridMargins;

static void
set_bands (JacFigureLayout *layout,
           gsize            n_bands)
{
  gsize n = layout->disp_cols;

  layout->band_cols = (n + n_bands - 1) / n_bands;
  layout->n_bands = (n + layout->band_cols - 1) / layout->band_cols;
  layout->slot_cols = layout->band_cols;
  layout->slot_rows = layout->n_bands * layout->rows_per_band;
}

static double
cell_size_for (const JacFigureLayout *layout,
               double                 avail_w,
               double                 avail_h,
               double                 band,
               double                 gap,
               double                 band_gap)
{
  double sw = (avail_w - (layout->slot_cols - 1) * gap) / (layout->slot_cols * layout->cell_cols);
  double sh = (avail_h - layout->slot_rows * band - (layout->slot_rows - 1) * gap
               - (layout->n_bands - 1) * band_gap)
              / (layout->slot_rows * layout->cell_rows);

  return MAX (MIN (sw, sh), 0);
}

static double
gap_for_pitch (const JacFigureLayout *layout,
               double                 pitch)
{
  if (pitch < 5)
    return 0;
  if (pitch < 14)
    return 1;
  return CLAMP (round (pitch * 0.05), 2, MAX (2, round (layout->font_px * 0.6)));
}

/* Sets the block size and pitch for the space available; cells are square, whole pixels when
 * they are a few pixels or more, and never larger than a few lines of text. */
static void
fit_blocks (JacFigureLayout      *layout,
            double                avail_w,
            double                avail_h,
            const JacGridMargins *margins)
{
  double s = cell_size_for (layout, avail_w, avail_h, margins->band, 0, margins->band_gap);
  /* The vec layout is one matrix: its blocks touch. */
  double gap = layout->vec ? 0 : gap_for_pitch (layout, s * MIN (layout->cell_cols,
                                                                  layout->cell_rows));

  s = cell_size_for (layout, avail_w, avail_h, margins->band, gap, margins->band_gap);
  /* Cells stay a few lines of text high, unless there are so few that the grid would look lost. */
  s = MIN (s, layout->font_px * MAX (8, 20.0 / MAX (layout->slot_cols * layout->cell_cols,
                                                     layout->slot_rows * layout->cell_rows)));
  if (s >= 3)
    {
      s = floor (s);
      layout->block_width = s * layout->cell_cols;
      layout->block_height = s * layout->cell_rows;
    }
  else
    {
      layout->block_width = MAX (1, floor (s * layout->cell_cols));
      layout->block_height = MAX (1, floor (s * layout->cell_rows));
    }
  layout->pitch_x = layout->block_width + gap;
  layout->pitch_y = layout->block_height + gap + margins->band;
  layout->band_pitch = layout->rows_per_band * layout->pitch_y + margins->band_gap;
}

static double
grid_width (const JacFigureLayout *layout)
{
  return (layout->slot_cols - 1) * layout->pitch_x + layout->block_width;
}

static double
grid_height (const JacFigureLayout *layout)
{
  return (layout->n_bands - 1) * layout->band_pitch
         + (layout->rows_per_band - 1) * layout->pitch_y + layout->block_height;
}

/* How many bands to wrap the block columns into: with a focus row, whatever makes blocks
 * largest; for the grid, only when that makes them much larger, since the plain grid reads
 * best. */
static void
arrange_bands (JacFigureLayout *layout,
               double           avail_w,
               double           avail_h)
{
  gsize n = layout->disp_cols;
  double band_gap = layout->font_px * (layout->focus ? 0.6 : 2);
  double label_band = layout->focus ? round (layout->small_px * 1.5) : 0;
  double gap = layout->font_px * 0.5;
  double plain, best_s = -1;
  gsize best = 1;

  for (gsize bands = 1; bands <= n; bands++)
    {
      double s;

      set_bands (layout, bands);
      if (layout->n_bands != bands)
        continue;
      s = cell_size_for (layout, avail_w, avail_h, label_band, gap, band_gap);
      if (s > best_s * 1.0001)
        {
          best_s = s;
          best = bands;
        }
    }
  set_bands (layout, 1);
  plain = cell_size_for (layout, avail_w, avail_h, label_band, gap, band_gap);
  set_bands (layout, layout->focus || best_s > plain * 1.3 ? best : 1);
}

/* Every k-th index is labelled, k in 1, 2, 5, 10, 20, 50, … so that labels do not collide. */
static gsize
label_stride (double pitch,
              double needed)
{
  static const gsize steps[] = { 1, 2, 5 };

  for (gsize decade = 1; decade < G_MAXSIZE / 10; decade *= 10)
    for (guint k = 0; k < G_N_ELEMENTS (steps); k++)
      if (steps[k] * decade * pitch >= needed)
        return steps[k] * decade;
  return G_MAXSIZE;
}

static gboolean
try_block_labels (JacFigureLayout *layout,
                  double           avail_w,
                  double           avail_h,
                  JacGridMargins  *margins)
{
  const JacSparsity *sparsity = &layout->analysis->sparsity;
  g_autofree char *widest = block_label_markup (layout, sparsity->n_block_rows - 1,
                                                sparsity->n_block_cols - 1);

  if (!layout->focus && (layout->slot_rows > 5 || layout->slot_cols > 6))
    return FALSE;
  margins->label_w = _jac_figure_layout_text_width (layout, widest, layout->small_px);
  margins->band = round (layout->small_px * 1.5);
  margins->band_gap = round (layout->font_px * 0.6);
  margins->left = margins->top = 0;
  /* The first row's labels sit in the space above the grid that avail_h leaves out. */
  fit_blocks (layout, avail_w, avail_h + margins->band, margins);
  return layout->focus
         || (layout->block_width >= margins->label_w + layout->font_px * 0.5
             && layout->block_height >= layout->font_px * 1.2);
}

static void
header_margins (JacFigureLayout *layout,
                JacGridMargins  *margins)
{
  g_autofree char *widest = g_strdup_printf ("%" G_GSIZE_FORMAT, layout->disp_rows - 1);

  margins->band = 0;
  margins->top = round (layout->small_px * 1.6);
  margins->band_gap = margins->top + round (layout->font_px * 0.6);
  margins->left = MAX (_jac_figure_layout_text_width (layout, widest, layout->small_px),
                       _jac_figure_layout_text_width (layout, "<i>i</i> ↓  <i>p</i> →",
                                                      layout->small_px))
                  + layout->font_px * 0.5;
}

static void
place_block_labels (JacFigureLayout      *layout,
                    const JacGridMargins *margins)
{
  for (gsize sr = 0; sr < layout->slot_rows; sr++)
    for (gsize sc = 0; sc < layout->slot_cols; sc++)
      {
        g_autofree char *markup = NULL;
        gsize bi, bp;
        JacRect block;

        if (!_jac_figure_layout_slot_block (layout, sr, sc, &bi, &bp))
          continue;
        _jac_figure_layout_slot_rect (layout, sr, sc, &block);
        markup = block_label_markup (layout, bi, bp);
        _jac_figure_layout_add_label (layout, markup, layout->small_px, FALSE,
                                      block.x + block.width / 2,
                                      block.y - layout->small_px * 0.25, 0.5, 1, JAC_INK_FAINT);
      }
}

/* The letters the block rows and the block columns run over ('\0' for none): i and p, swapped
 * when the figure is transposed. */
static void
header_letters (const JacFigureLayout *layout,
                char                  *row_letter,
                char                  *col_letter)
{
  const JacAnalysis *a = layout->analysis;
  const char *o = jac_analysis_out_indices (a);
  const char *w = jac_analysis_wrt_indices (a);
  char out = out_rank (a) == 2 ? o[0] : '\0';
  char var = wrt_rank (a) == 2 ? w[0] : '\0';

  *row_letter = layout->transposed ? var : out;
  *col_letter = layout->transposed ? out : var;
}

/* "i ↓  p →", or NULL for neither. */
static char *
corner_markup (char row_letter,
               char col_letter)
{
  if (row_letter != '\0' && col_letter != '\0')
    return g_strdup_printf ("<i>%c</i> ↓  <i>%c</i> →", row_letter, col_letter);
  if (row_letter != '\0')
    return g_strdup_printf ("<i>%c</i> ↓", row_letter);
  if (col_letter != '\0')
    return g_strdup_printf ("<i>%c</i> →", col_letter);
  return NULL;
}

static void
place_headers (JacFigureLayout      *layout,
               const JacGridMargins *margins)
{
  double right = layout->grid_x - layout->font_px * 0.4;
  g_autofree char *widest = g_strdup_printf ("%" G_GSIZE_FORMAT, layout->disp_cols - 1);
  gsize col_stride = label_stride (layout->pitch_x,
                                   _jac_figure_layout_text_width (layout, widest, layout->small_px)
                                   + layout->font_px * 0.6);
  gsize row_stride = label_stride (layout->pitch_y, layout->small_px * 1.3);
  g_autofree char *corner = NULL;
  char row_letter, col_letter;
  gboolean row_labels, col_labels;

  /* An expression's vector or scalar has no block index to number. */
  header_letters (layout, &row_letter, &col_letter);
  row_labels = row_letter != '\0';
  col_labels = col_letter != '\0';
  corner = corner_markup (row_letter, col_letter);
  if (corner != NULL)
    _jac_figure_layout_add_label (layout, corner, layout->small_px, FALSE, right,
                                layout->grid_y - margins->top / 2, 1, 0.5, JAC_INK_FAINT);

  for (gsize band = 0; band < layout->n_bands; band++)
    {
      double band_y = layout->grid_y + band * layout->band_pitch;

      for (gsize sc = 0; sc < layout->slot_cols; sc++)
        {
          gsize col = band * layout->band_cols + sc;
          g_autofree char *text = NULL;

          if (col >= layout->disp_cols || col % col_stride != 0 || !col_labels)
            continue;
          text = g_strdup_printf ("%" G_GSIZE_FORMAT, col);
          _jac_figure_layout_add_label (layout, text, layout->small_px, FALSE,
                                        layout->grid_x + sc * layout->pitch_x
                                        + layout->block_width / 2,
                                        band_y - margins->top / 2, 0.5, 0.5, JAC_INK_FAINT);
        }
      for (gsize r = 0; row_labels && r < layout->rows_per_band; r += row_stride)
        {
          g_autofree char *text = g_strdup_printf ("%" G_GSIZE_FORMAT,
                                                   layout->focus ? layout->focus_block_row : r);

          _jac_figure_layout_add_label (layout, text, layout->small_px, FALSE, right,
                                        band_y + r * layout->pitch_y + layout->block_height / 2,
                                        1, 0.5, JAC_INK_FAINT);
        }
    }
}

typedef struct
{
  double     width;      /* of the whole column: gap, bar, ticks, labels */
  double     step;
  JacLabel  *title;
  JacLabel  *caption;
  GPtrArray *ticks;      /* JacLabel, from −K·step to K·step */
} JacColorbarParts;

static void
colorbar_parts (JacFigureLayout  *layout,
                JacColorbarParts *parts)
{
  const JacAnalysis *a = layout->analysis;
  g_autofree char *wrt = _jac_markup_from_text (a->wrt_name);
  g_autofree char *out = _jac_markup_from_text (a->output_name);
  g_autofree char *title = g_strdup_printf ("∂%s/∂%s", out, wrt);
  g_autofree char *max = _jac_format_value (layout->range);
  g_autofree char *caption = g_strdup_printf ("max |J| = %s", max);
  double widest = 0;
  int k_max;

  parts->step = jac_colormap_tick_step (layout->range);
  k_max = (int) floor (layout->range / parts->step + 1e-9);
  /* Without minor ticks: the outermost ticks and 0. */
  if ((layout->omit & JAC_OMIT_MINOR_TICKS) && k_max > 1)
    {
      parts->step *= k_max;
      k_max = 1;
    }
  parts->ticks = g_ptr_array_new_with_free_func (_jac_label_free);
  for (int k = -k_max; k <= k_max; k++)
    {
      g_autofree char *text = _jac_format_tick (k * parts->step, parts->step);
      JacLabel *tick = _jac_label_new (layout->context, text, layout->small_px, FALSE, -1);

      widest = MAX (widest, tick->width);
      g_ptr_array_add (parts->ticks, tick);
    }
  parts->title = _jac_label_new (layout->context, title, layout->font_px, FALSE, -1);
  parts->caption = _jac_label_new (layout->context, caption, layout->small_px, FALSE, -1);
  parts->width = layout->font_px * 1.2
                 + MAX (MAX (round (layout->font_px * 0.9) + layout->font_px * 0.6 + widest,
                             parts->title->width),
                        parts->caption->width);
}

static void
place_colorbar (JacFigureLayout  *layout,
                JacColorbarParts *parts,
                double            x,
                double            y,
                double            height)
{
  JacRect *bar = &layout->colorbar;
  double tick_len = layout->font_px * 0.3;
  guint n = parts->ticks->len;
  double spacing, label_h = 0, reach = 0;
  int every;

  bar->x = round (x);
  bar->y = round (y);
  bar->width = round (layout->font_px * 0.9);
  bar->height = round (height);

  /* Ticks closer than their labels are tall keep only every m-th label, counted from 0. */
  spacing = parts->step / layout->range * bar->height / 2;
  for (guint t = 0; t < n; t++)
    label_h = MAX (label_h, ((JacLabel *) g_ptr_array_index (parts->ticks, t))->height);
  /* A tick at the very ends (max |J| a multiple of the step) has its label reach past the bar:
   * the title above and the caption below keep clear of it. */
  if (n > 0)
    {
      double top_tick = bar->y + (1 - ((n / 2) * parts->step / layout->range + 1) / 2)
                                 * bar->height;

      reach = MAX (0, label_h / 2 - (top_tick - bar->y)) + layout->font_px * 0.1;
    }
  _jac_figure_layout_take_label (layout, g_steal_pointer (&parts->title), bar->x,
                                 bar->y - MAX (layout->font_px * 0.35, reach), 0, 1,
                                 JAC_INK_NORMAL);
  _jac_figure_layout_take_label (layout, g_steal_pointer (&parts->caption), bar->x,
                                 bar->y + bar->height + MAX (layout->small_px * 0.4, reach),
                                 0, 0, JAC_INK_FAINT);
  every = spacing > 0 ? (int) ceil (label_h * 1.05 / spacing - 1e-9) : 1;
  every = MAX (every, 1);
  for (guint t = 0; t < n; t++)
    {
      int from_zero = (int) t - (int) (n / 2);
      double value = from_zero * parts->step;
      double ty = bar->y + (1 - (value / layout->range + 1) / 2) * bar->height;
      JacLabel *tick = g_ptr_array_index (parts->ticks, t);

      if (ABS (from_zero) % every != 0)
        continue;
      _jac_figure_layout_add_rule (layout, bar->x + bar->width, ty,
                                   bar->x + bar->width + tick_len, ty, 1, JAC_INK_NORMAL);
      g_ptr_array_index (parts->ticks, t) = NULL;
      _jac_figure_layout_take_label (layout, tick,
                                     bar->x + bar->width + tick_len + layout->font_px * 0.25,
                                     ty, 0, 0.5, JAC_INK_NORMAL);
    }
  g_ptr_array_unref (parts->ticks);
}

/* "row i = 1: only block p = 1 is nonzero", from the blocks themselves. */
static char *
row_sentence (const JacFigureLayout *layout)
{
  const JacAnalysis *a = layout->analysis;
  gsize i = layout->focus_block_row, n = a->sparsity.n_block_cols, nonzero = 0, last = 0;
  char row_letter, col_letter;

  header_letters (layout, &row_letter, &col_letter);
  for (gsize p = 0; p < n; p++)
    if (!jac_analysis_block_is_zero (a, i, p))
      {
        nonzero++;
        last = p;
      }
  if (row_letter == '\0')
    row_letter = 'i';
  if (nonzero == 0)
    return g_strdup_printf ("row <i>%c</i> = %" G_GSIZE_FORMAT ": every block is 0", row_letter, i);
  if (n == 1 || col_letter == '\0')
    return g_strdup_printf ("row <i>%c</i> = %" G_GSIZE_FORMAT ": its one block", row_letter, i);
  if (nonzero == 1)
    return g_strdup_printf ("row <i>%c</i> = %" G_GSIZE_FORMAT ": only block <i>%c</i> = %"
                            G_GSIZE_FORMAT " is nonzero", row_letter, i, col_letter, last);
  if (nonzero == n)
    return g_strdup_printf ("row <i>%c</i> = %" G_GSIZE_FORMAT ": all %" G_GSIZE_FORMAT
                            " blocks may be nonzero", row_letter, i, n);
  return g_strdup_printf ("row <i>%c</i> = %" G_GSIZE_FORMAT ": %" G_GSIZE_FORMAT " of %"
                          G_GSIZE_FORMAT " blocks may be nonzero", row_letter, i, nonzero, n);
}

/* Counting reads every stored entry: past this many the window's 100 ms would not hold, and the
 * clause is left to `jacscope derive` (the cells keep their style). */
#define VALUE_ZERO_COUNT_LIMIT ((gsize) 1 << 22)

/* "▮ 5 more are exactly 0 for these values: ReLU off", its swatch the cells' own colour; "" when
 * there are none. */
static char *
value_zero_markup (const JacFigureLayout *layout)
{
  const JacAnalysis *a = layout->analysis;
  guint32 argb = jac_colormap_value_zero_argb (layout->style.colormap);
  g_autofree char *reason = NULL;
  g_autofree char *reason_markup = NULL;
  g_autofree char *count_text = NULL;
  gsize count;

  if (jac_structured_stored_count (a->jacobian) > VALUE_ZERO_COUNT_LIMIT
      || (count = jac_analysis_count_value_zeros (a)) == 0)
    return g_strdup ("");
  reason = jac_analysis_value_zero_reason (a);
  reason_markup = reason != NULL ? g_markup_printf_escaped (": %s", reason) : g_strdup ("");
  count_text = _jac_format_count (count);
  /* No "·" separator before the swatch: where the background is lost (TikZ) its dot stays. */
  return g_strdup_printf ("      <span background=\"#%06x\" foreground=\"#141414\"> · </span>"
                          " %s more %s exactly 0 for these values%s", argb & 0xffffff,
                          count_text, count == 1 ? "is" : "are", reason_markup);
}

static char *
bottom_markup (const JacFigureLayout *layout)
{
  g_autofree char *sentence = NULL;
  g_autofree char *value_zeros = NULL;
  /* Zeros proved on partitions (terms that cancel, a δ of two variable axes) are not all one
   * δ's: the swatch says what they share. */
  const char *swatch = jac_structured_has_proved_zeros (layout->analysis->jacobian)
                         ? "zero for every value (structural zero)"
                         : "forced to 0 by a δ (structural zero)";

  if (layout->omit & JAC_OMIT_SPARSITY)
    return g_strdup (swatch);
  if (layout->per_sample)
    {
      g_autofree char *memory = jac_analysis_per_sample_memory_text (layout->analysis);

      sentence = g_markup_printf_escaped ("every block off the diagonal is forced to 0   ·   %s",
                                          memory);
    }
  else if (layout->focus)
    sentence = row_sentence (layout);
  else
    sentence = _jac_markup_from_text (layout->analysis->sparsity.sentence);
  value_zeros = value_zero_markup (layout);

  return g_strdup_printf ("%s   ·   %s%s", swatch, sentence, value_zeros);
}

static double
clamp_left (const JacRect *area,
            double         x,
            double         width)
{
  return round (MAX (area->x, MIN (x, area->x + area->width - width)));
}

void
_jac_figure_layout_grid (JacFigureLayout *layout,
                         const JacRect   *area)
{
  const JacAnalysis *analysis = layout->analysis;
  const JacSparsity *sparsity = &analysis->sparsity;
  double gap = round (layout->font_px * 0.7);
  double swatch = round (layout->small_px * 1.2);
  g_autofree char *caption_text = NULL;
  g_autofree char *bottom_text = NULL;
  JacLabel *caption, *bottom;
  JacColorbarParts bar;
  JacGridMargins margins = { 0 };
  double avail_w, avail_h, grid_w, grid_h, bar_h, x0, y0, total_w, total_h, top_band, below;

  /* The vec layout wins over the per-sample view, which wins over one output row. */
  layout->vec = layout->style.vec_layout;
  layout->per_sample = !layout->vec && _jac_figure_shows_per_sample (analysis, &layout->style);
  layout->focus = layout->per_sample
                  || (layout->style.focus_row >= 0 && !layout->vec
                      && (gsize) layout->style.focus_row < sparsity->n_block_rows);
  layout->focus_block_row = layout->focus ? (gsize) layout->style.focus_row : 0;
  layout->transposed = layout->style.denominator_layout && !layout->focus;
  layout->disp_rows = layout->transposed ? sparsity->n_block_cols : sparsity->n_block_rows;
  layout->disp_cols = layout->transposed ? sparsity->n_block_rows : sparsity->n_block_cols;
  layout->cell_rows = layout->style.denominator_layout ? sparsity->block_width
                                                       : sparsity->block_height;
  layout->cell_cols = layout->style.denominator_layout ? sparsity->block_height
                                                       : sparsity->block_width;
  layout->range = analysis->jacobian_max_abs > 0 && isfinite (analysis->jacobian_max_abs)
                  ? analysis->jacobian_max_abs : 1;

  caption_text = layout->omit & JAC_OMIT_ARRANGEMENT ? g_strdup ("") : caption_markup (layout);
  caption = _jac_label_new (layout->context, caption_text, layout->small_px, FALSE, area->width);
  if (layout->omit & JAC_OMIT_ARRANGEMENT)
    caption->height = 0;
  bottom_text = bottom_markup (layout);
  bottom = _jac_label_new (layout->context, bottom_text, layout->small_px, FALSE,
                           area->width - swatch - layout->font_px * 0.5);
  colorbar_parts (layout, &bar);

  /* Above the grid: room for column indices or block labels, and the colour bar's title. */
  top_band = round (layout->font_px * 1.45);
  below = layout->small_px * 1.6 + gap + MAX (bottom->height, swatch);
  avail_w = area->width - bar.width;
  avail_h = area->height - caption->height - gap - top_band - below;
  /* Captions may not take the grid's room: past this, the layout leaves something out. */
  if (avail_h < MAX (area->height * 0.45, layout->font_px * 4) || avail_w < area->width * 0.5)
    layout->fits = FALSE;
  layout->rows_per_band = layout->focus ? 1 : layout->disp_rows;
  if (layout->vec)
    {
      set_bands (layout, 1);
      _jac_figure_vec_margins (layout, &margins.left, &margins.top);
      fit_blocks (layout, avail_w - margins.left, avail_h, &margins);
    }
  else
    arrange_bands (layout, avail_w, avail_h);
  if (!layout->vec && !try_block_labels (layout, avail_w, avail_h, &margins))
    {
      header_margins (layout, &margins);
      fit_blocks (layout, avail_w - margins.left, avail_h, &margins);
    }

  grid_w = grid_width (layout);
  grid_h = grid_height (layout);
  bar_h = MAX (grid_h, MIN (layout->font_px * 8, avail_h));
  total_w = margins.left + grid_w + bar.width;
  total_h = caption->height + gap + top_band + bar_h + below;
  x0 = round (area->x + MAX (0, (area->width - total_w) / 2));
  y0 = round (area->y + MAX (0, (area->height - total_h) / 3));

  layout->grid_x = x0 + margins.left;
  layout->grid_y = y0 + round (caption->height + gap + top_band);
  layout->grid.x = layout->grid_x;
  layout->grid.y = layout->grid_y;
  layout->grid.width = grid_w;
  layout->grid.height = grid_h;

  /* Captions start at the grid's left edge, unless that would push them past the panel. */
  _jac_figure_layout_take_label (layout, caption, clamp_left (area, x0, caption->width), y0, 0, 0,
                                 JAC_INK_FAINT);
  if (layout->vec)
    _jac_figure_vec_place_headers (layout, margins.top);
  else if (margins.band > 0)
    place_block_labels (layout, &margins);
  else
    place_headers (layout, &margins);
  place_colorbar (layout, &bar, layout->grid_x + grid_w + layout->font_px * 1.2,
                  layout->grid_y, bar_h);

  layout->legend_swatch.x = clamp_left (area, x0, swatch + layout->font_px * 0.5 + bottom->width);
  layout->legend_swatch.y = round (layout->grid_y + bar_h + layout->small_px * 1.6 + gap);
  layout->legend_swatch.width = swatch;
  layout->legend_swatch.height = swatch;
  _jac_figure_layout_take_label (layout, bottom,
                                 layout->legend_swatch.x + swatch + layout->font_px * 0.5,
                                 layout->legend_swatch.y + swatch / 2,
                                 0, MIN (0.5, swatch / 2 / bottom->height), JAC_INK_NORMAL);
}
