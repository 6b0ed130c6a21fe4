/* jac-session.c: the application's state, as typed properties with their defaults in one place.
 *
 * A window shows one session: its controls are bound to these properties, its "win." actions
 * are GPropertyActions on them, its history (undo) watches them and the settings that persist
 * are bound to them. Each property's default is the one in its GParamSpec, which init and
 * jac_session_reset () read; the GSettings schema's defaults equal them (the tests compare). */
#define G_LOG_DOMAIN "jac-session"

#include <math.h>

#include "jac-session-private.h"

G_DEFINE_FINAL_TYPE (JacSession, jac_session, G_TYPE_OBJECT)

typedef enum
{
  PROP_0,
  PROP_BATCH,
  PROP_INPUT,
  PROP_HIDDEN,
  PROP_SEED,
  PROP_ACTIVATION,
  PROP_B_SHAPE,
  PROP_UPSTREAM,
  PROP_WRT,
  PROP_EXPRESSION,
  PROP_SHAPES,
  PROP_LAYOUT,
  PROP_COLORMAP,
  PROP_SHOW_VALUES,
  PROP_SHOW_CONTRACTION,
  PROP_ROW_VIEW,
  PROP_ROW,
  PROP_EXPORT_SCALE,
  PROP_PRESENTATION,
  PROP_TEXT_SCALE,
  PROP_SHOW_SIDEBAR,
  PROP_SHOW_DERIVATION,
  PROP_SHOW_ALL_STEPS,
  PROP_DARK_STYLE,
  PROP_VIEW,
  PROP_CELL,
  PROP_STEPS,   /* before the lag, which it bounds */
  PROP_LAG,
  PROP_GAIN,
  PROP_ORTHOGONAL,
  PROP_NORM,
  PROP_SHARED_RANGE,
  PROP_HESSIAN,
  N_PROPS
} JacSessionProperty;

static GParamSpec *properties[N_PROPS];
/* Where each property's field lies in the instance. */
static gsize offsets[N_PROPS];

static const char * const undoable_properties[] = {
  "batch", "input", "hidden", "seed", "activation", "b-shape", "upstream", "wrt", "expression",
  "shapes", "layout", "colormap", "show-values", "show-contraction", "row-view", "row", "view",
  "cell", "steps", "lag", "gain", "orthogonal", "norm", "shared-range", NULL,
};

/* The expression comes before its variable (wrt), so that the variable is there to find. */
static const char * const persistent_properties[] = {
  "batch", "input", "hidden", "activation", "b-shape", "upstream", "shapes", "expression", "wrt",
  "layout", "colormap", "show-values", "show-contraction", "text-scale", "export-scale",
  "show-sidebar", "show-derivation", "hessian", NULL,
};

#define FIELD(self, prop_id, type) ((type *) (gpointer) ((guint8 *) (self) + offsets[prop_id]))

/* Stores @value in the property's field; FALSE when that changes nothing (or the value is not
 * one the state takes: a NULL string, the upstream kind only --grad makes). */
static gboolean
store (JacSession   *self,
       guint         prop_id,
       const GValue *value)
{
  switch (G_TYPE_FUNDAMENTAL (G_PARAM_SPEC_VALUE_TYPE (properties[prop_id])))
    {
    case G_TYPE_INT:
      {
        int *field = FIELD (self, prop_id, int);
        int v = g_value_get_int (value);

        if (prop_id == PROP_LAG)
          v = MIN (v, self->steps);
        if (*field == v)
          return FALSE;
        *field = v;
        return TRUE;
      }
    case G_TYPE_ENUM:
      {
        int *field = FIELD (self, prop_id, int);
        int v = g_value_get_enum (value);

        if (*field == v || (prop_id == PROP_UPSTREAM && v == JAC_UPSTREAM_GIVEN))
          return FALSE;
        *field = v;
        return TRUE;
      }
    case G_TYPE_BOOLEAN:
      {
        gboolean *field = FIELD (self, prop_id, gboolean);
        gboolean v = g_value_get_boolean (value);

        if (*field == v)
          return FALSE;
        *field = v;
        return TRUE;
      }
    case G_TYPE_DOUBLE:
      {
        double *field = FIELD (self, prop_id, double);
        double v = g_value_get_double (value);

        if (*field == v)
          return FALSE;
        *field = v;
        return TRUE;
      }
    case G_TYPE_STRING:
      {
        char **field = FIELD (self, prop_id, char *);
        const char *v = g_value_get_string (value);

        if (v == NULL || g_strcmp0 (*field, v) == 0)
          return FALSE;
        g_free (*field);
        *field = g_strdup (v);
        return TRUE;
      }
    default:
      g_assert_not_reached ();
    }
}

