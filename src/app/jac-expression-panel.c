/* jac-expression-panel.c: the sidebar's Expression panel: the expression, its shapes, the
 * second-derivative switch, the inline error. Its widgets are its template's
 * (jac-expression-panel.ui); it tells the window when typing is done ("apply"), the window tells
 * it what to show. */
#define G_LOG_DOMAIN "jac-expression-panel"

#include <string.h>

#include "jac-expression-panel.h"

#define ENTRY_DELAY_MS 600

struct _JacExpressionPanel
{
  GtkWidget parent_instance;

  /* template widgets */
  AdwPreferencesGroup  *group;
  GtkEntry             *entry;
  GtkMenuButton        *preset_menu_button;
  GtkWidget            *shapes_box;
  GtkEntry             *shapes_entry;
  GtkCheckButton       *hessian_check;   /* "Second derivative": the Hessian of a scalar output */
  GtkWidget            *error_box;
  GtkLabel             *error_label;
  GtkLabel             *caret_label;

  /* owned */
  guint                 entry_source;    /* applies the entries a moment after typing stops */
  gboolean              setting_texts;   /* the entries change from code, not from typing */
};

G_DEFINE_FINAL_TYPE (JacExpressionPanel, jac_expression_panel, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_HESSIAN,
  N_PROPS
};

enum
{
  APPLY,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* ---- callbacks ---- */

static void
apply (JacExpressionPanel *self)
{
  g_clear_handle_id (&self->entry_source, g_source_remove);
  g_signal_emit (self, signals[APPLY], 0);
}

static gboolean
entry_timeout_cb (gpointer user_data)
{
  JacExpressionPanel *self = user_data;

  self->entry_source = 0;
  apply (self);
  return G_SOURCE_REMOVE;
}

static void
entry_changed_cb (JacExpressionPanel *self)
{
  if (self->setting_texts)
    return;
  g_clear_handle_id (&self->entry_source, g_source_remove);
  self->entry_source = g_timeout_add (ENTRY_DELAY_MS, entry_timeout_cb, self);
}

static void
entry_activate_cb (JacExpressionPanel *self)
{
  apply (self);
}

static void
hessian_toggled_cb (JacExpressionPanel *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HESSIAN]);
}

/* ---- GObject ---- */

