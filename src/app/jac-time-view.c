/* jac-time-view.c: ∂h_T/∂h_{T−k} through time on screen; click or drag on the plot to pick k. */
#define G_LOG_DOMAIN "jac-time-view"

#include <string.h>

#include "core/jac-error.h"
#include "jac-drawing-private.h"
#include "jac-profile.h"
#include "jac-time-view.h"

/* Below this many multiply-adds (N·H²·T for the norms, N·H²·k for one lag) the work is done at
 * once on the main thread: a millisecond or two, and no frame shows stale numbers. Above, it
 * goes to a worker thread. A new sequence then shows a progress bar with a Cancel button in
 * place of the figure, which would no longer match the controls; a new lag of the same
 * sequence keeps the figure on show until its Jacobian is ready (one GEMM a step). */
#define SYNC_WORK 4e6
#define PAGE_LAGS 10
#define PROGRESS_INTERVAL_MS 100

/* What a worker computes: everything at once for a new config, or one lag of a given model.
 * The model is shared between the view and the workers that read it, hence a refcount; its
 * cursor is the one part a worker writes, and one worker runs at a time. */
typedef struct
{
  JacSequence       *sequence;
  JacSequenceNorms  *norms;
  JacSequenceCursor *cursor;   /* the running product of the lags shown, kept between them */
} Model;

typedef struct
{
  JacSequenceConfig config;
  gsize             lag;
  Model            *model;
  JacStructured    *jacobian;
  gint64            duration_us;
  GCancellable     *cancellable;   /* the Cancel button's, for a new model */
  GHashTable       *weights;       /* a PyTorch state dict to use, or NULL: drawn */
  int               permille;      /* progress of the norms, written by the worker (atomic) */
  gboolean          ahead;         /* the lag one step on, not asked for yet (prefetch) */
} Job;

/* Everything a picture depends on. */
typedef struct
{
  guint generation;
  int   width;
  int   height;
  int   scale;
} Key;

struct _JacTimeView
{
  GtkWidget          parent_instance;

  /* owned: on show */
  Model             *model;
  JacStructured     *jacobian;
  gsize              jacobian_lag;
  char              *error;

  /* owned: asked for */
  JacSequenceConfig  config;
  gboolean           has_config;
  GHashTable        *weights;
  int                lag;
  gboolean           shared_range;
  JacSequenceNorm    norm;
  JacFigureStyle     style;
  gboolean           dark;

  /* owned: background work */
  GCancellable      *cancellable;      /* cancelled when the view goes away */
  GCancellable      *job_cancellable;  /* the running model's: Cancel, or a newer config */
  Job               *model_job;        /* borrowed from its task while it runs */
  guint              progress_source;
  gboolean           cancelled;        /* the user stopped the last model: nothing on show */

  /* template-less children: the progress of a new model, in place of the figure */
  GtkWidget         *progress_box;
  GtkProgressBar    *progress_bar;
  GtkLabel          *progress_label;
  GtkButton         *progress_button;
  gboolean           model_running;
  gboolean           model_stale;   /* the config changed while the model was computing */
  gboolean           lag_running;
  /* The next lag in the direction the slider last moved, computed while the figure is on show
   * (a step of a large sequence's slider then costs its figure only): */
  gboolean           ahead_running;
  JacStructured     *ahead;          /* of self->model, at ahead_lag */
  gsize              ahead_lag;
  int                direction;      /* +1 or −1 */

  /* owned: the picture */
  GdkTexture        *cache;
  Key                cache_key;
  guint              generation;
};

