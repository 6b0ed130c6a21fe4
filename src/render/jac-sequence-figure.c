/* jac-sequence-figure.c: the through-time figure: blocks of ∂h_T/∂h_{T−k} beside log₁₀ of their
 * norms; the whole figure drawn, saved and its texts recorded (the panels live in
 * jac-sequence-layout.c, -blocks.c and -plot.c). */
#define G_LOG_DOMAIN "jac-sequence-figure"

#include <math.h>
#include <string.h>

#include "jac-render-tikz-private.h"
#include "jac-sequence-figure-private.h"

#define DEFAULT_MAX_BLOCKS 16

void
jac_sequence_view_init (JacSequenceView *view)
{
  g_return_if_fail (view != NULL);

  memset (view, 0, sizeof *view);
  view->lag = 1;
  view->shared_range = FALSE;
  view->norm = JAC_SEQUENCE_NORM_SPECTRAL;
  view->max_blocks = DEFAULT_MAX_BLOCKS;
}

/* ---- text ---- */


/* Notes where @label lands on the figure, in figure units whatever the scale, rotation
 * included, for tests that check the layout. */
static void
record_label (JacSequencePainter *p,
              const JacLabel     *label)
{
  double corners[4][2] = {
    { label->x, label->y }, { label->x + label->width, label->y },
    { label->x, label->y + label->height }, { label->x + label->width, label->y + label->height },
  };
  double x0 = G_MAXDOUBLE, y0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE, y1 = -G_MAXDOUBLE;
  JacTextRect rect;

  for (guint c = 0; c < 4; c++)
    {
      cairo_user_to_device (p->cr, &corners[c][0], &corners[c][1]);
      cairo_matrix_transform_point (&p->to_figure, &corners[c][0], &corners[c][1]);
      x0 = MIN (x0, corners[c][0]);
      y0 = MIN (y0, corners[c][1]);
      x1 = MAX (x1, corners[c][0]);
      y1 = MAX (y1, corners[c][1]);
    }
  rect = (JacTextRect) { g_strdup (pango_layout_get_text (label->layout)),
                         x0, y0, x1 - x0, y1 - y0, label->min_size, p->in_cell };
  g_array_append_val (p->record, rect);
}

void
_jac_sequence_paint_label (JacSequencePainter *p,
                           const JacLabel     *label,
                           const JacRgb       *rgb)
{
  _jac_figure_paint_label (p->cr, label, rgb);
  if (p->record != NULL)
    record_label (p, label);
}

double
_jac_sequence_show_text (JacSequencePainter *p,
                         const char         *markup,
                         double              size,
                         gboolean            bold,
                         double              x,
                         double              y,
                         double              xalign,
                         double              yalign,
                         const JacRgb       *rgb)
{
  JacLabel *label = _jac_label_new (p->context, markup, size, bold, -1);
  double w = label->width;

  _jac_label_place (label, x, y, xalign, yalign);
  _jac_sequence_paint_label (p, label, rgb);
  _jac_label_free (label);
  return w;
}

/* Recorded as a value (in_cell) when the painter keeps a record. */
void
_jac_sequence_show_inner_text (JacSequencePainter *p,
                               const char         *markup,
                               double              size,
                               gboolean            bold,
                               double              x,
                               double              y,
                               double              xalign,
                               double              yalign,
                               const JacRgb       *rgb)
{
  p->in_cell = TRUE;
  _jac_sequence_show_text (p, markup, size, bold, x, y, xalign, yalign, rgb);
  p->in_cell = FALSE;
}

/* ---- the whole figure ---- */

