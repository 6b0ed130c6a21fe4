/* jac-sequence-compare.c: the RNN, LSTM and GRU side by side: log₁₀ ‖∂h_T/∂h_{T−k}‖ against k on
 * the same sizes, seed and sequence — the picture that explains why LSTMs were invented. */
#define G_LOG_DOMAIN "jac-sequence-figure"

#include <math.h>
#include <string.h>

#include "jac-render-tikz-private.h"
#include "jac-sequence-figure-private.h"

#define N_CELLS 3
#define N_CURVES 4   /* the three cells' ∂h_T/∂h_{T−k}, and the LSTM's ∂c_T/∂c_{T−k} */

/* Okabe–Ito, as the through-time figure's rows. */
static const guint32 cell_colors_light[N_CELLS] = { 0xd55e00, 0x0072b2, 0x009e73 };
static const guint32 cell_colors_dark[N_CELLS] = { 0xe69f00, 0x56b4e9, 0x009e73 };

typedef struct
{
  cairo_t      *cr;
  PangoContext *context;
  JacPalette    palette;
  JacType       type;
  double        line;
} Painter;

static JacLabel *
show (Painter      *p,
      const char   *markup,
      double        size,
      gboolean      bold,
      double        wrap,
      double        x,
      double        y,
      double        xalign,
      double        yalign,
      const JacRgb *rgb)
{
  JacLabel *label = _jac_label_new (p->context, markup, size, bold, wrap);

  _jac_label_place (label, x, y, xalign, yalign);
  _jac_figure_paint_label (p->cr, label, rgb);
  return label;
}

/* The mean over rows of log₁₀ of the norm at lag k, and the rows' range. */
static gboolean
lag_stats (const JacSequenceNorms *norms,
           JacSequenceNorm         norm,
           gsize                   lag,
           double                 *mean,
           double                 *lo,
           double                 *hi)
{
  double sum = 0;
  gsize count = 0;

  *lo = G_MAXDOUBLE, *hi = -G_MAXDOUBLE;
  for (gsize i = 0; i < norms->batch; i++)
    {
      double v = jac_sequence_norms_get_log10 (norms, norm, lag, i);

      if (!isfinite (v))
        continue;
      sum += v;
      count++;
      *lo = MIN (*lo, v);
      *hi = MAX (*hi, v);
    }
  if (count == 0)
    return FALSE;
  *mean = sum / count;
  return TRUE;
}

static double
mean_of (const JacTensor *t)
{
  double sum = 0;

  for (gsize e = 0; e < t->size; e++)
    sum += t->data[e];
  return sum / MAX (t->size, 1);
}

/* A tick on the log axis: 1, 10, 10², 10⁻³ … */
static char *
tick_markup (double log10_value)
{
  long e = lround (log10_value);

  if (e == 0)
    return g_strdup ("1");
  if (e == 1)
    return g_strdup ("10");
  return g_strdup_printf ("10<sup>%s%ld</sup>", e < 0 ? "−" : "", labs (e));
}

static char *
decade_markup (double log10_value)
{
  if (!isfinite (log10_value))
    return g_strdup ("0");
  return _jac_format_scientific_markup (pow (10, log10_value));
}