static void
jac_session_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  JacSession *self = JAC_SESSION (object);

  if (prop_id == PROP_0 || prop_id >= N_PROPS)
    {
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }
  if (!store (self, prop_id, value))
    return;
  g_object_notify_by_pspec (object, pspec);
  /* k ≤ T: fewer steps take the lag down with them. */
  if (prop_id == PROP_STEPS && self->lag > self->steps)
    {
      self->lag = self->steps;
      g_object_notify_by_pspec (object, properties[PROP_LAG]);
    }
}

static void
jac_session_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  JacSession *self = JAC_SESSION (object);

  if (prop_id == PROP_0 || prop_id >= N_PROPS)
    {
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }
  switch (G_TYPE_FUNDAMENTAL (G_PARAM_SPEC_VALUE_TYPE (pspec)))
    {
    case G_TYPE_INT: g_value_set_int (value, *FIELD (self, prop_id, int)); break;
    case G_TYPE_ENUM: g_value_set_enum (value, *FIELD (self, prop_id, int)); break;
    case G_TYPE_BOOLEAN: g_value_set_boolean (value, *FIELD (self, prop_id, gboolean)); break;
    case G_TYPE_DOUBLE: g_value_set_double (value, *FIELD (self, prop_id, double)); break;
    case G_TYPE_STRING: g_value_set_string (value, *FIELD (self, prop_id, char *)); break;
    default: g_assert_not_reached ();
    }
}

static void
jac_session_finalize (GObject *object)
{
  JacSession *self = JAC_SESSION (object);

  g_clear_pointer (&self->wrt, g_free);
  g_clear_pointer (&self->expression, g_free);
  g_clear_pointer (&self->shapes, g_free);

  G_OBJECT_CLASS (jac_session_parent_class)->finalize (object);
}

#define FLAGS (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)

static void
add_int (guint       prop_id,
         const char *name,
         gsize       offset,
         int         min,
         int         max,
         int         default_value)
{
  properties[prop_id] = g_param_spec_int (name, NULL, NULL, min, max, default_value, FLAGS);
  offsets[prop_id] = offset;
}

static void
add_double (guint       prop_id,
            const char *name,
            gsize       offset,
            double      min,
            double      max,
            double      default_value)
{
  properties[prop_id] = g_param_spec_double (name, NULL, NULL, min, max, default_value, FLAGS);
  offsets[prop_id] = offset;
}

static void
add_boolean (guint       prop_id,
             const char *name,
             gsize       offset,
             gboolean    default_value)
{
  properties[prop_id] = g_param_spec_boolean (name, NULL, NULL, default_value, FLAGS);
  offsets[prop_id] = offset;
}

static void
add_enum (guint       prop_id,
          const char *name,
          gsize       offset,
          GType       type,
          int         default_value)
{
  g_assert (sizeof (JacLayout) == sizeof (int));
  properties[prop_id] = g_param_spec_enum (name, NULL, NULL, type, default_value, FLAGS);
  offsets[prop_id] = offset;
}

static void
add_string (guint       prop_id,
            const char *name,
            gsize       offset,
            const char *default_value)
{
  properties[prop_id] = g_param_spec_string (name, NULL, NULL, default_value, FLAGS);
  offsets[prop_id] = offset;
}

#define AT(field) G_STRUCT_OFFSET (JacSession, field)

