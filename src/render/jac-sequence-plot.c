/* jac-sequence-plot.c: the through-time figure's right panel: log₁₀ of each row's norm against
 * the lag k, on a log axis, with the norm-1 and ρ(W_hh)^k references and the legend. */
#define G_LOG_DOMAIN "jac-sequence-figure"

#include <math.h>
#include <string.h>

#include "jac-render-tikz-private.h"
#include "jac-sequence-figure-private.h"

/* Okabe–Ito: told apart with any colour vision; yellow left out, it vanishes on white. */
static const guint32 row_colors_light[MAX_COLORED_ROWS] = {
  0x0072b2, 0xd55e00, 0x009e73, 0xcc79a7, 0xe69f00, 0x56b4e9, 0x000000,
};
static const guint32 row_colors_dark[MAX_COLORED_ROWS] = {
  0x56b4e9, 0xe69f00, 0x009e73, 0xcc79a7, 0xd55e00, 0xf0e442, 0xffffff,
};

static gboolean
labels_meet (const JacLabel *a,
             const JacLabel *b)
{
  return a->x < b->x + b->width && b->x < a->x + a->width
         && a->y < b->y + b->height && b->y < a->y + a->height;
}

static double
plot_x (const JacSequenceLayout *l,
        double                   lag)
{
  return l->plot.x + lag / l->lag_max * l->plot.width;
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

/* ---- the plot ---- */

typedef struct
{
  double lo, hi;   /* log₁₀ range of the y axis */
} YRange;

static double
plot_y (const JacSequenceLayout *l,
        const YRange            *yr,
        double                   value)
{
  return l->plot.y + (yr->hi - value) / (yr->hi - yr->lo) * l->plot.height;
}

/* The norms' range, padded, with at least the fraction @room of the axis on each side of the
 * norm-1 line for its "explodes" and "vanishes" labels. */
static YRange
y_range (const JacSequenceNorms *norms,
         JacSequenceNorm         norm,
         double                  room)
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
  /* hi ≥ room · (hi − lo) and −lo ≥ room · (hi − lo); room < ½ keeps the first after the second. */
  yr.hi = MAX (yr.hi, -room * yr.lo / (1 - room));
  yr.lo = MIN (yr.lo, -room * yr.hi / (1 - room));
  return yr;
}

static void
set_source_row (JacSequencePainter *p,
                gsize               row,
                double              alpha)
{
  const guint32 *colors = p->layout->style.dark ? row_colors_dark : row_colors_light;
  JacRgb rgb = _jac_rgb_hex (colors[row % MAX_COLORED_ROWS]);

  cairo_set_source_rgba (p->cr, rgb.red, rgb.green, rgb.blue, alpha);
}

