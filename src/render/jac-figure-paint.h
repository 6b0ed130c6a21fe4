/* jac-figure-paint.h: what both figures (one step's, through time's) paint and fit alike: the
 * colour bar's strip, a structural-zero patch, a label, and text fitted to its room. */
#pragma once

#include "jac-figure-private.h"

G_BEGIN_DECLS

/* The colour map's strip filling @bar, +max at the top (the frame is the caller's). */
void      _jac_figure_paint_colorbar (cairo_t          *cr,
                                      JacColormap       colormap,
                                      const JacRect    *bar);
/* A structural-zero patch: @rect filled flat and hatched, lines @spacing apart (a TikZ target
 * hatches it itself). */
void      _jac_figure_paint_zero     (cairo_t          *cr,
                                      const JacPalette *palette,
                                      const JacRect    *rect,
                                      double            spacing,
                                      double            line_width);
/* @label, placed, in @rgb (a TikZ target takes it as a text node). */
void      _jac_figure_paint_label    (cairo_t          *cr,
                                      const JacLabel   *label,
                                      const JacRgb     *rgb);

/* The width of @markup at @size on one line, or wrapped at @wrap_width when it is positive;
 * its height in @height (may be NULL). */
double    _jac_label_measure         (PangoContext     *context,
                                      const char       *markup,
                                      double            size,
                                      gboolean          bold,
                                      double            wrap_width,
                                      double           *height);
/* The width of @markup at @size on one line. */
double    _jac_label_width           (PangoContext     *context,
                                      const char       *markup,
                                      double            size);
/* @markup wrapped at @width, or NULL when it takes more than @lines lines or a line is wider. */
JacLabel *_jac_label_fitting         (PangoContext     *context,
                                      const char       *markup,
                                      double            size,
                                      gboolean          bold,
                                      double            width,
                                      int               lines);
/* @markup at @size fitting @width in @lines, or in smaller type (steps of 10 %) until it does,
 * never below @min_size (Pango 1.50 cannot ellipsize text with <sub> or <sup>: it warns of
 * "leftover font scales"). When even @min_size does not fit, the label is wrapped at
 * @min_size and *@overflow is set, so that the caller leaves an element out instead. */
JacLabel *_jac_label_fit             (PangoContext     *context,
                                      const char       *markup,
                                      double            size,
                                      double            min_size,
                                      gboolean          bold,
                                      double            width,
                                      int               lines,
                                      gboolean         *overflow);
/* The type size at which a text that measures @text_width × @text_height at @size fills
 * @room_width × @room_height, at most @max_size; 0 when that is below @min_size (cell values
 * that do not fit are not written). */
double    _jac_fit_text_size         (double            size,
                                      double            text_width,
                                      double            text_height,
                                      double            room_width,
                                      double            room_height,
                                      double            max_size,
                                      double            min_size);

G_END_DECLS
