/* jac-figure-vec.c: the vec layout, the Jacobian as the matrix ∂vec(out)/∂vec(wrt).
 *
 * Block (i, p) of the grid, rows j and columns q, is exactly the part of the (N·H)×(P·Q)
 * matrix with rows i·H + j and columns p·Q + q (row-major vec), so the vec layout is the grid
 * with its blocks butted together: the same cells, hatching, values and hover, and lines where
 * the blocks meet. What it adds is said here: its indices, its captions, and the Kronecker
 * identity the engine found (core/jac-kron.h). */
#define G_LOG_DOMAIN "jac-figure"

#include <math.h>
#include <string.h>

#include "core/jac-kron.h"
#include "jac-figure-private.h"

/* ---- the Kronecker identity, found once per Jacobian ---- */

/* Past this many stored entries the identity is not looked for: the split reads every one. */
#define VEC_MAX_CORE ((gsize) 1 << 22)

/* A figure is laid out several times per draw (each set of omissions) and again for every
 * hover, so the identity of the last Jacobian is kept; the fingerprint of its core tells a
 * recomputed Jacobian at a reused address apart. */
static GMutex vec_cache_lock;
static struct
{
  gconstpointer jacobian;
  gconstpointer data;
  gsize         size;
  double        fingerprint;
  char         *markup;
} vec_cache;

static double
core_fingerprint (const JacTensor *core)
{
  gsize step = MAX (core->size / 256, 1);
  double sum = 0;

  for (gsize e = 0, k = 1; e < core->size; e += step, k++)
    sum += core->data[e] * (double) k;
  return sum;
}

static char *
answer_markup_uncached (const JacAnalysis *analysis)
{
  g_autoptr(JacKron) kron = NULL;
  g_autofree char *out = _jac_markup_from_text (analysis->output_name);
  g_autofree char *wrt = _jac_markup_from_text (analysis->wrt_name);

  if (jac_structured_stored_count (analysis->jacobian) > VEC_MAX_CORE)
    return g_strdup_printf ("∂vec(%s)/∂vec(%s): its Kronecker form is not looked for past 4 M "
                            "stored entries", out, wrt);
  kron = jac_kron_from_analysis (analysis);
  if (kron->kind == JAC_KRON_NONE)
    return g_strdup_printf ("∂vec(%s)/∂vec(%s) has no single Kronecker form (I ⊗ A, A ⊗ I or "
                            "diag(vec S)) for these δs and values", out, wrt);
  return jac_kron_identity (kron, analysis->output_name, analysis->wrt_name, JAC_KRON_MARKUP);
}

char *
_jac_figure_vec_answer_markup (const JacAnalysis *analysis)
{
  const JacTensor *core = analysis->jacobian->core;
  double fingerprint;
  char *markup;

  /* The cache keys on one term's core; a sum of terms, or none, has no form anyway. */
  if (analysis->jacobian->n_terms != 1 || core == NULL)
    return answer_markup_uncached (analysis);
  fingerprint = core_fingerprint (core);
  g_mutex_lock (&vec_cache_lock);
  if (vec_cache.markup == NULL || vec_cache.jacobian != analysis->jacobian
      || vec_cache.data != core->data || vec_cache.size != core->size
      || vec_cache.fingerprint != fingerprint)
    {
      g_free (vec_cache.markup);
      vec_cache.markup = answer_markup_uncached (analysis);
      vec_cache.jacobian = analysis->jacobian;
      vec_cache.data = core->data;
      vec_cache.size = core->size;
      vec_cache.fingerprint = fingerprint;
    }
  markup = g_strdup (vec_cache.markup);
  g_mutex_unlock (&vec_cache_lock);
  return markup;
}

/* ---- words and indices ---- */

static guint
out_rank (const JacFigureLayout *layout)
{
  return layout->analysis->jacobian->out_rank;
}

static guint
wrt_rank (const JacFigureLayout *layout)
{
  return layout->analysis->jacobian->wrt_rank;
}

/* "rows (i, j) of vec(h): row i·3 + j", "rows j of vec(U)", "one row (U is a scalar)". */
static char *
axis_words (const char *what,
            guint       rank,
            const char *letters,
            gsize       inner,
            const char *name)
{
  g_autofree char *markup = _jac_markup_from_text (name);

  if (rank == 0)
    return g_strdup_printf ("one %s (%s is a scalar)", what, markup);
  if (rank == 1)
    return g_strdup_printf ("%ss <i>%c</i> of vec(%s)", what, letters[0], markup);
  return g_strdup_printf ("%ss (<i>%c</i>, <i>%c</i>) of vec(%s): %s <i>%c</i>·%" G_GSIZE_FORMAT
                          " + <i>%c</i>", what, letters[0], letters[1], markup, what, letters[0],
                          inner, letters[1]);
}

