/* jac-sequence-figure.c: the through-time figure: blocks of ∂h_T/∂h_{T−k} and log₁₀ of their norms. */
#define G_LOG_DOMAIN "jac-sequence-figure"

#include <math.h>
#include <string.h>

#include "jac-figure-paint.h"
#include "jac-render-tikz-private.h"
#include "jac-sequence-figure.h"

#define MINUS "\xe2\x88\x92"
#define SEPARATOR "   ·   "
#define NBSP "\xc2\xa0"    /* keeps "k = 10" on one line */
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

typedef enum
{
  LEGEND_ROW,     /* a row's colour, or (row G_MAXSIZE) the faint family of many rows */
  LEGEND_MEAN,
  LEGEND_NORM_1,
  LEGEND_RHO_K,
} LegendKind;

typedef struct
{
  JacLabel   *label;
  LegendKind  kind;
  gsize       row;
  double      x;        /* where its stroke starts */
  double      y;        /* the stroke's centre line */
} LegendEntry;

/* What a figure too small for everything at its medium's minimum type leaves out, in this
 * order (each step keeps the ones before it): the secondary captions (the model line under the
 * title, "showing rows …" and the colour range's note), then the legend of the curves, then the
 * blocks panel (the plot takes the whole figure). Minor ticks take no room of their own, so
 * leaving them out would free nothing: they stay. The title, the plot and the two captions that
 * state the answer are always drawn; a corner says what was left out. */
typedef enum
{
  DROP_SECONDARY   = 1 << 0,
  DROP_LEGEND      = 1 << 1,
  DROP_BLOCKS      = 1 << 2,
} Drop;

static const struct
{
  Drop        drop;
  const char *name;
} drop_order[] = {
  { DROP_SECONDARY, "model line" },
  { DROP_LEGEND, "legend" },
  { DROP_BLOCKS, "blocks" },
};

/* Every text but the tick labels is measured here, before anything is placed, so that the
 * layout is the one drawn and hit-testing (which has no norms, so no y ticks) agrees with it.
 * Everything is in figure units (px at 1×, pt on paper), never device pixels: 2× and 3× lay
 * out exactly as 1×. */
