/* jac-render-tikz-private.h: the TikZ writer and the hooks through which figures feed it. */
#pragma once

#include "jac-figure-private.h"

G_BEGIN_DECLS

/* While a TikZ picture is written, the figure is drawn once into an image with a recorder
 * attached to its cairo_t: text and hatching are handed to the recorder, which writes them as
 * LaTeX text nodes and TikZ patterns, instead of being drawn into the image. Each hook returns
 * TRUE when it took the element (the caller then does not draw it) and FALSE on any other
 * target. Coordinates are in the user space of @cr at the time of the call. */

/* A label as placed by _jac_label_place (), in the colour of @cr's current source. */
gboolean _jac_tikz_take_label  (cairo_t          *cr,
                                const JacLabel   *label);
/* @text drawn with the top-left corner of its layout at (@x, @y), anchored at @xalign of its
 * width (0 left, 0.5 centre, 1 right) and on its baseline, in the colour of @cr's source. */
gboolean _jac_tikz_take_text   (cairo_t          *cr,
                                PangoLayout      *text,
                                double            x,
                                double            y,
                                double            xalign);
/* Hatch lines x + y = k · @spacing of width @line_width over each rectangle (JacRect) of
 * @rects; the caller still paints the flat fill under them. */
gboolean _jac_tikz_take_hatch  (cairo_t          *cr,
                                const JacRect    *rects,
                                guint             n_rects,
                                double            spacing,
                                double            line_width,
                                const JacRgb     *line);
/* A patch drawn over the hatching (behind a "0"); it is also drawn into the image. */
void     _jac_tikz_add_fill    (cairo_t          *cr,
                                const JacRect    *rect,
                                const JacRgb     *fill);
/* A frame around @rect, drawn as a line of the weight a vector page gives it (a hairline on
 * paper) instead of pixels of the image. */
gboolean _jac_tikz_take_frame  (cairo_t          *cr,
                                const JacRect    *rect,
                                const JacRgb     *colour);

/* Writes @path (.tex) and the image beside it (stem-1.png) atomically: either both or neither.
 * @width × @height are figure units, written as big points (1/72 in); the image has @scale
 * pixels per unit, and never fewer than 4 (288 dpi). */
gboolean _jac_tikz_save        (const char       *path,
                                double            width,
                                double            height,
                                double            scale,
                                JacMedium         medium,
                                JacRenderDrawFunc draw,
                                gpointer          user_data,
                                GError          **error);

/* Pango text (UTF-8, no markup) as LaTeX text for pdflatex at @size (figure units); characters
 * with no LaTeX form become "?". Exposed for tests. */
char    *_jac_tikz_escape      (const char       *text,
                                double            size,
                                double            min_script);

G_END_DECLS
