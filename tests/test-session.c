/* test-session.c: JacSession, the app's state, on its own: no window, no display. Its defaults,
 * its properties' round trips and limits, undo and redo through it, its actions, and its
 * settings with the memory backend against the schema compiled in the build tree. */
#define G_LOG_DOMAIN "test-session"

#include <math.h>

#include "app/jac-history.h"
#include "app/jac-session-private.h"
#include "jac-test-util.h"


static GParamSpec *
find (JacSession *session,
      const char *name)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (session), name);

  g_assert_nonnull (pspec);
  return pspec;
}

/* A property's value as the GVariant its settings key or action state would hold: enums by nick. */
static GVariant *
property_variant (JacSession *session,
                  const char *name)
{
  GParamSpec *pspec = find (session, name);
  g_auto(GValue) value = G_VALUE_INIT;

  g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (pspec));
  g_object_get_property (G_OBJECT (session), name, &value);
  switch (G_TYPE_FUNDAMENTAL (G_VALUE_TYPE (&value)))
    {
    case G_TYPE_INT: return g_variant_new_int32 (g_value_get_int (&value));
    case G_TYPE_BOOLEAN: return g_variant_new_boolean (g_value_get_boolean (&value));
    case G_TYPE_DOUBLE: return g_variant_new_double (g_value_get_double (&value));
    case G_TYPE_STRING: return g_variant_new_string (g_value_get_string (&value));
    case G_TYPE_ENUM: return g_variant_new_string (jac_session_get_nick (session, name));
    default: g_assert_not_reached ();
    }
}

/* ---- defaults ---- */

static void
test_defaults (void)
{
  g_autoptr(JacSession) session = jac_session_new ();
  const char * const *names = jac_session_list_properties ();

  /* The documented starting point: the RNN step at N = 2, D = H = 3, seed 1, tanh, b of H. */
  g_assert_cmpint (session->batch, ==, 2);
  g_assert_cmpint (session->input, ==, 3);
  g_assert_cmpint (session->hidden, ==, 3);
  g_assert_cmpint (session->seed, ==, 1);
  g_assert_cmpint (session->activation, ==, JAC_ACTIVATION_TANH);
  g_assert_cmpint (session->b_shape, ==, JAC_BIAS_SHAPE_H);
  g_assert_cmpint (session->upstream, ==, JAC_UPSTREAM_ONES);
  g_assert_cmpstr (session->wrt, ==, "h_prev");
  g_assert_cmpstr (session->expression, ==, "");
  g_assert_cmpstr (session->shapes, ==, "");
  g_assert_cmpint (session->layout, ==, JAC_LAYOUT_NUMERATOR);
  g_assert_cmpint (session->colormap, ==, JAC_COLORMAP_BLUE_RED);
  g_assert_true (session->show_values && session->show_contraction);
  g_assert_false (session->row_view || session->presentation || session->show_all_steps);
  g_assert_true (session->show_sidebar && session->show_derivation);
  g_assert_false (session->hessian);
  g_assert_cmpfloat (session->text_scale, ==, 1.0);
  g_assert_cmpint (session->export_scale, ==, 2);
  g_assert_cmpint (session->view, ==, JAC_VIEW_STEP);
  g_assert_cmpint (session->cell, ==, JAC_CELL_RNN);
  g_assert_cmpint (session->steps, ==, 40);
  g_assert_cmpint (session->lag, ==, 10);
  g_assert_cmpfloat (session->gain, ==, 1.0);
  g_assert_cmpint (session->norm, ==, JAC_SEQUENCE_NORM_SPECTRAL);
  g_assert_false (session->orthogonal || session->shared_range);

  /* Every field is its pspec's default: the one place they are written. */
  g_assert_cmpuint (g_strv_length ((char **) names), ==, 32);
  for (guint k = 0; names[k] != NULL; k++)
    {
      GParamSpec *pspec = find (session, names[k]);
      g_auto(GValue) value = G_VALUE_INIT;

      g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (pspec));
      g_object_get_property (G_OBJECT (session), names[k], &value);
      if (!g_param_value_defaults (pspec, &value))
        g_error ("%s is not its default", names[k]);
    }

  /* The RNN configuration the state describes. */
  {
    JacRnnConfig config;

    g_object_set (session, "activation", JAC_ACTIVATION_RELU, "b-shape", JAC_BIAS_SHAPE_NXH,
                  "batch", 5, "seed", 9, NULL);
    jac_session_rnn_config (session, &config);
    g_assert_cmpuint (config.batch, ==, 5);
    g_assert_cmpuint (config.input, ==, 3);
    g_assert_cmpuint (config.hidden, ==, 3);
    g_assert_cmpuint (config.seed, ==, 9);
    g_assert_true (config.b_per_row);
    g_assert_cmpint (config.activation, ==, JAC_FUNC_RELU);
    g_assert_cmpstr (jac_session_get_nick (session, "activation"), ==, "relu");
    g_assert_cmpstr (jac_session_get_nick (session, "b-shape"), ==, "NxH");
  }

  /* Back to the defaults: some, then all. */
  {
    static const char * const data[] = { "batch", "activation", NULL };

    g_object_set (session, "layout", JAC_LAYOUT_VEC, NULL);
    jac_session_reset (session, data);
    g_assert_cmpint (session->batch, ==, 2);
    g_assert_cmpint (session->activation, ==, JAC_ACTIVATION_TANH);
    g_assert_cmpint (session->seed, ==, 9);
    g_assert_cmpint (session->layout, ==, JAC_LAYOUT_VEC);
    jac_session_reset (session, NULL);
    g_assert_cmpint (session->seed, ==, 1);
    g_assert_cmpint (session->layout, ==, JAC_LAYOUT_NUMERATOR);
    g_assert_cmpint (session->b_shape, ==, JAC_BIAS_SHAPE_H);
  }
}

