/* jac-sequence-layout.c: the through-time figure's layout: every text measured and every panel
 * placed before anything is drawn, leaving out what does not fit; hit-testing on it. */
#define G_LOG_DOMAIN "jac-sequence-figure"

#include <math.h>
#include <string.h>

#include "jac-render-tikz-private.h"
#include "jac-sequence-figure-private.h"

#define SEPARATOR "   ·   "
#define NBSP "\xc2\xa0"    /* keeps "k = 10" on one line */
#define FULL_GRID_MAX_ROWS 3   /* up to this N the zero blocks p ≠ i are drawn too */

static const struct
{
  JacSequenceDrop        drop;
  const char *name;
} drop_order[] = {
  { JAC_SEQUENCE_DROP_SECONDARY, "model line" },
  { JAC_SEQUENCE_DROP_LEGEND, "legend" },
  { JAC_SEQUENCE_DROP_BLOCKS, "blocks" },
};

/* ---- measured text: one line, wrapped, reworded or, last, cut short ---- */

typedef struct
{
  const char *markup;
  int         lines;   /* the most it may take */
} Wording;

/* The first of @wordings that fits @width in its lines; else the last one, smaller. */
static JacLabel *
label_worded (JacSequenceLayout *l,
              const Wording     *wordings,
              guint              n,
              double             size,
              gboolean           bold,
              double             width)
{
  for (guint k = 0; k + 1 < n; k++)
    {
      JacLabel *label = _jac_label_fitting (l->context, wordings[k].markup, size, bold, width,
                                            wordings[k].lines);

      if (label != NULL)
        return label;
    }
  return _jac_label_fit (l->context, wordings[n - 1].markup, size, l->type.min_text, bold, width,
                         wordings[n - 1].lines, &l->overflow);
}

/* @parts joined by SEPARATOR, breaking the line between parts rather than inside a formula. */
static JacLabel *
label_packed (JacSequenceLayout  *l,
              const char * const *parts,
              guint               n,
              double              size,
              double              width,
              int                 lines)
{
  PangoContext *context = l->context;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *line = NULL;

  for (guint k = 0; k < n; k++)
    {
      char *joined = line == NULL ? g_strdup (parts[k])
                                  : g_strconcat (line, SEPARATOR, parts[k], NULL);

      if (line != NULL && _jac_label_width (context, joined, size) > width)
        {
          g_string_append_printf (text, "%s%s", text->len > 0 ? "\n" : "", line);
          g_free (joined);
          joined = g_strdup (parts[k]);
        }
      g_free (line);
      line = joined;
    }
  g_string_append_printf (text, "%s%s", text->len > 0 ? "\n" : "", line);
  return _jac_label_fit (context, text->str, size, l->type.min_text, FALSE, width, lines,
                         &l->overflow);
}

/* ---- layout ---- */

static double
color_range (const JacSequenceLayout *l,
             const JacStructured     *jacobian,
             const JacSequenceNorms  *norms)
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

static double
mean_slope (const JacSequence *seq)
{
  return jac_sequence_mean_slope (seq);
}

/* The title on one line, else broken after "steps,", else shorter; under it the model line
 * (a secondary caption), broken between its parts. */
