/* jac-sequence-controls.h: the sidebar's Through Time controls: steps, orthogonal W_hh, the norm,
 * the colour range. */
#pragma once

#include <adwaita.h>

#include "jac-session.h"

G_BEGIN_DECLS

#define JAC_TYPE_SEQUENCE_CONTROLS (jac_sequence_controls_get_type ())

G_DECLARE_FINAL_TYPE (JacSequenceControls, jac_sequence_controls, JAC, SEQUENCE_CONTROLS,
                      GtkWidget)

/* Its template's widgets: the window binds them to its session and drives them (see
 * jac-window.c); a panel holds no state of its own. */
struct _JacSequenceControls
{
  GtkWidget parent_instance;

  AdwPreferencesGroup  *group;
  GtkListBox           *list;
  AdwComboRow          *cell_row;
  GtkSpinButton        *steps_spin;
};

GtkWidget *jac_sequence_controls_new          (void);
/* Binds the controls to @session, both ways; once. */
void       jac_sequence_controls_bind_session (JacSequenceControls *self,
                                               JacSession          *session);

G_END_DECLS
