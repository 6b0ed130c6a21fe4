/* jac-step-controls.c: the sidebar's controls of one step: the RNN step's sizes, its data, the
 * figure's choices. Its widgets are its template's (jac-step-controls.ui), bound to the session;
 * the window says what to show through the setters below. */
#define G_LOG_DOMAIN "jac-step-controls"

#include "jac-step-controls.h"

struct _JacStepControls
{
  GtkWidget parent_instance;

  /* template widgets: the session is bound to them, the window says what to show */
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

G_DEFINE_FINAL_TYPE (JacStepControls, jac_step_controls, GTK_TYPE_WIDGET)

static void
jac_step_controls_dispose (GObject *object)
{
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (object), JAC_TYPE_STEP_CONTROLS);
  /* The template's root too, which has no name to be cleared by. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (jac_step_controls_parent_class)->dispose (object);
}

static void
jac_step_controls_class_init (JacStepControlsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jac_step_controls_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/jacscope/Jacscope/jac-step-controls.ui");
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, sizes_group);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, batch_spin);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, input_spin);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, hidden_spin);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, activation_row);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, b_shape_row);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, upstream_row);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, upstream_label);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, upstream_dropdown);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, loaded_row);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, loaded_label);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, load_menu_button);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, clear_loaded_button);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, colormap_row);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, contraction_row);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, row_view_row);
  gtk_widget_class_bind_template_child (widget_class, JacStepControls, row_spin);
}

static void
jac_step_controls_init (JacStepControls *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
jac_step_controls_new (void)
{
  return g_object_new (JAC_TYPE_STEP_CONTROLS, NULL);
}

static void
bind_spin (JacSession    *session,
           const char    *property,
           GtkSpinButton *spin)
{
  g_object_bind_property (session, property, gtk_spin_button_get_adjustment (spin), "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
}

void
jac_step_controls_bind_session (JacStepControls *self,
                                JacSession      *session)
{
  g_return_if_fail (JAC_IS_STEP_CONTROLS (self));
  g_return_if_fail (JAC_IS_SESSION (session));

  bind_spin (session, "batch", self->batch_spin);
  bind_spin (session, "input", self->input_spin);
  bind_spin (session, "hidden", self->hidden_spin);
  bind_spin (session, "seed", self->seed_spin);
  bind_spin (session, "row", self->row_spin);
  jac_session_bind_position (session, "activation", self->activation_row, "selected");
  jac_session_bind_position (session, "upstream", self->upstream_dropdown, "selected");
  jac_session_bind_position (session, "colormap", self->colormap_row, "selected");
  g_object_bind_property (session, "row-view", self->row_spin, "sensitive",
                          G_BINDING_SYNC_CREATE);
}

void
jac_step_controls_set_rnn_mode (JacStepControls *self,
                                gboolean         rnn_mode)
{
  g_return_if_fail (JAC_IS_STEP_CONTROLS (self));

  gtk_widget_set_visible (GTK_WIDGET (self->sizes_group), rnn_mode);
  gtk_widget_set_visible (GTK_WIDGET (self->activation_row), rnn_mode);
  gtk_widget_set_visible (self->b_shape_row, rnn_mode);
}

void
jac_step_controls_set_one_step (JacStepControls *self,
                                gboolean         one_step)
{
  g_return_if_fail (JAC_IS_STEP_CONTROLS (self));

  gtk_widget_set_visible (self->upstream_row, one_step);
  gtk_widget_set_visible (self->loaded_row, one_step);
  gtk_widget_set_visible (self->contraction_row, one_step);
  gtk_widget_set_visible (self->row_view_row, one_step);
}

void
jac_step_controls_set_sizes_fixed (JacStepControls *self,
                                   gboolean         batch_fixed,
                                   gboolean         input_fixed,
                                   gboolean         hidden_fixed)
{
  g_return_if_fail (JAC_IS_STEP_CONTROLS (self));

  gtk_widget_set_sensitive (GTK_WIDGET (self->batch_spin), !batch_fixed);
  gtk_widget_set_sensitive (GTK_WIDGET (self->input_spin), !input_fixed);
  gtk_widget_set_sensitive (GTK_WIDGET (self->hidden_spin), !hidden_fixed);
}

void
jac_step_controls_set_upstream_markup (JacStepControls *self,
                                       const char      *markup)
{
  g_return_if_fail (JAC_IS_STEP_CONTROLS (self));
  g_return_if_fail (markup != NULL);

  gtk_label_set_markup (self->upstream_label, markup);
}

void
jac_step_controls_set_loaded (JacStepControls *self,
                              const char      *markup)
{
  g_return_if_fail (JAC_IS_STEP_CONTROLS (self));

  gtk_label_set_markup (self->loaded_label, markup != NULL ? markup : "All variables random");
  gtk_widget_set_sensitive (GTK_WIDGET (self->clear_loaded_button), markup != NULL);
}

void
jac_step_controls_set_rows (JacStepControls *self,
                            gsize            rows)
{
  g_return_if_fail (JAC_IS_STEP_CONTROLS (self));

  gtk_spin_button_set_range (self->row_spin, 0, rows - 1);
}

void
jac_step_controls_set_load_menu (JacStepControls *self,
                                 GMenuModel      *menu)
{
  g_return_if_fail (JAC_IS_STEP_CONTROLS (self));
  g_return_if_fail (menu == NULL || G_IS_MENU_MODEL (menu));

  gtk_menu_button_set_menu_model (self->load_menu_button, menu);
}

void
jac_step_controls_popup_load_menu (JacStepControls *self)
{
  g_return_if_fail (JAC_IS_STEP_CONTROLS (self));

  gtk_menu_button_popup (self->load_menu_button);
}
