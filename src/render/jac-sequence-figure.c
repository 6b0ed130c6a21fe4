/* jac-sequence-figure.c: the through-time figure: blocks of ∂h_T/∂h_{T−k} and log₁₀ of their norms. */
#define G_LOG_DOMAIN "jac-sequence-figure"

#include <math.h>
#include <string.h>

#include "jac-figure-private.h"
#include "jac-sequence-figure.h"

#define MINUS "\xe2\x88\x92"
#define DEFAULT_MAX_BLOCKS 16
#define FULL_GRID_MAX_ROWS 3   /* up to this N the zero blocks p ≠ i are drawn too */
#define MAX_COLORED_ROWS 7     /* more rows are drawn as one family with their mean */

/* Okabe–Ito: told apart with any colour vision; yellow left out, it vanishes on white. */
static const guint32 row_colors_light[MAX_COLORED_ROWS] = {
  0x0072b2, 0xd55e00, 0x009e73, 0xcc79a7, 0xe69f00, 0x56b4e9, 0x000000,
};
static const guint32 row_colors_dark[MAX_COLORED_ROWS] = {
  0x56b4e9, 0xe69f00, 0x009e73, 0xcc79a7, 0xd55e00, 0xf0e442, 0xffffff,
};

typedef struct
{
  JacFigureStyle  style;
  JacSequenceView view;
  JacPalette      palette;
  double          base;        /* body text, px */
  double          small;
  double          line;        /* line width */
  double          margin;
  double          top;         /* below the title */
  double          bottom;

  /* the blocks */
  JacRect         left;
  gboolean        full_grid;   /* N × N blocks, zeros included */
  gsize           shown;       /* diagonal blocks drawn */
  gsize           grid_cols;
  gsize           grid_rows;
  double          grid_x;
  double          grid_y;
  double          block;       /* side of a block */
  double          pitch_x;
  double          pitch_y;
  JacRect         colorbar;

  /* the plot */
  JacRect         right;
  JacRect         plot;
  double          lag_max;     /* x runs over [0, T] */
} SeqLayout;

void
jac_sequence_view_init (JacSequenceView *view)
{
  g_return_if_fail (view != NULL);

  memset (view, 0, sizeof *view);
  view->lag = 1;
  view->shared_range = FALSE;
  view->norm = JAC_SEQUENCE_NORM_SPECTRAL;
  view->max_blocks = DEFAULT_MAX_BLOCKS;
}

static JacRgb
rgb_hex (guint32 hex)
{
  JacRgb rgb = { ((hex >> 16) & 0xff) / 255.0, ((hex >> 8) & 0xff) / 255.0,
                 (hex & 0xff) / 255.0 };

  return rgb;
}

/* ---- layout: sizes only, no text measured, so hit-testing needs no cairo_t ---- */

static void
layout_blocks (SeqLayout         *l,
               const JacSequence *seq)
{
  gsize n = seq->config.config.batch;
  double gx, gy, gw, gh, pad = round (l->base * 0.5);

  l->full_grid = n <= FULL_GRID_MAX_ROWS;
  l->shown = l->full_grid ? n : MIN (n, MAX (l->view.max_blocks, 1));
  l->grid_cols = l->full_grid ? n : (gsize) ceil (sqrt ((double) l->shown));
  l->grid_rows = l->full_grid ? n : (l->shown + l->grid_cols - 1) / l->grid_cols;

  /* Header line above, two caption lines below, colour bar and its ticks on the right. */
  gx = l->left.x + (l->full_grid ? l->base * 3.2 : 0);
  gy = l->left.y + l->base * 2.0 + (l->full_grid ? l->base * 1.4 : 0);
  gw = l->left.x + l->left.width - gx - l->base * 6.5;
  gh = l->left.y + l->left.height - gy - l->small * 3.4;
  if (!l->full_grid)
    gh -= l->grid_rows * l->small * 1.3;   /* "i = 3" above each block */
  l->block = MAX (1, MIN ((gw - (l->grid_cols - 1) * pad) / l->grid_cols,
                          (gh - (l->grid_rows - 1) * pad) / l->grid_rows));
  l->block = floor (l->block);
  l->pitch_x = l->block + pad;
  l->pitch_y = l->block + pad + (l->full_grid ? 0 : l->small * 1.3);
  l->grid_x = gx;
  l->grid_y = gy + (l->full_grid ? 0 : l->small * 1.3);
  l->colorbar.x = gx + l->grid_cols * l->pitch_x - pad + l->base * 1.0;
  l->colorbar.y = l->grid_y;
  l->colorbar.width = round (l->base * 0.9);
  l->colorbar.height = MAX (l->base * 4, l->grid_rows * l->pitch_y - pad
                                         - (l->full_grid ? 0 : l->small * 1.3));
}