static void
layout_title (JacSequenceLayout *l,
              const JacSequence *seq)
{
  const JacSequenceConfig *c = &seq->config;
  double width = l->width - 2 * l->margin;
  g_autofree char *one = NULL, *two = NULL, *terse = NULL, *model = NULL, *sizes = NULL;
  g_autofree char *weights = NULL, *slope = NULL;
  const char *parts[4];
#define TITLE "Through time%s: %s over T = %" G_GSIZE_FORMAT " steps,%sand why gradients vanish or explode"
  const char *cell = c->cell == JAC_CELL_LSTM ? " (LSTM)" : c->cell == JAC_CELL_GRU ? " (GRU)" : "";

  one = g_strdup_printf (TITLE, cell, l->ratio, c->steps, " ");
  two = g_strdup_printf (TITLE, cell, l->ratio, c->steps, "\n");
#undef TITLE
  terse = g_strdup_printf ("Through time%s: %s, T = %" G_GSIZE_FORMAT, cell, l->ratio,
                           c->steps);
  l->title = label_worded (l, (Wording[]) { { one, 1 }, { two, 2 }, { terse, 1 }, { terse, 2 } },
                           4, l->type.title, TRUE, width);
  _jac_label_place (l->title, l->margin, l->margin, 0, 0);
  l->top = l->title->y + l->title->height;
  if (!(l->dropped & JAC_SEQUENCE_DROP_SECONDARY) && c->cell != JAC_CELL_RNN)
    {
      gboolean lstm = c->cell == JAC_CELL_LSTM;

      parts[0] = model = g_strdup (lstm ? "c<sub>s</sub> = f ⊙ c<sub>s−1</sub> + i ⊙ g,  "
                                          "h<sub>s</sub> = o ⊙ tanh(c<sub>s</sub>)  (PyTorch)"
                                        : "h<sub>s</sub> = (1 − z) ⊙ n + z ⊙ h<sub>s−1</sub>  "
                                          "(PyTorch)");
      parts[1] = sizes = g_strdup_printf ("N = %" G_GSIZE_FORMAT ", H = %" G_GSIZE_FORMAT,
                                          c->config.batch, c->config.hidden);
      parts[2] = weights = seq->weights_loaded
                           ? g_strdup ("weights loaded (a PyTorch state dict)")
                           : g_strdup_printf ("W<sub>hh</sub>: PyTorch's uniform ±1/√H × gain "
                                              "%.3g%s", c->gain,
                                              c->carry_bias != 0 ? ", carry bias raised" : "");
      parts[3] = slope = g_strdup_printf ("mean %s = %.2f (the carry per step)",
                                          lstm ? "forget gate f" : "update gate z",
                                          mean_slope (seq));
      l->subtitle = label_packed (l, parts, G_N_ELEMENTS (parts), l->small, width, 3);
      _jac_label_place (l->subtitle, l->margin, l->top + l->base * 0.3, 0, 0);
      l->top = l->subtitle->y + l->subtitle->height;
    }
  else if (!(l->dropped & JAC_SEQUENCE_DROP_SECONDARY))
    {
      parts[0] = model = g_strdup_printf ("h<sub>s</sub> = %s(h<sub>s−1</sub> W<sub>hh</sub> + "
                                          "x<sub>s</sub> W<sub>xh</sub> + b)",
                                          jac_func_name (c->config.activation));
      parts[1] = sizes = g_strdup_printf ("N = %" G_GSIZE_FORMAT ", H = %" G_GSIZE_FORMAT,
                                          c->config.batch, c->config.hidden);
      parts[2] = weights = seq->weights_loaded
                           ? g_strdup_printf ("W<sub>hh</sub> loaded → ρ(W<sub>hh</sub>) = %.3g",
                                              seq->spectral_radius)
                           : g_strdup_printf ("W<sub>hh</sub>: %s%s × gain %.3g → "
                                              "ρ(W<sub>hh</sub>) = %.3g",
                                              c->orthogonal ? "orthogonal" : "uniform random",
                                              c->unit_radius && !c->orthogonal
                                              ? " scaled to ρ = 1" : "",
                                              c->gain, seq->spectral_radius);
      parts[3] = slope = g_strdup_printf ("mean φ′(Z) = %.2f%s", mean_slope (seq),
                                          mean_slope (seq) < 0.5 ? " (saturated: each step "
                                                                   "multiplies by φ′ &lt; 1)"
                                                                 : "");
      l->subtitle = label_packed (l, parts, G_N_ELEMENTS (parts), l->small, width, 3);
      _jac_label_place (l->subtitle, l->margin, l->top + l->base * 0.3, 0, 0);
      l->top = l->subtitle->y + l->subtitle->height;
    }
  l->top = round (l->top + l->base * 0.75);
}

/* "left out: …" naming what _jac_sequence_layout_init () dropped; in the top right corner when
 * the title leaves room there, else on a line of its own at the bottom. Returns the height it
 * takes at the bottom. */
static double
layout_left_out (JacSequenceLayout *l)
{
  g_autoptr(GString) text = g_string_new ("left out: ");
  gboolean first = TRUE;

  if (l->dropped == 0)
    return 0;
  for (guint k = 0; k < G_N_ELEMENTS (drop_order); k++)
    if (l->dropped & drop_order[k].drop)
      {
        g_string_append_printf (text, "%s%s", first ? "" : ", ", drop_order[k].name);
        first = FALSE;
      }
  l->left_out = label_worded (l, &(Wording) { text->str, 2 }, 1, l->small, FALSE,
                              l->width - 2 * l->margin);
  if (pango_layout_get_line_count (l->left_out->layout) == 1
      && l->title->x + l->title->width + l->base * 1.5 + l->left_out->width
         <= l->width - l->margin)
    {
      _jac_label_place (l->left_out, l->width - l->margin, l->margin, 1, 0);
      return 0;
    }
  _jac_label_place (l->left_out, l->width - l->margin, l->height - l->margin, 1, 1);
  return l->left_out->height + l->small * 0.3;
}

