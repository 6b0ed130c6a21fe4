/* jac-drawing.c: what the two drawing widgets share: cached cairo images and the theme. */
#define G_LOG_DOMAIN "jac-drawing"

#include "jac-drawing-private.h"

GdkTexture *
_jac_texture_new_for_surface (cairo_surface_t *surface)
{
  int stride = cairo_image_surface_get_stride (surface);
  int height = cairo_image_surface_get_height (surface);
  g_autoptr(GBytes) bytes = NULL;

  bytes = g_bytes_new_with_free_func (cairo_image_surface_get_data (surface),
                                      (gsize) stride * height,
                                      (GDestroyNotify) cairo_surface_destroy,
                                      cairo_surface_reference (surface));
  return gdk_memory_texture_new (cairo_image_surface_get_width (surface), height,
                                 GDK_MEMORY_DEFAULT, bytes, stride);
}

/* The theme's ink is light on a dark background: its luminance says which. */
gboolean
_jac_widget_is_dark (GtkWidget *widget)
{
  GdkRGBA ink;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &ink);
  return 0.2126 * ink.red + 0.7152 * ink.green + 0.0722 * ink.blue > 0.5;
}