static void
layout_init (SeqLayout             *l,
             const JacSequence     *seq,
             const JacSequenceView *view,
             const JacFigureStyle  *style,
             double                 width,
             double                 height)
{
  double gap, avail;

  memset (l, 0, sizeof *l);
  l->style = *style;
  l->view = *view;
  if (!(l->style.text_scale > 0) || !isfinite (l->style.text_scale))
    l->style.text_scale = 1;
  if (!(l->style.line_scale > 0) || !isfinite (l->style.line_scale))
    l->style.line_scale = 1;
  _jac_palette_init (&l->palette, &l->style);
  l->base = CLAMP (MIN (height / 46, width / 90), 8, 26) * l->style.text_scale;
  l->small = l->base * 0.85;
  l->line = MAX (1, l->base / 14) * l->style.line_scale;
  l->margin = round (l->base * 1.2);
  l->top = round (l->margin + l->base * 3.6);
  l->bottom = height - l->margin;
  gap = round (l->base * 2.5);
  avail = width - 2 * l->margin - gap;
  l->left = (JacRect) { l->margin, l->top, round (avail * 0.42), l->bottom - l->top };
  l->right = (JacRect) { l->left.x + l->left.width + gap, l->top, 0, l->bottom - l->top };
  l->right.width = width - l->margin - l->right.x;
  layout_blocks (l, seq);

  l->plot.x = l->right.x + l->base * 5.2;
  l->plot.y = l->right.y + l->base * 1.6;
  l->plot.width = MAX (1, l->right.x + l->right.width - l->plot.x - l->base * 0.5);
  l->plot.height = MAX (1, l->bottom - l->plot.y - l->base * 5.4);
  l->lag_max = MAX (1, seq->config.steps);
}

static double
plot_x (const SeqLayout *l,
        double           lag)
{
  return l->plot.x + lag / l->lag_max * l->plot.width;
}

gboolean
jac_sequence_figure_lag_at (double                 width,
                            double                 height,
                            const JacSequence     *sequence,
                            const JacSequenceView *view,
                            const JacFigureStyle  *style,
                            double                 x,
                            double                 y,
                            gsize                 *lag)
{
  SeqLayout l;
  double k;

  g_return_val_if_fail (sequence != NULL && view != NULL && style != NULL, FALSE);

  layout_init (&l, sequence, view, style, width, height);
  if (x < l.plot.x - l.base || x > l.plot.x + l.plot.width + l.base
      || y < l.plot.y || y > l.plot.y + l.plot.height)
    return FALSE;
  k = round ((x - l.plot.x) / l.plot.width * l.lag_max);
  if (lag != NULL)
    *lag = (gsize) CLAMP (k, 1, l.lag_max);
  return TRUE;
}

/* ---- text ---- */

typedef struct
{
  cairo_t      *cr;
  PangoContext *context;
  SeqLayout    *layout;
} Painter;

/* Draws @markup with its anchor (@xalign, @yalign) at (@x, @y); returns its width. */
static double
show_text (Painter      *p,
           const char   *markup,
           double        size,
           gboolean      bold,
           double        x,
           double        y,
           double        xalign,
           double        yalign,
           const JacRgb *rgb)
{
  JacLabel *label = _jac_label_new (p->context, markup, size, bold, -1);
  double w = label->width;

  _jac_label_place (label, x, y, xalign, yalign);
  _jac_set_source_rgb (p->cr, rgb);
  cairo_move_to (p->cr, label->x, label->y);
  pango_cairo_show_layout (p->cr, label->layout);
  _jac_label_free (label);
  return w;
}

/* A round step of 1, 2 or 5 × 10ⁿ giving at most about @ticks intervals over @span. */
static double
nice_step (double span,
           double ticks)
{
  double raw = span / MAX (ticks, 1), decade, f;

  if (!(raw > 0) || !isfinite (raw))
    return 1;
  decade = pow (10, floor (log10 (raw)));
  f = raw / decade;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * decade;
}

/* ---- the blocks ---- */

typedef struct
{
  const double *block;       /* H × H, rows j, columns q */
  gsize         h;
  gboolean      transposed;  /* denominator layout: rows q, columns j */
} BlockPool;

static JacCellKind
pool_block_cb (gconstpointer  data,
               gsize          row0,
               gsize          row1,
               gsize          col0,
               gsize          col1,
               double        *value)
{
  const BlockPool *b = data;
  double best = 0;

  for (gsize a = 0; a < jac_heatmap_sample_count (row0, row1); a++)
    for (gsize c = 0; c < jac_heatmap_sample_count (col0, col1); c++)
      {
        gsize r = jac_heatmap_sample (row0, row1, a), s = jac_heatmap_sample (col0, col1, c);
        double v = b->transposed ? b->block[s * b->h + r] : b->block[r * b->h + s];

        if (fabs (v) > fabs (best) || isnan (v))
          best = v;
      }
  *value = best;
  return JAC_CELL_VALUE;
}

static double
color_range (const SeqLayout        *l,
             const JacStructured    *jacobian,
             const JacSequenceNorms *norms)
{
  double range = 0;

  if (l->view.shared_range && norms != NULL)
    {
      double top = -INFINITY;

      for (gsize e = 0; e < norms->steps * norms->batch; e++)
        top = MAX (top, norms->log10[JAC_SEQUENCE_NORM_MAX_ABS][e]);
      range = pow (10, top);
    }
  else if (jacobian != NULL)
    range = jac_tensor_max_abs (jacobian->core);
  return range > 0 && isfinite (range) ? range : 1;
}

static void
frame (Painter       *p,
       const JacRect *r)
{
  int x, y, w, h;

  jac_heatmap_device_rect (p->cr, r->x, r->y, r->width, r->height, &x, &y, &w, &h);
  jac_heatmap_enter_device (p->cr, NULL);
  cairo_rectangle (p->cr, x - 0.5, y - 0.5, w + 1, h + 1);
  _jac_set_source_rgb (p->cr, &p->layout->palette.frame);
  cairo_set_line_width (p->cr, 1);
  cairo_stroke (p->cr);
  cairo_restore (p->cr);
}