G_DEFINE_FINAL_TYPE (JacTimeView, jac_time_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_LAG,
  PROP_SHARED_RANGE,
  PROP_NORM,
  PROP_BUSY,
  PROP_ERROR,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* ---- the model and jobs ----------------------------------------------------------------- */

static void
model_clear (Model *model)
{
  g_clear_pointer (&model->cursor, jac_sequence_cursor_free);
  g_clear_pointer (&model->norms, jac_sequence_norms_free);
  g_clear_pointer (&model->sequence, jac_sequence_free);
}

static Model *
model_ref (Model *model)
{
  return g_atomic_rc_box_acquire (model);
}

static void
model_unref (Model *model)
{
  g_atomic_rc_box_release_full (model, (GDestroyNotify) model_clear);
}

static void
job_free (Job *job)
{
  g_clear_pointer (&job->model, model_unref);
  g_clear_pointer (&job->jacobian, jac_structured_free);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->weights, g_hash_table_unref);
  g_free (job);
}

static void
job_progress_cb (double   fraction,
                 gpointer user_data)
{
  Job *job = user_data;

  g_atomic_int_set (&job->permille, (int) (fraction * 1000));
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_free)

static gsize
clamp_lag (gsize lag,
           gsize steps)
{
  return CLAMP (lag, 1, MAX (steps, 1));
}

/* Builds the model when the job has none, then the Jacobian at its lag. Runs in any thread:
 * the core's functions only read the const sequence. */
static gboolean
job_run (Job     *job,
         GError **error)
{
  gint64 start = g_get_monotonic_time ();

  if (job->model == NULL)
    {
      Model *model = g_atomic_rc_box_new0 (Model);

      job->model = model;
      if (job->weights != NULL)
        {
          JacSequenceData data = { 0 };

          if (!jac_sequence_data_from_state_dict (job->weights, job->config.cell, &data, error))
            return FALSE;
          model->sequence = jac_sequence_new_with_data (&job->config, &data, error);
        }
      else
        model->sequence = jac_sequence_new (&job->config, error);
      if (model->sequence == NULL)
        return FALSE;
      /* The norms pass forms every lag's product once: it leaves the cursor its anchors. */
      model->cursor = jac_sequence_cursor_new (model->sequence, 0);
      model->norms = jac_sequence_norms_full (model->sequence, FALSE, model->cursor,
                                              job->cancellable, job_progress_cb, job, error);
      if (model->norms == NULL || !jac_sequence_cursor_reserve (model->cursor, error))
        return FALSE;
    }
  job->lag = clamp_lag (job->lag, job->model->sequence->config.steps);
  /* The cursor extends the last lag's product: a slider step costs one GEMM, not k. One job
   * runs at a time (pump ()), so it is never used from two threads at once. */
  job->jacobian = jac_sequence_cursor_jacobian (job->model->cursor, job->lag, error);
  job->duration_us = g_get_monotonic_time () - start;
  return job->jacobian != NULL;
}