/* The schema's defaults are the session's: a first run starts where a new session does. */
static void
test_schema_defaults (void)
{
  g_autoptr(JacSession) session = jac_session_new ();
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  const char * const *persistent = jac_session_persistent_properties ();

  g_assert_nonnull (source);
  schema = g_settings_schema_source_lookup (source, "org.jacscope.Jacscope", TRUE);
  g_assert_nonnull (schema);
  for (guint k = 0; persistent[k] != NULL; k++)
    {
      g_autoptr(GSettingsSchemaKey) key = NULL;
      g_autoptr(GVariant) fallback = NULL;
      g_autoptr(GVariant) ours = property_variant (session, persistent[k]);

      g_assert_true (g_settings_schema_has_key (schema, persistent[k]));
      key = g_settings_schema_get_key (schema, persistent[k]);
      fallback = g_settings_schema_key_get_default_value (key);
      if (!g_variant_equal (fallback, ours))
        {
          g_autofree char *a = g_variant_print (fallback, FALSE);
          g_autofree char *b = g_variant_print (ours, FALSE);

          g_error ("%s: the schema says %s, the session %s", persistent[k], a, b);
        }
      /* An enum's every nick is a value the key takes. */
      if (G_IS_PARAM_SPEC_ENUM (find (session, persistent[k])))
        {
          GEnumClass *klass = G_PARAM_SPEC_ENUM (find (session, persistent[k]))->enum_class;

          for (guint v = 0; v < klass->n_values; v++)
            {
              g_autoptr(GVariant) nick = g_variant_new_string (klass->values[v].value_nick);

              if (g_str_equal (persistent[k], "upstream")
                  && klass->values[v].value == JAC_UPSTREAM_GIVEN)
                continue;
              g_variant_ref_sink (nick);
              if (!g_settings_schema_key_range_check (key, nick))
                g_error ("%s: the key does not take “%s”", persistent[k],
                         klass->values[v].value_nick);
            }
        }
    }
}

/* ---- round trips and limits ---- */

static void
count_cb (GObject    *object,
          GParamSpec *pspec,
          guint      *count)
{
  (*count)++;
}