static void
jac_expression_panel_dispose (GObject *object)
{
  JacExpressionPanel *self = JAC_EXPRESSION_PANEL (object);
  GtkWidget *child;

  g_clear_handle_id (&self->entry_source, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (object), JAC_TYPE_EXPRESSION_PANEL);
  /* The template's root too, which has no name to be cleared by. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (jac_expression_panel_parent_class)->dispose (object);
}

static void
jac_expression_panel_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  JacExpressionPanel *self = JAC_EXPRESSION_PANEL (object);

  switch (prop_id)
    {
    case PROP_HESSIAN:
      g_value_set_boolean (value, jac_expression_panel_get_hessian (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jac_expression_panel_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  JacExpressionPanel *self = JAC_EXPRESSION_PANEL (object);

  switch (prop_id)
    {
    case PROP_HESSIAN:
      jac_expression_panel_set_hessian (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jac_expression_panel_class_init (JacExpressionPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jac_expression_panel_dispose;
  object_class->get_property = jac_expression_panel_get_property;
  object_class->set_property = jac_expression_panel_set_property;

  properties[PROP_HESSIAN] =
    g_param_spec_boolean ("hessian", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  signals[APPLY] = g_signal_new ("apply", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                 NULL, NULL, G_TYPE_NONE, 0);

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
  g_signal_connect_swapped (self->entry, "changed", G_CALLBACK (entry_changed_cb), self);
  g_signal_connect_swapped (self->entry, "activate", G_CALLBACK (entry_activate_cb), self);
  g_signal_connect_swapped (self->shapes_entry, "changed", G_CALLBACK (entry_changed_cb), self);
  g_signal_connect_swapped (self->shapes_entry, "activate", G_CALLBACK (entry_activate_cb),
                            self);
  g_signal_connect_swapped (self->hessian_check, "toggled", G_CALLBACK (hessian_toggled_cb),
                            self);
}

GtkWidget *
jac_expression_panel_new (void)
{
  return g_object_new (JAC_TYPE_EXPRESSION_PANEL, NULL);
}

const char *
jac_expression_panel_get_expression (JacExpressionPanel *self)
{
  g_return_val_if_fail (JAC_IS_EXPRESSION_PANEL (self), NULL);

  return gtk_editable_get_text (GTK_EDITABLE (self->entry));
}

const char *
jac_expression_panel_get_shapes (JacExpressionPanel *self)
{
  g_return_val_if_fail (JAC_IS_EXPRESSION_PANEL (self), NULL);

  return gtk_editable_get_text (GTK_EDITABLE (self->shapes_entry));
}

static void
set_entry_text (GtkEntry   *entry,
                const char *text)
{
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (entry)), text) != 0)
    gtk_editable_set_text (GTK_EDITABLE (entry), text);
}

void
jac_expression_panel_set_texts (JacExpressionPanel *self,
                                const char         *expression,
                                const char         *shapes)
{
  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));
  g_return_if_fail (expression != NULL);

  self->setting_texts = TRUE;
  set_entry_text (self->entry, expression);
  if (shapes != NULL)
    set_entry_text (self->shapes_entry, shapes);
  self->setting_texts = FALSE;
}

gboolean
jac_expression_panel_is_typing (JacExpressionPanel *self)
{
  g_return_val_if_fail (JAC_IS_EXPRESSION_PANEL (self), FALSE);

  return self->entry_source != 0;
}

void
jac_expression_panel_cancel_typing (JacExpressionPanel *self)
{
  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));

  g_clear_handle_id (&self->entry_source, g_source_remove);
}

void
jac_expression_panel_set_expression_mode (JacExpressionPanel *self,
                                          gboolean            expression_mode)
{
  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));

  gtk_widget_set_visible (self->shapes_box, expression_mode);
  gtk_widget_set_visible (GTK_WIDGET (self->hessian_check), expression_mode);
}

void
jac_expression_panel_set_scalar (JacExpressionPanel *self,
                                 gboolean            scalar)
{
  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));

  gtk_widget_set_sensitive (GTK_WIDGET (self->hessian_check), scalar);
}

gboolean
jac_expression_panel_get_hessian (JacExpressionPanel *self)
{
  g_return_val_if_fail (JAC_IS_EXPRESSION_PANEL (self), FALSE);

  return gtk_check_button_get_active (self->hessian_check);
}

void
jac_expression_panel_set_hessian (JacExpressionPanel *self,
                                  gboolean            hessian)
{
  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));

  /* The check's "toggled" notifies. */
  gtk_check_button_set_active (self->hessian_check, hessian);
}

void
jac_expression_panel_set_preset_menu (JacExpressionPanel *self,
                                      GMenuModel         *menu)
{
  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));
  g_return_if_fail (menu == NULL || G_IS_MENU_MODEL (menu));

  gtk_menu_button_set_menu_model (self->preset_menu_button, menu);
}

void
jac_expression_panel_focus_entry (JacExpressionPanel *self)
{
  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->entry));
}

void
jac_expression_panel_show_error (JacExpressionPanel *self,
                                 JacExpressionField  culprit,
                                 const char         *message)
{
  const char *newline;
  g_autofree char *headline = NULL;

  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));
  g_return_if_fail (message != NULL);

  newline = strchr (message, '\n');
  headline = g_strndup (message, newline != NULL ? (gsize) (newline - message) : strlen (message));
  gtk_label_set_text (self->error_label, headline);
  gtk_label_set_text (self->caret_label, newline != NULL ? newline + 1 : "");
  gtk_widget_set_visible (gtk_widget_get_parent (GTK_WIDGET (self->caret_label)), newline != NULL);
  gtk_widget_set_visible (self->error_box, TRUE);
  gtk_widget_remove_css_class (GTK_WIDGET (self->entry), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->shapes_entry), "error");
  if (culprit == JAC_EXPRESSION_FIELD_EXPRESSION)
    gtk_widget_add_css_class (GTK_WIDGET (self->entry), "error");
  else if (culprit == JAC_EXPRESSION_FIELD_SHAPES)
    gtk_widget_add_css_class (GTK_WIDGET (self->shapes_entry), "error");
}

void
jac_expression_panel_clear_error (JacExpressionPanel *self)
{
  g_return_if_fail (JAC_IS_EXPRESSION_PANEL (self));

  gtk_widget_set_visible (self->error_box, FALSE);
  gtk_widget_remove_css_class (GTK_WIDGET (self->entry), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->shapes_entry), "error");
}
