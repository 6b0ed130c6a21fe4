/* jac-heatmap.h: heatmap pixels, one per cell or pooled to the screen, drawn crisp and snapped. */
#pragma once

#include <cairo.h>

#include "jac-colormap.h"

G_BEGIN_DECLS

typedef enum
{
  JAC_CELL_EMPTY,   /* nothing to draw: the pixel stays transparent */
  JAC_CELL_ZERO,    /* only entries a δ forces to zero */
  JAC_CELL_VALUE,   /* at least one entry that may be nonzero */
  JAC_CELL_VALUE_ZERO,  /* entries no δ forces to zero, all exactly 0 for these values */
} JacCellKind;

/* Pools the cells [@row0, @row1) × [@col0, @col1) into one value: the free entry of largest
 * magnitude, sign kept. May look at a bounded sample of the cells so that the cost of a pixel
 * does not grow with the number of cells it covers. */
typedef JacCellKind (*JacCellPool) (gconstpointer  data,
                                    gsize          row0,
                                    gsize          row1,
                                    gsize          col0,
                                    gsize          col1,
                                    double        *value);

typedef struct
{
  JacColormap colormap;
  double      range;      /* symmetric colour range */
  guint32     zero_argb;  /* structural zeros */
  /* Value zeros (a pooled value of exactly 0, or JAC_CELL_VALUE_ZERO); 0 (transparent, never a
   * colour of the map) draws them as the colour map's 0, as dense panels want. */
  guint32     value_zero_argb;
} JacHeatmapColors;

/* A rectangle of whole device pixels. */
typedef struct
{
  int x, y, width, height;
} JacPixelRect;

/* At most this many samples per axis are pooled into one pixel. */
#define JAC_HEATMAP_POOL_SAMPLES 8

/* Fills the @width × @height pixels at @pixels (rows @stride pixels apart) with @rows × @cols
 * cells: one pixel per cell when the sizes agree, pooled otherwise. */
void     jac_heatmap_fill            (guint32                *pixels,
                                      gsize                   stride,
                                      int                     width,
                                      int                     height,
                                      gsize                   rows,
                                      gsize                   cols,
                                      JacCellPool             pool,
                                      gconstpointer           data,
                                      const JacHeatmapColors *colors);
/* Fills only the pixels @window of a @width × @height heatmap, at @pixels (pixel (0, 0) of
 * @window); each gets exactly the colour it has in the whole heatmap. */
void     jac_heatmap_fill_window     (guint32                *pixels,
                                      gsize                   stride,
                                      int                     width,
                                      int                     height,
                                      const JacPixelRect     *window,
                                      gsize                   rows,
                                      gsize                   cols,
                                      JacCellPool             pool,
                                      gconstpointer           data,
                                      const JacHeatmapColors *colors);
/* A heatmap surface of @width × @height pixels, or NULL when it cannot be allocated. */
cairo_surface_t *jac_heatmap_build   (int                     width,
                                      int                     height,
                                      gsize                   rows,
                                      gsize                   cols,
                                      JacCellPool             pool,
                                      gconstpointer           data,
                                      const JacHeatmapColors *colors);
/* The rectangle of user space (@x, @y, @width, @height) rounded to whole device pixels. */
void     jac_heatmap_device_rect     (cairo_t                *cr,
                                      double                  x,
                                      double                  y,
                                      double                  width,
                                      double                  height,
                                      int                    *device_x,
                                      int                    *device_y,
                                      int                    *device_width,
                                      int                    *device_height);
/* Saves @cr and makes user space the target's pixels (restore with cairo_restore ()); sets the
 * pixels per user unit it had. */
void     jac_heatmap_enter_device    (cairo_t                *cr,
                                      double                 *pixels_per_unit);
/* Paints @image stretched over the device-pixel rectangle, nearest-neighbour, no blending of
 * neighbouring cells. */