static void
test_round_trip (void)
{
  g_autoptr(JacSession) session = jac_session_new ();
  const char * const *names = jac_session_list_properties ();
  guint notified = 0;

  /* Every property takes a value other than its default and gives it back. */
  for (guint k = 0; names[k] != NULL; k++)
    {
      GParamSpec *pspec = find (session, names[k]);
      g_auto(GValue) in = G_VALUE_INIT;
      g_auto(GValue) out = G_VALUE_INIT;

      g_value_init (&in, G_PARAM_SPEC_VALUE_TYPE (pspec));
      g_value_init (&out, G_PARAM_SPEC_VALUE_TYPE (pspec));
      switch (G_TYPE_FUNDAMENTAL (G_VALUE_TYPE (&in)))
        {
        case G_TYPE_INT:
          g_value_set_int (&in, G_PARAM_SPEC_INT (pspec)->minimum
                                + (G_PARAM_SPEC_INT (pspec)->default_value
                                   == G_PARAM_SPEC_INT (pspec)->minimum));
          break;
        case G_TYPE_DOUBLE:
          g_value_set_double (&in, (G_PARAM_SPEC_DOUBLE (pspec)->minimum
                                    + G_PARAM_SPEC_DOUBLE (pspec)->default_value) / 2);
          break;
        case G_TYPE_BOOLEAN:
          g_value_set_boolean (&in, !G_PARAM_SPEC_BOOLEAN (pspec)->default_value);
          break;
        case G_TYPE_STRING:
          g_value_set_string (&in, "W_hh");
          break;
        case G_TYPE_ENUM:
          g_value_set_enum (&in, G_PARAM_SPEC_ENUM (pspec)->default_value == 0 ? 1 : 0);
          break;
        default:
          g_assert_not_reached ();
        }
      g_assert_false (g_param_value_defaults (pspec, &in));
      g_object_set_property (G_OBJECT (session), names[k], &in);
      g_object_get_property (G_OBJECT (session), names[k], &out);
      if (g_param_values_cmp (pspec, &in, &out) != 0)
        g_error ("%s does not come back as it was set", names[k]);
    }

  /* One notification per change, none for a value it had. */
  jac_session_reset (session, NULL);
  g_signal_connect (session, "notify::batch", G_CALLBACK (count_cb), &notified);
  g_object_set (session, "batch", 7, NULL);
  g_object_set (session, "batch", 7, NULL);
  g_assert_cmpuint (notified, ==, 1);

  /* k ≤ T: a lag past the steps is the last step, fewer steps take the lag down. */
  g_object_set (session, "steps", 12, "lag", 30, NULL);
  g_assert_cmpint (session->lag, ==, 12);
  g_object_set (session, "lag", 11, NULL);
  g_object_set (session, "steps", 5, NULL);
  g_assert_cmpint (session->lag, ==, 5);
  g_object_set (session, "steps", 50, NULL);
  g_assert_cmpint (session->lag, ==, 5);

  /* What the state never holds: the upstream kind only --grad makes, a NULL string. */
  g_object_set (session, "upstream", JAC_UPSTREAM_LOSS, NULL);
  g_object_set (session, "upstream", JAC_UPSTREAM_GIVEN, NULL);
  g_assert_cmpint (session->upstream, ==, JAC_UPSTREAM_LOSS);
  g_object_set (session, "wrt", "x", NULL);
  g_object_set (session, "wrt", NULL, NULL);
  g_assert_cmpstr (session->wrt, ==, "x");
}

/* ---- actions ---- */

