/* jac-figure-contraction.c: the layout of the contracted form, G ⊙ S times its factor. */
#define G_LOG_DOMAIN "jac-figure"

#include <math.h>
#include <string.h>

#include "jac-figure-private.h"
#include "core/jac-hessian.h"

/* A matrix with its title above and shape below, or a piece of text such as an operator. */
typedef struct
{
  JacPanel         panel;     /* JAC_PANEL_NONE for text */
  const JacTensor *tensor;
  gsize            rows;
  gsize            cols;
  double           range;
  JacLabel        *title;     /* the text itself for text */
  JacLabel        *caption;
} JacElement;

#define MAX_ELEMENTS 6

typedef struct
{
  JacElement element[MAX_ELEMENTS];
  guint      n;
} JacEquation;

typedef struct
{
  JacFigureLayout *layout;
  JacEquation      rows[3];
  guint            n_rows;
  JacLabel        *header;
  JacLabel        *identity;
  JacLabel        *where;     /* an expression's intermediates, or NULL */
  JacLabel        *footer;
  JacLabel        *note;
  double           wrap_width;
  double           gap;       /* between elements of a row */
  double           row_gap;
  double           pad;       /* between a matrix and its title or caption */
} JacContraction;

static const char *
scale_note (const JacFigureLayout *layout)
{
  return layout->style.colormap == JAC_COLORMAP_GRAY
         ? "each matrix has its own colour scale ±max (mid-grey = 0)"
         : "each matrix has its own colour scale ±max (white = 0)";
}

static double
tensor_range (const JacTensor *tensor)
{
  double m = tensor != NULL ? jac_tensor_max_abs (tensor) : 0;

  return m > 0 && isfinite (m) ? m : 1;
}

static void
add_text (JacContraction *c,
          JacEquation    *eq,
          const char     *markup,
          double          size)
{
  JacElement *e = &eq->element[eq->n++];

  g_assert (eq->n <= MAX_ELEMENTS);
  memset (e, 0, sizeof *e);
  e->panel = JAC_PANEL_NONE;
  e->title = _jac_label_new (c->layout->context, markup, size, FALSE, -1);
}

static void
add_matrix (JacContraction  *c,
            JacEquation     *eq,
            JacPanel         panel,
            const JacTensor *tensor,
            double           range,
            const char      *title_markup)
{
  JacElement *e = &eq->element[eq->n++];
  g_autofree char *shape = jac_tensor_shape_string (tensor);
  g_autofree char *max = _jac_format_value (range);
  g_autofree char *caption = g_strdup_printf ("%s  ±%s", shape, max);

  g_assert (eq->n <= MAX_ELEMENTS);
  e->panel = panel;
  e->tensor = tensor;
  e->rows = tensor->rank == 2 ? tensor->shape[0] : 1;
  e->cols = tensor->rank == 2 ? tensor->shape[1] : tensor->rank == 1 ? tensor->shape[0] : 1;
  e->range = range;
  e->title = _jac_label_new (c->layout->context, title_markup, c->layout->font_px, FALSE, -1);
  e->caption = c->layout->omit & JAC_OMIT_MATRIX_CAPTIONS
               ? NULL
               : _jac_label_new (c->layout->context, caption, c->layout->small_px, FALSE, -1);
}

/* "Σ<sub>ij</sub> G<sub>ij</sub> J<sub>ijpq</sub>", or "G J<sub>pq</sub>" for a scalar output. */
static char *
expr_sum_markup (const JacAnalysis *a)
{
  const char *o = jac_analysis_out_indices (a);
  const char *w = jac_analysis_wrt_indices (a);

  /* A Hessian is contracted with its direction V. */
  const char *g = a->hessian != NULL ? "V" : "G";

  if (*o == '\0')
    return *w != '\0' ? g_strdup_printf ("%s J<sub><i>%s</i></sub>", g, w)
                       : g_strdup_printf ("%s J", g);
  return g_strdup_printf ("Σ<sub><i>%s</i></sub> %s<sub><i>%s</i></sub> J<sub><i>%s%s</i></sub>",
                          o, g, o, o, w);
}

/* A factor's title, or a word when the formula is too long to head a small matrix. */
static const char *
factor_title (JacContraction *c,
              const char     *markup,
              const char     *word)
{
  double width = _jac_figure_layout_text_width (c->layout, markup, c->layout->font_px);

  return width <= c->wrap_width * 0.4 ? markup : word;
}