static void
draw_zero_block (Painter       *p,
                 const JacRect *r)
{
  const SeqLayout *l = p->layout;

  cairo_save (p->cr);
  cairo_rectangle (p->cr, r->x, r->y, r->width, r->height);
  _jac_set_source_rgb (p->cr, &l->palette.zero_fill);
  cairo_fill_preserve (p->cr);
  cairo_clip (p->cr);
  _jac_set_source_rgb (p->cr, &l->palette.zero_line);
  cairo_set_line_width (p->cr, l->line * 0.8);
  jac_heatmap_hatch_lines (p->cr, r->x, r->y, r->width, r->height, MAX (4, l->base * 0.6));
  cairo_restore (p->cr);
  show_text (p, "0", l->base * 1.2, TRUE, r->x + r->width / 2, r->y + r->height / 2, 0.5, 0.5,
             &l->palette.zero_ink);
  frame (p, r);
}

static void
draw_cell_values (Painter         *p,
                  const BlockPool *pool,
                  const JacRect   *r,
                  double           range)
{
  const SeqLayout *l = p->layout;
  double cell = r->width / pool->h;
  double size = MIN (cell * 0.28, l->small);

  if (!l->style.show_values || cell < l->base * 2.6)
    return;
  for (gsize a = 0; a < pool->h; a++)
    for (gsize c = 0; c < pool->h; c++)
      {
        double v = pool->transposed ? pool->block[c * pool->h + a] : pool->block[a * pool->h + c];
        g_autofree char *text = _jac_format_cell (v);
        guint32 argb = jac_colormap_argb (l->style.colormap, v, range);
        JacRgb ink = jac_colormap_prefers_dark_ink (argb) ? rgb_hex (0x1a1a1a)
                                                          : rgb_hex (0xffffff);

        show_text (p, text, size, FALSE, r->x + (c + 0.5) * cell, r->y + (a + 0.5) * cell,
                   0.5, 0.5, &ink);
      }
}

static void
draw_block (Painter                *p,
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
draw_colorbar (Painter *p,
               double   range)
{
  const SeqLayout *l = p->layout;
  const JacRect *bar = &l->colorbar;
  cairo_surface_t *strip = jac_heatmap_colorbar_surface (l->style.colormap);
  const double at[3] = { range, 0, -range };

  cairo_save (p->cr);
  cairo_rectangle (p->cr, bar->x, bar->y, bar->width, bar->height);
  cairo_translate (p->cr, bar->x, bar->y);
  cairo_scale (p->cr, bar->width, bar->height / JAC_COLORMAP_SIZE);
  cairo_set_source_surface (p->cr, strip, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (p->cr), CAIRO_FILTER_GOOD);
  cairo_pattern_set_extend (cairo_get_source (p->cr), CAIRO_EXTEND_PAD);
  cairo_fill (p->cr);
  cairo_restore (p->cr);
  cairo_surface_destroy (strip);
  frame (p, bar);

  for (guint t = 0; t < 3; t++)
    {
      g_autofree char *text = _jac_format_scientific_markup (at[t]);
      double y = bar->y + bar->height * t / 2.0;

      _jac_set_source_rgb (p->cr, &l->palette.ink);
      cairo_set_line_width (p->cr, l->line);
      cairo_move_to (p->cr, bar->x + bar->width, y);
      cairo_line_to (p->cr, bar->x + bar->width + l->base * 0.3, y);
      cairo_stroke (p->cr);
      show_text (p, text, l->small, FALSE, bar->x + bar->width + l->base * 0.45, y, 0, 0.5,
                 &l->palette.ink);
    }
  show_text (p, l->view.shared_range ? "range: all lags" : "range: this lag", l->small * 0.9,
             FALSE, bar->x, bar->y + bar->height + l->small * 0.5, 0, 0, &l->palette.faint_ink);
}

static void
block_rect (const SeqLayout *l,
            gsize            slot_row,
            gsize            slot_col,
            JacRect         *r)
{
  r->x = l->grid_x + slot_col * l->pitch_x;
  r->y = l->grid_y + slot_row * l->pitch_y;
  r->width = r->height = l->block;
}

static void
draw_blocks (Painter             *p,
             const JacSequence   *seq,
             const JacStructured *jacobian,
             double               range)
{
  SeqLayout *l = p->layout;
  JacHeatmapColors colors = { l->style.colormap, range, _jac_rgb_argb (&l->palette.zero_fill) };
  gsize n = seq->config.config.batch;
  g_autofree char *header = NULL;
  g_autofree char *caption = NULL;
  JacRect r = { 0 };
  double caption_y;

  header = g_strdup_printf ("Blocks of ∂h<sub>T</sub>/∂h<sub>T−k</sub> at k = %" G_GSIZE_FORMAT,
                            l->view.lag);
  show_text (p, header, l->base * 1.05, TRUE, l->left.x, l->left.y, 0, 0, &l->palette.ink);

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
      if (!l->full_grid)
        {
          g_autofree char *name = g_strdup_printf ("i = p = %" G_GSIZE_FORMAT, i);

          show_text (p, name, l->small, FALSE, r.x, r.y - l->small * 0.15, 0, 1,
                     &l->palette.faint_ink);
        }
      else if (col == 0 || row == 0)
        {
          g_autofree char *name = g_strdup_printf ("%s = %" G_GSIZE_FORMAT,
                                                   col == 0 ? "i" : "p", col == 0 ? row : col);

          if (col == 0)
            show_text (p, name, l->small, FALSE, r.x - l->base * 0.5, r.y + r.height / 2, 1,
                       0.5, &l->palette.faint_ink);
          if (row == 0)
            {
              g_free (name);
              name = g_strdup_printf ("p = %" G_GSIZE_FORMAT, col);
              show_text (p, name, l->small, FALSE, r.x + r.width / 2, r.y - l->base * 0.3, 0.5,
                         1, &l->palette.faint_ink);
            }
        }
    }
  draw_colorbar (p, range);
  caption_y = MAX (l->grid_y + l->grid_rows * l->pitch_y, r.y + r.height + l->base)
              + l->small * 1.2;

  caption = g_strdup_printf ("%s; blocks with p ≠ i are 0 (δ<sub>ip</sub>)%s",
                             l->style.denominator_layout
                               ? "rows q: unit of h<sub>T−k</sub>, columns j: unit of h<sub>T</sub>"
                               : "rows j: unit of h<sub>T</sub>, columns q: unit of h<sub>T−k</sub>",
                             l->full_grid ? "" : ", not drawn");
  show_text (p, caption, l->small, FALSE, l->left.x, caption_y, 0, 0, &l->palette.faint_ink);
  g_free (caption);
  if (l->shown < n)
    caption = g_strdup_printf ("showing rows 0 … %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT,
                               l->shown - 1, n);
  else
    caption = g_strdup_printf ("block (i, i) = diag(S<sub>T</sub>[i,:]) W<sub>hh</sub><sup>T</sup>"
                               " ⋯ diag(S<sub>T−k+1</sub>[i,:]) W<sub>hh</sub><sup>T</sup>");
  show_text (p, caption, l->small, FALSE, l->left.x, caption_y + l->small * 1.35, 0, 0,
             &l->palette.faint_ink);
}

