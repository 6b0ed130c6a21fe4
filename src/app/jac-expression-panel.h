/* jac-expression-panel.h: the sidebar's Expression panel: the expression, its shapes, the
 * second-derivative switch, the inline error. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define JAC_TYPE_EXPRESSION_PANEL (jac_expression_panel_get_type ())

G_DECLARE_FINAL_TYPE (JacExpressionPanel, jac_expression_panel, JAC, EXPRESSION_PANEL, GtkWidget)

/* The entry an error points at. */
typedef enum
{
  JAC_EXPRESSION_FIELD_NONE,
  JAC_EXPRESSION_FIELD_EXPRESSION,
  JAC_EXPRESSION_FIELD_SHAPES,
} JacExpressionField;

/* Signals: "apply" when the user has finished typing (Enter in an entry, or a moment after the
 * last key): the entries' texts are to be read and applied. Property "hessian": the switch. */
GtkWidget  *jac_expression_panel_new               (void);
const char *jac_expression_panel_get_expression    (JacExpressionPanel *self);
const char *jac_expression_panel_get_shapes        (JacExpressionPanel *self);
/* Puts @expression (and @shapes, unless NULL) in the entries as code does, not as typing:
 * no "apply" follows. */
void        jac_expression_panel_set_texts         (JacExpressionPanel *self,
                                                    const char         *expression,
                                                    const char         *shapes);
/* Whether typing is waiting to be applied (what the user types is left alone). */
gboolean    jac_expression_panel_is_typing         (JacExpressionPanel *self);
/* Drops the pending "apply" of what was typed (an example picked meanwhile). */
void        jac_expression_panel_cancel_typing     (JacExpressionPanel *self);
/* An expression of the language shows its shapes entry and the second-derivative switch; the
 * RNN step shows neither. */
void        jac_expression_panel_set_expression_mode (JacExpressionPanel *self,
                                                      gboolean            expression_mode);
/* The second derivative is there for a scalar output only. */
void        jac_expression_panel_set_scalar        (JacExpressionPanel *self,
                                                    gboolean            scalar);
gboolean    jac_expression_panel_get_hessian       (JacExpressionPanel *self);
void        jac_expression_panel_set_hessian       (JacExpressionPanel *self,
                                                    gboolean            hessian);
void        jac_expression_panel_set_preset_menu   (JacExpressionPanel *self,
                                                    GMenuModel         *menu);
void        jac_expression_panel_focus_entry       (JacExpressionPanel *self);
/* Shows @message under the entries: its first line wrapped, the rest (the text with a caret
 * under the culprit) never wrapped; marks @culprit's entry as wrong. */
void        jac_expression_panel_show_error        (JacExpressionPanel *self,
                                                    JacExpressionField  culprit,
                                                    const char         *message);
void        jac_expression_panel_clear_error       (JacExpressionPanel *self);

G_END_DECLS