/* The two captions that state the answer, across the bottom: what a block is in the figure's
 * layout (the product of k one-step Jacobians), and why the curves vanish or explode (a product
 * of k factors whose norm goes like ρ(W_hh)^k · mean φ′^k). Sets l->bottom above them. */
static void
layout_answer (JacSequenceLayout *l,
               const JacSequence *seq)
{
  double width = l->width - 2 * l->margin, y;
  double rho = seq->spectral_radius, slope = mean_slope (seq), rate = rho * slope;
  const char *fate = rate < 0.98 ? "vanishes" : rate > 1.02 ? "explodes" : "stays ≈ 1";
  gboolean den = l->style.denominator_layout;
  const char *product = den ? "W<sub>hh</sub> diag(S<sub>T−k+1</sub>[i]) ⋯ W<sub>hh</sub> "
                              "diag(S<sub>T</sub>[i])"
                            : "diag(S<sub>T</sub>[i]) W<sub>hh</sub>ᵀ ⋯ "
                              "diag(S<sub>T−k+1</sub>[i]) W<sub>hh</sub>ᵀ";
  g_autofree char *full = NULL, *terse = NULL, *why = NULL, *why_terse = NULL;
  gboolean saturates = seq->config.cell == JAC_CELL_RNN && rho > 1.02 && rate < 0.98
                       && seq->config.config.activation != JAC_FUNC_IDENTITY;

  if (seq->config.cell != JAC_CELL_RNN)
    {
      gboolean lstm = seq->config.cell == JAC_CELL_LSTM;
      char out = seq->config.output == JAC_STATE_C ? 'c' : 'h';
      char wrt = seq->config.wrt == JAC_STATE_C ? 'c' : 'h';

      full = g_strdup_printf ("Block (i, i) = the (%c, %c) part of ∂u<sub>T</sub>/∂u<sub>T−1</sub> "
                              "⋯ ∂u<sub>T−k+1</sub>/∂u<sub>T−k</sub>[i], a product of k" NBSP "="
                              NBSP "%" G_GSIZE_FORMAT " one-step Jacobians of the state u = %s%s; "
                              "blocks p ≠ i are 0 (δ<sub>ip</sub>)", out, wrt, l->view.lag,
                              lstm ? "(h, c)" : "h",
                              den ? ", transposed (rows q, columns j)" : " (rows j, columns q)");
      terse = g_strdup_printf ("Block (i, i): (%c, %c) part of k" NBSP "=" NBSP "%" G_GSIZE_FORMAT
                               " state Jacobians; p ≠ i: 0", out, wrt, l->view.lag);
      why = g_strdup_printf ("Why: %s carries the state by diag(%s) per step (mean %.2f, so "
                             "about %.2f<sup>k</sup> along that path); the other paths pass "
                             "through gate derivatives and W<sub>hh</sub>",
                             lstm ? "the cell state c<sub>s</sub> = f ⊙ c<sub>s−1</sub> + i ⊙ g"
                                  : "h<sub>s</sub> = (1 − z) ⊙ n + z ⊙ h<sub>s−1</sub>",
                             lstm ? "f" : "z", slope, slope);
      why_terse = g_strdup_printf ("Carry diag(%s) per step: mean %.2f", lstm ? "f" : "z",
                                   slope);
    }
  else if (saturates)
    {
      why = g_strdup_printf ("Why it vanishes though ρ(W<sub>hh</sub>) = %.3g > 1: %s saturates "
                             "(mean φ′ = %.2f), so the norm goes like (ρ · mean φ′)<sup>k</sup> "
                             "= %.2f<sup>k</sup>; with --activation identity the gain alone "
                             "decides", rho, jac_func_name (seq->config.config.activation),
                             slope, rate);
      why_terse = g_strdup_printf ("Vanishes though ρ > 1: %s saturates, mean φ′ = %.2f; "
                                   "try identity", jac_func_name (seq->config.config.activation),
                                   slope);
    }
  if (full == NULL)
    full = g_strdup_printf ("Block (i, i) = %s, a product of k" NBSP "=" NBSP "%" G_GSIZE_FORMAT
                            " one-step Jacobians%s; blocks p ≠ i are 0 (δ<sub>ip</sub>)", product,
                            l->view.lag,
                            den ? ", transposed (denominator layout: rows q, columns j)"
                                : " (rows j, columns q)");
  if (terse == NULL)
    terse = g_strdup_printf ("Block (i, i) = %s (k" NBSP "=" NBSP "%" G_GSIZE_FORMAT
                             " factors; %s); p ≠ i: 0",
                             product, l->view.lag,
                             den ? "transposed: rows q, columns j" : "rows j, columns q");
  if (why == NULL)
    why = g_strdup_printf ("Why it %s: a product of k factors, so its norm goes like "
                           "ρ(W<sub>hh</sub>)<sup>k</sup> · (mean φ′)<sup>k</sup> = "
                           "(%.3g × %.2f)<sup>k</sup> = %.2f<sup>k</sup>", fate, rho, slope,
                           rate);
  if (why_terse == NULL)
    why_terse = g_strdup_printf ("It %s: k factors, norm ~ (ρ(W<sub>hh</sub>) · mean φ′)"
                                 "<sup>k</sup> = %.2f<sup>k</sup>", fate, rate);
  l->answer = label_worded (l, (Wording[]) { { full, 1 }, { terse, 1 }, { full, 2 },
                                             { terse, 2 }, { terse, 3 } },
                            5, l->small, FALSE, width);
  l->why = label_worded (l, (Wording[]) { { why, 1 }, { why_terse, 1 }, { why, 2 },
                                          { why_terse, 2 } },
                         4, l->small, FALSE, width);
  y = l->height - l->margin - layout_left_out (l);
  _jac_label_place (l->why, l->margin, y, 0, 1);
  _jac_label_place (l->answer, l->margin, l->why->y - l->small * 0.2, 0, 1);
  l->bottom = l->answer->y - round (l->base * 0.8);
}

