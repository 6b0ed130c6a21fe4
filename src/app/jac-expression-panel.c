/* jac-expression-panel.c: the sidebar's Expression panel: the expression, its shapes, the inline
 * error. Its widgets are its template's (jac-expression-panel.ui); the window binds them to the
 * session. */
#define G_LOG_DOMAIN "jac-expression-panel"

#include <string.h>

#include "jac-expression-panel.h"

G_DEFINE_FINAL_TYPE (JacExpressionPanel, jac_expression_panel, GTK_TYPE_WIDGET)

static void
jac_expression_panel_dispose (GObject *object)
{
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (object), JAC_TYPE_EXPRESSION_PANEL);
  /* The template's root too, which has no name to be cleared by. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (jac_expression_panel_parent_class)->dispose (object);
}

static void
jac_expression_panel_class_init (JacExpressionPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jac_expression_panel_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/jacscope/Jacscope/jac-expression-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, JacExpressionPanel, group);
  gtk_widget_class_bind_template_child (widget_class, JacExpressionPanel, entry);
  gtk_widget_class_bind_template_child (widget_class, JacExpressionPanel, preset_menu_button);
  gtk_widget_class_bind_template_child (widget_class, JacExpressionPanel, shapes_box);
  gtk_widget_class_bind_template_child (widget_class, JacExpressionPanel, shapes_entry);
  gtk_widget_class_bind_template_child (widget_class, JacExpressionPanel, hessian_check);
  gtk_widget_class_bind_template_child (widget_class, JacExpressionPanel, error_box);
  gtk_widget_class_bind_template_child (widget_class, JacExpressionPanel, error_label);
  gtk_widget_class_bind_template_child (widget_class, JacExpressionPanel, caret_label);
}

static void
jac_expression_panel_init (JacExpressionPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
jac_expression_panel_new (void)
{
  return g_object_new (JAC_TYPE_EXPRESSION_PANEL, NULL);
}

void
jac_expression_panel_show_error (JacExpressionPanel *self,
                                 GtkWidget          *culprit,
                                 const char         *message)
{
  const char *newline;
  g_autofree char *headline = NULL;

  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));
  g_return_if_fail (culprit == NULL || GTK_IS_WIDGET (culprit));
  g_return_if_fail (message != NULL);

  newline = strchr (message, '\n');
  headline = g_strndup (message, newline != NULL ? (gsize) (newline - message) : strlen (message));
  gtk_label_set_text (self->error_label, headline);
  gtk_label_set_text (self->caret_label, newline != NULL ? newline + 1 : "");
  gtk_widget_set_visible (gtk_widget_get_parent (GTK_WIDGET (self->caret_label)), newline != NULL);
  gtk_widget_set_visible (self->error_box, TRUE);
  gtk_widget_remove_css_class (GTK_WIDGET (self->entry), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->shapes_entry), "error");
  if (culprit != NULL)
    gtk_widget_add_css_class (culprit, "error");
}

void
jac_expression_panel_clear_error (JacExpressionPanel *self)
{
  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));

  gtk_widget_set_visible (self->error_box, FALSE);
  gtk_widget_remove_css_class (GTK_WIDGET (self->entry), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->shapes_entry), "error");
}
