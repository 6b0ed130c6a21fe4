/* jac-history.c: undo and redo of an object's state, as its property changes.
 *
 * Every change of a watched property is recorded with the value before and after. Changes made
 * in the same turn of the main loop are one step (a new expression and the variable the window
 * then picks for it are undone together), and a run of changes of one property in quick
 * succession is one step too (typing, a spin button held down). Undo sets the old values back in
 * the order they were changed, redo the new ones; changes made while doing so are not recorded. */
#define G_LOG_DOMAIN "jac-history"

#include "jac-history.h"

/* Changes of one property closer together than this are one step. */
#define COALESCE_US (800 * G_TIME_SPAN_MILLISECOND)
#define MAX_STEPS 200

typedef struct
{
  GParamSpec *pspec;
  GValue      old_value;
  GValue      new_value;
} Change;

typedef struct
{
  GArray *changes;   /* Change */
  gint64  time_us;   /* of its last change */
} Step;

struct _JacHistory
{
  GObject          *object;      /* not owned */
  GHashTable       *current;     /* pspec → GValue*: the values as last seen */
  GQueue            undo;        /* Step*, the newest at the head */
  GQueue            redo;
  Step             *open;        /* the step this turn of the main loop adds to, or NULL */
  guint             close_id;
  guint             settle_id;
  gboolean          applying;
  gulong            notify_id;
  JacHistoryChanged changed;
  gpointer          changed_data;
};

static void
change_clear (gpointer data)
{
  Change *c = data;

  g_value_unset (&c->old_value);
  g_value_unset (&c->new_value);
}

static Step *
step_new (void)
{
  Step *step = g_new0 (Step, 1);

  step->changes = g_array_new (FALSE, TRUE, sizeof (Change));
  g_array_set_clear_func (step->changes, change_clear);
  return step;
}

static void
step_free (gpointer data)
{
  Step *step = data;

  g_array_unref (step->changes);
  g_free (step);
}

static GValue *
value_copy (const GValue *value)
{
  GValue *copy = g_new0 (GValue, 1);

  g_value_init (copy, G_VALUE_TYPE (value));
  g_value_copy (value, copy);
  return copy;
}

static void
value_free (gpointer data)
{
  g_value_unset (data);
  g_free (data);
}

static gboolean
values_equal (GParamSpec   *pspec,
              const GValue *a,
              const GValue *b)
{
  return g_param_values_cmp (pspec, a, b) == 0;
}

static void
emit_changed (JacHistory *self)
{
  if (self->changed != NULL)
    self->changed (self, self->changed_data);
}

static gboolean
close_step_cb (gpointer data)
{
  JacHistory *self = data;

  self->close_id = 0;
  self->open = NULL;
  return G_SOURCE_REMOVE;
}

/* The step a change joins: the one open this turn, or the last one when it changed only this
 * property a moment ago, or a new one. */
static Step *
step_for (JacHistory *self,
          GParamSpec *pspec,
          gint64      now)
{
  Step *last = g_queue_peek_head (&self->undo);

  if (self->open != NULL)
    return self->open;
  if (last != NULL && now - last->time_us < COALESCE_US && last->changes->len == 1
      && g_array_index (last->changes, Change, 0).pspec == pspec
      && G_PARAM_SPEC_VALUE_TYPE (pspec) != G_TYPE_BOOLEAN)
    return last;
  last = step_new ();
  g_queue_push_head (&self->undo, last);
  while (g_queue_get_length (&self->undo) > MAX_STEPS)
    step_free (g_queue_pop_tail (&self->undo));
  return last;
}

static void
record (JacHistory   *self,
        GParamSpec   *pspec,
        const GValue *old_value,
        const GValue *new_value)
{
  gint64 now = g_get_monotonic_time ();
  Step *step = step_for (self, pspec, now);
  Change *found = NULL;

  for (guint k = 0; k < step->changes->len; k++)
    if (g_array_index (step->changes, Change, k).pspec == pspec)
      found = &g_array_index (step->changes, Change, k);
  if (found != NULL)
    {
      g_value_reset (&found->new_value);
      g_value_copy (new_value, &found->new_value);
    }
  else
    {
      Change c = { pspec, G_VALUE_INIT, G_VALUE_INIT };

      g_value_init (&c.old_value, G_VALUE_TYPE (old_value));
      g_value_copy (old_value, &c.old_value);
      g_value_init (&c.new_value, G_VALUE_TYPE (new_value));
      g_value_copy (new_value, &c.new_value);
      g_array_append_val (step->changes, c);
    }
  step->time_us = now;
  self->open = step;
  if (self->close_id == 0)
    self->close_id = g_idle_add_full (G_PRIORITY_LOW, close_step_cb, self, NULL);
  g_queue_clear_full (&self->redo, step_free);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           JacHistory *self)
{
  GValue *before = g_hash_table_lookup (self->current, pspec);
  GValue now = G_VALUE_INIT;

  if (before == NULL)
    return;
  g_value_init (&now, G_PARAM_SPEC_VALUE_TYPE (pspec));
  g_object_get_property (object, pspec->name, &now);
  if (!values_equal (pspec, before, &now))
    {
      if (!self->applying)
        record (self, pspec, before, &now);
      g_hash_table_insert (self->current, pspec, value_copy (&now));
      if (!self->applying)
        emit_changed (self);
    }
  g_value_unset (&now);
}