/* The colour bar's three tick labels and "range: …"; returns the width they take beside it.
 * On screen the room kept is that of the widest label most lags need, whatever this lag's: the
 * blocks keep their size as k changes, and hit-testing (which has no Jacobian) finds the plot
 * where it is drawn; a rare two-digit exponent reaches into the gap between the columns. A
 * page is never redrawn for another k, and needs the room: it keeps what its labels take. */
static double
layout_colorbar_labels (JacSequenceLayout *l)
{
  const double at[3] = { l->range, 0, -l->range };
  gboolean paper = l->style.medium == JAC_MEDIUM_PAPER;
  double widest = paper ? 0 : _jac_label_width (l->context, MINUS "8.8×10<sup>" MINUS "8</sup>",
                                                l->small);

  for (guint t = 0; t < 3; t++)
    {
      g_autofree char *text = _jac_format_scientific_markup (at[t]);

      l->bar_ticks[t] = _jac_label_new (l->context, text, l->small, FALSE, -1);
      if (paper)
        widest = MAX (widest, l->bar_ticks[t]->width);
    }
  if (!(l->dropped & JAC_SEQUENCE_DROP_SECONDARY))
    {
      l->range_label = _jac_label_new (l->context, l->view.shared_range ? "range: all lags"
                                                                   : "range: this lag",
                                       l->small, FALSE, -1);
      widest = MAX (widest, l->range_label->width - round (l->base * 0.9) - l->base * 0.45);
    }
  return round (l->base * 0.9) + l->base * 0.45 + widest;
}

static void
place_colorbar (JacSequenceLayout *l,
                double             pad)
{
  JacRect *bar = &l->colorbar;

  bar->x = l->grid_x + l->grid_cols * l->pitch_x - pad + l->base * 1.0;
  bar->y = l->grid_y;
  bar->width = round (l->base * 0.9);
  bar->height = MAX (l->base * 4, l->grid_rows * l->pitch_y - pad
                                  - (l->full_grid ? 0 : l->name_height));
  for (guint t = 0; t < 3; t++)
    _jac_label_place (l->bar_ticks[t], bar->x + bar->width + l->base * 0.45,
                      bar->y + bar->height * t / 2.0, 0, 0.5);
  if (l->range_label != NULL)
    _jac_label_place (l->range_label, bar->x,
                      bar->y + bar->height + l->bar_ticks[2]->height / 2 + l->small * 0.1, 0, 0);
}