char *
_jac_figure_vec_caption_markup (const JacFigureLayout *layout)
{
  const JacAnalysis *a = layout->analysis;
  const JacSparsity *sparsity = &a->sparsity;
  g_autofree char *rows = axis_words ("row", out_rank (layout), jac_analysis_out_indices (a),
                                      sparsity->block_height, a->output_name);
  g_autofree char *cols = axis_words ("column", wrt_rank (layout), jac_analysis_wrt_indices (a),
                                      sparsity->block_width, a->wrt_name);

  return g_strdup_printf ("%s   ·   %s   ·   vec layout (row-major)",
                          rows, cols);
}

/* The label of vec index @index of an axis of @rank, blocks of @inner: "(1, 2)", "2" or "". */
static char *
index_markup (guint rank,
              gsize index,
              gsize inner)
{
  if (rank == 2)
    return g_strdup_printf ("(%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ")", index / inner,
                            index % inner);
  if (rank == 1)
    return g_strdup_printf ("%" G_GSIZE_FORMAT, index);
  return g_strdup ("");
}

static char *
block_markup (char  letter,
              gsize block)
{
  return g_strdup_printf ("<i>%c</i> = %" G_GSIZE_FORMAT, letter, block);
}

/* Every k-th index is labelled, k in 1, 2, 5, 10, 20, 50, … so that labels do not collide. */
static gsize
stride_for (double pitch,
            double needed)
{
  static const gsize steps[] = { 1, 2, 5 };

  if (!(pitch > 0))
    return G_MAXSIZE;
  for (gsize decade = 1; decade < G_MAXSIZE / 10; decade *= 10)
    for (guint k = 0; k < G_N_ELEMENTS (steps); k++)
      if (steps[k] * decade * pitch >= needed)
        return steps[k] * decade;
  return G_MAXSIZE;
}

static char *
corner_markup (const JacFigureLayout *layout)
{
  const char *o = jac_analysis_out_indices (layout->analysis);
  const char *w = jac_analysis_wrt_indices (layout->analysis);
  g_autofree char *rows = out_rank (layout) == 2
    ? g_strdup_printf ("(<i>%c</i>, <i>%c</i>) ↓", o[0], o[1])
    : out_rank (layout) == 1 ? g_strdup_printf ("<i>%c</i> ↓", o[0]) : g_strdup ("");
  g_autofree char *cols = wrt_rank (layout) == 2
    ? g_strdup_printf ("(<i>%c</i>, <i>%c</i>) →", w[0], w[1])
    : wrt_rank (layout) == 1 ? g_strdup_printf ("<i>%c</i> →", w[0]) : g_strdup ("");

  return g_strdup_printf ("%s%s%s", rows, *rows != '\0' && *cols != '\0' ? "  " : "", cols);
}

void
_jac_figure_vec_margins (JacFigureLayout *layout,
                         double          *left,
                         double          *top)
{
  const JacSparsity *sparsity = &layout->analysis->sparsity;
  const char *o = jac_analysis_out_indices (layout->analysis);
  gsize last_row = sparsity->n_block_rows * sparsity->block_height - 1;
  g_autofree char *widest = index_markup (out_rank (layout), last_row, sparsity->block_height);
  g_autofree char *widest_block = out_rank (layout) == 2
    ? block_markup (o[0], sparsity->n_block_rows - 1) : g_strdup ("");
  g_autofree char *corner = corner_markup (layout);
  double width = MAX (_jac_figure_layout_text_width (layout, widest, layout->small_px),
                      _jac_figure_layout_text_width (layout, widest_block, layout->small_px));

  width = MAX (width, _jac_figure_layout_text_width (layout, corner, layout->small_px));
  *left = width + layout->font_px * 0.5;
  *top = round (layout->small_px * 1.6);
}

/* The row indices: every row when rows are a line of text high, else the block rows. */
static void
place_row_headers (JacFigureLayout *layout,
                   double           right)
{
  const JacSparsity *sparsity = &layout->analysis->sparsity;
  const char *o = jac_analysis_out_indices (layout->analysis);
  gsize inner = sparsity->block_height, n_rows = sparsity->n_block_rows * inner;
  double cell = layout->block_height / MAX (inner, 1);
  double needed = layout->small_px * 1.3;
  double shift;

  if (out_rank (layout) == 0)
    return;
  if (out_rank (layout) == 1 || cell >= needed)
    {
      gsize stride = stride_for (cell, needed);

      for (gsize r = 0; r < n_rows; r += stride)
        {
          g_autofree char *text = index_markup (out_rank (layout), r, inner);

          _jac_figure_layout_add_label (layout, text, layout->small_px, FALSE, right,
                                        layout->grid_y + (r + 0.5) * cell, 1, 0.5,
                                        JAC_INK_FAINT);
          if (stride == G_MAXSIZE)
            break;
        }
      return;
    }
  /* As for the columns: the first label may not reach up to the corner's. */
  shift = MAX (0, (needed - layout->block_height) / 2);
  for (gsize i = 0, stride = stride_for (layout->pitch_y, needed + shift);
       i < sparsity->n_block_rows; i += stride)
    {
      g_autofree char *text = block_markup (o[0], i);

      _jac_figure_layout_add_label (layout, text, layout->small_px, FALSE, right,
                                    layout->grid_y + i * layout->pitch_y
                                    + layout->block_height / 2 + (i == 0 ? shift : 0), 1, 0.5,
                                    JAC_INK_FAINT);
      if (stride == G_MAXSIZE)
        break;
    }
}