static void
jac_session_class_init (JacSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = jac_session_get_property;
  object_class->set_property = jac_session_set_property;
  object_class->finalize = jac_session_finalize;

  /* The defaults, once. */
  add_int (PROP_BATCH, "batch", AT (batch), 1, JAC_SESSION_MAX_BATCH, 2);
  add_int (PROP_INPUT, "input", AT (input), 1, JAC_SESSION_MAX_SIZE, 3);
  add_int (PROP_HIDDEN, "hidden", AT (hidden), 1, JAC_SESSION_MAX_SIZE, 3);
  add_int (PROP_SEED, "seed", AT (seed), 0, G_MAXINT, 1);
  add_enum (PROP_ACTIVATION, "activation", AT (activation), JAC_TYPE_ACTIVATION,
            JAC_ACTIVATION_TANH);
  add_enum (PROP_B_SHAPE, "b-shape", AT (b_shape), JAC_TYPE_BIAS_SHAPE, JAC_BIAS_SHAPE_H);
  add_enum (PROP_UPSTREAM, "upstream", AT (upstream), JAC_TYPE_UPSTREAM_KIND,
            JAC_UPSTREAM_ONES);
  add_string (PROP_WRT, "wrt", AT (wrt), "h_prev");
  add_string (PROP_EXPRESSION, "expression", AT (expression), "");
  add_string (PROP_SHAPES, "shapes", AT (shapes), "");
  add_enum (PROP_LAYOUT, "layout", AT (layout), JAC_TYPE_LAYOUT, JAC_LAYOUT_NUMERATOR);
  add_enum (PROP_COLORMAP, "colormap", AT (colormap), JAC_TYPE_COLORMAP, JAC_COLORMAP_BLUE_RED);
  add_boolean (PROP_SHOW_VALUES, "show-values", AT (show_values), TRUE);
  add_boolean (PROP_SHOW_CONTRACTION, "show-contraction", AT (show_contraction), TRUE);
  add_boolean (PROP_ROW_VIEW, "row-view", AT (row_view), FALSE);
  add_int (PROP_ROW, "row", AT (row), 0, G_MAXINT, 0);
  add_int (PROP_EXPORT_SCALE, "export-scale", AT (export_scale), 1, 3, 2);
  add_boolean (PROP_PRESENTATION, "presentation", AT (presentation), FALSE);
  add_double (PROP_TEXT_SCALE, "text-scale", AT (text_scale), JAC_SESSION_MIN_TEXT_SCALE,
              JAC_SESSION_MAX_TEXT_SCALE, 1.0);
  add_boolean (PROP_SHOW_SIDEBAR, "show-sidebar", AT (show_sidebar), TRUE);
  add_boolean (PROP_SHOW_DERIVATION, "show-derivation", AT (show_derivation), TRUE);
  add_boolean (PROP_SHOW_ALL_STEPS, "show-all-steps", AT (show_all_steps), FALSE);
  add_boolean (PROP_DARK_STYLE, "dark-style", AT (dark_style), FALSE);
  add_enum (PROP_VIEW, "view", AT (view), JAC_TYPE_VIEW, JAC_VIEW_STEP);
  add_enum (PROP_CELL, "cell", AT (cell), JAC_TYPE_CELL, JAC_CELL_RNN);
  add_int (PROP_STEPS, "steps", AT (steps), 1, JAC_SESSION_MAX_STEPS, 40);
  add_int (PROP_LAG, "lag", AT (lag), 1, JAC_SESSION_MAX_STEPS, 10);
  add_double (PROP_GAIN, "gain", AT (gain), 0.0, JAC_SESSION_MAX_GAIN, 1.0);
  add_boolean (PROP_ORTHOGONAL, "orthogonal", AT (orthogonal), FALSE);
  add_enum (PROP_NORM, "norm", AT (norm), JAC_TYPE_SEQUENCE_NORM, JAC_SEQUENCE_NORM_SPECTRAL);
  add_boolean (PROP_SHARED_RANGE, "shared-range", AT (shared_range), FALSE);
  add_boolean (PROP_HESSIAN, "hessian", AT (hessian), FALSE);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
jac_session_init (JacSession *self)
{
  /* Every field from its pspec's default: the one place they are written. */
  for (guint k = 1; k < N_PROPS; k++)
    {
      GValue value = G_VALUE_INIT;

      g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (properties[k]));
      g_param_value_set_default (properties[k], &value);
      store (self, k, &value);
      g_value_unset (&value);
    }
}