static void
draw_figure (cairo_t                *cr,
             const JacSequenceScene *scene,
             GArray                 *record)
{
  JacSequenceLayout l;
  JacSequencePainter p = { cr, _jac_text_context_new (cr), &l, record, .scene = scene };

  /* Recorded boxes are in figure units: undo whatever scale the target draws at. */
  cairo_get_matrix (cr, &p.to_figure);
  if (cairo_matrix_invert (&p.to_figure) != CAIRO_STATUS_SUCCESS)
    cairo_matrix_init_identity (&p.to_figure);
  _jac_sequence_layout_init (&l, p.context, scene);
  cairo_save (cr);
  _jac_set_source_rgb (cr, &l.palette.background);
  cairo_rectangle (cr, 0, 0, scene->width, scene->height);
  cairo_fill (cr);
  _jac_sequence_paint_label (&p, l.title, &l.palette.ink);
  if (l.subtitle != NULL)
    _jac_sequence_paint_label (&p, l.subtitle, &l.palette.faint_ink);
  if (!(l.dropped & JAC_SEQUENCE_DROP_BLOCKS))
    _jac_sequence_draw_blocks (&p);
  _jac_sequence_draw_plot (&p);
  _jac_sequence_paint_label (&p, l.answer, &l.palette.ink);
  _jac_sequence_paint_label (&p, l.why, &l.palette.ink);
  if (l.left_out != NULL)
    _jac_sequence_paint_label (&p, l.left_out, &l.palette.faint_ink);
  cairo_restore (cr);
  _jac_sequence_layout_clear (&l);
  g_object_unref (p.context);
}

void
jac_sequence_figure_draw (cairo_t                *cr,
                          double                  width,
                          double                  height,
                          const JacSequence      *sequence,
                          const JacStructured    *jacobian,
                          const JacSequenceNorms *norms,
                          const JacSequenceView  *view,
                          const JacFigureStyle   *style)
{
  JacSequenceScene scene = { width, height, sequence, jacobian, norms, NULL, NULL, view, style };

  g_return_if_fail (cr != NULL);
  g_return_if_fail (sequence != NULL);
  g_return_if_fail (view != NULL);
  g_return_if_fail (style != NULL);

  draw_figure (cr, &scene, NULL);
}

static void
text_rect_clear (gpointer data)
{
  JacTextRect *rect = data;

  g_clear_pointer (&rect->text, g_free);
}

GArray *
_jac_sequence_figure_text_rects (double                  width,
                                 double                  height,
                                 double                  scale,
                                 const JacSequence      *sequence,
                                 const JacStructured    *jacobian,
                                 const JacSequenceNorms *norms,
                                 const JacSequenceView  *view,
                                 const JacFigureStyle   *style)
{
  JacSequenceScene scene = { width, height, sequence, jacobian, norms, NULL, NULL, view, style };
  GArray *rects = g_array_new (FALSE, FALSE, sizeof (JacTextRect));
  cairo_surface_t *surface;
  cairo_t *cr;

  g_return_val_if_fail (sequence != NULL && view != NULL && style != NULL, rects);
  g_return_val_if_fail (scale > 0 && isfinite (scale), rects);

  g_array_set_clear_func (rects, text_rect_clear);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) ceil (width * scale),
                                        (int) ceil (height * scale));
  cr = cairo_create (surface);
  cairo_scale (cr, scale, scale);
  draw_figure (cr, &scene, rects);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
  return rects;
}

/* ---- files ---- */

void
_jac_sequence_scene_draw_cb (cairo_t  *cr,
                             double    width,
                             double    height,
                             gpointer  user_data)
{
  JacSequenceScene scene = *(const JacSequenceScene *) user_data;

  scene.width = width;
  scene.height = height;
  if (scene.cells != NULL)
    _jac_sequence_compare_draw (cr, &scene);
  else
    draw_figure (cr, &scene, NULL);
}

gboolean
jac_sequence_figure_save (const char              *path,
                          double                   width,
                          double                   height,
                          double                   scale,
                          const JacSequence       *sequence,
                          const JacStructured     *jacobian,
                          const JacSequenceNorms  *norms,
                          const JacSequenceView   *view,
                          const JacFigureStyle    *style,
                          GError                 **error)
{
  JacSequenceScene scene = { width, height, sequence, jacobian, norms, NULL, NULL, view, style };

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (sequence != NULL, FALSE);
  g_return_val_if_fail (view != NULL, FALSE);
  g_return_val_if_fail (style != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _jac_render_save (path, width, height, scale, style->medium, "Jacobian through time",
                           _jac_sequence_scene_draw_cb, &scene, error);
}