guint
_jac_panel_gated_factor (const JacAnalysis *a)
{
  return a->derivation->inner_of >= 0 ? (guint) a->derivation->inner_of : 0;
}

static gboolean
drawable (const JacTensor *t)
{
  return t != NULL && t->rank <= 2;
}

int
_jac_panel_inner_upstream (const JacAnalysis *a)
{
  const JacDerivation *d = a->derivation;

  if (d->inner_of < 0 || !drawable (a->inner[0]) || !drawable (a->inner[1]))
    return -1;
  for (int k = 0; k < 2; k++)
    if (g_strcmp0 (d->inner_text[k], "G") == 0 && g_strcmp0 (d->inner_text[1 - k], "G") != 0)
      return k;
  return -1;
}

const JacTensor *
_jac_panel_tensor (const JacAnalysis *a,
                   JacPanel           panel)
{
  guint gated = _jac_panel_gated_factor (a);
  int g_part = _jac_panel_inner_upstream (a);

  switch (panel)
    {
    case JAC_PANEL_UPSTREAM: return a->upstream;
    case JAC_PANEL_SLOPE: return g_part >= 0 ? a->inner[1 - g_part] : NULL;
    case JAC_PANEL_GATED: return a->factors[gated];
    case JAC_PANEL_FACTOR: return a->factors[1 - gated];
    case JAC_PANEL_FORMULA: return a->contract_formula;
    case JAC_PANEL_CONTRACTION: return a->contract_tensor;
    case JAC_PANEL_NONE:
    case JAC_PANEL_JACOBIAN:
    case JAC_N_PANELS:
    default:
      return NULL;
    }
}

/* "S = 1 − h ⊙ h": the definition of @name among the derivation's `where`, or @name alone. */
static char *
definition_markup (const JacDerivation *d,
                   const char          *name)
{
  g_autofree char *prefix = g_strdup_printf ("%s = ", name);
  g_auto(GStrv) parts = d->where_markup != NULL ? g_strsplit (d->where_markup, ", ", -1) : NULL;

  for (guint k = 0; parts != NULL && parts[k] != NULL; k++)
    if (g_str_has_prefix (parts[k], prefix))
      return g_strdup (parts[k]);
  return g_strdup (name);
}

/* The contracted form drawn as the symbolic back-propagation builds it: when it is a product of
 * two factors, both (G ⊙ S and W_hhᵀ, or G and Aᵀ, the transpose seen) and their product; when
 * a factor is itself G times something element-wise, first that product (G ⊙ S). Then the same
 * matrix from the tensor, Σ G·J. For every expression alike, the RNN step one of them. */