JacSession *
jac_session_new (void)
{
  return g_object_new (JAC_TYPE_SESSION, NULL);
}

void
jac_session_reset (JacSession         *self,
                   const char * const *names)
{
  g_return_if_fail (JAC_IS_SESSION (self));

  g_object_freeze_notify (G_OBJECT (self));
  for (guint k = 1; k < N_PROPS; k++)
    {
      GValue value = G_VALUE_INIT;

      if (names != NULL && !g_strv_contains (names, properties[k]->name))
        continue;
      g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (properties[k]));
      g_param_value_set_default (properties[k], &value);
      g_object_set_property (G_OBJECT (self), properties[k]->name, &value);
      g_value_unset (&value);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

const char * const *
jac_session_list_properties (void)
{
  static const char **names;

  if (g_once_init_enter (&names))
    {
      /* The pspecs exist once the class does. */
      g_autoptr(GTypeClass) klass = g_type_class_ref (JAC_TYPE_SESSION);
      const char **list = g_new0 (const char *, N_PROPS);

      g_assert (G_IS_OBJECT_CLASS (klass));

      for (guint k = 1; k < N_PROPS; k++)
        list[k - 1] = properties[k]->name;
      g_once_init_leave (&names, list);
    }
  return names;
}

const char * const *
jac_session_undoable_properties (void)
{
  return undoable_properties;
}

const char * const *
jac_session_persistent_properties (void)
{
  return persistent_properties;
}

/* An enum property's action: its state the nick, as a GPropertyAction's would be, but a name
 * that is none of the enum's leaves the state as it was (a GPropertyAction would set the first
 * value). */
static void
enum_action_change_state_cb (GSimpleAction *action,
                             GVariant      *state,
                             gpointer       user_data)
{
  JacSession *self = user_data;
  const char *property = g_action_get_name (G_ACTION (action));
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (self), property);
  g_autoptr(GEnumClass) klass = g_type_class_ref (G_PARAM_SPEC_VALUE_TYPE (pspec));
  const GEnumValue *value = g_enum_get_value_by_nick (klass, g_variant_get_string (state, NULL));

  if (value != NULL)
    g_object_set (self, property, value->value, NULL);
}

static void
enum_action_notify_cb (JacSession    *self,
                       GParamSpec    *pspec,
                       GSimpleAction *action)
{
  g_simple_action_set_state (action,
                             g_variant_new_string (jac_session_get_nick (self, pspec->name)));
}

static GAction *
enum_action_new (JacSession *self,
                 GParamSpec *pspec)
{
  GSimpleAction *action;
  g_autofree char *signal = g_strconcat ("notify::", pspec->name, NULL);

  action = g_simple_action_new_stateful (pspec->name, G_VARIANT_TYPE_STRING,
                                         g_variant_new_string (jac_session_get_nick (self,
                                                                                     pspec->name)));
  g_signal_connect_object (action, "change-state", G_CALLBACK (enum_action_change_state_cb),
                           self, 0);
  g_signal_connect_object (self, signal, G_CALLBACK (enum_action_notify_cb), action, 0);
  return G_ACTION (action);
}

void
jac_session_add_actions (JacSession *self,
                         GActionMap *map)
{
  g_return_if_fail (JAC_IS_SESSION (self));
  g_return_if_fail (G_IS_ACTION_MAP (map));

  for (guint k = 1; k < N_PROPS; k++)
    {
      g_autoptr(GAction) action = NULL;

      if (G_IS_PARAM_SPEC_ENUM (properties[k]))
        action = enum_action_new (self, properties[k]);
      else
        action = G_ACTION (g_property_action_new (properties[k]->name, self,
                                                  properties[k]->name));
      g_action_map_add_action (map, action);
    }
}