static double
work_of (const JacSequenceConfig *config,
         gsize                    steps)
{
  double hidden = config->config.hidden;

  return (double) config->config.batch * hidden * hidden * steps;
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  GError *error = NULL;

  if (job_run (task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* ---- installing results ------------------------------------------------------------------ */

static void
invalidate (JacTimeView *self)
{
  self->generation++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
set_error (JacTimeView *self,
           const char  *message)
{
  if (g_strcmp0 (self->error, message) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

static void
notify_busy (JacTimeView *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Takes the job's model (if new) and Jacobian. */
static void
install_job (JacTimeView *self,
             Job         *job)
{
  if (job->model != self->model)
    {
      g_clear_pointer (&self->model, model_unref);
      self->model = model_ref (job->model);
      g_clear_pointer (&self->ahead, jac_structured_free);
    }
  g_clear_pointer (&self->jacobian, jac_structured_free);
  self->jacobian = g_steal_pointer (&job->jacobian);
  self->jacobian_lag = job->lag;
  set_error (self, NULL);
  invalidate (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static gboolean
lag_is_current (JacTimeView *self)
{
  return self->model != NULL && self->jacobian != NULL
         && self->jacobian_lag == clamp_lag (self->lag, self->model->sequence->config.steps);
}

static void pump (JacTimeView *self);

/* ---- the progress of a new model ---------------------------------------------------------- */

static gboolean
progress_tick_cb (gpointer user_data)
{
  JacTimeView *self = user_data;
  double fraction;
  g_autofree char *text = NULL;

  if (self->model_job == NULL)
    return G_SOURCE_CONTINUE;
  fraction = g_atomic_int_get (&self->model_job->permille) / 1000.0;
  text = g_strdup_printf ("%.0f %%", 100 * fraction);
  gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  gtk_progress_bar_set_text (self->progress_bar, text);
  return G_SOURCE_CONTINUE;
}

/* The box in place of the figure: computing (a bar and Cancel), cancelled (Compute Again), or
 * hidden. */
static void
sync_progress (JacTimeView *self)
{
  gboolean computing = self->model_running, shown = computing || self->cancelled;

  if (computing && self->progress_source == 0)
    {
      self->progress_source = g_timeout_add (PROGRESS_INTERVAL_MS, progress_tick_cb, self);
      gtk_progress_bar_set_fraction (self->progress_bar, 0);
      gtk_progress_bar_set_text (self->progress_bar, "0 %");
    }
  else if (!computing)
    g_clear_handle_id (&self->progress_source, g_source_remove);
  if (computing)
    {
      g_autofree char *text = g_strdup_printf ("Computing every lag's norms, T = %"
                                               G_GSIZE_FORMAT ", N = %" G_GSIZE_FORMAT
                                               ", H = %" G_GSIZE_FORMAT "…",
                                               self->config.steps, self->config.config.batch,
                                               self->config.config.hidden);

      gtk_label_set_text (self->progress_label, text);
    }
  else
    gtk_label_set_text (self->progress_label,
                        "Cancelled: the figure is computed again when you change a setting");
  gtk_button_set_label (self->progress_button, computing ? "_Cancel" : "_Compute Again");
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), computing);
  gtk_widget_set_visible (self->progress_box, shown);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
progress_button_cb (GtkButton   *button,
                    JacTimeView *self)
{
  if (self->model_running)
    {
      g_cancellable_cancel (self->job_cancellable);
      return;
    }
  self->cancelled = FALSE;
  self->model_stale = TRUE;
  pump (self);
  sync_progress (self);
}

static void
job_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  JacTimeView *self = JAC_TIME_VIEW (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  gboolean *running = user_data;
  g_autoptr(GError) error = NULL;

  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  *running = FALSE;
  if (running == &self->model_running)
    self->model_job = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* Cancelled for a newer config, which pump () starts; or by the user: then nothing is on
       * show, since the last figure no longer matches the controls. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_error (self, error->message);
      else if (!self->model_stale)
        {
          self->cancelled = TRUE;
          g_clear_pointer (&self->jacobian, jac_structured_free);
          g_clear_pointer (&self->model, model_unref);
          invalidate (self);
          g_signal_emit (self, signals[CHANGED], 0);
        }
    }
  /* The lag ahead: kept for the step that asks for it. */
  else if (job->ahead)
    {
      if (job->model == self->model)
        {
          g_clear_pointer (&self->ahead, jac_structured_free);
          self->ahead = g_steal_pointer (&job->jacobian);
          self->ahead_lag = job->lag;
        }
    }
  /* A lag's Jacobian of a model since replaced is stale: drop it. */
  else if (running == &self->model_running || job->model == self->model)
    {
      jac_profile_log ("sequence T=%" G_GSIZE_FORMAT " N=%" G_GSIZE_FORMAT " H=%" G_GSIZE_FORMAT
                       " k=%" G_GSIZE_FORMAT " in a worker: %.1f ms",
                       job->model->sequence->config.steps, job->model->sequence->config.config.batch,
                       job->model->sequence->config.config.hidden, job->lag,
                       job->duration_us / 1000.0);
      install_job (self, job);
    }
  pump (self);
  sync_progress (self);
  notify_busy (self);
}

static void
run_job (JacTimeView *self,
         Job         *job,
         double       work,
         gboolean    *running)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

  if (work <= SYNC_WORK)
    {
      g_autoptr(Job) owned = job;

      if (job_run (owned, &error))
        install_job (self, owned);
      else
        set_error (self, error->message);
      return;
    }
  *running = TRUE;
  if (running == &self->model_running)
    {
      /* What is on show belongs to the old config: the progress takes its place, and the
       * getters (the summary line) say there is nothing yet. */
      self->model_job = job;
      self->cancelled = FALSE;
      g_clear_pointer (&self->jacobian, jac_structured_free);
      g_clear_pointer (&self->ahead, jac_structured_free);
      g_clear_pointer (&self->model, model_unref);
      invalidate (self);
      g_signal_emit (self, signals[CHANGED], 0);
    }
  task = g_task_new (self, job->cancellable, job_done_cb, running);
  g_task_set_source_tag (task, run_job);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, job_thread);
  sync_progress (self);
  notify_busy (self);
}

static void
start_model (JacTimeView *self)
{
  Job *job = g_new0 (Job, 1);

  self->model_stale = FALSE;
  job->config = self->config;
  job->lag = self->lag;
  g_clear_object (&self->job_cancellable);
  self->job_cancellable = g_cancellable_new ();
  job->cancellable = g_object_ref (self->job_cancellable);
  job->weights = self->weights != NULL ? g_hash_table_ref (self->weights) : NULL;
  run_job (self, job, work_of (&self->config, self->config.steps + self->lag),
           &self->model_running);
}

static void
start_lag (JacTimeView *self)
{
  gsize steps = self->model->sequence->config.steps;
  Job *job = g_new0 (Job, 1);

  job->model = model_ref (self->model);
  job->lag = self->lag;
  run_job (self, job, work_of (&self->model->sequence->config, clamp_lag (self->lag, steps)),
           &self->lag_running);
}

/* Once the asked-for lag is on show, the next one in the slider's direction, when a lag of this
 * sequence is big enough for a worker: its product one GEMM on (a step back, usually a kept
 * lag, costs less). Not shown as busy: nothing waits for it. */
static void
start_ahead (JacTimeView *self)
{
  gsize steps = self->model->sequence->config.steps;
  gsize lag = self->jacobian_lag;
  Job *job;

  if ((self->direction < 0 && lag <= 1) || (self->direction > 0 && lag >= steps)
      || self->direction == 0)
    return;
  lag = self->direction > 0 ? lag + 1 : lag - 1;
  if ((self->ahead != NULL && self->ahead_lag == lag)
      || work_of (&self->model->sequence->config, lag) <= SYNC_WORK)
    return;
  job = g_new0 (Job, 1);
  job->model = model_ref (self->model);
  job->lag = lag;
  job->ahead = TRUE;
  run_job (self, job, G_MAXDOUBLE, &self->ahead_running);
}

/* One worker at a time; what was asked for meanwhile is computed next, the latest wins. */
static void
pump (JacTimeView *self)
{
  if (self->model_running || self->lag_running)
    return;
  /* What was asked for waits for the lag ahead (one GEMM): busy meanwhile. */
  if (self->ahead_running)
    {
      notify_busy (self);
      return;
    }
  if (self->model_stale)
    start_model (self);
  else if (self->model != NULL && !lag_is_current (self))
    {
      gsize lag = clamp_lag (self->lag, self->model->sequence->config.steps);

      if (self->ahead != NULL && self->ahead_lag == lag)
        {
          Job job = { .model = self->model, .lag = lag, .jacobian = g_steal_pointer (&self->ahead) };

          jac_profile_log ("sequence k=%" G_GSIZE_FORMAT ": computed ahead", lag);
          install_job (self, &job);
          start_ahead (self);
        }
      else
        start_lag (self);
    }
  else if (self->model != NULL)
    start_ahead (self);
}

/* ---- drawing ---------------------------------------------------------------------------- */

static void
figure_view (JacTimeView     *self,
             JacSequenceView *view)
{
  jac_sequence_view_init (view);
  view->lag = self->jacobian_lag;
  view->shared_range = self->shared_range;
  view->norm = self->norm;
}

static void
figure_style (JacTimeView    *self,
              JacFigureStyle *style)
{
  *style = self->style;
  style->dark = self->dark;
  style->has_highlight = FALSE;
}

/* An image at device resolution rather than a recording: the heatmaps' own images are then
 * composited once, at the size shown. */
static void
draw_cache (JacTimeView *self,
            const Key   *key)
{
  gint64 start = g_get_monotonic_time ();
  cairo_surface_t *surface;
  cairo_t *cr;

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, key->width * key->scale,
                                        key->height * key->scale);
  cairo_surface_set_device_scale (surface, key->scale, key->scale);
  cr = cairo_create (surface);
  jac_time_view_draw (self, cr, key->width, key->height, self->style.medium);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  g_clear_object (&self->cache);
  self->cache = _jac_texture_new_for_surface (surface);
  self->cache_key = *key;
  cairo_surface_destroy (surface);
  jac_profile_log ("sequence figure draw %dx%d: %.2f ms", key->width, key->height,
                   (g_get_monotonic_time () - start) / 1000.0);
}

static void
jac_time_view_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  JacTimeView *self = JAC_TIME_VIEW (widget);
  gboolean dark = _jac_widget_is_dark (GTK_WIDGET (self));
  Key key = {
    .width = gtk_widget_get_width (widget),
    .height = gtk_widget_get_height (widget),
    .scale = gtk_widget_get_scale_factor (widget),
  };

  if (dark != self->dark)
    {
      self->dark = dark;
      self->generation++;
    }
  key.generation = self->generation;
  if (gtk_widget_get_visible (self->progress_box))
    {
      gtk_widget_snapshot_child (widget, self->progress_box, snapshot);
      return;
    }
  if (self->model == NULL || key.width <= 0 || key.height <= 0)
    return;
  if (self->cache == NULL || memcmp (&key, &self->cache_key, sizeof key) != 0)
    draw_cache (self, &key);
  gtk_snapshot_append_texture (snapshot, self->cache,
                               &GRAPHENE_RECT_INIT (0, 0, key.width, key.height));
}

/* ---- picking the lag with the pointer --------------------------------------------------- */

static gboolean
lag_at (JacTimeView *self,
        double       x,
        double       y,
        gsize       *lag)
{
  JacSequenceView view;
  JacFigureStyle style;

  if (self->model == NULL || gtk_widget_get_visible (self->progress_box))
    return FALSE;
  figure_view (self, &view);
  figure_style (self, &style);
  return jac_sequence_figure_lag_at (gtk_widget_get_width (GTK_WIDGET (self)),
                                     gtk_widget_get_height (GTK_WIDGET (self)),
                                     self->model->sequence, &view, &style, x, y, lag);
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           JacTimeView              *self)
{
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), lag_at (self, x, y, NULL) ? "col-resize"
                                                                                : NULL);
}

static void
pick_at (JacTimeView *self,
         double       x,
         double       y)
{
  gsize lag;

  if (lag_at (self, x, y, &lag))
    jac_time_view_set_lag (self, (int) lag);
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               JacTimeView    *self)
{
  if (!lag_at (self, x, y, NULL))
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  gtk_widget_grab_focus (GTK_WIDGET (self));
  pick_at (self, x, y);
}

/* Once the drag has begun on the plot, k follows the pointer's x wherever its y goes. */
static void
drag_update_cb (GtkGestureDrag *gesture,
                double          offset_x,
                double          offset_y,
                JacTimeView    *self)
{
  double x, y;

  gtk_gesture_drag_get_start_point (gesture, &x, &y);
  pick_at (self, x + offset_x, y);
}

static void
step_lag_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  JacTimeView *self = JAC_TIME_VIEW (widget);
  gint64 lag = (gint64) self->lag + g_variant_get_int32 (parameter);
  gint64 steps = self->has_config ? (gint64) self->config.steps : G_MAXINT;

  jac_time_view_set_lag (self, (int) CLAMP (lag, 1, steps));
}