static void
build_equations (JacContraction *c)
{
  const JacAnalysis *a = c->layout->analysis;
  const JacDerivation *d = a->derivation;
  const double op = c->layout->font_px * 1.3;
  double result_range = MAX (tensor_range (a->contract_formula), tensor_range (a->contract_tensor));
  g_autofree char *out = _jac_markup_from_text (a->output_name);
  g_autofree char *g_title = a->hessian != NULL ? g_strdup ("V, the direction")
                                                : g_strdup_printf ("G = ∂L/∂%s", out);
  g_autofree char *sum = expr_sum_markup (a);
  const char *formula = d->contracted_markup;
  double formula_w = _jac_figure_layout_text_width (c->layout, formula, c->layout->font_px);
  gboolean factors = drawable (a->factors[0]) && drawable (a->factors[1]);
  gboolean intermediates = !(c->layout->omit & JAC_OMIT_INTERMEDIATES);
  guint gated = _jac_panel_gated_factor (a);
  int g_part = factors ? _jac_panel_inner_upstream (a) : -1;
  gboolean g_factor = factors && (g_strcmp0 (d->factor_text[0], "G") == 0
                                  || g_strcmp0 (d->factor_text[1], "G") == 0);
  JacEquation *eq;

  if (g_part >= 0 && intermediates)
    {
      g_autofree char *part_title = definition_markup (d, d->inner_markup[1 - g_part]);

      eq = &c->rows[c->n_rows++];
      for (int k = 0; k < 2; k++)
        {
          if (k == 1)
            add_text (c, eq, "⊙", op);
          if (k == g_part)
            add_matrix (c, eq, JAC_PANEL_UPSTREAM, a->upstream, tensor_range (a->upstream),
                        g_title);
          else
            add_matrix (c, eq, JAC_PANEL_SLOPE, a->inner[k], tensor_range (a->inner[k]),
                        factor_title (c, part_title, d->inner_markup[k]));
        }
      add_text (c, eq, "=", op);
      add_matrix (c, eq, JAC_PANEL_GATED, a->factors[gated], tensor_range (a->factors[gated]),
                  factor_title (c, d->factor_markup[gated], "product"));
    }
  else if (!g_factor && g_part < 0 && !(factors && !intermediates))
    {
      eq = &c->rows[c->n_rows++];
      add_matrix (c, eq, JAC_PANEL_UPSTREAM, a->upstream, tensor_range (a->upstream), g_title);
    }

  eq = &c->rows[c->n_rows++];
  if (factors)
    {
      for (guint k = 0; k < 2; k++)
        {
          JacPanel panel = k == gated ? JAC_PANEL_GATED : JAC_PANEL_FACTOR;
          const char *title = g_strcmp0 (d->factor_text[k], "G") == 0
                              ? g_title
                              : factor_title (c, d->factor_markup[k],
                                              k == 0 ? "left factor" : "right factor");

          if (k == 1 && d->factors_op == '*')
            add_text (c, eq, "⊙", op);
          add_matrix (c, eq, panel, a->factors[k], tensor_range (a->factors[k]), title);
        }
      add_text (c, eq, "=", op);
      add_matrix (c, eq, JAC_PANEL_FORMULA, a->contract_formula, result_range,
                  formula_w <= c->wrap_width * 0.4 ? formula : "contracted form");
      eq = &c->rows[c->n_rows++];
      add_text (c, eq, sum, c->layout->font_px * 1.1);
      add_text (c, eq, "=", op);
      add_matrix (c, eq, JAC_PANEL_CONTRACTION, a->contract_tensor, result_range, "from J");
      return;
    }
  add_matrix (c, eq, JAC_PANEL_FORMULA, a->contract_formula, result_range,
              formula_w <= c->wrap_width * 0.45 ? formula : "contracted form");
  add_text (c, eq, "=", op);
  add_matrix (c, eq, JAC_PANEL_CONTRACTION, a->contract_tensor, result_range,
              a->hessian != NULL ? "Σ V·J, from J" : "Σ G·J, from J");
}

static void
build_texts (JacContraction *c)
{
  const JacAnalysis *a = c->layout->analysis;
  JacFigureLayout *layout = c->layout;
  const char *w = jac_analysis_wrt_indices (a);
  g_autofree char *sum = expr_sum_markup (a);
  g_autofree char *identity = NULL;
  g_autofree char *diff = _jac_format_scientific_markup (a->contract_max_diff);
  g_autofree char *fd = a->fd_max_diff >= 0 ? _jac_format_scientific_markup (a->fd_max_diff)
                                            : NULL;
  /* Both checks where the finite differences were taken (small variables). */
  g_autofree char *footer = fd != NULL
    ? g_strdup_printf ("max |difference|: contracted form vs tensor %s, vs finite "
                       "differences %s", diff, fd)
    : g_strdup_printf ("contracted form vs tensor: max |difference| = %s", diff);

  if (*w != '\0')
    identity = g_strdup_printf ("%s = (%s)<sub><i>%s</i></sub>", sum,
                                a->derivation->contracted_markup, w);
  else
    identity = g_strdup_printf ("%s = %s", sum, a->derivation->contracted_markup);
  c->header = _jac_label_new (layout->context,
                              a->hessian != NULL ? "<b>The Hessian-vector product</b>"
                                                 : "<b>What back-propagation computes</b>",
                              layout->font_px * 1.1, FALSE, c->wrap_width);
  c->identity = _jac_label_new (layout->context, identity, layout->font_px * 1.1, FALSE,
                                c->wrap_width);
  if (a->derivation->where_markup != NULL)
    {
      g_autofree char *where = g_strdup_printf ("where %s", a->derivation->where_markup);

      c->where = _jac_label_new (layout->context, where, layout->font_px, FALSE, c->wrap_width);
    }
  c->footer = _jac_label_new (layout->context, footer, layout->font_px, FALSE, c->wrap_width);
  c->note = _jac_label_new (layout->context, scale_note (layout), layout->small_px, FALSE,
                            c->wrap_width);
}