void
_jac_sequence_compare_draw (cairo_t                *cr,
                            const JacSequenceScene *scene)
{
  static const char * const names[N_CURVES] = {
    "RNN", "LSTM", "GRU", "LSTM cell state ∂c<sub>T</sub>/∂c<sub>T−k</sub>",
  };
  const JacSequence * const *sequences = scene->cells;
  const JacSequenceNorms * const *norms = scene->cell_norms;
  const JacFigureStyle *style = scene->style;
  double width = scene->width, height = scene->height;
  Painter p = { cr, _jac_text_context_new (cr) };
  const JacSequenceConfig *c = &sequences[0]->config;
  gsize steps = c->steps;
  double margin, base, small, y_min = G_MAXDOUBLE, y_max = -G_MAXDOUBLE;
  double top, bottom, caption_height, left, right, tick_width = 0, y_step;
  double end_value[N_CURVES];
  g_autofree char *title = NULL, *subtitle = NULL, *caption = NULL, *carry = NULL;
  JacSequenceNorm norm = scene->view->norm;
  JacLabel *label;

  _jac_palette_init (&p.palette, style);
  _jac_type_init (&p.type, style->medium, style->text_scale, width, height);
  _jac_text_context_set_type (p.context, &p.type);
  base = p.type.body, small = p.type.small;
  margin = round (base * 1.2);
  p.line = MAX (1.0, base / 12) * style->line_scale;

  for (guint k = 0; k < N_CURVES; k++)
    {
      end_value[k] = -INFINITY;
      for (gsize lag = 1; lag <= steps; lag++)
        {
          double mean, lo, hi;

          if (!lag_stats (norms[k], norm, lag, &mean, &lo, &hi))
            continue;
          y_min = MIN (y_min, lo);
          y_max = MAX (y_max, hi);
          if (lag == steps)
            end_value[k] = mean;
        }
    }
  /* The line where the norm stays 1 is always on the plot. */
  y_min = MIN (y_min, 0), y_max = MAX (y_max, 0);
  if (y_max - y_min < 1)
    y_min -= 0.5, y_max += 0.5;
  y_step = MAX (1, ceil ((y_max - y_min) / 8));
  y_min = floor (y_min / y_step) * y_step;
  y_max = ceil (y_max / y_step) * y_step;

  cairo_save (cr);
  _jac_set_source_rgb (cr, &p.palette.background);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);

  carry = sequences[1]->config.carry_bias != 0
          ? g_strdup_printf (", bias of f and z %+.3g (--carry-bias)",
                             sequences[1]->config.carry_bias)
          : g_strdup ("");
  title = g_strdup_printf ("Why LSTMs were invented: %s ‖∂h<sub>T</sub>/∂h<sub>T−k</sub>‖ "
                           "of three cells on one sequence",
                           norm == JAC_SEQUENCE_NORM_FROBENIUS ? "Frobenius" : "spectral");
  label = show (&p, title, p.type.title, TRUE, width - 2 * margin, margin, margin, 0, 0,
                &p.palette.ink);
  top = label->y + label->height;
  _jac_label_free (label);
  subtitle = g_strdup_printf ("T = %" G_GSIZE_FORMAT ", N = %" G_GSIZE_FORMAT ", D = %"
                              G_GSIZE_FORMAT ", H = %" G_GSIZE_FORMAT ", seed %u: the same x "
                              "and h<sub>0</sub> for all three · RNN: %s, ρ(W<sub>hh</sub>) = "
                              "%.3g · LSTM, GRU: PyTorch's equations and initialisation%s%s",
                              steps, c->config.batch, c->config.input, c->config.hidden,
                              c->config.seed, jac_func_name (c->config.activation),
                              sequences[0]->spectral_radius,
                              c->gain != 1 ? ", W<sub>hh</sub> × gain" : "", carry);
  label = show (&p, subtitle, small, FALSE, width - 2 * margin, margin, top + base * 0.3, 0, 0,
                &p.palette.faint_ink);
  top = label->y + label->height + base * 1.2;
  _jac_label_free (label);

  /* The lesson, from the numbers drawn: which cell keeps the gradient, and why. */
  {
    g_autofree char *rnn = decade_markup (end_value[0]);
    g_autofree char *lstm = decade_markup (end_value[1]);
    g_autofree char *gru = decade_markup (end_value[2]);
    g_autofree char *cell_state = decade_markup (end_value[3]);
    double f = mean_of (sequences[1]->slopes), z = mean_of (sequences[2]->slopes);
    g_autofree char *f_k = decade_markup (steps * log10 (f));
    g_autofree char *z_k = decade_markup (steps * log10 (z));
    const char *verdict =
      end_value[3] > end_value[0] + 1
      ? "The LSTM's cell state is carried additively, c<sub>t</sub> = f ⊙ c<sub>t−1</sub> + "
        "i ⊙ g: its path multiplies by diag(f) per step, not by a weight matrix, so with the "
        "forget gate near 1 the gradient survives where the RNN's product of k factors "
        "diag(φ′) W<sub>hh</sub>ᵀ shrinks geometrically."
      : "Here the LSTM vanishes too: its cell-state path multiplies by diag(f) per step, and "
        "with PyTorch's initialisation the gates sit near ½. The path keeps the gradient when "
        "f ≈ 1 — trained, or with the forget gate's bias raised (--carry-bias 3, the usual "
        "initialisation).";

    caption = g_strdup_printf (
      "At k = %" G_GSIZE_FORMAT ": ∂h<sub>T</sub>/∂h<sub>T−k</sub> is %s for the RNN, %s for "
      "the LSTM (its cell state's ∂c<sub>T</sub>/∂c<sub>T−k</sub>: %s) and %s for the GRU. %s "
      "Mean forget gate f = %.2f (f<sup>k</sup> = %s); the GRU carries diag(z), mean z = %.2f "
      "(z<sup>k</sup> = %s).",
      steps, rnn, lstm, cell_state, gru, verdict, f, f_k, z, z_k);
  }
  _jac_label_measure (p.context, caption, base, FALSE, width - 2 * margin, &caption_height);
  bottom = height - margin - caption_height;
  label = show (&p, caption, base, FALSE, width - 2 * margin, margin, height - margin, 0, 1,
                &p.palette.ink);
  _jac_label_free (label);

  /* Axes. */
  for (double v = y_min; v <= y_max + 1e-9; v += y_step)
    {
      g_autofree char *text = tick_markup (v);
      JacLabel *tick = _jac_label_new (p.context, text, small, FALSE, -1);

      tick_width = MAX (tick_width, tick->width);
      _jac_label_free (tick);
    }
  left = margin + base * 1.6 + tick_width + base * 0.4;
  right = width - margin;
  bottom -= base * 3.2;
  if (right - left < 40 || bottom - top < 40)
    {
      cairo_restore (cr);
      g_object_unref (p.context);
      return;
    }
  cairo_set_line_width (cr, p.line);
  _jac_set_source_rgb (cr, &p.palette.frame);
  cairo_rectangle (cr, left, top, right - left, bottom - top);
  cairo_stroke (cr);