static void
layout_blocks (JacSequenceLayout *l,
               const JacSequence *seq)
{
  gsize n = seq->config.config.batch;
  double gx, gy, gw, gh, side, below, row_names = 0, pad = round (l->base * 0.5);
  g_autofree char *header = NULL, *header2 = NULL, *terse = NULL;

  l->full_grid = n <= FULL_GRID_MAX_ROWS;
  l->shown = l->full_grid ? n : MIN (n, MAX (l->view.max_blocks, 1));
  l->grid_cols = l->full_grid ? n : (gsize) ceil (sqrt ((double) l->shown));
  l->grid_rows = l->full_grid ? n : (l->shown + l->grid_cols - 1) / l->grid_cols;

  header = g_strdup_printf ("Blocks of %s%sat k = %" G_GSIZE_FORMAT, l->ratio, " ",
                            l->view.lag);
  header2 = g_strdup_printf ("Blocks of %s%sat k = %" G_GSIZE_FORMAT, l->ratio, "\n",
                             l->view.lag);
  terse = g_strdup_printf ("%s at k = %" G_GSIZE_FORMAT, l->ratio, l->view.lag);
  l->blocks_header = label_worded (l, (Wording[]) { { header, 1 }, { header2, 2 },
                                                    { terse, 1 } },
                                   3, l->base * 1.05, TRUE, l->left.width);
  _jac_label_place (l->blocks_header, l->left.x, l->left.y, 0, 0);
  if (l->shown < n && !(l->dropped & JAC_SEQUENCE_DROP_SECONDARY))
    {
      g_autofree char *more = g_strdup_printf ("showing rows 0 … %" G_GSIZE_FORMAT " of %"
                                               G_GSIZE_FORMAT "; blocks p ≠ i, all 0, not drawn",
                                               l->shown - 1, n);

      l->caption_more = label_worded (l, &(Wording) { more, 2 }, 1, l->small, FALSE,
                                      l->left.width);
    }
  side = l->base * 1.0 + layout_colorbar_labels (l);
  if (l->full_grid)
    {
      g_autofree char *widest = g_strdup_printf ("i = %" G_GSIZE_FORMAT, n - 1);
      g_autofree char *widest_p = g_strdup_printf ("p = %" G_GSIZE_FORMAT, n - 1);

      row_names = MAX (_jac_label_width (l->context, widest, l->small),
                       _jac_label_width (l->context, widest_p, l->small)) + l->base * 0.5;
    }
  l->name_height = l->full_grid ? 0 : l->small_height + l->small * 0.15;

  /* Header above, "p = …" over the columns, colour bar and its labels on the right, the range
   * label and "showing rows …" below. */
  below = l->bar_ticks[2]->height / 2
          + (l->range_label != NULL ? l->small * 0.1 + l->range_label->height : 0)
          + (l->caption_more != NULL ? l->small * 0.6 + l->caption_more->height : 0);
  gx = l->left.x + row_names;
  gy = l->blocks_header->y + l->blocks_header->height + l->base * 0.77
       + (l->full_grid ? l->small_height + l->base * 0.3 : 0);
  gw = l->left.x + l->left.width - gx - side;
  gh = l->left.y + l->left.height - gy - below - l->grid_rows * l->name_height;
  l->block = MAX (1, MIN ((gw - (l->grid_cols - 1) * pad) / l->grid_cols,
                          (gh - (l->grid_rows - 1) * pad) / l->grid_rows));
  l->block_by_width = (gw - (l->grid_cols - 1) * pad) / l->grid_cols
                      < (gh - (l->grid_rows - 1) * pad) / l->grid_rows;
  l->block = floor (l->block);
  l->pitch_x = l->block + pad;
  l->pitch_y = l->block + pad + l->name_height;
  l->grid_x = gx;
  l->grid_y = gy + l->name_height;
  place_colorbar (l, pad);
}

static void
legend_add (JacSequenceLayout *l,
            const char        *markup,
            JacLegendKind      kind,
            gsize              row)
{
  JacLegendEntry e = { _jac_label_new (l->context, markup, l->small, FALSE, -1), kind, row, 0, 0 };

  g_array_append_val (l->legend, e);
}

/* Places the legend's entries in lines from @x0 to @x1; returns how many lines they take. */
static guint
pack_legend (JacSequenceLayout *l,
             double             x0,
             double             x1)
{
  double row_height = MAX (l->small_height, l->line * 3), x = x0, y = 0;
  guint lines = 1;

  for (guint k = 0; k < l->legend->len; k++)
    {
      JacLegendEntry *e = &g_array_index (l->legend, JacLegendEntry, k);
      double w = l->base * 2.6 + e->label->width;

      if (x > x0 && x + w > x1)
        {
          x = x0;
          y += row_height + l->base * 0.35;
          lines++;
        }
      e->x = x;
      e->y = y + row_height / 2;
      x += w + l->base * 1.2;
    }
  return lines;
}

/* The legend's entries, wrapped onto more lines when one is not enough; returns its height
 * (0 when the legend is left out). */