/* ---- the plot ---- */

typedef struct
{
  double lo, hi;   /* log₁₀ range of the y axis */
} YRange;

static double
plot_y (const SeqLayout *l,
        const YRange    *yr,
        double           value)
{
  return l->plot.y + (yr->hi - value) / (yr->hi - yr->lo) * l->plot.height;
}

static YRange
y_range (const JacSequenceNorms *norms,
         JacSequenceNorm         norm)
{
  YRange yr = { 0, 0 };
  double pad;

  for (gsize e = 0; norms != NULL && e < norms->steps * norms->batch; e++)
    {
      double v = norms->log10[norm][e];

      if (isfinite (v))
        {
          yr.lo = MIN (yr.lo, v);
          yr.hi = MAX (yr.hi, v);
        }
    }
  if (yr.hi - yr.lo < 1)
    {
      double mid = (yr.hi + yr.lo) / 2;

      yr.lo = mid - 0.5;
      yr.hi = mid + 0.5;
    }
  pad = (yr.hi - yr.lo) * 0.06;
  yr.lo -= pad;
  yr.hi += pad;
  /* Room on both sides of the norm-1 line for its "explodes" and "vanishes" labels. */
  yr.hi = MAX (yr.hi, (yr.hi - yr.lo) * 0.1);
  yr.lo = MIN (yr.lo, -(yr.hi - yr.lo) * 0.1);
  return yr;
}

static void
set_source_row (Painter *p,
                gsize    row,
                double   alpha)
{
  const guint32 *colors = p->layout->style.dark ? row_colors_dark : row_colors_light;
  JacRgb rgb = rgb_hex (colors[row % MAX_COLORED_ROWS]);

  cairo_set_source_rgba (p->cr, rgb.red, rgb.green, rgb.blue, alpha);
}

/* One curve of log₁₀ norms against k = 1 … T; non-finite values break it. */
static void
trace_curve (Painter                *p,
             const YRange           *yr,
             const JacSequenceNorms *norms,
             const double           *values,
             gsize                   stride)
{
  gboolean drawing = FALSE;

  for (gsize k = 1; k <= norms->steps; k++)
    {
      double v = values[(k - 1) * stride];
      double x = plot_x (p->layout, k), y = plot_y (p->layout, yr, v);

      if (!isfinite (v))
        {
          drawing = FALSE;
          continue;
        }
      if (drawing)
        cairo_line_to (p->cr, x, y);
      else
        cairo_move_to (p->cr, x, y);
      drawing = TRUE;
    }
  /* A single lag draws a dot rather than nothing. */
  if (norms->steps == 1 && drawing)
    cairo_rel_line_to (p->cr, 0.01, 0);
}

