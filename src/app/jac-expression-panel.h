/* jac-expression-panel.h: the sidebar's Expression panel: the expression, its shapes, the inline
 * error. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define JAC_TYPE_EXPRESSION_PANEL (jac_expression_panel_get_type ())

G_DECLARE_FINAL_TYPE (JacExpressionPanel, jac_expression_panel, JAC, EXPRESSION_PANEL, GtkWidget)

/* Its template's widgets: the window binds them to its session and drives them (see
 * jac-window.c); a panel holds no state of its own. */
struct _JacExpressionPanel
{
  GtkWidget parent_instance;

  AdwPreferencesGroup  *group;
  GtkEntry             *entry;
  GtkMenuButton        *preset_menu_button;
  GtkWidget            *shapes_box;
  GtkEntry             *shapes_entry;
  GtkCheckButton       *hessian_check;   /* "Second derivative": the Hessian of a scalar output */
  GtkWidget            *error_box;
  GtkLabel             *error_label;
  GtkLabel             *caret_label;
};

GtkWidget *jac_expression_panel_new         (void);
/* Shows @message under the entries: its first line wrapped, the rest (the text with a caret
 * under the culprit) never wrapped; marks @culprit (one of the entries, or NULL) as wrong. */
void       jac_expression_panel_show_error (JacExpressionPanel *self,
                                            GtkWidget          *culprit,
                                            const char         *message);
void       jac_expression_panel_clear_error (JacExpressionPanel *self);

G_END_DECLS
