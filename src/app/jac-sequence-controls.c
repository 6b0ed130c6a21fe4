/* jac-sequence-controls.c: the sidebar's Through Time controls: steps, orthogonal W_hh, the norm,
 * the colour range. Its widgets are its template's (jac-sequence-controls.ui), bound to the
 * session. */
#define G_LOG_DOMAIN "jac-sequence-controls"

#include "jac-sequence-controls.h"

struct _JacSequenceControls
{
  GtkWidget parent_instance;

  /* template widgets */
  AdwPreferencesGroup  *group;
  GtkListBox           *list;
  AdwComboRow          *cell_row;
  GtkSpinButton        *steps_spin;
};

G_DEFINE_FINAL_TYPE (JacSequenceControls, jac_sequence_controls, GTK_TYPE_WIDGET)

static void
jac_sequence_controls_dispose (GObject *object)
{
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (object), JAC_TYPE_SEQUENCE_CONTROLS);
  /* The template's root too, which has no name to be cleared by. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (jac_sequence_controls_parent_class)->dispose (object);
}

static void
jac_sequence_controls_class_init (JacSequenceControlsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jac_sequence_controls_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/jacscope/Jacscope/jac-sequence-controls.ui");
  gtk_widget_class_bind_template_child (widget_class, JacSequenceControls, group);
  gtk_widget_class_bind_template_child (widget_class, JacSequenceControls, list);
  gtk_widget_class_bind_template_child (widget_class, JacSequenceControls, cell_row);
  gtk_widget_class_bind_template_child (widget_class, JacSequenceControls, steps_spin);
}

static void
jac_sequence_controls_init (JacSequenceControls *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
jac_sequence_controls_new (void)
{
  return g_object_new (JAC_TYPE_SEQUENCE_CONTROLS, NULL);
}

void
jac_sequence_controls_bind_session (JacSequenceControls *self,
                                    JacSession          *session)
{
  g_return_if_fail (JAC_IS_SEQUENCE_CONTROLS (self));
  g_return_if_fail (JAC_IS_SESSION (session));

  jac_session_bind_position (session, "cell", self->cell_row, "selected");
  g_object_bind_property (session, "steps", gtk_spin_button_get_adjustment (self->steps_spin),
                          "value", G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
}

void
jac_sequence_controls_insert_row (JacSequenceControls *self,
                                  GtkWidget           *row,
                                  int                  position)
{
  g_return_if_fail (JAC_IS_SEQUENCE_CONTROLS (self));
  g_return_if_fail (GTK_IS_WIDGET (row));

  gtk_list_box_insert (self->list, row, position);
}