void     jac_heatmap_paint_device    (cairo_t                *cr,
                                      cairo_surface_t        *image,
                                      int                     device_x,
                                      int                     device_y,
                                      int                     device_width,
                                      int                     device_height);
/* Paints @image as the part at (@window_x, @window_y) of a @full_width × @full_height heatmap
 * stretched over @device: the same pixels as painting the whole heatmap, where @image reaches. */
void     jac_heatmap_paint_window    (cairo_t                *cr,
                                      cairo_surface_t        *image,
                                      const JacPixelRect     *device,
                                      int                     full_width,
                                      int                     full_height,
                                      int                     window_x,
                                      int                     window_y);
/* Builds and paints the part of a @width × @height heatmap stretched over @device that covers
 * the device pixels @visible (and nothing of the rest, however large @device is); returns the
 * number of pixels built. */
guint64  jac_heatmap_paint_visible   (cairo_t                *cr,
                                      const JacPixelRect     *device,
                                      const JacPixelRect     *visible,
                                      int                     width,
                                      int                     height,
                                      gsize                   rows,
                                      gsize                   cols,
                                      JacCellPool             pool,
                                      gconstpointer           data,
                                      const JacHeatmapColors *colors);
/* The device pixels that @cr's clip reaches. */
void     jac_heatmap_device_clip     (cairo_t                *cr,
                                      JacPixelRect           *clip);
/* Sets @out to the overlap of @a and @b; whether they overlap. */
gboolean jac_pixel_rect_intersect    (const JacPixelRect     *a,
                                      const JacPixelRect     *b,
                                      JacPixelRect           *out);
/* Paints @image over the user-space rectangle, snapped to device pixels. */
void     jac_heatmap_paint           (cairo_t                *cr,
                                      cairo_surface_t        *image,
                                      double                  x,
                                      double                  y,
                                      double                  width,
                                      double                  height);
/* Pools a dense matrix (a rank-1 tensor is one row): the exact extreme over a bounded sample. */
JacCellKind jac_heatmap_pool_matrix  (gconstpointer           tensor,
                                      gsize                   row0,
                                      gsize                   row1,
                                      gsize                   col0,
                                      gsize                   col1,
                                      double                 *value);
/* Sample @k of @n spread evenly over [@start, @end): every cell when the range is short. */
gsize    jac_heatmap_sample_count    (gsize                   start,
                                      gsize                   end);
gsize    jac_heatmap_sample          (gsize                   start,
                                      gsize                   end,
                                      gsize                   k);
/* Strokes diagonal hatch lines @spacing apart over @x, @y, @width, @height (clip first). */
void     jac_heatmap_hatch_lines     (cairo_t                *cr,
                                      double                  x,
                                      double                  y,
                                      double                  width,
                                      double                  height,
                                      double                  spacing);
/* A repeating tile of diagonal hatch lines @spacing device pixels apart on @fill, for raster
 * targets, aligned so that the lines continue those of jac_heatmap_hatch_lines (). */
cairo_pattern_t *jac_heatmap_hatch_tile (int                  spacing,
                                         double               line_width,
                                         guint32              fill_argb,
                                         guint32              line_argb);
/* Whether @cr draws into a vector format, where hatching is better stroked than tiled. */
gboolean jac_heatmap_target_is_vector (cairo_t               *cr);
/* Pixels per cell for an image of @cells cells drawn @device_size units wide: 1 on raster
 * targets; on vector ones, enough that a viewer's smoothing cannot blur cells into each other
 * (SVG viewers ignore cairo's nearest filter), within a budget of @budget pixels per axis. */
int      jac_heatmap_oversample      (cairo_t                *cr,
                                      double                  device_size,
                                      gsize                   cells,
                                      int                     budget);
/* A vertical strip of the colour map, +range at the top, for a colour bar. */
cairo_surface_t *jac_heatmap_colorbar_surface (JacColormap    colormap);

G_END_DECLS