static void
test_actions (void)
{
  g_autoptr(JacSession) session = jac_session_new ();
  g_autoptr(GSimpleActionGroup) group = g_simple_action_group_new ();
  g_autoptr(GVariant) state = NULL;

  jac_session_add_actions (session, G_ACTION_MAP (group));
  for (const char * const *name = jac_session_list_properties (); *name != NULL; name++)
    g_assert_true (g_action_group_has_action (G_ACTION_GROUP (group), *name));

  /* An enum's action goes by its nicks, and its state follows the property. */
  g_action_group_activate_action (G_ACTION_GROUP (group), "layout",
                                  g_variant_new_string ("denominator"));
  g_assert_cmpint (session->layout, ==, JAC_LAYOUT_DENOMINATOR);
  g_object_set (session, "layout", JAC_LAYOUT_PER_SAMPLE, NULL);
  state = g_action_group_get_action_state (G_ACTION_GROUP (group), "layout");
  g_assert_cmpstr (g_variant_get_string (state, NULL), ==, "per-sample");
  g_clear_pointer (&state, g_variant_unref);
  /* A name that is none of them changes nothing. */
  g_action_group_activate_action (G_ACTION_GROUP (group), "view",
                                  g_variant_new_string ("sequence"));
  g_action_group_activate_action (G_ACTION_GROUP (group), "view",
                                  g_variant_new_string ("nonsense"));
  g_assert_cmpint (session->view, ==, JAC_VIEW_SEQUENCE);
  g_action_group_activate_action (G_ACTION_GROUP (group), "b-shape",
                                  g_variant_new_string ("NxH"));
  g_assert_cmpint (session->b_shape, ==, JAC_BIAS_SHAPE_NXH);
  g_action_group_activate_action (G_ACTION_GROUP (group), "upstream",
                                  g_variant_new_string ("given"));
  g_assert_cmpint (session->upstream, ==, JAC_UPSTREAM_ONES);

  /* A boolean's toggles, a number's takes its value. */
  g_action_group_activate_action (G_ACTION_GROUP (group), "show-values", NULL);
  g_assert_false (session->show_values);
  g_action_group_activate_action (G_ACTION_GROUP (group), "hidden", g_variant_new_int32 (6));
  g_assert_cmpint (session->hidden, ==, 6);
  g_action_group_activate_action (G_ACTION_GROUP (group), "gain", g_variant_new_double (0.5));
  g_assert_cmpfloat (session->gain, ==, 0.5);
  state = g_action_group_get_action_state (G_ACTION_GROUP (group), "hidden");
  g_assert_cmpint (g_variant_get_int32 (state), ==, 6);
}

/* ---- undo and redo ---- */

static void
test_undo (void)
{
  g_autoptr(JacSession) session = jac_session_new ();
  g_autoptr(JacHistory) history = jac_history_new (G_OBJECT (session),
                                                   jac_session_undoable_properties ());

  g_assert_false (jac_history_can_undo (history));

  /* Three steps, each in its own turn of the main loop and far enough apart. */
  g_object_set (session, "batch", 4, NULL);
  jac_test_spin_for (900);
  g_object_set (session, "layout", JAC_LAYOUT_VEC, NULL);
  jac_test_spin_for (900);
  g_object_set (session, "expression", "X @ Y", "shapes", "X: 2×3, Y: 3×4", NULL);
  jac_test_spin ();

  jac_history_undo (history);
  jac_test_spin ();
  g_assert_cmpstr (session->expression, ==, "");
  g_assert_cmpstr (session->shapes, ==, "");
  g_assert_cmpint (session->layout, ==, JAC_LAYOUT_VEC);
  jac_history_undo (history);
  jac_test_spin ();
  g_assert_cmpint (session->layout, ==, JAC_LAYOUT_NUMERATOR);
  g_assert_cmpint (session->batch, ==, 4);
  jac_history_redo (history);
  jac_test_spin ();
  g_assert_cmpint (session->layout, ==, JAC_LAYOUT_VEC);
  jac_history_undo (history);
  jac_history_undo (history);
  jac_test_spin ();
  g_assert_cmpint (session->batch, ==, 2);
  g_assert_false (jac_history_can_undo (history));
  g_assert_true (jac_history_can_redo (history));

  /* A new change drops what could be redone. */
  jac_test_spin_for (900);
  g_object_set (session, "seed", 5, NULL);
  jac_test_spin ();
  g_assert_false (jac_history_can_redo (history));

  /* A run of changes of one property is one step (typing, a spin button held down). */
  jac_test_spin_for (900);
  g_object_set (session, "hidden", 4, NULL);
  jac_test_spin ();
  g_object_set (session, "hidden", 5, NULL);
  jac_test_spin ();
  g_object_set (session, "hidden", 6, NULL);
  jac_test_spin ();
  jac_history_undo (history);
  jac_test_spin ();
  g_assert_cmpint (session->hidden, ==, 3);
  g_assert_cmpint (session->seed, ==, 5);

  /* The window's chrome is not undone. */
  jac_test_spin_for (900);
  g_object_set (session, "text-scale", 1.15, "show-sidebar", FALSE, NULL);
  jac_test_spin ();
  jac_history_undo (history);
  jac_test_spin ();
  g_assert_cmpint (session->seed, ==, 1);
  g_assert_cmpfloat (session->text_scale, ==, 1.15);
  g_assert_false (session->show_sidebar);
}