/* The column indices: every column when they fit side by side, else the block columns. */
static void
place_col_headers (JacFigureLayout *layout,
                   double           y)
{
  const JacSparsity *sparsity = &layout->analysis->sparsity;
  const char *w = jac_analysis_wrt_indices (layout->analysis);
  gsize inner = sparsity->block_width, n_cols = sparsity->n_block_cols * inner;
  double cell = layout->block_width / MAX (inner, 1);
  g_autofree char *widest = index_markup (wrt_rank (layout), n_cols - 1, inner);
  g_autofree char *widest_block = NULL;
  double needed = _jac_figure_layout_text_width (layout, widest, layout->small_px)
                  + layout->font_px * 0.6;
  double label_w, shift;

  if (wrt_rank (layout) == 0)
    return;
  if (wrt_rank (layout) == 1 || cell >= needed)
    {
      gsize stride = stride_for (cell, needed);

      for (gsize c = 0; c < n_cols; c += stride)
        {
          g_autofree char *text = index_markup (wrt_rank (layout), c, inner);

          _jac_figure_layout_add_label (layout, text, layout->small_px, FALSE,
                                        layout->grid_x + (c + 0.5) * cell, y, 0.5, 0.5,
                                        JAC_INK_FAINT);
          if (stride == G_MAXSIZE)
            break;
        }
      return;
    }
  widest_block = block_markup (w[0], sparsity->n_block_cols - 1);
  label_w = _jac_figure_layout_text_width (layout, widest_block, layout->small_px);
  /* A label wider than its block would reach back over the corner's label: the first one
   * starts at the grid's edge instead, and the others keep their distance from it. */
  shift = MAX (0, (label_w - layout->block_width) / 2);
  needed = label_w + layout->font_px * 0.6 + shift;
  for (gsize p = 0, stride = stride_for (layout->pitch_x, needed); p < sparsity->n_block_cols;
       p += stride)
    {
      g_autofree char *text = block_markup (w[0], p);

      _jac_figure_layout_add_label (layout, text, layout->small_px, FALSE,
                                    layout->grid_x + p * layout->pitch_x
                                    + layout->block_width / 2 + (p == 0 ? shift : 0), y, 0.5,
                                    0.5, JAC_INK_FAINT);
      if (stride == G_MAXSIZE)
        break;
    }
}

/* The lines where blocks meet and around the whole matrix: the block structure at a glance,
 * also when cells are too small for the blocks' own frames. */
static void
place_block_rules (JacFigureLayout *layout)
{
  const JacSparsity *sparsity = &layout->analysis->sparsity;
  double x0 = layout->grid.x, y0 = layout->grid.y;
  double x1 = x0 + layout->grid.width, y1 = y0 + layout->grid.height;

  for (gsize i = 1; i < sparsity->n_block_rows; i++)
    {
      double y = y0 + i * layout->pitch_y;

      _jac_figure_layout_add_rule (layout, x0, y, x1, y, 1, JAC_INK_NORMAL);
    }
  for (gsize p = 1; p < sparsity->n_block_cols; p++)
    {
      double x = x0 + p * layout->pitch_x;

      _jac_figure_layout_add_rule (layout, x, y0, x, y1, 1, JAC_INK_NORMAL);
    }
  _jac_figure_layout_add_rule (layout, x0, y0, x1, y0, 1, JAC_INK_FAINT);
  _jac_figure_layout_add_rule (layout, x0, y1, x1, y1, 1, JAC_INK_FAINT);
  _jac_figure_layout_add_rule (layout, x0, y0, x0, y1, 1, JAC_INK_FAINT);
  _jac_figure_layout_add_rule (layout, x1, y0, x1, y1, 1, JAC_INK_FAINT);
}

void
_jac_figure_vec_place_headers (JacFigureLayout *layout,
                               double           top)
{
  double right = layout->grid_x - layout->font_px * 0.4;
  g_autofree char *corner = corner_markup (layout);

  if (*corner != '\0')
    _jac_figure_layout_add_label (layout, corner, layout->small_px, FALSE, right,
                                  layout->grid_y - top / 2, 1, 0.5, JAC_INK_FAINT);
  place_row_headers (layout, right);
  place_col_headers (layout, layout->grid_y - top / 2);
  place_block_rules (layout);
}