static double
element_width (const JacElement *e,
               double            s)
{
  if (e->panel == JAC_PANEL_NONE)
    return e->title->width;
  return MAX (e->cols * s, MAX (e->title->width, e->caption != NULL ? e->caption->width : 0));
}

static double
equation_width (const JacContraction *c,
                const JacEquation    *eq,
                double                s)
{
  double width = (eq->n - 1) * c->gap;

  for (guint k = 0; k < eq->n; k++)
    width += element_width (&eq->element[k], s);
  return width;
}

/* The height of the matrices' band, and of the whole row with titles and captions. */
static double
equation_height (const JacContraction *c,
                 const JacEquation    *eq,
                 double                s,
                 double               *band)
{
  double height = 0;

  *band = 0;
  for (guint k = 0; k < eq->n; k++)
    {
      const JacElement *e = &eq->element[k];

      if (e->panel == JAC_PANEL_NONE)
        *band = MAX (*band, e->title->height);
      else
        {
          *band = MAX (*band, e->rows * s);
          height = MAX (height, e->title->height + 2 * c->pad
                                + (e->caption != NULL ? e->caption->height : 0));
        }
    }
  return height + *band;
}

static double
texts_height (const JacContraction *c)
{
  return c->header->height + c->identity->height + (c->where != NULL ? c->where->height : 0)
         + c->row_gap
         + c->row_gap * 0.6 + c->footer->height + (c->note != NULL ? c->note->height : 0);
}

static gboolean
texts_fit (const JacContraction *c,
           const JacRect        *area)
{
  return c->header->width <= area->width && c->identity->width <= area->width
         && c->footer->width <= area->width
         && (c->note == NULL || c->note->width <= area->width);
}

static double
total_height (const JacContraction *c,
              double                s)
{
  double height = texts_height (c) + (c->n_rows - 1) * c->row_gap;
  double band;

  for (guint r = 0; r < c->n_rows; r++)
    height += equation_height (c, &c->rows[r], s, &band);
  return height;
}

static gboolean
fits (const JacContraction *c,
      const JacRect        *area,
      double                s)
{
  for (guint r = 0; r < c->n_rows; r++)
    if (equation_width (c, &c->rows[r], s) > area->width)
      return FALSE;
  return total_height (c, s) <= area->height;
}

/* The largest cell size at which everything fits, whole pixels when a few pixels or more. */
static double
solve_cell_size (const JacContraction *c,
                 const JacRect        *area)
{
  double lo = 0, hi = c->layout->font_px * 3.5;

  if (fits (c, area, hi))
    return hi;
  for (int k = 0; k < 40; k++)
    {
      double mid = (lo + hi) / 2;

      if (fits (c, area, mid))
        lo = mid;
      else
        hi = mid;
    }
  return lo >= 3 ? floor (lo) : MAX (lo, 0.05);
}

static double
largest_side (const JacContraction *c)
{
  gsize side = 1;

  for (guint r = 0; r < c->n_rows; r++)
    for (guint k = 0; k < c->rows[r].n; k++)
      side = MAX (side, MAX (c->rows[r].element[k].rows, c->rows[r].element[k].cols));
  return (double) side;
}

static void
place_matrix (JacContraction *c,
              JacElement     *e,
              double          x,
              double          centre_y,
              double          width,
              double          s)
{
  JacFigureLayout *layout = c->layout;
  JacMatrixView *view;
  JacRect rect;

  rect.width = e->cols * s;
  rect.height = e->rows * s;
  rect.x = round (x + (width - rect.width) / 2);
  rect.y = round (centre_y - rect.height / 2);
  if (s >= 3)
    {
      rect.width = round (rect.width);
      rect.height = round (rect.height);
    }

  g_assert (layout->n_matrices < JAC_MAX_MATRIX_VIEWS);
  view = &layout->matrices[layout->n_matrices++];
  view->panel = e->panel;
  view->tensor = e->tensor;
  view->rows = e->rows;
  view->cols = e->cols;
  view->range = e->range;
  view->rect = rect;

  _jac_figure_layout_take_label (layout, g_steal_pointer (&e->title), x + width / 2,
                                 rect.y - c->pad, 0.5, 1, JAC_INK_NORMAL);
  if (e->caption != NULL)
    _jac_figure_layout_take_label (layout, g_steal_pointer (&e->caption), x + width / 2,
                                   rect.y + rect.height + c->pad, 0.5, 0, JAC_INK_FAINT);
}

