/* jac-colormap.h: diverging colour maps with white at zero, as lookup tables of ARGB pixels. */
#pragma once

#include "jac-figure.h"

G_BEGIN_DECLS

/* Entries in a colour map's table; odd, so that the middle entry is exactly zero. */
#define JAC_COLORMAP_SIZE 513

/* The colour of @value on a symmetric scale ±@range, as an opaque cairo ARGB32 pixel. */
guint32  jac_colormap_argb        (JacColormap  colormap,
                                   double       value,
                                   double       range);
/* The colour at @t ∈ [−1, 1] as components in [0, 1]. */
void     jac_colormap_rgb         (JacColormap  colormap,
                                   double       t,
                                   double      *red,
                                   double      *green,
                                   double      *blue);
/* The whole table, from −range (entry 0) to +range. */
const guint32 *jac_colormap_table (JacColormap  colormap);
/* The flat colour of an entry exactly 0 for these values that no δ forces: amber, outside both
 * diverging maps; white in the grey map (whose 0 is mid-grey), where a dot marks it too. */
guint32  jac_colormap_value_zero_argb (JacColormap colormap);
/* Whether black ink reads better than white on the opaque pixel @argb. */
gboolean jac_colormap_prefers_dark_ink (guint32 argb);
/* A round tick step for a symmetric scale ±@range: 1, 2, 2.5 or 5 × 10ⁿ. */
double   jac_colormap_tick_step   (double       range);

G_END_DECLS
