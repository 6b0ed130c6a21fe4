/* jac-sequence-controls.h: the sidebar's Through Time controls: steps, orthogonal W_hh, the norm,
 * the colour range. */
#pragma once

#include <adwaita.h>

#include "jac-session.h"

G_BEGIN_DECLS

#define JAC_TYPE_SEQUENCE_CONTROLS (jac_sequence_controls_get_type ())

G_DECLARE_FINAL_TYPE (JacSequenceControls, jac_sequence_controls, JAC, SEQUENCE_CONTROLS,
                      GtkWidget)

GtkWidget *jac_sequence_controls_new          (void);
/* Binds the controls to @session, both ways; once. */
void       jac_sequence_controls_bind_session (JacSequenceControls *self,
                                               JacSession          *session);
/* Adds @row (a control of the window's own, such as the weights' row) to the list at
 * @position. */
void       jac_sequence_controls_insert_row   (JacSequenceControls *self,
                                               GtkWidget           *row,
                                               int                  position);

G_END_DECLS
