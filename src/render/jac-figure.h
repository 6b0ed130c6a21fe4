/* jac-figure.h: the Jacobian figure, drawn into any cairo_t, and saved as PNG, SVG or PDF. */
#pragma once

#include <cairo.h>

#include "core/jac-analysis.h"

G_BEGIN_DECLS

typedef enum
{
  JAC_COLORMAP_BLUE_RED,      /* diverging, colour-blind safe, white at zero */
  JAC_COLORMAP_PURPLE_GREEN,  /* diverging, colour-blind safe, white at zero */
  JAC_COLORMAP_GRAY,          /* black → white → black by magnitude with sign in the hue-free grey */
  JAC_N_COLORMAPS
} JacColormap;

typedef enum
{
  JAC_FIGURE_PNG,
  JAC_FIGURE_SVG,
  JAC_FIGURE_PDF,
} JacFigureFormat;

typedef struct
{
  gboolean    denominator_layout;  /* blocks with rows q and columns j */
  JacColormap colormap;
  gboolean    show_values;         /* write values in cells large enough to hold them */
  gboolean    dark;                /* dark background, light ink */
  double      text_scale;          /* 1 normally; larger for presentation */
} JacFigureStyle;

void     jac_figure_style_init        (JacFigureStyle        *style);
const char *jac_colormap_name         (JacColormap            colormap);
gboolean jac_colormap_from_name       (const char            *name,
                                       JacColormap           *colormap);
gboolean jac_figure_format_from_path  (const char            *path,
                                       JacFigureFormat       *format,
                                       GError               **error);
/* Draws the whole figure (Jacobian grid, colour bar, sparsity sentence, contracted form) into
 * the rectangle (0, 0, @width, @height) of @cr. */
void     jac_figure_draw              (cairo_t               *cr,
                                       double                 width,
                                       double                 height,
                                       const JacAnalysis     *analysis,
                                       const JacFigureStyle  *style);
/* Saves atomically to @path in the format its extension names; @scale multiplies PNG pixels. */
gboolean jac_figure_save              (const char            *path,
                                       int                    width,
                                       int                    height,
                                       double                 scale,
                                       const JacAnalysis     *analysis,
                                       const JacFigureStyle  *style,
                                       GError               **error);

G_END_DECLS
