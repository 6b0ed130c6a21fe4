/* jac-sequence-figure.h: ∂h_T/∂h_{T−k} through time: its blocks beside log₁₀ of its norms against k. */
#pragma once

#include <cairo.h>

#include "core/jac-sequence.h"
#include "jac-figure.h"

G_BEGIN_DECLS

typedef struct
{
  gsize           lag;           /* k of the blocks shown and marked on the plot, 1 … T */
  gboolean        shared_range;  /* one colour range for every lag, else this lag's own */
  JacSequenceNorm norm;          /* the norm the curves show: spectral or Frobenius */
  gsize           max_blocks;    /* at most this many rows' blocks are drawn */
} JacSequenceView;

void     jac_sequence_view_init        (JacSequenceView         *view);

/* Draws into (0, 0, @width, @height) of @cr: on the left the diagonal blocks of @jacobian
 * (∂h_T/∂h_{T−k} at k = @view->lag, from jac_sequence_jacobian (); NULL leaves the panel
 * empty — the caller computes it once per lag, it is the costly part) with a colour bar; on the
 * right log₁₀ of each row's norm against k, the line where the norm would stay 1, the line
 * ρ(W_hh)^k and a mark at k; across the bottom, what a block is (the product of k one-step
 * Jacobians, in the figure's layout) and why the curves vanish or explode. @style supplies the
 * medium (which sets the type: never below its minimum), the colour map, dark/light, text and
 * line scale, values in cells and the layout (numerator: rows j, columns q; denominator: the
 * transpose). When the area is too small for everything at the minimum type, the model line,
 * then the legend, then the blocks are left out, and a corner says so ("left out: …"). */
void     jac_sequence_figure_draw      (cairo_t                 *cr,
                                        double                   width,
                                        double                   height,
                                        const JacSequence       *sequence,
                                        const JacStructured     *jacobian,
                                        const JacSequenceNorms  *norms,
                                        const JacSequenceView   *view,
                                        const JacFigureStyle    *style);
/* The lag under (@x, @y) when it lies on the plot of norms, for choosing k with the pointer (on
 * screen or in presentation mode, whose layout does not depend on the Jacobian drawn). */
gboolean jac_sequence_figure_lag_at    (double                   width,
                                        double                   height,
                                        const JacSequence       *sequence,
                                        const JacSequenceView   *view,
                                        const JacFigureStyle    *style,
                                        double                   x,
                                        double                   y,
                                        gsize                   *lag);
/* Saves atomically to @path in the format its extension names (.png, .svg, .pdf); @width ×
 * @height are in figure units (px, or pt for the paper medium) and @scale multiplies PNG
 * pixels. */
gboolean jac_sequence_figure_save      (const char              *path,
                                        double                   width,
                                        double                   height,
                                        double                   scale,
                                        const JacSequence       *sequence,
                                        const JacStructured     *jacobian,
                                        const JacSequenceNorms  *norms,
                                        const JacSequenceView   *view,
                                        const JacFigureStyle    *style,
                                        GError                 **error);

/* The three cells compared: log₁₀ of the per-lag norm (@view->norm, the mean over the batch's
 * rows, with the rows' range shaded) against k for @sequences[JAC_CELL_RNN], [JAC_CELL_LSTM] and
 * [JAC_CELL_GRU] — ∂h_T/∂h_{T−k} on the same sizes, seed and sequence — and, dashed,
 * @sequences[3]: the LSTM with output and wrt c (∂c_T/∂c_{T−k}, the cell state's path), with
 * the line where the norm stays 1 and a caption, from the numbers drawn, on which cell keeps
 * the gradient and why. */
void     jac_sequence_compare_figure_draw (cairo_t                        *cr,
                                           double                          width,
                                           double                          height,
                                           const JacSequence * const      *sequences,
                                           const JacSequenceNorms * const *norms,
                                           const JacSequenceView          *view,
                                           const JacFigureStyle           *style);
gboolean jac_sequence_compare_figure_save (const char                     *path,
                                           double                          width,
                                           double                          height,
                                           double                          scale,
                                           const JacSequence * const      *sequences,
                                           const JacSequenceNorms * const *norms,
                                           const JacSequenceView          *view,
                                           const JacFigureStyle           *style,
                                           GError                        **error);

/* For tests: draws the figure off screen at @scale device pixels per unit and returns every
 * text it drew as JacTextRect (see jac-figure.h), values in cells included: logical boxes in
 * figure units whatever @scale (rotated text by its bounding box), each with its smallest glyph
 * size, sub/superscripts included. */
GArray  *_jac_sequence_figure_text_rects (double                  width,
                                          double                  height,
                                          double                  scale,
                                          const JacSequence      *sequence,
                                          const JacStructured    *jacobian,
                                          const JacSequenceNorms *norms,
                                          const JacSequenceView  *view,
                                          const JacFigureStyle   *style);

G_END_DECLS
