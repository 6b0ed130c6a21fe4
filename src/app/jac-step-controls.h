/* jac-step-controls.h: the sidebar's controls of one step: the RNN step's sizes, its data, the
 * figure's choices. */
#pragma once

#include <adwaita.h>

#include "jac-session.h"

G_BEGIN_DECLS

#define JAC_TYPE_STEP_CONTROLS (jac_step_controls_get_type ())

G_DECLARE_FINAL_TYPE (JacStepControls, jac_step_controls, JAC, STEP_CONTROLS, GtkWidget)

GtkWidget *jac_step_controls_new         (void);
/* Binds the controls to @session, both ways; once. */
void       jac_step_controls_bind_session (JacStepControls *self,
                                           JacSession      *session);
/* The RNN step's own rows (sizes, activation, shape of b), shown while it is on show. */
void       jac_step_controls_set_rnn_mode (JacStepControls *self,
                                           gboolean         rnn_mode);
/* The rows of one step's figure (G, loaded variables, contracted form, one row), hidden
 * through time. */
void       jac_step_controls_set_one_step (JacStepControls *self,
                                           gboolean         one_step);
/* Sizes that a loaded file fixes cannot be changed here. */
void       jac_step_controls_set_sizes_fixed (JacStepControls *self,
                                              gboolean         batch_fixed,
                                              gboolean         input_fixed,
                                              gboolean         hidden_fixed);
void       jac_step_controls_set_upstream_markup (JacStepControls *self,
                                                  const char      *markup);
/* What is loaded, as markup, or NULL when every variable is random. */
void       jac_step_controls_set_loaded   (JacStepControls *self,
                                           const char      *markup);
/* The output rows there are to pick one of. */
void       jac_step_controls_set_rows     (JacStepControls *self,
                                           gsize            rows);
void       jac_step_controls_set_load_menu (JacStepControls *self,
                                            GMenuModel      *menu);
void       jac_step_controls_popup_load_menu (JacStepControls *self);

G_END_DECLS