static double
layout_legend (JacSequenceLayout *l,
               const JacSequence *seq)
{
  gsize n = seq->config.config.batch;
  double row_height = MAX (l->small_height, l->line * 3);
  double x0 = l->plot.x, x1 = l->right.x + l->right.width;
  g_autofree char *rho = g_strdup_printf ("ρ(W<sub>hh</sub>)<sup>k</sup>, ρ = %.3g",
                                          seq->spectral_radius);

  l->legend = g_array_new (FALSE, TRUE, sizeof (JacLegendEntry));
  if (l->dropped & JAC_SEQUENCE_DROP_LEGEND)
    return 0;
  if (n <= MAX_COLORED_ROWS)
    for (gsize i = 0; i < n; i++)
      {
        g_autofree char *name = g_strdup_printf ("row i = %" G_GSIZE_FORMAT, i);

        legend_add (l, name, JAC_LEGEND_ROW, i);
      }
  else
    {
      g_autofree char *name = g_strdup_printf ("each of the %" G_GSIZE_FORMAT " rows", n);

      legend_add (l, name, JAC_LEGEND_ROW, G_MAXSIZE);
      legend_add (l, "mean of log₁₀", JAC_LEGEND_MEAN, 0);
    }
  legend_add (l, "norm 1", JAC_LEGEND_NORM_1, 0);
  /* ρ(W_hh)^k is the RNN's model line; a gated cell has none (ρ is NaN). */
  if (isfinite (seq->spectral_radius))
    legend_add (l, rho, JAC_LEGEND_RHO_K, 0);

  /* From the plot's left edge, or the column's when that takes fewer lines. */
  if (pack_legend (l, l->right.x, x1) < pack_legend (l, x0, x1))
    x0 = l->right.x;
  return pack_legend (l, x0, x1) * (row_height + l->base * 0.35) - l->base * 0.35;
}

static void
layout_plot_header (JacSequenceLayout *l)
{
  static const char * const norm_names[JAC_SEQUENCE_N_NORMS] = {
    "spectral norm ‖·‖<sub>2</sub> = σ<sub>max</sub>", "Frobenius norm ‖·‖<sub>F</sub>",
    "largest |entry|",
  };
  const char *name = norm_names[l->view.norm];
  g_autofree char *how = NULL, *how2 = NULL, *against = NULL, *against2 = NULL;

  how = g_strdup_printf ("How %s grows or shrinks with k: %s", l->ratio, name);
  how2 = g_strdup_printf ("How %s grows or shrinks with k:\n%s", l->ratio, name);
  against = g_strdup_printf ("%s against k: %s", l->ratio, name);
  against2 = g_strdup_printf ("%s against k:\n%s", l->ratio, name);
  l->plot_header = label_worded (l, (Wording[]) {
                                   { how, 1 }, { against, 1 }, { how2, 2 }, { against2, 2 } },
                                 4, l->base * 1.05, TRUE, l->right.width);
  _jac_label_place (l->plot_header, l->right.x, l->right.y, 0, 0);
}

/* Its name, and "(log scale)" when the plot is tall enough to hold both. */
static void
layout_y_title (JacSequenceLayout *l)
{
  const char *norm = l->view.norm == JAC_SEQUENCE_NORM_FROBENIUS ? "<sub>F</sub>"
                     : l->view.norm == JAC_SEQUENCE_NORM_MAX_ABS ? "<sub>max</sub>"
                                                                   : "<sub>2</sub>";
  g_autofree char *name = g_strdup_printf ("‖%s‖%s", l->ratio_rows, norm);
  g_autofree char *full = g_strdup_printf ("%s  (log scale)", name);
  g_autofree char *log = g_strdup_printf ("%s (log)", name);
  g_autofree char *terse = g_strdup_printf ("‖·‖%s (log)", norm);
  g_autofree char *tersest = g_strdup_printf ("‖·‖%s", norm);

  l->y_title = label_worded (l, (Wording[]) { { full, 1 }, { log, 1 }, { name, 1 }, { terse, 1 },
                                              { tersest, 1 } },
                             5, l->base, FALSE, l->plot.height);
}