/* ---- GObject and GtkWidget overrides ---------------------------------------------------- */

static void
jac_time_view_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  JacTimeView *self = JAC_TIME_VIEW (object);

  switch (prop_id)
    {
    case PROP_LAG:
      g_value_set_int (value, self->lag);
      break;
    case PROP_SHARED_RANGE:
      g_value_set_boolean (value, self->shared_range);
      break;
    case PROP_NORM:
      g_value_set_string (value, self->norm == JAC_SEQUENCE_NORM_FROBENIUS ? "frobenius"
                                                                             : "spectral");
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, jac_time_view_get_busy (self));
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
set_shared_range (JacTimeView *self,
                  gboolean     shared_range)
{
  if (self->shared_range == shared_range)
    return;
  self->shared_range = shared_range;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHARED_RANGE]);
  invalidate (self);
}

static void
set_norm (JacTimeView *self,
          const char  *name)
{
  JacSequenceNorm norm = g_strcmp0 (name, "frobenius") == 0 ? JAC_SEQUENCE_NORM_FROBENIUS
                                                             : JAC_SEQUENCE_NORM_SPECTRAL;

  if (self->norm == norm)
    return;
  self->norm = norm;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NORM]);
  invalidate (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
jac_time_view_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  JacTimeView *self = JAC_TIME_VIEW (object);

  switch (prop_id)
    {
    case PROP_LAG:
      jac_time_view_set_lag (self, g_value_get_int (value));
      break;
    case PROP_SHARED_RANGE:
      set_shared_range (self, g_value_get_boolean (value));
      break;
    case PROP_NORM:
      set_norm (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jac_time_view_dispose (GObject *object)
{
  JacTimeView *self = JAC_TIME_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->job_cancellable);
  g_clear_handle_id (&self->progress_source, g_source_remove);
  g_clear_pointer (&self->progress_box, gtk_widget_unparent);
  g_clear_object (&self->cache);
  g_clear_pointer (&self->jacobian, jac_structured_free);
  g_clear_pointer (&self->ahead, jac_structured_free);
  g_clear_pointer (&self->model, model_unref);

  G_OBJECT_CLASS (jac_time_view_parent_class)->dispose (object);
}

static void
jac_time_view_finalize (GObject *object)
{
  JacTimeView *self = JAC_TIME_VIEW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->job_cancellable);
  g_clear_pointer (&self->weights, g_hash_table_unref);
  g_clear_pointer (&self->error, g_free);

  G_OBJECT_CLASS (jac_time_view_parent_class)->finalize (object);
}

static void
add_step_binding (GtkWidgetClass *widget_class,
                  guint           key,
                  int             step)
{
  gtk_widget_class_add_binding_action (widget_class, key, 0, "time.step-lag", "i", step);
}

static void
jac_time_view_class_init (JacTimeViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  GParamFlags read_only = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = jac_time_view_dispose;
  object_class->finalize = jac_time_view_finalize;
  object_class->get_property = jac_time_view_get_property;
  object_class->set_property = jac_time_view_set_property;
  widget_class->snapshot = jac_time_view_snapshot;

  properties[PROP_LAG] = g_param_spec_int ("lag", NULL, NULL, 1, G_MAXINT, 1, flags);
  properties[PROP_SHARED_RANGE] =
    g_param_spec_boolean ("shared-range", NULL, NULL, FALSE, flags);
  properties[PROP_NORM] = g_param_spec_string ("norm", NULL, NULL, "spectral", flags);
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, read_only);
  properties[PROP_ERROR] = g_param_spec_string ("error", NULL, NULL, NULL, read_only);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The sequence, its norms or the Jacobian on show changed. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_install_action (widget_class, "time.step-lag", "i", step_lag_action);
  add_step_binding (widget_class, GDK_KEY_Left, -1);
  add_step_binding (widget_class, GDK_KEY_Right, 1);
  add_step_binding (widget_class, GDK_KEY_Down, -1);
  add_step_binding (widget_class, GDK_KEY_Up, 1);
  add_step_binding (widget_class, GDK_KEY_Page_Down, -PAGE_LAGS);
  add_step_binding (widget_class, GDK_KEY_Page_Up, PAGE_LAGS);
  add_step_binding (widget_class, GDK_KEY_Home, -G_MAXINT / 2);
  add_step_binding (widget_class, GDK_KEY_End, G_MAXINT / 2);

  gtk_widget_class_set_css_name (widget_class, "timeview");
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
init_progress (JacTimeView *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);

  self->progress_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->progress_label, TRUE);
  gtk_label_set_justify (self->progress_label, GTK_JUSTIFY_CENTER);
  self->progress_bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_progress_bar_set_show_text (self->progress_bar, TRUE);
  gtk_widget_set_size_request (GTK_WIDGET (self->progress_bar), 320, -1);
  self->progress_button = GTK_BUTTON (gtk_button_new_with_mnemonic ("_Cancel"));
  gtk_widget_set_halign (GTK_WIDGET (self->progress_button), GTK_ALIGN_CENTER);
  g_signal_connect (self->progress_button, "clicked", G_CALLBACK (progress_button_cb), self);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress_label));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress_bar));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress_button));
  gtk_widget_set_halign (box, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_widget_set_visible (box, FALSE);
  gtk_widget_set_parent (box, GTK_WIDGET (self));
  self->progress_box = box;
}