JacHistory *
jac_history_new (GObject            *object,
                 const char * const *properties)
{
  JacHistory *self;

  g_return_val_if_fail (G_IS_OBJECT (object), NULL);
  g_return_val_if_fail (properties != NULL, NULL);

  self = g_new0 (JacHistory, 1);
  self->object = object;
  self->current = g_hash_table_new_full (NULL, NULL, NULL, value_free);
  for (guint k = 0; properties[k] != NULL; k++)
    {
      GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (object),
                                                        properties[k]);
      GValue value = G_VALUE_INIT;

      g_return_val_if_fail (pspec != NULL, self);
      g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (pspec));
      g_object_get_property (object, pspec->name, &value);
      g_hash_table_insert (self->current, pspec, value_copy (&value));
      g_value_unset (&value);
    }
  self->notify_id = g_signal_connect (object, "notify", G_CALLBACK (notify_cb), self);
  return self;
}

void
jac_history_free (JacHistory *self)
{
  if (self == NULL)
    return;
  g_clear_signal_handler (&self->notify_id, self->object);
  g_clear_handle_id (&self->close_id, g_source_remove);
  g_clear_handle_id (&self->settle_id, g_source_remove);
  g_queue_clear_full (&self->undo, step_free);
  g_queue_clear_full (&self->redo, step_free);
  g_hash_table_unref (self->current);
  g_free (self);
}

void
jac_history_set_changed_func (JacHistory        *self,
                              JacHistoryChanged  changed,
                              gpointer           data)
{
  g_return_if_fail (self != NULL);
  self->changed = changed;
  self->changed_data = data;
}

gboolean
jac_history_can_undo (const JacHistory *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->undo.length > 0;
}

gboolean
jac_history_can_redo (const JacHistory *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->redo.length > 0;
}

static gboolean
settle_cb (gpointer data)
{
  JacHistory *self = data;

  self->settle_id = 0;
  self->applying = FALSE;
  return G_SOURCE_REMOVE;
}

/* Sets every change's old (or new) value back, in the order they were made. What the object
 * changes in consequence, now or once idle (the window recomputing), is part of the same
 * step: not recorded until the main loop is idle again. */
static void
apply (JacHistory *self,
       Step       *step,
       gboolean    undo)
{
  self->applying = TRUE;
  g_object_freeze_notify (self->object);
  for (guint k = 0; k < step->changes->len; k++)
    {
      const Change *c = &g_array_index (step->changes, Change, k);

      g_object_set_property (self->object, c->pspec->name, undo ? &c->old_value : &c->new_value);
    }
  g_object_thaw_notify (self->object);
  g_clear_handle_id (&self->settle_id, g_source_remove);
  self->settle_id = g_idle_add_full (G_PRIORITY_LOW + 10, settle_cb, self, NULL);
}

void
jac_history_undo (JacHistory *self)
{
  Step *step;

  g_return_if_fail (self != NULL);
  if ((step = g_queue_pop_head (&self->undo)) == NULL)
    return;
  if (self->open == step)
    self->open = NULL;
  apply (self, step, TRUE);
  g_queue_push_head (&self->redo, step);
  emit_changed (self);
}

void
jac_history_redo (JacHistory *self)
{
  Step *step;

  g_return_if_fail (self != NULL);
  if ((step = g_queue_pop_head (&self->redo)) == NULL)
    return;
  apply (self, step, FALSE);
  step->time_us = 0;   /* a redone step is not continued by the next change */
  g_queue_push_head (&self->undo, step);
  emit_changed (self);
}

void
jac_history_clear (JacHistory *self)
{
  g_return_if_fail (self != NULL);
  self->open = NULL;
  g_queue_clear_full (&self->undo, step_free);
  g_queue_clear_full (&self->redo, step_free);
  emit_changed (self);
}
