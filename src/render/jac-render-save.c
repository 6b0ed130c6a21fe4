/* jac-render-save.c: any figure saved atomically as PNG, SVG, PDF or TikZ, one code path for all. */
#define G_LOG_DOMAIN "jac-render"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <math.h>

#include "core/jac-atomic-file.h"
#include "core/jac-error.h"
#include "jac-render-tikz-private.h"

#define MIN_PIXELS 16
#define MAX_PIXELS 16384
#define MAX_SCALE 16.0

typedef struct
{
  FILE    *stream;
  gboolean failed;
  int      saved_errno;
} JacRenderWriter;

typedef struct
{
  JacRenderDrawFunc draw;
  gpointer          user_data;
  const char       *title;
  JacMedium         medium;
  double            width;
  double            height;
  double            scale;
} JacRenderJob;

static gboolean
check_size (const JacRenderJob  *job,
            JacFigureFormat      format,
            GError             **error)
{
  double pixels_w, pixels_h;

  if (!isfinite (job->scale) || job->scale <= 0 || job->scale > MAX_SCALE)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "figure scale %g is out of range: it must be above 0 and at most %g",
                   job->scale, MAX_SCALE);
      return FALSE;
    }
  pixels_w = format == JAC_FIGURE_PNG ? round (job->width * job->scale) : job->width;
  pixels_h = format == JAC_FIGURE_PNG ? round (job->height * job->scale) : job->height;
  if (!(job->width >= MIN_PIXELS) || !(job->height >= MIN_PIXELS)
      || pixels_w < MIN_PIXELS || pixels_h < MIN_PIXELS
      || pixels_w > MAX_PIXELS || pixels_h > MAX_PIXELS)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "figure size %g×%g (scale %g) is out of range: width and height must be "
                   "%d to %d pixels", job->width, job->height, job->scale, MIN_PIXELS,
                   MAX_PIXELS);
      return FALSE;
    }
  return TRUE;
}

static cairo_status_t
write_cb (void                *closure,
          const unsigned char *data,
          unsigned int         length)
{
  JacRenderWriter *writer = closure;

  if (writer->failed)
    return CAIRO_STATUS_WRITE_ERROR;
  if (fwrite (data, 1, length, writer->stream) != length)
    {
      writer->failed = TRUE;
      writer->saved_errno = errno;
      return CAIRO_STATUS_WRITE_ERROR;
    }
  return CAIRO_STATUS_SUCCESS;
}

static cairo_status_t
draw_to (cairo_surface_t    *surface,
         double              scale,
         const JacRenderJob *job)
{
  cairo_status_t status = cairo_surface_status (surface);
  cairo_t *cr;

  if (status != CAIRO_STATUS_SUCCESS)
    return status;
  cr = cairo_create (surface);
  cairo_scale (cr, scale, scale);
  job->draw (cr, job->width, job->height, job->user_data);
  status = cairo_status (cr);
  cairo_destroy (cr);
  return status;
}

static cairo_status_t
write_figure (JacFigureFormat     format,
              JacRenderWriter    *writer,
              const JacRenderJob *job)
{
  cairo_surface_t *surface;
  cairo_status_t status;

  switch (format)
    {
    case JAC_FIGURE_PNG:
      surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32,
                                            (int) round (job->width * job->scale),
                                            (int) round (job->height * job->scale));
      status = draw_to (surface, job->scale, job);
      if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_write_to_png_stream (surface, write_cb, writer);
      break;
    case JAC_FIGURE_SVG:
      surface = cairo_svg_surface_create_for_stream (write_cb, writer, job->width, job->height);
      if (cairo_surface_status (surface) == CAIRO_STATUS_SUCCESS)
        cairo_svg_surface_set_document_unit (surface, job->medium == JAC_MEDIUM_PAPER
                                                        ? CAIRO_SVG_UNIT_PT : CAIRO_SVG_UNIT_PX);
      status = draw_to (surface, 1, job);
      break;
    case JAC_FIGURE_TIKZ:
      /* Written by the TikZ writer, never through a cairo surface. */
      g_assert_not_reached ();
      break;
    case JAC_FIGURE_PDF:
    default:
      surface = cairo_pdf_surface_create_for_stream (write_cb, writer, job->width, job->height);
      if (cairo_surface_status (surface) == CAIRO_STATUS_SUCCESS)
        {
          cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, job->title);
          cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Jacscope");
        }
      status = draw_to (surface, 1, job);
      break;
    }
  /* Vector surfaces write their last bytes when finished. */
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  return status;
}

gboolean
_jac_render_save (const char         *path,
                  double              width,
                  double              height,
                  double              scale,
                  JacMedium           medium,
                  const char         *title,
                  JacRenderDrawFunc   draw,
                  gpointer            user_data,
                  GError            **error)
{
  JacRenderJob job = { draw, user_data, title, medium, width, height, scale };
  JacRenderWriter writer = { NULL, FALSE, 0 };
  JacFigureFormat format;
  JacAtomicFile *file;
  cairo_status_t status;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (draw != NULL, FALSE);

  if (!jac_figure_format_from_path (path, &format, error)
      || !check_size (&job, format, error))
    return FALSE;
  if (format == JAC_FIGURE_TIKZ)
    return _jac_tikz_save (path, width, height, scale, medium, draw, user_data, error);

  file = jac_atomic_file_new (path, error);
  if (file == NULL)
    return FALSE;
  writer.stream = jac_atomic_file_get_stream (file);
  status = write_figure (format, &writer, &job);
  if (status != CAIRO_STATUS_SUCCESS || writer.failed)
    {
      jac_atomic_file_abort (file);
      if (writer.failed)
        g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot write %s: %s", path,
                     g_strerror (writer.saved_errno != 0 ? writer.saved_errno : EIO));
      else if (status == CAIRO_STATUS_NO_MEMORY)
        g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                     "not enough memory to draw a %g×%g figure for %s", width, height, path);
      else
        g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot draw %s: %s", path,
                     cairo_status_to_string (status));
      return FALSE;
    }
  return jac_atomic_file_commit (file, error);
}