static void
jac_time_view_init (JacTimeView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->lag = 1;
  self->norm = JAC_SEQUENCE_NORM_SPECTRAL;
  self->cancellable = g_cancellable_new ();
  jac_figure_style_init (&self->style);
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "The Jacobian through time and its norms against the lag", -1);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gesture = gtk_gesture_drag_new ();
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (drag_update_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));
  init_progress (self);
}

/* ---- public API ------------------------------------------------------------------------- */

GtkWidget *
jac_time_view_new (void)
{
  return g_object_new (JAC_TYPE_TIME_VIEW, NULL);
}

static gboolean
same_config (const JacSequenceConfig *a,
             const JacSequenceConfig *b)
{
  return a->config.batch == b->config.batch && a->config.input == b->config.input
         && a->config.hidden == b->config.hidden && a->config.seed == b->config.seed
         && a->config.activation == b->config.activation
         && a->config.b_per_row == b->config.b_per_row && a->steps == b->steps
         && a->gain == b->gain && a->orthogonal == b->orthogonal
         && a->unit_radius == b->unit_radius && a->cell == b->cell && a->output == b->output
         && a->wrt == b->wrt && a->carry_bias == b->carry_bias;
}

void
jac_time_view_set_config (JacTimeView             *self,
                          const JacSequenceConfig *config)
{
  g_return_if_fail (JAC_IS_TIME_VIEW (self));
  g_return_if_fail (config != NULL);

  if (self->has_config && same_config (&self->config, config))
    return;
  self->config = *config;
  self->has_config = TRUE;
  self->model_stale = TRUE;
  self->cancelled = FALSE;
  /* A model of the old config is worth nothing now: stop it, and pump () starts this one. */
  if (self->model_running)
    g_cancellable_cancel (self->job_cancellable);
  pump (self);
  sync_progress (self);
}

