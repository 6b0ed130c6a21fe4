/* jac-figure-view.h: the Jacobian figure on screen, with zoom, pan, hover and highlight. */
#pragma once

#include <gtk/gtk.h>

#include "render/jac-figure.h"

G_BEGIN_DECLS

#define JAC_TYPE_FIGURE_VIEW (jac_figure_view_get_type ())

G_DECLARE_FINAL_TYPE (JacFigureView, jac_figure_view, JAC, FIGURE_VIEW, GtkWidget)

#define JAC_FIGURE_VIEW_MAX_ZOOM 2000.0

GtkWidget  *jac_figure_view_new            (void);
/* Takes @analysis, and frees it when replaced. */
void        jac_figure_view_set_analysis   (JacFigureView        *self,
                                            JacAnalysis          *analysis);
const JacAnalysis *jac_figure_view_get_analysis (JacFigureView   *self);
/* Copies @style; the view supplies `dark` from the theme and the highlight from the pointer. */
void        jac_figure_view_set_style      (JacFigureView        *self,
                                            const JacFigureStyle *style);
/* The style the view draws with, without the hover highlight: what an export should use. */
void        jac_figure_view_get_style      (JacFigureView        *self,
                                            JacFigureStyle       *style);
double      jac_figure_view_get_zoom       (JacFigureView        *self);
gboolean    jac_figure_view_is_current     (JacFigureView        *self);
void        jac_figure_view_set_zoom       (JacFigureView        *self,
                                            double                zoom);
/* Multiplies the zoom by @factor, keeping the point (@x, @y) of the widget in place. */
void        jac_figure_view_zoom_at        (JacFigureView        *self,
                                            double                factor,
                                            double                x,
                                            double                y);
void        jac_figure_view_pan_by         (JacFigureView        *self,
                                            double                dx,
                                            double                dy);
const char *jac_figure_view_get_hover_text (JacFigureView        *self);
/* The cell outlined under the pointer, if any. */
gboolean    jac_figure_view_get_highlight  (JacFigureView        *self,
                                            JacFigureHit         *hit);
gboolean    jac_figure_view_get_dark       (JacFigureView        *self);

G_END_DECLS