#define PX(lag) (left + (right - left) * (double) (lag) / (double) steps)
#define PY(v) (bottom - (bottom - top) * ((v) - y_min) / (y_max - y_min))
  for (double v = y_min; v <= y_max + 1e-9; v += y_step)
    {
      g_autofree char *text = tick_markup (v);

      _jac_set_source_rgb (cr, &p.palette.frame);
      cairo_move_to (cr, left - base * 0.3, PY (v));
      cairo_line_to (cr, left, PY (v));
      cairo_stroke (cr);
      _jac_label_free (show (&p, text, small, FALSE, -1, left - base * 0.4, PY (v), 1, 0.5,
                             &p.palette.ink));
    }
  {
    double step = MAX (1, pow (10, floor (log10 (MAX (steps, 1)))));

    if (steps / step < 3)
      step /= 2;
    step = MAX (1, round (step));
    for (double lag = 0; lag <= steps + 1e-9; lag += step)
      {
        g_autofree char *text = g_strdup_printf ("%.0f", lag);

        _jac_set_source_rgb (cr, &p.palette.frame);
        cairo_move_to (cr, PX (lag), bottom);
        cairo_line_to (cr, PX (lag), bottom + base * 0.3);
        cairo_stroke (cr);
        _jac_label_free (show (&p, text, small, FALSE, -1, PX (lag), bottom + base * 0.4, 0.5,
                               0, &p.palette.ink));
      }
  }
  _jac_label_free (show (&p, "lag k (steps back from T)", base, FALSE, -1, (left + right) / 2,
                         bottom + base * 0.5 + small * 1.4, 0.5, 0, &p.palette.ink));
  {
    JacLabel *y_title = _jac_label_new (p.context, "‖∂h<sub>T</sub>/∂h<sub>T−k</sub>‖ "
                                        "(log scale)", base, FALSE, -1);

    cairo_save (cr);
    cairo_translate (cr, margin, (top + bottom) / 2);
    cairo_rotate (cr, -G_PI / 2);
    _jac_label_place (y_title, 0, 0, 0.5, 0);
    _jac_figure_paint_label (cr, y_title, &p.palette.ink);
    cairo_restore (cr);
    _jac_label_free (y_title);
  }

  /* Norm 1, dashed. */
  cairo_save (cr);
  cairo_rectangle (cr, left, top, right - left, bottom - top);
  cairo_clip (cr);
  _jac_set_source_rgb (cr, &p.palette.faint_ink);
  cairo_set_dash (cr, (double[]) { 4 * p.line, 3 * p.line }, 2, 0);
  cairo_move_to (cr, left, PY (0));
  cairo_line_to (cr, right, PY (0));
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);

  /* Each cell: the rows' range shaded, their mean as a line; the LSTM's cell state dashed. */
  for (guint k = 0; k < N_CURVES; k++)
    {
      guint color = k % N_CELLS == 0 && k > 0 ? 1 : k;
      JacRgb rgb = _jac_rgb_hex (style->dark ? cell_colors_dark[color] : cell_colors_light[color]);
      gboolean pen = FALSE;

      if (norms[k]->batch > 1)
        {
          cairo_set_source_rgba (cr, rgb.red, rgb.green, rgb.blue, 0.18);
          for (gsize lag = 1; lag + 1 <= steps; lag++)
            {
              double m0, lo0, hi0, m1, lo1, hi1;

              if (!lag_stats (norms[k], norm, lag, &m0, &lo0, &hi0)
                  || !lag_stats (norms[k], norm, lag + 1, &m1, &lo1, &hi1))
                continue;
              cairo_move_to (cr, PX (lag), PY (lo0));
              cairo_line_to (cr, PX (lag + 1), PY (lo1));
              cairo_line_to (cr, PX (lag + 1), PY (hi1));
              cairo_line_to (cr, PX (lag), PY (hi0));
              cairo_close_path (cr);
              cairo_fill (cr);
            }
        }
      _jac_set_source_rgb (cr, &rgb);
      cairo_set_line_width (cr, 2.2 * p.line);
      if (k == N_CELLS)
        cairo_set_dash (cr, (double[]) { 6 * p.line, 3 * p.line }, 2, 0);
      cairo_move_to (cr, PX (0), PY (0));
      pen = TRUE;
      for (gsize lag = 1; lag <= steps; lag++)
        {
          double mean, lo, hi;

          if (!lag_stats (norms[k], norm, lag, &mean, &lo, &hi))
            {
              pen = FALSE;
              continue;
            }
          if (pen)
            cairo_line_to (cr, PX (lag), PY (mean));
          else
            cairo_move_to (cr, PX (lag), PY (mean));
          pen = TRUE;
        }
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
    }
  cairo_restore (cr);

  /* Legend, bottom left inside the plot: the curves start at 1 on the left and fall. */
  {
    double x = left + base * 3.2, entry_height = small * 1.45;
    double y = bottom - base * 0.5 - entry_height * (N_CURVES + 1);

    for (guint k = 0; k < N_CURVES; k++)
      {
        guint color = k == N_CELLS ? 1 : k;
        JacRgb rgb = _jac_rgb_hex (style->dark ? cell_colors_dark[color]
                                               : cell_colors_light[color]);
        g_autofree char *value = decade_markup (end_value[k]);
        g_autofree char *text = g_strdup_printf ("%s (k = %" G_GSIZE_FORMAT ": %s)", names[k],
                                                 steps, value);
        JacLabel *entry = show (&p, text, small, FALSE, -1, x, y, 0, 0, &p.palette.ink);

        _jac_set_source_rgb (cr, &rgb);
        cairo_set_line_width (cr, 2.2 * p.line);
        if (k == N_CELLS)
          cairo_set_dash (cr, (double[]) { 6 * p.line, 3 * p.line }, 2, 0);
        cairo_move_to (cr, x - base * 2.4, entry->y + entry->height / 2);
        cairo_line_to (cr, x - base * 0.5, entry->y + entry->height / 2);
        cairo_stroke (cr);
        cairo_set_dash (cr, NULL, 0, 0);
        y += entry_height;
        _jac_label_free (entry);
      }
    _jac_set_source_rgb (cr, &p.palette.faint_ink);
    cairo_set_line_width (cr, p.line);
    cairo_set_dash (cr, (double[]) { 4 * p.line, 3 * p.line }, 2, 0);
    cairo_move_to (cr, x - base * 2.4, y + small * 0.7);
    cairo_line_to (cr, x - base * 0.5, y + small * 0.7);
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
    _jac_label_free (show (&p, "norm 1", small, FALSE, -1, x, y, 0, 0, &p.palette.faint_ink));
  }