void
jac_time_view_set_weights (JacTimeView *self,
                           GHashTable  *state_dict)
{
  g_return_if_fail (JAC_IS_TIME_VIEW (self));

  if (self->weights == state_dict)
    return;
  g_clear_pointer (&self->weights, g_hash_table_unref);
  self->weights = state_dict != NULL ? g_hash_table_ref (state_dict) : NULL;
  if (!self->has_config)
    return;
  self->model_stale = TRUE;
  self->cancelled = FALSE;
  if (self->model_running)
    g_cancellable_cancel (self->job_cancellable);
  pump (self);
  sync_progress (self);
}

int
jac_time_view_get_lag (JacTimeView *self)
{
  g_return_val_if_fail (JAC_IS_TIME_VIEW (self), 1);

  return self->lag;
}

void
jac_time_view_set_lag (JacTimeView *self,
                       int          lag)
{
  g_return_if_fail (JAC_IS_TIME_VIEW (self));

  lag = MAX (lag, 1);
  if (self->lag == lag)
    return;
  self->direction = lag > self->lag ? 1 : -1;
  self->lag = lag;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAG]);
  pump (self);
}

void
jac_time_view_set_style (JacTimeView          *self,
                         const JacFigureStyle *style)
{
  g_return_if_fail (JAC_IS_TIME_VIEW (self));
  g_return_if_fail (style != NULL);

  self->style = *style;
  invalidate (self);
}

