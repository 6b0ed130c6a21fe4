/* jac-step-controls.h: the sidebar's controls of one step: the RNN step's sizes, its data, the
 * figure's choices. */
#pragma once

#include <adwaita.h>

#include "jac-session.h"

G_BEGIN_DECLS

#define JAC_TYPE_STEP_CONTROLS (jac_step_controls_get_type ())

G_DECLARE_FINAL_TYPE (JacStepControls, jac_step_controls, JAC, STEP_CONTROLS, GtkWidget)

/* Its template's widgets: the window binds them to its session and drives them (see
 * jac-window.c); a panel holds no state of its own. */
struct _JacStepControls
{
  GtkWidget parent_instance;

  AdwPreferencesGroup  *sizes_group;
  GtkSpinButton        *batch_spin;
  GtkSpinButton        *input_spin;
  GtkSpinButton        *hidden_spin;
  GtkSpinButton        *seed_spin;
  AdwComboRow          *activation_row;
  GtkWidget            *b_shape_row;
  GtkWidget            *upstream_row;
  GtkLabel             *upstream_label;
  GtkDropDown          *upstream_dropdown;
  GtkWidget            *loaded_row;
  GtkLabel             *loaded_label;
  GtkMenuButton        *load_menu_button;
  GtkButton            *clear_loaded_button;
  AdwComboRow          *colormap_row;
  GtkWidget            *contraction_row;
  GtkWidget            *row_view_row;
  GtkSpinButton        *row_spin;
};

GtkWidget *jac_step_controls_new         (void);
/* Binds the controls to @session, both ways; once. */
void       jac_step_controls_bind_session (JacStepControls *self,
                                           JacSession      *session);

G_END_DECLS