/* ---- settings ---- */

static void
test_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("org.jacscope.Jacscope");
  g_autoptr(JacSession) first = jac_session_new ();
  g_autoptr(JacSession) second = NULL;

  /* Saved as it changes: an enum as its nick. */
  jac_session_bind_settings (first, settings);
  g_object_set (first, "batch", 5, "layout", JAC_LAYOUT_PER_SAMPLE, "colormap",
                JAC_COLORMAP_GRAY, "b-shape", JAC_BIAS_SHAPE_NXH, "text-scale", 1.15,
                "expression", "A @ B", "shapes", "A: 2×2, B: 2×2", "wrt", "B", "hessian", TRUE,
                NULL);
  g_assert_true (g_settings_get_boolean (settings, "hessian"));
  g_assert_cmpint (g_settings_get_int (settings, "batch"), ==, 5);
  {
    g_autofree char *layout = g_settings_get_string (settings, "layout");
    g_autofree char *b_shape = g_settings_get_string (settings, "b-shape");

    g_assert_cmpstr (layout, ==, "per-sample");
    g_assert_cmpstr (b_shape, ==, "NxH");
  }

  /* Restored in a new session; what does not persist starts at its default. */
  g_object_set (first, "seed", 8, "view", JAC_VIEW_SEQUENCE, NULL);
  second = jac_session_new ();
  jac_session_bind_settings (second, settings);
  g_assert_cmpint (second->batch, ==, 5);
  g_assert_cmpint (second->layout, ==, JAC_LAYOUT_PER_SAMPLE);
  g_assert_cmpint (second->colormap, ==, JAC_COLORMAP_GRAY);
  g_assert_cmpint (second->b_shape, ==, JAC_BIAS_SHAPE_NXH);
  g_assert_cmpfloat (second->text_scale, ==, 1.15);
  g_assert_cmpstr (second->expression, ==, "A @ B");
  g_assert_cmpstr (second->shapes, ==, "A: 2×2, B: 2×2");
  g_assert_cmpstr (second->wrt, ==, "B");
  g_assert_true (second->hessian);
  g_assert_cmpint (second->seed, ==, 1);
  g_assert_cmpint (second->view, ==, JAC_VIEW_STEP);

  /* A key set elsewhere (another window, dconf) reaches both. */
  g_settings_set_string (settings, "colormap", "purple-green");
  g_assert_cmpint (first->colormap, ==, JAC_COLORMAP_PURPLE_GREEN);
  g_assert_cmpint (second->colormap, ==, JAC_COLORMAP_PURPLE_GREEN);

  for (const char * const *key = jac_session_persistent_properties (); *key != NULL; key++)
    g_settings_reset (settings, *key);
  g_assert_cmpint (second->layout, ==, JAC_LAYOUT_NUMERATOR);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* Memory, never the user's settings (meson's test environment sets the same). */
  g_assert_cmpstr (g_getenv ("GSETTINGS_BACKEND"), ==, "memory");
  g_test_add_func ("/session/defaults", test_defaults);
  g_test_add_func ("/session/schema-defaults", test_schema_defaults);
  g_test_add_func ("/session/round-trip", test_round_trip);
  g_test_add_func ("/session/actions", test_actions);
  g_test_add_func ("/session/undo", test_undo);
  g_test_add_func ("/session/settings", test_settings);
  return g_test_run ();
}
