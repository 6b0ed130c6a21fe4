/* jac-drawing-private.h: what the two drawing widgets share: cached cairo images and the theme. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A texture sharing @surface's pixels (an ARGB32 image surface), which it keeps alive. */
GdkTexture *_jac_texture_new_for_surface (cairo_surface_t *surface);
/* Whether @widget's theme draws light ink on a dark background. */
gboolean    _jac_widget_is_dark           (GtkWidget       *widget);

G_END_DECLS