static void
layout_plot (JacSequenceLayout *l,
             const JacSequence *seq)
{
  g_autofree char *last = g_strdup_printf ("%.0f", l->lag_max);
  JacLabel *probe = _jac_label_new (l->context,
                                    "‖∂h<sub>T</sub>[i]/∂h<sub>T−k</sub>[i]‖<sub>2</sub>",
                                    l->base, FALSE, -1);
  double right_edge = l->right.x + l->right.width, legend_height, below, x_title_y;

  layout_plot_header (l);
  /* Room for tick labels like these; a wider one is left unlabelled (hit-testing has no norms,
   * so the plot cannot depend on the ticks, and no text is set below the minimum). */
  l->tick_width = MAX (_jac_label_width (l->context, "0.0001", l->small),
                       _jac_label_width (l->context, "5×10<sup>" MINUS "10</sup>", l->small));
  l->axis_gap = l->base * 0.35;
  l->plot.x = l->right.x + probe->height + l->axis_gap + l->tick_width + l->base * 0.4;
  l->plot.y = l->plot_header->y + l->plot_header->height + l->base * 0.6;
  l->plot.width = MAX (1, right_edge - l->plot.x
                          - MAX (l->base * 0.5,
                                 _jac_label_width (l->context, last, l->small) / 2 + 1));
  _jac_label_free (probe);

  legend_height = layout_legend (l, seq);
  l->x_title = label_worded (l, (Wording[]) { { "lag k: steps back from T", 1 },
                                              { "lag k", 1 } },
                             2, l->base, FALSE, l->right.width);
  below = l->base * 0.45 + l->small_height + l->base * 0.45;
  l->plot.height = MAX (1, l->right.y + l->right.height - l->plot.y - below - l->x_title->height
                           - (legend_height > 0 ? l->base * 0.9 + legend_height : 0)
                           - l->base * 0.1);
  layout_y_title (l);

  x_title_y = l->plot.y + l->plot.height + below;
  _jac_label_place (l->x_title, CLAMP (l->plot.x + l->plot.width / 2,
                                       l->right.x + l->x_title->width / 2,
                                       right_edge - l->x_title->width / 2),
                    x_title_y, 0.5, 0);
  for (guint k = 0; k < l->legend->len; k++)
    {
      JacLegendEntry *e = &g_array_index (l->legend, JacLegendEntry, k);

      e->y += x_title_y + l->x_title->height + l->base * 0.9;
      _jac_label_place (e->label, e->x + l->base * 2.6, e->y, 0, 0.5);
    }
}

/* The blocks and the plot side by side, or the blocks above the plot in a tall figure; the
 * plot alone when the blocks are left out. */
static void
layout_panels (JacSequenceLayout *l)
{
  double inner = l->width - 2 * l->margin, gap;

  l->stacked = l->height > l->width * 1.05;
  if (l->dropped & JAC_SEQUENCE_DROP_BLOCKS)
    {
      l->right = (JacRect) { l->margin, l->top, inner, l->bottom - l->top };
      return;
    }
  if (l->stacked)
    {
      gap = round (l->base * 1.5);
      l->left = (JacRect) { l->margin, l->top, inner, round ((l->bottom - l->top - gap) * 0.45) };
      l->right = (JacRect) { l->margin, l->left.y + l->left.height + gap, inner, 0 };
      l->right.height = l->bottom - l->right.y;
      return;
    }
  gap = round (l->base * 2.5);
  l->left = (JacRect) { l->margin, l->top, round ((inner - gap) * l->split), l->bottom - l->top };
  l->right = (JacRect) { l->left.x + l->left.width + gap, l->top, 0, l->bottom - l->top };
  l->right.width = l->width - l->margin - l->right.x;
}

/* One attempt at the layout, leaving out what @dropped says. */
static void
layout_try (JacSequenceLayout      *l,
            PangoContext           *context,
            const JacSequenceScene *scene,
            guint                   dropped,
            double                  split)
{
  const JacSequence *seq = scene->sequence;
  double width = scene->width, height = scene->height;
  JacLabel *probe;

  memset (l, 0, sizeof *l);
  l->style = *scene->style;
  l->view = *scene->view;
  l->context = context;
  l->width = width;
  l->height = height;
  l->dropped = dropped;
  l->split = split;
  if (!(l->style.text_scale > 0) || !isfinite (l->style.text_scale))
    l->style.text_scale = 1;
  if (!(l->style.line_scale > 0) || !isfinite (l->style.line_scale))
    l->style.line_scale = 1;
  _jac_palette_init (&l->palette, &l->style);
  _jac_type_init (&l->type, l->style.medium, l->style.text_scale, width, height);
  _jac_text_context_set_type (context, &l->type);
  l->base = l->type.body;
  l->small = l->type.small;
  probe = _jac_label_new (context, "10<sup>" MINUS "10</sup>", l->small, FALSE, -1);
  l->small_height = probe->height;
  _jac_label_free (probe);
  /* Paper is in points: a hairline of half a point still prints. */
  l->line = MAX (l->style.medium == JAC_MEDIUM_PAPER ? 0.5 : 1, l->base / 14)
            * l->style.line_scale;
  l->margin = round (l->base * (l->style.medium == JAC_MEDIUM_PAPER ? 0.8 : 1.2));
  l->range = color_range (l, scene->jacobian, scene->norms);
  l->lag_max = MAX (1, seq->config.steps);
  {
    char out = seq->config.output == JAC_STATE_C ? 'c' : 'h';
    char wrt = seq->config.wrt == JAC_STATE_C ? 'c' : 'h';

    g_snprintf (l->ratio, sizeof l->ratio, "∂%c<sub>T</sub>/∂%c<sub>T−k</sub>", out, wrt);
    g_snprintf (l->ratio_rows, sizeof l->ratio_rows, "∂%c<sub>T</sub>[i]/∂%c<sub>T−k</sub>[i]",
                out, wrt);
  }
  layout_title (l, seq);
  layout_answer (l, seq);
  layout_panels (l);
  if (!(l->dropped & JAC_SEQUENCE_DROP_BLOCKS))
    layout_blocks (l, seq);
  layout_plot (l, seq);
}