typedef struct
{
  JacFigureStyle  style;
  JacSequenceView view;
  JacPalette      palette;
  PangoContext   *context;      /* borrowed: text is measured with it */
  double          width;
  double          height;
  JacType         type;         /* from the medium: body, small, title and the minimums */
  guint           dropped;      /* Drop */
  gboolean        overflow;     /* a text did not fit its room even at the minimum size */
  gboolean        stacked;      /* blocks above the plot (a tall figure), else side by side */
  double          split;        /* side by side: the blocks' share of the width */
  gboolean        block_by_width; /* the blocks are as large as the column's width allows */
  double          base;         /* body text */
  double          small;
  double          small_height; /* one line of small text, superscripts included */
  double          line;         /* line width */
  double          margin;
  double          top;          /* below the title */
  double          bottom;
  JacLabel       *title;
  JacLabel       *subtitle;     /* or NULL when left out */
  JacLabel       *answer;       /* what the blocks are, in the figure's layout */
  JacLabel       *why;          /* why the curves vanish or explode */
  JacLabel       *left_out;     /* "left out: …", or NULL */
  char            ratio[96];    /* "∂h_T/∂h_{T−k}" as markup, or c for the LSTM's cell state */
  char            ratio_rows[128]; /* "∂h_T[i]/∂h_{T−k}[i]" */

  /* the blocks */
  JacRect         left;
  gboolean        full_grid;    /* N × N blocks, zeros included */
  gsize           shown;        /* diagonal blocks drawn */
  gsize           grid_cols;
  gsize           grid_rows;
  double          grid_x;
  double          grid_y;
  double          block;        /* side of a block */
  double          pitch_x;
  double          pitch_y;
  double          name_height;  /* "i = p = 3" above each block, when not the full grid */
  JacRect         colorbar;
  double          range;
  JacLabel       *blocks_header;
  JacLabel       *bar_ticks[3];
  JacLabel       *range_label;  /* or NULL when left out */
  JacLabel       *caption_more; /* "showing rows …", or NULL */

  /* the plot */
  JacRect         right;
  JacRect         plot;
  double          lag_max;      /* x runs over [0, T] */
  double          tick_width;   /* room for the y tick labels */
  double          axis_gap;     /* between the widest y tick label and the y title */
  JacLabel       *plot_header;
  JacLabel       *x_title;
  JacLabel       *y_title;
  GArray         *legend;       /* LegendEntry */
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

/* ---- measured text: one line, wrapped, reworded or, last, cut short ---- */

typedef struct
{
  const char *markup;
  int         lines;   /* the most it may take */
} Wording;

static JacLabel *
label_new (PangoContext *context,
           const char   *markup,
           double        size,
           gboolean      bold)
{
  return _jac_label_new (context, markup, size, bold, -1);
}

static double
text_width (PangoContext *context,
            const char   *markup,
            double        size)
{
  return _jac_label_measure (context, markup, size, FALSE, -1, NULL);
}

/* The first of @wordings that fits @width in its lines; else the last one, smaller. */
static JacLabel *
label_worded (SeqLayout     *l,
              const Wording *wordings,
              guint          n,
              double         size,
              gboolean       bold,
              double         width)
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
label_packed (SeqLayout          *l,
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

      if (line != NULL && text_width (context, joined, size) > width)
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

static gboolean
labels_meet (const JacLabel *a,
             const JacLabel *b)
{
  return a->x < b->x + b->width && b->x < a->x + a->width
         && a->y < b->y + b->height && b->y < a->y + a->height;
}

/* ---- layout ---- */

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

static double
mean_slope (const JacSequence *seq)
{
  return jac_sequence_mean_slope (seq);
}

/* The title on one line, else broken after "steps,", else shorter; under it the model line
 * (a secondary caption), broken between its parts. */
static void
layout_title (SeqLayout         *l,
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
  if (!(l->dropped & DROP_SECONDARY) && c->cell != JAC_CELL_RNN)
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
  else if (!(l->dropped & DROP_SECONDARY))
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

/* "left out: …" naming what layout_init () dropped; in the top right corner when the title
 * leaves room there, else on a line of its own at the bottom. Returns the height it takes at
 * the bottom. */
static double
layout_left_out (SeqLayout *l)
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
layout_answer (SeqLayout         *l,
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
layout_colorbar_labels (SeqLayout *l)
{
  const double at[3] = { l->range, 0, -l->range };
  gboolean paper = l->style.medium == JAC_MEDIUM_PAPER;
  double widest = paper ? 0 : text_width (l->context, MINUS "8.8×10<sup>" MINUS "8</sup>",
                                          l->small);

  for (guint t = 0; t < 3; t++)
    {
      g_autofree char *text = _jac_format_scientific_markup (at[t]);

      l->bar_ticks[t] = label_new (l->context, text, l->small, FALSE);
      if (paper)
        widest = MAX (widest, l->bar_ticks[t]->width);
    }
  if (!(l->dropped & DROP_SECONDARY))
    {
      l->range_label = label_new (l->context, l->view.shared_range ? "range: all lags"
                                                                   : "range: this lag",
                                  l->small, FALSE);
      widest = MAX (widest, l->range_label->width - round (l->base * 0.9) - l->base * 0.45);
    }
  return round (l->base * 0.9) + l->base * 0.45 + widest;
}

static void
place_colorbar (SeqLayout *l,
                double     pad)
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
layout_blocks (SeqLayout         *l,
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
  if (l->shown < n && !(l->dropped & DROP_SECONDARY))
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

      row_names = MAX (text_width (l->context, widest, l->small),
                       text_width (l->context, widest_p, l->small)) + l->base * 0.5;
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
legend_add (SeqLayout  *l,
            const char *markup,
            LegendKind  kind,
            gsize       row)
{
  LegendEntry e = { label_new (l->context, markup, l->small, FALSE), kind, row, 0, 0 };

  g_array_append_val (l->legend, e);
}

/* Places the legend's entries in lines from @x0 to @x1; returns how many lines they take. */
static guint
pack_legend (SeqLayout *l,
             double     x0,
             double     x1)
{
  double row_height = MAX (l->small_height, l->line * 3), x = x0, y = 0;
  guint lines = 1;

  for (guint k = 0; k < l->legend->len; k++)
    {
      LegendEntry *e = &g_array_index (l->legend, LegendEntry, k);
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
layout_legend (SeqLayout         *l,
               const JacSequence *seq)
{
  gsize n = seq->config.config.batch;
  double row_height = MAX (l->small_height, l->line * 3);
  double x0 = l->plot.x, x1 = l->right.x + l->right.width;
  g_autofree char *rho = g_strdup_printf ("ρ(W<sub>hh</sub>)<sup>k</sup>, ρ = %.3g",
                                          seq->spectral_radius);

  l->legend = g_array_new (FALSE, TRUE, sizeof (LegendEntry));
  if (l->dropped & DROP_LEGEND)
    return 0;
  if (n <= MAX_COLORED_ROWS)
    for (gsize i = 0; i < n; i++)
      {
        g_autofree char *name = g_strdup_printf ("row i = %" G_GSIZE_FORMAT, i);

        legend_add (l, name, LEGEND_ROW, i);
      }
  else
    {
      g_autofree char *name = g_strdup_printf ("each of the %" G_GSIZE_FORMAT " rows", n);

      legend_add (l, name, LEGEND_ROW, G_MAXSIZE);
      legend_add (l, "mean of log₁₀", LEGEND_MEAN, 0);
    }
  legend_add (l, "norm 1", LEGEND_NORM_1, 0);
  /* ρ(W_hh)^k is the RNN's model line; a gated cell has none (ρ is NaN). */
  if (isfinite (seq->spectral_radius))
    legend_add (l, rho, LEGEND_RHO_K, 0);

  /* From the plot's left edge, or the column's when that takes fewer lines. */
  if (pack_legend (l, l->right.x, x1) < pack_legend (l, x0, x1))
    x0 = l->right.x;
  return pack_legend (l, x0, x1) * (row_height + l->base * 0.35) - l->base * 0.35;
}

static void
layout_plot_header (SeqLayout *l)
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
layout_y_title (SeqLayout *l)
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
layout_plot (SeqLayout         *l,
             const JacSequence *seq)
{
  g_autofree char *last = g_strdup_printf ("%.0f", l->lag_max);
  JacLabel *probe = label_new (l->context, "‖∂h<sub>T</sub>[i]/∂h<sub>T−k</sub>[i]‖<sub>2</sub>",
                               l->base, FALSE);
  double right_edge = l->right.x + l->right.width, legend_height, below, x_title_y;

  layout_plot_header (l);
  /* Room for tick labels like these; a wider one is left unlabelled (hit-testing has no norms,
   * so the plot cannot depend on the ticks, and no text is set below the minimum). */
  l->tick_width = MAX (text_width (l->context, "0.0001", l->small),
                       text_width (l->context, "5×10<sup>" MINUS "10</sup>", l->small));
  l->axis_gap = l->base * 0.35;
  l->plot.x = l->right.x + probe->height + l->axis_gap + l->tick_width + l->base * 0.4;
  l->plot.y = l->plot_header->y + l->plot_header->height + l->base * 0.6;
  l->plot.width = MAX (1, right_edge - l->plot.x
                          - MAX (l->base * 0.5, text_width (l->context, last, l->small) / 2 + 1));
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
      LegendEntry *e = &g_array_index (l->legend, LegendEntry, k);

      e->y += x_title_y + l->x_title->height + l->base * 0.9;
      _jac_label_place (e->label, e->x + l->base * 2.6, e->y, 0, 0.5);
    }
}

/* The blocks and the plot side by side, or the blocks above the plot in a tall figure; the
 * plot alone when the blocks are left out. */
static void
layout_panels (SeqLayout *l)
{
  double inner = l->width - 2 * l->margin, gap;

  l->stacked = l->height > l->width * 1.05;
  if (l->dropped & DROP_BLOCKS)
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
layout_try (SeqLayout              *l,
            PangoContext           *context,
            const JacSequence      *seq,
            const JacStructured    *jacobian,
            const JacSequenceNorms *norms,
            const JacSequenceView  *view,
            const JacFigureStyle   *style,
            double                  width,
            double                  height,
            guint                   dropped,
            double                  split)
{
  JacLabel *probe;

  memset (l, 0, sizeof *l);
  l->style = *style;
  l->view = *view;
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
  probe = label_new (context, "10<sup>" MINUS "10</sup>", l->small, FALSE);
  l->small_height = probe->height;
  _jac_label_free (probe);
  /* Paper is in points: a hairline of half a point still prints. */
  l->line = MAX (l->style.medium == JAC_MEDIUM_PAPER ? 0.5 : 1, l->base / 14)
            * l->style.line_scale;
  l->margin = round (l->base * (l->style.medium == JAC_MEDIUM_PAPER ? 0.8 : 1.2));
  l->range = color_range (l, jacobian, norms);
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
  if (!(l->dropped & DROP_BLOCKS))
    layout_blocks (l, seq);
  layout_plot (l, seq);
}

/* Whether every element kept has room at the medium's type: no text overflows, a block is
 * large enough to read, and the plot can hold a few labelled ticks. */
static gboolean
layout_fits (const SeqLayout *l)
{
  if (l->overflow)
    return FALSE;
  if (!(l->dropped & DROP_BLOCKS) && l->block < l->base * 2)
    return FALSE;
  /* The curves are the point of the right panel: at least half of what lies below its header. */
  return l->plot.height >= MAX (4 * l->small_height,
                                0.5 * (l->right.y + l->right.height - l->plot.y))
         && l->plot.width >= 8 * l->base;
}

static void layout_clear (SeqLayout *l);

/* The layout with everything, or with the fewest elements left out (in drop_order) that lets
 * the rest fit; text is never set smaller to make room. Side by side, blocks that the column's
 * width holds small (a 4:3 slide) get a wider column when the plot keeps most of its area. */
static void
layout_init (SeqLayout              *l,
             PangoContext           *context,
             const JacSequence      *seq,
             const JacStructured    *jacobian,
             const JacSequenceNorms *norms,
             const JacSequenceView  *view,
             const JacFigureStyle   *style,
             double                  width,
             double                  height)
{
  guint dropped = 0;

  for (guint step = 0;; step++)
    {
      layout_try (l, context, seq, jacobian, norms, view, style, width, height, dropped, 0.45);
      if (layout_fits (l) && !l->stacked && !(dropped & DROP_BLOCKS) && l->block_by_width)
        {
          SeqLayout wider;

          layout_try (&wider, context, seq, jacobian, norms, view, style, width, height, dropped,
                      0.55);
          /* Not at the cost of the curves: they keep most of their area. */
          if (layout_fits (&wider) && wider.block > l->block
              && wider.plot.width * wider.plot.height >= 0.8 * l->plot.width * l->plot.height)
            {
              layout_clear (l);
              *l = wider;
              return;
            }
          layout_clear (&wider);
        }
      if (step == G_N_ELEMENTS (drop_order) || layout_fits (l))
        return;
      layout_clear (l);
      dropped |= drop_order[step].drop;
    }
}

static void
layout_clear (SeqLayout *l)
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
    _jac_label_free (g_array_index (l->legend, LegendEntry, k).label);
  g_clear_pointer (&l->legend, g_array_unref);
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
  PangoContext *context;
  SeqLayout l;
  gboolean on_plot;

  g_return_val_if_fail (sequence != NULL && view != NULL && style != NULL, FALSE);

  context = _jac_text_context_new (NULL);
  layout_init (&l, context, sequence, NULL, NULL, view, style, width, height);
  on_plot = x >= l.plot.x - l.base && x <= l.plot.x + l.plot.width + l.base
            && y >= l.plot.y && y <= l.plot.y + l.plot.height;
  if (on_plot && lag != NULL)
    {
      double k = round ((x - l.plot.x) / l.plot.width * l.lag_max);

      *lag = (gsize) CLAMP (k, 1, l.lag_max);
    }
  layout_clear (&l);
  g_object_unref (context);
  return on_plot;
}

/* ---- text ---- */

typedef struct
{
  cairo_t       *cr;
  PangoContext  *context;
  SeqLayout     *layout;
  GArray        *record;     /* JacTextRect, or NULL */
  cairo_matrix_t to_figure;  /* from device space back to figure units */
  gboolean       in_cell;    /* the text being painted is a value inside a cell */
} Painter;

/* Notes where @label lands on the figure, in figure units whatever the scale, rotation
 * included, for tests that check the layout. */
static void
record_label (Painter        *p,
              const JacLabel *label)
{
  double corners[4][2] = {
    { label->x, label->y }, { label->x + label->width, label->y },
    { label->x, label->y + label->height }, { label->x + label->width, label->y + label->height },
  };
  double x0 = G_MAXDOUBLE, y0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE, y1 = -G_MAXDOUBLE;
  JacTextRect rect;

  for (guint c = 0; c < 4; c++)
    {
      cairo_user_to_device (p->cr, &corners[c][0], &corners[c][1]);
      cairo_matrix_transform_point (&p->to_figure, &corners[c][0], &corners[c][1]);
      x0 = MIN (x0, corners[c][0]);
      y0 = MIN (y0, corners[c][1]);
      x1 = MAX (x1, corners[c][0]);
      y1 = MAX (y1, corners[c][1]);
    }
  rect = (JacTextRect) { g_strdup (pango_layout_get_text (label->layout)),
                         x0, y0, x1 - x0, y1 - y0, label->min_size, p->in_cell };
  g_array_append_val (p->record, rect);
}

static void
paint_label (Painter        *p,
             const JacLabel *label,
             const JacRgb   *rgb)
{
  _jac_figure_paint_label (p->cr, label, rgb);
  if (p->record != NULL)
    record_label (p, label);
}

/* Draws @markup with its anchor (@xalign, @yalign) at (@x, @y); returns its width. Text inside
 * a block's cells (@inner) is recorded as a value. */
static double
text_at (Painter      *p,
         const char   *markup,
         double        size,
         gboolean      bold,
         double        x,
         double        y,
         double        xalign,
         double        yalign,
         const JacRgb *rgb,
         gboolean      inner)
{
  JacLabel *label = label_new (p->context, markup, size, bold);
  double w = label->width;

  _jac_label_place (label, x, y, xalign, yalign);
  p->in_cell = inner;
  paint_label (p, label, rgb);
  p->in_cell = FALSE;
  _jac_label_free (label);
  return w;
}

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
  return text_at (p, markup, size, bold, x, y, xalign, yalign, rgb, FALSE);
}

static void
show_inner_text (Painter      *p,
                 const char   *markup,
                 double        size,
                 gboolean      bold,
                 double        x,
                 double        y,
                 double        xalign,
                 double        yalign,
                 const JacRgb *rgb)
{
  text_at (p, markup, size, bold, x, y, xalign, yalign, rgb, TRUE);
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
  double best = 0;

  for (gsize a = 0; a < jac_heatmap_sample_count (row0, row1); a++)
    for (gsize c = 0; c < jac_heatmap_sample_count (col0, col1); c++)
      {
        gsize r = jac_heatmap_sample (row0, row1, a), s = jac_heatmap_sample (col0, col1, c);
        double v = pool_value (b, r, s);

        if (fabs (v) > fabs (best) || isnan (v))
          best = v;
      }
  *value = best;
  return JAC_CELL_VALUE;
}

static void
frame (Painter       *p,
       const JacRect *r)
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
draw_zero_block (Painter       *p,
                 const JacRect *r)
{
  const SeqLayout *l = p->layout;

  _jac_figure_paint_zero (p->cr, &l->palette, r, MAX (4, l->base * 0.6), l->line * 0.8);
  show_text (p, "0", l->base * 1.2, TRUE, r->x + r->width / 2, r->y + r->height / 2, 0.5, 0.5,
             &l->palette.zero_ink);
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
cell_value_size (Painter         *p,
                 const BlockPool *pool,
                 double           cell)
{
  const SeqLayout *l = p->layout;
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
      label = label_new (p->context, text, l->type.min_text, FALSE);
      widest = MAX (widest, label->width);
      tallest = MAX (tallest, label->height);
      _jac_label_free (label);
    }
  /* Widths grow with the size; sub/superscripts stay at their own minimum, so this errs small. */
  return _jac_fit_text_size (l->type.min_text, MAX (widest, 1), MAX (tallest, 1), cell * 0.88,
                             cell * 0.9, l->small, l->type.min_text);
}

static void
draw_cell_values (Painter         *p,
                  const BlockPool *pool,
                  const JacRect   *r,
                  double           range)
{
  const SeqLayout *l = p->layout;
  double cell = r->width / pool->h, size, top = pool_max_abs (pool);

  if (!l->style.show_values || (size = cell_value_size (p, pool, cell)) == 0)
    return;
  for (gsize a = 0; a < pool->h; a++)
    for (gsize c = 0; c < pool->h; c++)
      {
        double v = pool_value (pool, a, c);
        g_autofree char *text = cell_markup (v, top);
        guint32 argb = jac_colormap_argb (l->style.colormap, v, range);
        JacRgb ink = jac_colormap_prefers_dark_ink (argb) ? rgb_hex (0x1a1a1a)
                                                          : rgb_hex (0xffffff);

        show_inner_text (p, text, size, FALSE, r->x + (c + 0.5) * cell, r->y + (a + 0.5) * cell,
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
draw_colorbar (Painter *p)
{
  const SeqLayout *l = p->layout;
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
      paint_label (p, l->bar_ticks[t], &l->palette.ink);
    }
  if (l->range_label != NULL)
    paint_label (p, l->range_label, &l->palette.faint_ink);
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

/* "i = p = 3" above a block, or as much of it as the block's width holds. */
static void
draw_block_name (Painter       *p,
                 gsize          i,
                 const JacRect *r)
{
  const SeqLayout *l = p->layout;
  g_autofree char *name = NULL;

  for (guint form = 0; form < 3; form++)
    {
      g_free (name);
      name = g_strdup_printf (form == 0 ? "i = p = %" G_GSIZE_FORMAT
                              : form == 1 ? "i = %" G_GSIZE_FORMAT : "%" G_GSIZE_FORMAT, i);
      if (text_width (p->context, name, l->small) <= l->pitch_x - l->base * 0.25)
        break;
    }
  show_text (p, name, l->small, FALSE, r->x, r->y - l->small * 0.15, 0, 1, &l->palette.faint_ink);
}

/* "i = …" left of the first column and "p = …" above the first row of the full grid; the
 * other way round in the denominator layout, whose grid is the transpose: blocks (p, i). */
static void
draw_grid_names (Painter       *p,
                 gsize          row,
                 gsize          col,
                 const JacRect *r)
{
  const SeqLayout *l = p->layout;
  const char *row_index = l->style.denominator_layout ? "p" : "i";
  const char *col_index = l->style.denominator_layout ? "i" : "p";

  if (col == 0)
    {
      g_autofree char *name = g_strdup_printf ("%s = %" G_GSIZE_FORMAT, row_index, row);

      show_text (p, name, l->small, FALSE, r->x - l->base * 0.5, r->y + r->height / 2, 1, 0.5,
                 &l->palette.faint_ink);
    }
  if (row == 0)
    {
      g_autofree char *name = g_strdup_printf ("%s = %" G_GSIZE_FORMAT, col_index, col);

      /* Small blocks (on paper): the index alone, rather than names that run together. */
      if (text_width (p->context, name, l->small) > l->pitch_x - l->base * 0.4)
        {
          g_free (name);
          name = g_strdup_printf ("%" G_GSIZE_FORMAT, col);
        }
      show_text (p, name, l->small, FALSE, r->x + r->width / 2, r->y - l->base * 0.3, 0.5, 1,
                 &l->palette.faint_ink);
    }
}

static void
draw_blocks (Painter             *p,
             const JacSequence   *seq,
             const JacStructured *jacobian)
{
  SeqLayout *l = p->layout;
  JacHeatmapColors colors = { l->style.colormap, l->range, _jac_rgb_argb (&l->palette.zero_fill) };
  gsize n = seq->config.config.batch;
  JacRect r = { 0 };
  double caption_y;

  paint_label (p, l->blocks_header, &l->palette.ink);
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
  paint_label (p, l->caption_more, &l->palette.faint_ink);
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


/* Draws the y ticks, their labels no wider than the room the layout keeps (smaller type when
 * they would be); returns the width of the widest. */
static double
draw_y_ticks (Painter      *p,
              const YRange *yr)
{
  SeqLayout *l = p->layout;
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
      if (text_width (p->context, texts->pdata[k], l->small) > l->tick_width + 0.01)
        continue;
      w = show_text (p, texts->pdata[k], l->small, FALSE, pl->x - l->base * 0.4, y, 1, 0.5,
                     &l->palette.ink);
      widest = MAX (widest, w);
    }
  cairo_restore (p->cr);
  g_array_unref (labelled);
  g_array_unref (minor);
  return widest;
}

static void
draw_axes (Painter      *p,
           const YRange *yr)
{
  SeqLayout *l = p->layout;
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
      show_text (p, text, l->small, FALSE, x, pl->y + pl->height + l->base * 0.45, 0.5, 0,
                 &l->palette.ink);
    }
  _jac_set_source_rgb (p->cr, &l->palette.ink);
  cairo_set_line_width (p->cr, l->line);
  cairo_rectangle (p->cr, pl->x, pl->y, pl->width, pl->height);
  cairo_stroke (p->cr);
  paint_label (p, l->x_title, &l->palette.ink);

  /* Rotated, just left of the widest tick label. */
  x = MAX (l->right.x, pl->x - l->base * 0.4 - widest - l->axis_gap - l->y_title->height);
  cairo_save (p->cr);
  cairo_translate (p->cr, x, pl->y + pl->height / 2);
  cairo_rotate (p->cr, -G_PI / 2);
  _jac_label_place (l->y_title, 0, 0, 0.5, 0);
  paint_label (p, l->y_title, &l->palette.ink);
  cairo_restore (p->cr);
}

/* "k = …" beside the lag's line: at the top, or where it clears "explodes" and "vanishes". */
static void
draw_lag_mark (Painter        *p,
               const JacLabel *explodes,
               const JacLabel *vanishes)
{
  SeqLayout *l = p->layout;
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
  JacLabel *mark = label_new (p->context, text, l->small, TRUE);

  for (guint s = 0; s < G_N_ELEMENTS (spots); s++)
    {
      _jac_label_place (mark, spots[s][0], spots[s][1], spots[s][2], spots[s][3]);
      if (mark->x >= pl->x && mark->x + mark->width <= pl->x + pl->width
          && !labels_meet (mark, explodes) && !labels_meet (mark, vanishes))
        break;
      if (s == G_N_ELEMENTS (spots) - 1)
        _jac_label_place (mark, spots[0][0], spots[0][1], spots[0][2], spots[0][3]);
    }
  paint_label (p, mark, &l->palette.ink);
  _jac_label_free (mark);
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
  JacLabel *explodes = label_new (p->context, "explodes ↑", l->small, FALSE);
  JacLabel *vanishes = label_new (p->context, "vanishes ↓", l->small, FALSE);

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
  paint_label (p, explodes, &l->palette.faint_ink);
  paint_label (p, vanishes, &l->palette.faint_ink);

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
draw_legend_entry (Painter           *p,
                   const LegendEntry *e)
{
  SeqLayout *l = p->layout;
  double dash[2] = { l->line * 6, l->line * 4 };
  double dots[2] = { l->line * 0.1, l->line * 3.5 };

  cairo_save (p->cr);
  cairo_set_line_cap (p->cr, CAIRO_LINE_CAP_ROUND);
  switch (e->kind)
    {
    case LEGEND_ROW:
      /* G_MAXSIZE: the family of many rows, drawn faint. */
      set_source_row (p, e->row == G_MAXSIZE ? 0 : e->row, e->row == G_MAXSIZE ? 0.45 : 1);
      cairo_set_line_width (p->cr, l->line * 2.2);
      break;
    case LEGEND_MEAN:
      set_source_row (p, 1, 1);
      cairo_set_line_width (p->cr, l->line * 2.8);
      break;
    case LEGEND_NORM_1:
      cairo_set_dash (p->cr, dash, 2, 0);
      _jac_set_source_rgb (p->cr, &l->palette.ink);
      cairo_set_line_width (p->cr, l->line * 1.4);
      break;
    case LEGEND_RHO_K:
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
  paint_label (p, e->label, &l->palette.ink);
}

static void
draw_plot (Painter                *p,
           const JacSequence      *seq,
           const JacSequenceNorms *norms)
{
  SeqLayout *l = p->layout;
  double room = (l->small_height + l->base * 0.4) / l->plot.height;
  YRange yr = y_range (norms, l->view.norm, CLAMP (room, 0.1, 0.45));

  paint_label (p, l->plot_header, &l->palette.ink);
  draw_axes (p, &yr);
  draw_references (p, &yr, seq);
  if (norms != NULL)
    {
      draw_curves (p, &yr, norms);
      for (guint k = 0; k < l->legend->len; k++)
        draw_legend_entry (p, &g_array_index (l->legend, LegendEntry, k));
    }
}

/* ---- the whole figure ---- */

static void
draw_figure (cairo_t                *cr,
             double                  width,
             double                  height,
             const JacSequence      *sequence,
             const JacStructured    *jacobian,
             const JacSequenceNorms *norms,
             const JacSequenceView  *view,
             const JacFigureStyle   *style,
             GArray                 *record)
{
  SeqLayout l;
  Painter p = { cr, _jac_text_context_new (cr), &l, record };

  /* Recorded boxes are in figure units: undo whatever scale the target draws at. */
  cairo_get_matrix (cr, &p.to_figure);
  if (cairo_matrix_invert (&p.to_figure) != CAIRO_STATUS_SUCCESS)
    cairo_matrix_init_identity (&p.to_figure);
  layout_init (&l, p.context, sequence, jacobian, norms, view, style, width, height);
  cairo_save (cr);
  _jac_set_source_rgb (cr, &l.palette.background);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);
  paint_label (&p, l.title, &l.palette.ink);
  if (l.subtitle != NULL)
    paint_label (&p, l.subtitle, &l.palette.faint_ink);
  if (!(l.dropped & DROP_BLOCKS))
    draw_blocks (&p, sequence, jacobian);
  draw_plot (&p, sequence, norms);
  paint_label (&p, l.answer, &l.palette.ink);
  paint_label (&p, l.why, &l.palette.ink);
  if (l.left_out != NULL)
    paint_label (&p, l.left_out, &l.palette.faint_ink);
  cairo_restore (cr);
  layout_clear (&l);
  g_object_unref (p.context);
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
  g_return_if_fail (cr != NULL && sequence != NULL && view != NULL && style != NULL);

  draw_figure (cr, width, height, sequence, jacobian, norms, view, style, NULL);
}

static void
text_rect_clear (gpointer data)
{
  JacTextRect *rect = data;

  g_clear_pointer (&rect->text, g_free);
}

GArray *
_jac_sequence_figure_text_rects (double                  width,
                                 double                  height,
                                 double                  scale,
                                 const JacSequence      *sequence,
                                 const JacStructured    *jacobian,
                                 const JacSequenceNorms *norms,
                                 const JacSequenceView  *view,
                                 const JacFigureStyle   *style)
{
  GArray *rects = g_array_new (FALSE, FALSE, sizeof (JacTextRect));
  cairo_surface_t *surface;
  cairo_t *cr;

  g_return_val_if_fail (sequence != NULL && view != NULL && style != NULL, rects);
  g_return_val_if_fail (scale > 0 && isfinite (scale), rects);

  g_array_set_clear_func (rects, text_rect_clear);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) ceil (width * scale),
                                        (int) ceil (height * scale));
  cr = cairo_create (surface);
  cairo_scale (cr, scale, scale);
  draw_figure (cr, width, height, sequence, jacobian, norms, view, style, rects);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  return rects;
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
                          double                   width,
                          double                   height,
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

  return _jac_render_save (path, width, height, scale, style->medium, "Jacobian through time",
                           draw_content, &content, error);
}
