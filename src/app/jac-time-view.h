/* jac-time-view.h: ∂h_T/∂h_{T−k} through time on screen; click or drag on the plot to pick k. */
#pragma once

#include <gtk/gtk.h>

#include "render/jac-sequence-figure.h"

G_BEGIN_DECLS

#define JAC_TYPE_TIME_VIEW (jac_time_view_get_type ())

/* Not "JacSequenceView": render/ already names the figure's view options so. */
G_DECLARE_FINAL_TYPE (JacTimeView, jac_time_view, JAC, TIME_VIEW, GtkWidget)

GtkWidget              *jac_time_view_new           (void);
/* Builds the sequence and all lags' norms again, only when @config differs from the last one;
 * large sizes are computed in a worker thread, with a progress bar and a Cancel button in
 * place of the figure (nothing is on show meanwhile: the getters give NULL). A computation
 * under way for an older config is cancelled. */
void                    jac_time_view_set_config    (JacTimeView             *self,
                                                     const JacSequenceConfig *config);
/* Weights to use instead of drawn ones: a PyTorch state dict as jac_npz_read () gives it, for
 * the config's cell (NULL: drawn from the seed). The view keeps a reference; a new sequence is
 * computed, and a state dict that is not the cell's is the view's error. */
void                    jac_time_view_set_weights   (JacTimeView             *self,
                                                     GHashTable              *state_dict);
/* The lag asked for (property "lag"); the figure follows once its Jacobian is computed. */
int                     jac_time_view_get_lag       (JacTimeView             *self);
void                    jac_time_view_set_lag       (JacTimeView             *self,
                                                     int                      lag);
/* Copies @style; the view supplies `dark` from the theme. */
void                    jac_time_view_set_style     (JacTimeView             *self,
                                                     const JacFigureStyle    *style);
/* The style the view draws with: what an export should use. */
void                    jac_time_view_get_style     (JacTimeView             *self,
                                                     JacFigureStyle          *style);
/* TRUE while the sequence or the lag's Jacobian is being computed in the background. */
gboolean                jac_time_view_get_busy      (JacTimeView             *self);
/* Runs the main loop until nothing is computing, so what the getters give is up to date. */
void                    jac_time_view_wait          (JacTimeView             *self);
/* The lag computed ahead of the slider (the next one in the direction it last moved, once the
 * lag asked for is on show and large enough for a worker), into @lag: TRUE when it is ready. */
gboolean                jac_time_view_get_ahead     (JacTimeView             *self,
                                                     gsize                   *lag);
/* What is on show (NULL before the first computation): the sequence, its norms, the Jacobian
 * at the lag drawn, and the figure's view options (its lag is that Jacobian's). */
const JacSequence      *jac_time_view_get_sequence  (JacTimeView             *self);
const JacSequenceNorms *jac_time_view_get_norms     (JacTimeView             *self);
const JacStructured    *jac_time_view_get_jacobian  (JacTimeView             *self);
void                    jac_time_view_get_view      (JacTimeView             *self,
                                                     JacSequenceView         *view);
/* The last computation's error, or NULL. */
const char             *jac_time_view_get_error     (JacTimeView             *self);
/* Draws the figure as on screen, but in @medium, into @cr, @width × @height in the medium's
 * units; FALSE if there is nothing yet. */
gboolean                jac_time_view_draw          (JacTimeView             *self,
                                                     cairo_t                 *cr,
                                                     double                   width,
                                                     double                   height,
                                                     JacMedium                medium);
/* Saves the figure as on screen, but in @medium, to @path (.png, .svg, .pdf, .tex): @width ×
 * @height in the medium's units (px, or pt for paper), @scale multiplying PNG pixels. */
gboolean                jac_time_view_save          (JacTimeView             *self,
                                                     const char              *path,
                                                     double                   width,
                                                     double                   height,
                                                     double                   scale,
                                                     JacMedium                medium,
                                                     GError                 **error);

G_END_DECLS