/* One curve of log₁₀ norms against k = 1 … T; non-finite values break it. */
static void
trace_curve (JacSequencePainter     *p,
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
draw_curves (JacSequencePainter     *p,
             const YRange           *yr,
             const JacSequenceNorms *norms)
{
  JacSequenceLayout *l = p->layout;
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


/* Draws the y ticks, their labels no wider than the room the layout keeps (smaller type when
 * they would be); returns the width of the widest. */
static double
draw_y_ticks (JacSequencePainter *p,
              const YRange       *yr)
{
  JacSequenceLayout *l = p->layout;
  const JacRect *pl = &l->plot;
  double per_decade = pl->height / (yr->hi - yr->lo);
  GArray *labelled = labelled_ticks (yr, l->small * 1.6 / per_decade);
  GArray *minor = g_array_new (FALSE, FALSE, sizeof (LogTick));
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  gboolean powers_only = TRUE, superscript = FALSE;
  double widest = 0;

  for (guint k = 0; k < labelled->len; k++)
    {
      const LogTick *tick = &g_array_index (labelled, LogTick, k);

      powers_only &= tick->mantissa == 1;
      superscript |= tick->power < -3 || tick->power > 3;
    }
  for (guint k = 0; k < labelled->len; k++)
    {
      char *text = tick_markup (&g_array_index (labelled, LogTick, k), powers_only, superscript);

      g_ptr_array_add (texts, text);
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
  widest = 0;
  for (guint k = 0; k < labelled->len; k++)
    {
      double y = plot_y (l, yr, tick_log10 (&g_array_index (labelled, LogTick, k))), w;

      cairo_set_source_rgba (p->cr, l->palette.frame.red, l->palette.frame.green,
                             l->palette.frame.blue, 0.35);
      cairo_move_to (p->cr, pl->x, y);
      cairo_line_to (p->cr, pl->x + pl->width, y);
      cairo_stroke (p->cr);
      /* Wider than the room kept for it (a three-digit exponent): the grid line alone. */
      if (_jac_label_width (p->context, texts->pdata[k], l->small) > l->tick_width + 0.01)
        continue;
      w = _jac_sequence_show_text (p, texts->pdata[k], l->small, FALSE, pl->x - l->base * 0.4, y,
                                   1, 0.5, &l->palette.ink);
      widest = MAX (widest, w);
    }
  cairo_restore (p->cr);
  g_array_unref (labelled);
  g_array_unref (minor);
  return widest;
}

static void
draw_axes (JacSequencePainter *p,
           const YRange       *yr)
{
  JacSequenceLayout *l = p->layout;
  const JacRect *pl = &l->plot;
  double xstep = MAX (1, nice_step (l->lag_max, MAX (2, pl->width / (l->base * 5))));
  double widest, x;

  /* Grid and ticks. */
  widest = draw_y_ticks (p, yr);
  cairo_set_line_width (p->cr, l->line * 0.6);
  for (double k = 0; k <= l->lag_max + 1e-9; k += xstep)
    {
      g_autofree char *text = g_strdup_printf ("%.0f", k);

      x = plot_x (l, k);
      _jac_set_source_rgb (p->cr, &l->palette.ink);
      cairo_move_to (p->cr, x, pl->y + pl->height);
      cairo_line_to (p->cr, x, pl->y + pl->height + l->base * 0.35);
      cairo_stroke (p->cr);
      _jac_sequence_show_text (p, text, l->small, FALSE, x, pl->y + pl->height + l->base * 0.45,
                               0.5, 0, &l->palette.ink);
    }
  _jac_set_source_rgb (p->cr, &l->palette.ink);
  cairo_set_line_width (p->cr, l->line);
  cairo_rectangle (p->cr, pl->x, pl->y, pl->width, pl->height);
  cairo_stroke (p->cr);
  _jac_sequence_paint_label (p, l->x_title, &l->palette.ink);

  /* Rotated, just left of the widest tick label. */
  x = MAX (l->right.x, pl->x - l->base * 0.4 - widest - l->axis_gap - l->y_title->height);
  cairo_save (p->cr);
  cairo_translate (p->cr, x, pl->y + pl->height / 2);
  cairo_rotate (p->cr, -G_PI / 2);
  _jac_label_place (l->y_title, 0, 0, 0.5, 0);
  _jac_sequence_paint_label (p, l->y_title, &l->palette.ink);
  cairo_restore (p->cr);
}

/* "k = …" beside the lag's line: at the top, or where it clears "explodes" and "vanishes". */
static void
draw_lag_mark (JacSequencePainter *p,
               const JacLabel     *explodes,
               const JacLabel     *vanishes)
{
  JacSequenceLayout *l = p->layout;
  const JacRect *pl = &l->plot;
  double x = plot_x (l, l->view.lag), d = l->base * 0.3;
  gboolean flip = x > pl->x + pl->width * 0.8;
  const double spots[4][4] = {   /* x, y, xalign, yalign */
    { flip ? x - d : x + d, pl->y + l->base * 0.2, flip, 0 },
    { flip ? x + d : x - d, pl->y + l->base * 0.2, !flip, 0 },
    { flip ? x - d : x + d, pl->y + pl->height - l->base * 0.2, flip, 1 },
    { flip ? x + d : x - d, pl->y + pl->height - l->base * 0.2, !flip, 1 },
  };
  g_autofree char *text = g_strdup_printf ("k = %" G_GSIZE_FORMAT, l->view.lag);
  JacLabel *mark = _jac_label_new (p->context, text, l->small, TRUE, -1);

  for (guint s = 0; s < G_N_ELEMENTS (spots); s++)
    {
      _jac_label_place (mark, spots[s][0], spots[s][1], spots[s][2], spots[s][3]);
      if (mark->x >= pl->x && mark->x + mark->width <= pl->x + pl->width
          && !labels_meet (mark, explodes) && !labels_meet (mark, vanishes))
        break;
      if (s == G_N_ELEMENTS (spots) - 1)
        _jac_label_place (mark, spots[0][0], spots[0][1], spots[0][2], spots[0][3]);
    }
  _jac_sequence_paint_label (p, mark, &l->palette.ink);
  _jac_label_free (mark);
}

static void
draw_references (JacSequencePainter *p,
                 const YRange       *yr,
                 const JacSequence  *seq)
{
  JacSequenceLayout *l = p->layout;
  const JacRect *pl = &l->plot;
  double dash[2] = { l->line * 6, l->line * 4 };
  double dots[2] = { l->line * 0.1, l->line * 3.5 };
  double rho = seq->spectral_radius;
  double y1 = plot_y (l, yr, 0);
  JacLabel *explodes = _jac_label_new (p->context, "explodes ↑", l->small, FALSE, -1);
  JacLabel *vanishes = _jac_label_new (p->context, "vanishes ↓", l->small, FALSE, -1);

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
  _jac_label_place (explodes, pl->x + pl->width - l->base * 0.4, y1 - l->base * 0.2, 1, 1);
  _jac_label_place (vanishes, pl->x + pl->width - l->base * 0.4, y1 + l->base * 0.2, 1, 0);
  _jac_sequence_paint_label (p, explodes, &l->palette.faint_ink);
  _jac_sequence_paint_label (p, vanishes, &l->palette.faint_ink);

  /* The lag the blocks show. */
  if (l->view.lag >= 1 && l->view.lag <= l->lag_max)
    {
      double x = plot_x (l, l->view.lag);

      cairo_set_source_rgba (p->cr, l->palette.ink.red, l->palette.ink.green,
                             l->palette.ink.blue, 0.5);
      cairo_set_line_width (p->cr, l->line);
      cairo_move_to (p->cr, x, pl->y);
      cairo_line_to (p->cr, x, pl->y + pl->height);
      cairo_stroke (p->cr);
      draw_lag_mark (p, explodes, vanishes);
    }
  cairo_restore (p->cr);
  _jac_label_free (explodes);
  _jac_label_free (vanishes);
}

/* A legend entry: a short stroke of the line's style and its text. */
static void
draw_legend_entry (JacSequencePainter   *p,
                   const JacLegendEntry *e)
{
  JacSequenceLayout *l = p->layout;
  double dash[2] = { l->line * 6, l->line * 4 };
  double dots[2] = { l->line * 0.1, l->line * 3.5 };

  cairo_save (p->cr);
  cairo_set_line_cap (p->cr, CAIRO_LINE_CAP_ROUND);
  switch (e->kind)
    {
    case JAC_LEGEND_ROW:
      /* G_MAXSIZE: the family of many rows, drawn faint. */
      set_source_row (p, e->row == G_MAXSIZE ? 0 : e->row, e->row == G_MAXSIZE ? 0.45 : 1);
      cairo_set_line_width (p->cr, l->line * 2.2);
      break;
    case JAC_LEGEND_MEAN:
      set_source_row (p, 1, 1);
      cairo_set_line_width (p->cr, l->line * 2.8);
      break;
    case JAC_LEGEND_NORM_1:
      cairo_set_dash (p->cr, dash, 2, 0);
      _jac_set_source_rgb (p->cr, &l->palette.ink);
      cairo_set_line_width (p->cr, l->line * 1.4);
      break;
    case JAC_LEGEND_RHO_K:
    default:
      cairo_set_dash (p->cr, dots, 2, 0);
      _jac_set_source_rgb (p->cr, &l->palette.faint_ink);
      cairo_set_line_width (p->cr, l->line * 2);
      break;
    }
  cairo_move_to (p->cr, e->x, e->y);
  cairo_line_to (p->cr, e->x + l->base * 2.2, e->y);
  cairo_stroke (p->cr);
  cairo_restore (p->cr);
  _jac_sequence_paint_label (p, e->label, &l->palette.ink);
}

void
_jac_sequence_draw_plot (JacSequencePainter *p)
{
  const JacSequence *seq = p->scene->sequence;
  const JacSequenceNorms *norms = p->scene->norms;
  JacSequenceLayout *l = p->layout;
  double room = (l->small_height + l->base * 0.4) / l->plot.height;
  YRange yr = y_range (norms, l->view.norm, CLAMP (room, 0.1, 0.45));

  _jac_sequence_paint_label (p, l->plot_header, &l->palette.ink);
  draw_axes (p, &yr);
  draw_references (p, &yr, seq);
  if (norms != NULL)
    {
      draw_curves (p, &yr, norms);
      for (guint k = 0; k < l->legend->len; k++)
        draw_legend_entry (p, &g_array_index (l->legend, JacLegendEntry, k));
    }
}