static void
draw_curves (Painter                *p,
             const YRange           *yr,
             const JacSequenceNorms *norms)
{
  SeqLayout *l = p->layout;
  const double *values = norms->log10[l->view.norm];
  gsize n = norms->batch;

  cairo_save (p->cr);
  cairo_rectangle (p->cr, l->plot.x, l->plot.y, l->plot.width, l->plot.height);
  cairo_clip (p->cr);
  cairo_set_line_join (p->cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (p->cr, CAIRO_LINE_CAP_ROUND);
  if (n <= MAX_COLORED_ROWS)
    for (gsize i = 0; i < n; i++)
      {
        trace_curve (p, yr, norms, values + i, n);
        set_source_row (p, i, 1);
        cairo_set_line_width (p->cr, l->line * 2.2);
        cairo_stroke (p->cr);
      }
  else
    {
      g_autofree double *mean = g_new0 (double, norms->steps);

      for (gsize i = 0; i < n; i++)
        {
          trace_curve (p, yr, norms, values + i, n);
          set_source_row (p, 0, 0.28);
          cairo_set_line_width (p->cr, l->line * 1.1);
          cairo_stroke (p->cr);
        }
      for (gsize k = 0; k < norms->steps; k++)
        {
          for (gsize i = 0; i < n; i++)
            mean[k] += values[k * n + i];
          mean[k] /= n;
        }
      trace_curve (p, yr, norms, mean, 1);
      set_source_row (p, 1, 1);
      cairo_set_line_width (p->cr, l->line * 2.8);
      cairo_stroke (p->cr);
    }
  cairo_restore (p->cr);
}

/* ---- the log axis: ticks at 10ⁿ, or at clean numbers m × 10ⁿ when it spans little ---- */

typedef struct
{
  int      mantissa;   /* 1 … 9 */
  int      power;      /* the tick is at mantissa × 10^power */
  gboolean labelled;
} LogTick;

static double
tick_log10 (const LogTick *tick)
{
  return log10 (tick->mantissa) + tick->power;
}

/* Appends the ticks m × 10ⁿ in @yr whose mantissa is in @mantissas (bit m) and, for m = 1,
 * whose power is a multiple of @stride. */
static void
add_ticks (GArray       *ticks,
           const YRange *yr,
           guint         mantissas,
           int           stride,
           gboolean      labelled)
{
  for (int power = (int) floor (yr->lo); power <= (int) ceil (yr->hi); power++)
    for (int m = 1; m <= 9; m++)
      {
        LogTick tick = { m, power, labelled };
        double at = tick_log10 (&tick);

        if (!(mantissas & (1u << m)) || at < yr->lo - 1e-9 || at > yr->hi + 1e-9
            || (m == 1 && power % stride != 0))
          continue;
        g_array_append_val (ticks, tick);
      }
}

/* The smallest gap between neighbouring ticks, in decades; G_MAXDOUBLE for fewer than two. */
static double
smallest_gap (GArray *ticks)
{
  double gap = G_MAXDOUBLE;

  for (guint k = 1; k < ticks->len; k++)
    gap = MIN (gap, tick_log10 (&g_array_index (ticks, LogTick, k))
                    - tick_log10 (&g_array_index (ticks, LogTick, k - 1)));
  return gap;
}

#define MANTISSAS_ONE (1u << 1)
#define MANTISSAS_125 ((1u << 1) | (1u << 2) | (1u << 5))
#define MANTISSAS_ALL 0x3feu

/* Labelled ticks far enough apart for their labels (@min_gap decades): powers of ten, every
 * @stride-th, when the axis holds two or more of them; else 1-2-5 (or every digit) times a
 * power of ten, so that a short axis still reads. */
static GArray *
labelled_ticks (const YRange *yr,
                double        min_gap)
{
  static const int strides[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000 };
  GArray *ticks = g_array_new (FALSE, FALSE, sizeof (LogTick));
  int powers = (int) floor (yr->hi) - (int) ceil (yr->lo) + 1;

  if (powers < 2)
    {
      /* 1-2-5, or every digit when 1-2-5 would leave the axis nearly bare. */
      add_ticks (ticks, yr, MANTISSAS_125, 1, TRUE);
      if (ticks->len < 4)
        {
          GArray *all = g_array_new (FALSE, FALSE, sizeof (LogTick));

          add_ticks (all, yr, MANTISSAS_ALL, 1, TRUE);
          if (smallest_gap (all) >= min_gap)
            {
              g_array_unref (ticks);
              return all;
            }
          g_array_unref (all);
        }
      if (smallest_gap (ticks) >= min_gap)
        return ticks;
      g_array_set_size (ticks, 0);
    }
  for (guint k = 0; k < G_N_ELEMENTS (strides); k++)
    {
      g_array_set_size (ticks, 0);
      add_ticks (ticks, yr, MANTISSAS_ONE, strides[k], TRUE);
      if (smallest_gap (ticks) >= min_gap)
        break;
    }
  return ticks;
}

/* "1", "10", "0.01" near 1; 10ⁿ beyond, for all the labels alike. */
static char *
tick_markup (const LogTick *tick,
             gboolean       powers_only,
             gboolean       superscript)
{
  double value = tick->mantissa * pow (10, tick->power);
  const char *minus = tick->power < 0 ? MINUS : "";

  if (powers_only && superscript)
    return g_strdup_printf ("10<sup>%s%d</sup>", minus, ABS (tick->power));
  if (tick->power >= -4 && tick->power <= 4)
    return g_strdup_printf ("%.*f", MAX (0, -tick->power), value);
  return g_strdup_printf ("%d×10<sup>%s%d</sup>", tick->mantissa, minus, ABS (tick->power));
}

static void
draw_y_ticks (Painter      *p,
              const YRange *yr)
{
  SeqLayout *l = p->layout;
  const JacRect *pl = &l->plot;
  double per_decade = pl->height / (yr->hi - yr->lo);
  GArray *labelled = labelled_ticks (yr, l->small * 1.6 / per_decade);
  GArray *minor = g_array_new (FALSE, FALSE, sizeof (LogTick));
  gboolean powers_only = TRUE, superscript = FALSE;

  for (guint k = 0; k < labelled->len; k++)
    {
      const LogTick *tick = &g_array_index (labelled, LogTick, k);

      powers_only &= tick->mantissa == 1;
      superscript |= tick->power < -3 || tick->power > 3;
    }
  /* Unlabelled: every power of ten, and the digits between when a decade has room for them. */
  add_ticks (minor, yr, per_decade * log10 (10.0 / 9) >= l->base * 0.3 ? MANTISSAS_ALL
                                                                         : MANTISSAS_ONE,
             1, FALSE);

  cairo_save (p->cr);
  cairo_set_line_width (p->cr, l->line * 0.8);
  _jac_set_source_rgb (p->cr, &l->palette.ink);
  for (guint k = 0; k < minor->len; k++)
    {
      const LogTick *tick = &g_array_index (minor, LogTick, k);
      double y = plot_y (l, yr, tick_log10 (tick));
      double len = l->base * (tick->mantissa == 1 ? 0.45 : 0.25);

      cairo_move_to (p->cr, pl->x, y);
      cairo_line_to (p->cr, pl->x + len, y);
    }
  cairo_stroke (p->cr);
  cairo_set_line_width (p->cr, l->line * 0.6);
  for (guint k = 0; k < labelled->len; k++)
    {
      const LogTick *tick = &g_array_index (labelled, LogTick, k);
      double y = plot_y (l, yr, tick_log10 (tick));
      g_autofree char *text = tick_markup (tick, powers_only, superscript);

      cairo_set_source_rgba (p->cr, l->palette.frame.red, l->palette.frame.green,
                             l->palette.frame.blue, 0.35);
      cairo_move_to (p->cr, pl->x, y);
      cairo_line_to (p->cr, pl->x + pl->width, y);
      cairo_stroke (p->cr);
      show_text (p, text, l->small, FALSE, pl->x - l->base * 0.4, y, 1, 0.5, &l->palette.ink);
    }
  cairo_restore (p->cr);
  g_array_unref (labelled);
  g_array_unref (minor);
}

static void
draw_axes (Painter      *p,
           const YRange *yr)
{
  SeqLayout *l = p->layout;
  const JacRect *pl = &l->plot;
  double xstep = MAX (1, nice_step (l->lag_max, MAX (2, pl->width / (l->base * 5))));
  g_autofree char *ytitle = NULL;

  /* Grid and ticks. */
  draw_y_ticks (p, yr);
  cairo_set_line_width (p->cr, l->line * 0.6);
  for (double k = 0; k <= l->lag_max + 1e-9; k += xstep)
    {
      double x = plot_x (l, k);
      g_autofree char *text = g_strdup_printf ("%.0f", k);

      _jac_set_source_rgb (p->cr, &l->palette.ink);
      cairo_move_to (p->cr, x, pl->y + pl->height);
      cairo_line_to (p->cr, x, pl->y + pl->height + l->base * 0.35);
      cairo_stroke (p->cr);
      show_text (p, text, l->small, FALSE, x, pl->y + pl->height + l->base * 0.45, 0.5, 0,
                 &l->palette.ink);
    }
  _jac_set_source_rgb (p->cr, &l->palette.ink);
  cairo_set_line_width (p->cr, l->line);
  cairo_rectangle (p->cr, pl->x, pl->y, pl->width, pl->height);
  cairo_stroke (p->cr);

  show_text (p, "lag k: steps back from T", l->base, FALSE, pl->x + pl->width / 2,
             pl->y + pl->height + l->base * 1.9, 0.5, 0, &l->palette.ink);
  ytitle = g_strdup_printf ("‖∂h<sub>T</sub>[i]/∂h<sub>T−k</sub>[i]‖%s  (log scale)",
                            l->view.norm == JAC_SEQUENCE_NORM_FROBENIUS ? "<sub>F</sub>"
                            : l->view.norm == JAC_SEQUENCE_NORM_MAX_ABS ? "<sub>max</sub>"
                                                                         : "<sub>2</sub>");
  cairo_save (p->cr);
  cairo_translate (p->cr, l->right.x + l->base * 0.2, pl->y + pl->height / 2);
  cairo_rotate (p->cr, -G_PI / 2);
  show_text (p, ytitle, l->base, FALSE, 0, 0, 0.5, 0, &l->palette.ink);
  cairo_restore (p->cr);
}

static void
draw_references (Painter           *p,
                 const YRange      *yr,
                 const JacSequence *seq)
{
  SeqLayout *l = p->layout;
  const JacRect *pl = &l->plot;
  double dash[2] = { l->line * 6, l->line * 4 };
  double dots[2] = { l->line * 0.1, l->line * 3.5 };
  double rho = seq->spectral_radius;
  double y1 = plot_y (l, yr, 0);

  cairo_save (p->cr);
  cairo_rectangle (p->cr, pl->x, pl->y, pl->width, pl->height);
  cairo_clip (p->cr);
  cairo_set_line_cap (p->cr, CAIRO_LINE_CAP_ROUND);

  /* ρ(W_hh)^k: where identity activation heads, and what saturation pulls below. */
  if (rho > 0)
    {
      cairo_set_dash (p->cr, dots, 2, 0);
      _jac_set_source_rgb (p->cr, &l->palette.faint_ink);
      cairo_set_line_width (p->cr, l->line * 2);
      cairo_move_to (p->cr, plot_x (l, 0), plot_y (l, yr, 0));
      cairo_line_to (p->cr, plot_x (l, l->lag_max), plot_y (l, yr, l->lag_max * log10 (rho)));
      cairo_stroke (p->cr);
    }

  /* The norm-1 line. */
  cairo_set_dash (p->cr, dash, 2, 0);
  _jac_set_source_rgb (p->cr, &l->palette.ink);
  cairo_set_line_width (p->cr, l->line * 1.4);
  cairo_move_to (p->cr, pl->x, y1);
  cairo_line_to (p->cr, pl->x + pl->width, y1);
  cairo_stroke (p->cr);
  cairo_set_dash (p->cr, NULL, 0, 0);
  /* At the right, where the curves have left the line whenever they do. */
  show_text (p, "explodes ↑", l->small, FALSE, pl->x + pl->width - l->base * 0.4,
             y1 - l->base * 0.2, 1, 1, &l->palette.faint_ink);
  show_text (p, "vanishes ↓", l->small, FALSE, pl->x + pl->width - l->base * 0.4,
             y1 + l->base * 0.2, 1, 0, &l->palette.faint_ink);

  /* The lag the blocks show. */
  if (l->view.lag >= 1 && l->view.lag <= l->lag_max)
    {
      double x = plot_x (l, l->view.lag);
      g_autofree char *text = g_strdup_printf ("k = %" G_GSIZE_FORMAT, l->view.lag);

      cairo_set_source_rgba (p->cr, l->palette.ink.red, l->palette.ink.green,
                             l->palette.ink.blue, 0.5);
      cairo_set_line_width (p->cr, l->line);
      cairo_move_to (p->cr, x, pl->y);
      cairo_line_to (p->cr, x, pl->y + pl->height);
      cairo_stroke (p->cr);
      show_text (p, text, l->small, TRUE, x + (x > pl->x + pl->width * 0.8 ? -1 : 1) * l->base * 0.3,
                 pl->y + l->base * 0.2, x > pl->x + pl->width * 0.8 ? 1 : 0, 0, &l->palette.ink);
    }
  cairo_restore (p->cr);
}

/* A legend entry: a short stroke of the line's style and its text; returns the next x. */
static double
legend_entry (Painter    *p,
              double      x,
              double      y,
              const char *markup,
              int         kind,     /* 0 row colour, 1 mean, 2 norm 1, 3 ρ^k */
              gsize       row)
{
  SeqLayout *l = p->layout;
  double len = l->base * 2.2;
  double dash[2] = { l->line * 6, l->line * 4 };
  double dots[2] = { l->line * 0.1, l->line * 3.5 };

  cairo_save (p->cr);
  cairo_set_line_cap (p->cr, CAIRO_LINE_CAP_ROUND);
  switch (kind)
    {
    case 0:
      /* G_MAXSIZE: the family of many rows, drawn faint. */
      set_source_row (p, row == G_MAXSIZE ? 0 : row, row == G_MAXSIZE ? 0.45 : 1);
      cairo_set_line_width (p->cr, l->line * 2.2);
      break;
    case 1:
      set_source_row (p, 1, 1);
      cairo_set_line_width (p->cr, l->line * 2.8);
      break;
    case 2:
      cairo_set_dash (p->cr, dash, 2, 0);
      _jac_set_source_rgb (p->cr, &l->palette.ink);
      cairo_set_line_width (p->cr, l->line * 1.4);
      break;
    default:
      cairo_set_dash (p->cr, dots, 2, 0);
      _jac_set_source_rgb (p->cr, &l->palette.faint_ink);
      cairo_set_line_width (p->cr, l->line * 2);
      break;
    }
  cairo_move_to (p->cr, x, y);
  cairo_line_to (p->cr, x + len, y);
  cairo_stroke (p->cr);
  cairo_restore (p->cr);
  x += len + l->base * 0.4;
  x += show_text (p, markup, l->small, FALSE, x, y, 0, 0.5, &l->palette.ink);
  return x + l->base * 1.2;
}

static void
draw_legend (Painter           *p,
             const JacSequence *seq,
             gsize              n)
{
  SeqLayout *l = p->layout;
  double x = l->plot.x, y = l->bottom - l->base * 0.7;
  g_autofree char *rho = g_strdup_printf ("ρ(W<sub>hh</sub>)<sup>k</sup>, ρ = %.3g",
                                          seq->spectral_radius);

  if (n <= MAX_COLORED_ROWS)
    for (gsize i = 0; i < n; i++)
      {
        g_autofree char *name = g_strdup_printf ("row i = %" G_GSIZE_FORMAT, i);

        x = legend_entry (p, x, y, name, 0, i);
      }
  else
    {
      g_autofree char *name = g_strdup_printf ("each of the %" G_GSIZE_FORMAT " rows", n);

      x = legend_entry (p, x, y, name, 0, G_MAXSIZE);
      x = legend_entry (p, x, y, "mean of log₁₀", 1, 0);
    }
  x = legend_entry (p, x, y, "norm 1", 2, 0);
  legend_entry (p, x, y, rho, 3, 0);
}

static void
draw_plot (Painter                *p,
           const JacSequence      *seq,
           const JacSequenceNorms *norms)
{
  SeqLayout *l = p->layout;
  YRange yr = y_range (norms, l->view.norm);
  static const char * const norm_names[JAC_SEQUENCE_N_NORMS] = {
    "spectral norm ‖·‖<sub>2</sub> = σ<sub>max</sub>", "Frobenius norm ‖·‖<sub>F</sub>",
    "largest |entry|",
  };
  g_autofree char *header = g_strdup_printf ("How ∂h<sub>T</sub>/∂h<sub>T−k</sub> grows or "
                                             "shrinks with k: %s", norm_names[l->view.norm]);

  show_text (p, header, l->base * 1.05, TRUE, l->right.x, l->right.y, 0, 0, &l->palette.ink);
  draw_axes (p, &yr);
  draw_references (p, &yr, seq);
  if (norms != NULL)
    {
      draw_curves (p, &yr, norms);
      draw_legend (p, seq, norms->batch);
    }
}

/* ---- the whole figure ---- */

static double
mean_slope (const JacSequence *seq)
{
  double sum = 0;

  for (gsize e = 0; e < seq->slopes->size; e++)
    sum += seq->slopes->data[e];
  return sum / MAX (seq->slopes->size, 1);
}

static void
draw_title (Painter           *p,
            const JacSequence *seq,
            double             width)
{
  SeqLayout *l = p->layout;
  const JacSequenceConfig *c = &seq->config;
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;

  title = g_strdup_printf ("Through time: ∂h<sub>T</sub>/∂h<sub>T−k</sub> over T = %"
                           G_GSIZE_FORMAT " steps, and why gradients vanish or explode",
                           c->steps);
  subtitle = g_strdup_printf ("h<sub>s</sub> = %s(h<sub>s−1</sub> W<sub>hh</sub> + "
                              "x<sub>s</sub> W<sub>xh</sub> + b)   ·   N = %" G_GSIZE_FORMAT
                              ", H = %" G_GSIZE_FORMAT "   ·   W<sub>hh</sub>: %s%s × gain %.3g"
                              " → ρ(W<sub>hh</sub>) = %.3g   ·   mean φ′(Z) = %.2f%s",
                              jac_func_name (c->config.activation), c->config.batch,
                              c->config.hidden, c->orthogonal ? "orthogonal" : "uniform random",
                              c->unit_radius && !c->orthogonal ? " scaled to ρ = 1" : "",
                              c->gain, seq->spectral_radius, mean_slope (seq),
                              mean_slope (seq) < 0.5 ? " (saturated: each step multiplies by "
                                                       "φ′ &lt; 1)" : "");
  show_text (p, title, l->base * 1.3, TRUE, l->margin, l->margin, 0, 0, &l->palette.ink);
  show_text (p, subtitle, l->small, FALSE, l->margin, l->margin + l->base * 1.85, 0, 0,
             &l->palette.faint_ink);
  (void) width;
}

void
jac_sequence_figure_draw (cairo_t                *cr,
                          double                  width,
                          double                  height,
                          const JacSequence      *sequence,
                          const JacStructured    *jacobian,
                          const JacSequenceNorms *norms,
                          const JacSequenceView  *view,
                          const JacFigureStyle   *style)
{
  SeqLayout l;
  Painter p;

  g_return_if_fail (cr != NULL && sequence != NULL && view != NULL && style != NULL);

  layout_init (&l, sequence, view, style, width, height);
  p.cr = cr;
  p.context = _jac_text_context_new (cr);
  p.layout = &l;

  cairo_save (cr);
  _jac_set_source_rgb (cr, &l.palette.background);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);
  draw_title (&p, sequence, width);
  draw_blocks (&p, sequence, jacobian, color_range (&l, jacobian, norms));
  draw_plot (&p, sequence, norms);
  cairo_restore (cr);
  g_object_unref (p.context);
}

/* ---- files ---- */

typedef struct
{
  const JacSequence      *sequence;
  const JacStructured    *jacobian;
  const JacSequenceNorms *norms;
  const JacSequenceView  *view;
  const JacFigureStyle   *style;
} Content;

static void
draw_content (cairo_t  *cr,
              double    width,
              double    height,
              gpointer  user_data)
{
  const Content *content = user_data;

  jac_sequence_figure_draw (cr, width, height, content->sequence, content->jacobian,
                            content->norms, content->view, content->style);
}

gboolean
jac_sequence_figure_save (const char              *path,
                          int                      width,
                          int                      height,
                          double                   scale,
                          const JacSequence       *sequence,
                          const JacStructured     *jacobian,
                          const JacSequenceNorms  *norms,
                          const JacSequenceView   *view,
                          const JacFigureStyle    *style,
                          GError                 **error)
{
  Content content = { sequence, jacobian, norms, view, style };

  g_return_val_if_fail (path != NULL && sequence != NULL, FALSE);
  g_return_val_if_fail (view != NULL && style != NULL, FALSE);

  return _jac_render_save (path, width, height, scale, "Jacobian through time", draw_content,
                           &content, error);
}