void
jac_time_view_get_style (JacTimeView    *self,
                         JacFigureStyle *style)
{
  g_return_if_fail (JAC_IS_TIME_VIEW (self));

  figure_style (self, style);
}

gboolean
jac_time_view_get_busy (JacTimeView *self)
{
  g_return_val_if_fail (JAC_IS_TIME_VIEW (self), FALSE);

  /* A new config or a lag asked for while the lag ahead is computed waits for it: busy too. */
  return self->model_running || self->lag_running
         || (self->ahead_running
             && (self->model_stale || (self->model != NULL && !lag_is_current (self))));
}

void
jac_time_view_wait (JacTimeView *self)
{
  g_return_if_fail (JAC_IS_TIME_VIEW (self));

  while (jac_time_view_get_busy (self))
    g_main_context_iteration (NULL, TRUE);
}

gboolean
jac_time_view_get_ahead (JacTimeView *self,
                         gsize       *lag)
{
  g_return_val_if_fail (JAC_IS_TIME_VIEW (self), FALSE);

  if (self->ahead == NULL || self->ahead_running)
    return FALSE;
  if (lag != NULL)
    *lag = self->ahead_lag;
  return TRUE;
}

const JacSequence *
jac_time_view_get_sequence (JacTimeView *self)
{
  g_return_val_if_fail (JAC_IS_TIME_VIEW (self), NULL);

  return self->model != NULL ? self->model->sequence : NULL;
}