static double
place_equation (JacContraction *c,
                JacEquation    *eq,
                const JacRect  *area,
                double          y,
                double          s)
{
  double band;
  double height = equation_height (c, eq, s, &band);
  double x = area->x + (area->width - equation_width (c, eq, s)) / 2;
  double title_h = 0;
  double centre_y;

  for (guint k = 0; k < eq->n; k++)
    if (eq->element[k].panel != JAC_PANEL_NONE)
      title_h = MAX (title_h, eq->element[k].title->height + c->pad);
  centre_y = y + title_h + band / 2;

  for (guint k = 0; k < eq->n; k++)
    {
      JacElement *e = &eq->element[k];
      double width = element_width (e, s);

      if (e->panel == JAC_PANEL_NONE)
        _jac_figure_layout_take_label (c->layout, g_steal_pointer (&e->title), x + width / 2,
                                       centre_y, 0.5, 0.5, JAC_INK_NORMAL);
      else
        place_matrix (c, e, x, centre_y, width, s);
      x += width + c->gap;
    }
  return y + height;
}

static void
clear_contraction (JacContraction *c)
{
  for (guint r = 0; r < c->n_rows; r++)
    for (guint k = 0; k < c->rows[r].n; k++)
      {
        g_clear_pointer (&c->rows[r].element[k].title, _jac_label_free);
        g_clear_pointer (&c->rows[r].element[k].caption, _jac_label_free);
      }
  g_clear_pointer (&c->header, _jac_label_free);
  g_clear_pointer (&c->identity, _jac_label_free);
  g_clear_pointer (&c->where, _jac_label_free);
  g_clear_pointer (&c->footer, _jac_label_free);
  g_clear_pointer (&c->note, _jac_label_free);
}

void
_jac_figure_layout_contraction (JacFigureLayout *layout,
                                const JacRect   *area)
{
  JacContraction c = { 0 };
  JacLabel *header, *identity, *footer;
  double s, y, left;

  c.layout = layout;
  c.gap = round (layout->font_px * 0.6);
  c.row_gap = round (layout->font_px * 1.3);
  c.pad = round (layout->font_px * 0.25);
  c.wrap_width = area->width;
  build_equations (&c);
  build_texts (&c);

  if (layout->omit & JAC_OMIT_SCALE_NOTE)
    g_clear_pointer (&c.note, _jac_label_free);
  s = solve_cell_size (&c, area);
  /* Matrices smaller than this are not read from the back of a room: cells of most of a line,
   * or, for large ones whose cells are pooled anyway, the largest three lines across. */
  if (!texts_fit (&c, area)
      || !fits (&c, area, MIN (layout->font_px, layout->font_px * 3 / largest_side (&c))))
    layout->fits = FALSE;
  y = round (area->y + MAX (0, (area->height - total_height (&c, s)) / 3));
  left = area->x;

  header = _jac_figure_layout_take_label (layout, g_steal_pointer (&c.header), left, y, 0, 0,
                                          JAC_INK_NORMAL);
  y += header->height;
  identity = _jac_figure_layout_take_label (layout, g_steal_pointer (&c.identity), left, y, 0, 0,
                                            JAC_INK_NORMAL);
  y += identity->height;
  if (c.where != NULL)
    {
      JacLabel *where = _jac_figure_layout_take_label (layout, g_steal_pointer (&c.where), left, y,
                                                       0, 0, JAC_INK_FAINT);

      y += where->height;
    }
  y += c.row_gap;

  for (guint r = 0; r < c.n_rows; r++)
    y = place_equation (&c, &c.rows[r], area, y, s) + c.row_gap;

  y += c.row_gap * 0.6 - c.row_gap;
  footer = _jac_figure_layout_take_label (layout, g_steal_pointer (&c.footer), left, y, 0, 0,
                                          JAC_INK_NORMAL);
  y += footer->height;
  if (c.note != NULL)
    _jac_figure_layout_take_label (layout, g_steal_pointer (&c.note), left, y, 0, 0,
                                   JAC_INK_FAINT);
  clear_contraction (&c);
}