#undef PX
#undef PY
  cairo_restore (cr);
  g_object_unref (p.context);
}

void
jac_sequence_compare_figure_draw (cairo_t                        *cr,
                                  double                          width,
                                  double                          height,
                                  const JacSequence * const      *sequences,
                                  const JacSequenceNorms * const *norms,
                                  const JacSequenceView          *view,
                                  const JacFigureStyle           *style)
{
  JacSequenceScene scene = { width, height, NULL, NULL, NULL, sequences, norms, view, style };

  g_return_if_fail (cr != NULL);
  g_return_if_fail (sequences != NULL);
  g_return_if_fail (norms != NULL);
  g_return_if_fail (view != NULL);
  g_return_if_fail (style != NULL);

  _jac_sequence_compare_draw (cr, &scene);
}

gboolean
jac_sequence_compare_figure_save (const char                     *path,
                                  double                          width,
                                  double                          height,
                                  double                          scale,
                                  const JacSequence * const      *sequences,
                                  const JacSequenceNorms * const *norms,
                                  const JacSequenceView          *view,
                                  const JacFigureStyle           *style,
                                  GError                        **error)
{
  JacSequenceScene scene = { width, height, NULL, NULL, NULL, sequences, norms, view, style };

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (sequences != NULL, FALSE);
  g_return_val_if_fail (norms != NULL, FALSE);
  g_return_val_if_fail (view != NULL, FALSE);
  g_return_val_if_fail (style != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _jac_render_save (path, width, height, scale, style->medium,
                           "RNN, LSTM and GRU through time", _jac_sequence_scene_draw_cb, &scene,
                           error);
}