const JacSequenceNorms *
jac_time_view_get_norms (JacTimeView *self)
{
  g_return_val_if_fail (JAC_IS_TIME_VIEW (self), NULL);

  return self->model != NULL ? self->model->norms : NULL;
}

const JacStructured *
jac_time_view_get_jacobian (JacTimeView *self)
{
  g_return_val_if_fail (JAC_IS_TIME_VIEW (self), NULL);

  return self->jacobian;
}

void
jac_time_view_get_view (JacTimeView     *self,
                        JacSequenceView *view)
{
  g_return_if_fail (JAC_IS_TIME_VIEW (self));
  g_return_if_fail (view != NULL);

  figure_view (self, view);
}

const char *
jac_time_view_get_error (JacTimeView *self)
{
  g_return_val_if_fail (JAC_IS_TIME_VIEW (self), NULL);

  return self->error;
}

gboolean
jac_time_view_draw (JacTimeView *self,
                    cairo_t     *cr,
                    double       width,
                    double       height,
                    JacMedium    medium)
{
  JacSequenceView view;
  JacFigureStyle style;

  g_return_val_if_fail (JAC_IS_TIME_VIEW (self), FALSE);

  if (self->model == NULL)
    return FALSE;
  figure_view (self, &view);
  figure_style (self, &style);
  style.medium = medium;
  jac_sequence_figure_draw (cr, width, height, self->model->sequence, self->jacobian,
                            self->model->norms, &view, &style);
  return TRUE;
}

gboolean
jac_time_view_save (JacTimeView  *self,
                    const char   *path,
                    double        width,
                    double        height,
                    double        scale,
                    JacMedium     medium,
                    GError      **error)
{
  JacSequenceView view;
  JacFigureStyle style;

  g_return_val_if_fail (JAC_IS_TIME_VIEW (self), FALSE);

  jac_time_view_wait (self);
  if (self->model == NULL)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "There is no figure to export yet");
      return FALSE;
    }
  figure_view (self, &view);
  figure_style (self, &style);
  style.medium = medium;
  return jac_sequence_figure_save (path, width, height, scale, self->model->sequence,
                                   self->jacobian, self->model->norms, &view, &style, error);
}