void
jac_session_bind_settings (JacSession *self,
                           GSettings  *settings)
{
  g_return_if_fail (JAC_IS_SESSION (self));
  g_return_if_fail (G_IS_SETTINGS (settings));

  for (guint k = 0; persistent_properties[k] != NULL; k++)
    g_settings_bind (settings, persistent_properties[k], self, persistent_properties[k],
                     G_SETTINGS_BIND_DEFAULT);
}

static gboolean
enum_to_nick_cb (GBinding     *binding,
                 const GValue *from,
                 GValue       *to,
                 gpointer      user_data)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (G_VALUE_TYPE (from));
  const GEnumValue *value = g_enum_get_value (klass, g_value_get_enum (from));

  if (value == NULL)
    return FALSE;
  g_value_set_string (to, value->value_nick);
  return TRUE;
}

static gboolean
nick_to_enum_cb (GBinding     *binding,
                 const GValue *from,
                 GValue       *to,
                 gpointer      user_data)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (G_VALUE_TYPE (to));
  const char *nick = g_value_get_string (from);
  const GEnumValue *value = nick != NULL ? g_enum_get_value_by_nick (klass, nick) : NULL;

  if (value == NULL)
    return FALSE;
  g_value_set_enum (to, value->value);
  return TRUE;
}

GBinding *
jac_session_bind_nick (JacSession    *self,
                       const char    *property,
                       gpointer       target,
                       const char    *target_property,
                       GBindingFlags  flags)
{
  g_return_val_if_fail (JAC_IS_SESSION (self), NULL);
  g_return_val_if_fail (G_IS_OBJECT (target), NULL);

  return g_object_bind_property_full (self, property, target, target_property, flags,
                                      enum_to_nick_cb, nick_to_enum_cb, NULL, NULL);
}

/* A drop-down or combo row lists an enum's values in order: its position is the value. */
static gboolean
enum_to_position_cb (GBinding     *binding,
                     const GValue *from,
                     GValue       *to,
                     gpointer      user_data)
{
  g_value_set_uint (to, (guint) g_value_get_enum (from));
  return TRUE;
}

static gboolean
position_to_enum_cb (GBinding     *binding,
                     const GValue *from,
                     GValue       *to,
                     gpointer      user_data)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (G_VALUE_TYPE (to));
  guint position = g_value_get_uint (from);

  if (position > G_MAXINT || g_enum_get_value (klass, (int) position) == NULL)
    return FALSE;
  g_value_set_enum (to, (int) position);
  return TRUE;
}

GBinding *
jac_session_bind_position (JacSession *self,
                           const char *property,
                           gpointer    target,
                           const char *target_property)
{
  g_return_val_if_fail (JAC_IS_SESSION (self), NULL);
  g_return_val_if_fail (G_IS_OBJECT (target), NULL);

  return g_object_bind_property_full (self, property, target, target_property,
                                      G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE,
                                      enum_to_position_cb, position_to_enum_cb, NULL, NULL);
}

void
jac_session_rnn_config (JacSession   *self,
                        JacRnnConfig *config)
{
  g_return_if_fail (JAC_IS_SESSION (self));
  g_return_if_fail (config != NULL);

  jac_rnn_config_init_default (config);
  config->batch = self->batch;
  config->input = self->input;
  config->hidden = self->hidden;
  config->seed = (guint32) self->seed;
  config->b_per_row = self->b_shape == JAC_BIAS_SHAPE_NXH;
  jac_activation_from_name (jac_session_get_nick (self, "activation"), &config->activation);
}

const char *
jac_session_get_nick (JacSession *self,
                      const char *property)
{
  GParamSpec *pspec;
  g_autoptr(GEnumClass) klass = NULL;
  const GEnumValue *value;
  int v = 0;

  g_return_val_if_fail (JAC_IS_SESSION (self), NULL);
  g_return_val_if_fail (property != NULL, NULL);
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (self), property);
  g_return_val_if_fail (pspec != NULL && G_IS_PARAM_SPEC_ENUM (pspec), NULL);

  klass = g_type_class_ref (G_PARAM_SPEC_VALUE_TYPE (pspec));
  g_object_get (self, property, &v, NULL);
  value = g_enum_get_value (klass, v);
  return value != NULL ? g_intern_string (value->value_nick) : NULL;
}