/* Whether every element kept has room at the medium's type: no text overflows, a block is
 * large enough to read, and the plot can hold a few labelled ticks. */
static gboolean
layout_fits (const JacSequenceLayout *l)
{
  if (l->overflow)
    return FALSE;
  if (!(l->dropped & JAC_SEQUENCE_DROP_BLOCKS) && l->block < l->base * 2)
    return FALSE;
  /* The curves are the point of the right panel: at least half of what lies below its header. */
  return l->plot.height >= MAX (4 * l->small_height,
                                0.5 * (l->right.y + l->right.height - l->plot.y))
         && l->plot.width >= 8 * l->base;
}

/* The layout with everything, or with the fewest elements left out (in drop_order) that lets
 * the rest fit; text is never set smaller to make room. Side by side, blocks that the column's
 * width holds small (a 4:3 slide) get a wider column when the plot keeps most of its area. */
void
_jac_sequence_layout_init (JacSequenceLayout      *l,
                           PangoContext           *context,
                           const JacSequenceScene *scene)
{
  guint dropped = 0;

  for (guint step = 0;; step++)
    {
      layout_try (l, context, scene, dropped, 0.45);
      if (layout_fits (l) && !l->stacked && !(dropped & JAC_SEQUENCE_DROP_BLOCKS)
          && l->block_by_width)
        {
          JacSequenceLayout wider;

          layout_try (&wider, context, scene, dropped, 0.55);
          /* Not at the cost of the curves: they keep most of their area. */
          if (layout_fits (&wider) && wider.block > l->block
              && wider.plot.width * wider.plot.height >= 0.8 * l->plot.width * l->plot.height)
            {
              _jac_sequence_layout_clear (l);
              *l = wider;
              return;
            }
          _jac_sequence_layout_clear (&wider);
        }
      if (step == G_N_ELEMENTS (drop_order) || layout_fits (l))
        return;
      _jac_sequence_layout_clear (l);
      dropped |= drop_order[step].drop;
    }
}

void
_jac_sequence_layout_clear (JacSequenceLayout *l)
{
  g_clear_pointer (&l->title, _jac_label_free);
  g_clear_pointer (&l->subtitle, _jac_label_free);
  g_clear_pointer (&l->answer, _jac_label_free);
  g_clear_pointer (&l->why, _jac_label_free);
  g_clear_pointer (&l->left_out, _jac_label_free);
  g_clear_pointer (&l->blocks_header, _jac_label_free);
  for (guint t = 0; t < 3; t++)
    g_clear_pointer (&l->bar_ticks[t], _jac_label_free);
  g_clear_pointer (&l->range_label, _jac_label_free);
  g_clear_pointer (&l->caption_more, _jac_label_free);
  g_clear_pointer (&l->plot_header, _jac_label_free);
  g_clear_pointer (&l->x_title, _jac_label_free);
  g_clear_pointer (&l->y_title, _jac_label_free);
  for (guint k = 0; l->legend != NULL && k < l->legend->len; k++)
    _jac_label_free (g_array_index (l->legend, JacLegendEntry, k).label);
  g_clear_pointer (&l->legend, g_array_unref);
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
  JacSequenceScene scene = { width, height, sequence, NULL, NULL, NULL, NULL, view, style };
  PangoContext *context;
  JacSequenceLayout l;
  gboolean on_plot;

  g_return_val_if_fail (sequence != NULL && view != NULL && style != NULL, FALSE);

  context = _jac_text_context_new (NULL);
  _jac_sequence_layout_init (&l, context, &scene);
  on_plot = x >= l.plot.x - l.base && x <= l.plot.x + l.plot.width + l.base
            && y >= l.plot.y && y <= l.plot.y + l.plot.height;
  if (on_plot && lag != NULL)
    {
      double k = round ((x - l.plot.x) / l.plot.width * l.lag_max);

      *lag = (gsize) CLAMP (k, 1, l.lag_max);
    }
  _jac_sequence_layout_clear (&l);
  g_object_unref (context);
  return on_plot;
}


