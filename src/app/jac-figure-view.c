/* jac-figure-view.c: the Jacobian figure on screen, with zoom, pan, hover and highlight. */
#define G_LOG_DOMAIN "jac-figure-view"

#include <math.h>

#include "jac-figure-view.h"
#include "jac-drawing-private.h"
#include "jac-profile.h"

/* A redraw slower than this is not done on every frame of a zoom or pan: the last picture is
 * moved and scaled, and the new one drawn once the gesture rests. */
#define SLOW_VIEW_DRAW_US 8000
/* Past this, new content (a control, the hover highlight) waits for things to rest too, and
 * hovering names the cell without redrawing to outline it and its factors. */
#define SLOW_CONTENT_DRAW_US 60000
#define SETTLE_MS 90
#define WHEEL_ZOOM_STEP 1.2
#define KEY_ZOOM_STEP 1.5
#define WHEEL_PAN_PX 60.0

/* Everything a picture depends on. */
typedef struct
{
  guint  generation;  /* of the analysis and style */
  int    width;
  int    height;
  int    scale;       /* device pixels per widget pixel */
  double zoom;
  double pan_x;
  double pan_y;
} JacViewKey;

struct _JacFigureView
{
  GtkWidget          parent_instance;

  /* owned */
  JacAnalysis       *analysis;
  JacFigureStyle     style;
  gboolean           dark;
  char              *hover_text;
  GdkTexture        *cache;
  JacViewKey         cache_key;
  gint64             last_draw_us;
  guint              n_draws;
  guint              generation;
  guint              shown_generation;  /* of the picture the last snapshot showed */
  guint              settle_source;
  gboolean           redraw_due;

  /* view */
  double             zoom;
  double             pan_x;
  double             pan_y;
  double             drag_start_x;
  double             drag_start_y;
  double             pointer_x;
  double             pointer_y;
  double             pinch_scale;
};

G_DEFINE_FINAL_TYPE (JacFigureView, jac_figure_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ZOOM,
  PROP_HOVER_TEXT,
  PROP_DARK,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- helpers ---------------------------------------------------------------------------- */

static void
clamp_pan (JacFigureView *self)
{
  double max_x = gtk_widget_get_width (GTK_WIDGET (self)) * (self->zoom - 1.0);
  double max_y = gtk_widget_get_height (GTK_WIDGET (self)) * (self->zoom - 1.0);

  self->pan_x = CLAMP (self->pan_x, 0.0, MAX (max_x, 0.0));
  self->pan_y = CLAMP (self->pan_y, 0.0, MAX (max_y, 0.0));
}

static void
invalidate (JacFigureView *self)
{
  self->generation++;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static const JacAnalysis *
analysis_of (JacFigureView *self)
{
  return self->analysis;
}

static gboolean
hit_test (JacFigureView *self,
          double         x,
          double         y,
          JacFigureHit  *hit)
{
  double width = gtk_widget_get_width (GTK_WIDGET (self));
  double height = gtk_widget_get_height (GTK_WIDGET (self));

  if (analysis_of (self) == NULL || width <= 0 || height <= 0)
    return FALSE;
  return jac_figure_hit_test (analysis_of (self), &self->style, width * self->zoom,
                              height * self->zoom, x + self->pan_x, y + self->pan_y, hit);
}

static gboolean
same_hit (const JacFigureHit *a,
          const JacFigureHit *b)
{
  return a->panel == b->panel && a->block_row == b->block_row && a->block_col == b->block_col
         && a->row == b->row && a->col == b->col;
}

static void
set_hover (JacFigureView      *self,
           const JacFigureHit *hit)
{
  if (hit == NULL && !self->style.has_highlight)
    return;
  if (hit != NULL && self->style.has_highlight && same_hit (hit, &self->style.highlight))
    return;

  g_clear_pointer (&self->hover_text, g_free);
  self->style.has_highlight = hit != NULL;
  if (hit != NULL)
    {
      self->style.highlight = *hit;
      self->hover_text = jac_figure_describe_hit (analysis_of (self), hit);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HOVER_TEXT]);
  /* An outline left behind would point at a cell nobody is reading: clearing always redraws. */
  if (hit == NULL || self->last_draw_us < SLOW_CONTENT_DRAW_US)
    invalidate (self);
}

static void
update_dark (JacFigureView *self)
{
  gboolean dark = _jac_widget_is_dark (GTK_WIDGET (self));

  if (dark == self->dark)
    return;
  self->dark = dark;
  self->generation++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DARK]);
}

/* ---- drawing ---------------------------------------------------------------------------- */

static void
current_key (JacFigureView *self,
             JacViewKey    *key)
{
  key->generation = self->generation;
  key->width = gtk_widget_get_width (GTK_WIDGET (self));
  key->height = gtk_widget_get_height (GTK_WIDGET (self));
  key->scale = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  key->zoom = self->zoom;
  key->pan_x = self->pan_x;
  key->pan_y = self->pan_y;
}

static gboolean
same_key (const JacViewKey *a,
          const JacViewKey *b)
{
  return a->generation == b->generation && a->width == b->width && a->height == b->height
         && a->scale == b->scale && a->zoom == b->zoom && a->pan_x == b->pan_x
         && a->pan_y == b->pan_y;
}

/* The same widget size: the old picture can stand in, moved and scaled, until a new one is
 * drawn. */
static gboolean
same_canvas (const JacViewKey *a,
             const JacViewKey *b)
{
  return a->width == b->width && a->height == b->height && a->scale == b->scale;
}

/* Draws the figure as the widget shows it into an image at device resolution. An image rather
 * than a recording: the figure's own images are then composited once, at the size shown. */
static cairo_surface_t *
draw_surface (const JacAnalysis    *analysis,
              const JacFigureStyle *style,
              const JacViewKey     *key)
{
  cairo_surface_t *surface;
  cairo_t *cr;

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, key->width * key->scale,
                                        key->height * key->scale);
  cairo_surface_set_device_scale (surface, key->scale, key->scale);
  cr = cairo_create (surface);
  cairo_translate (cr, -key->pan_x, -key->pan_y);
  jac_figure_draw (cr, key->width * key->zoom, key->height * key->zoom, analysis, style);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

static void
install_cache (JacFigureView    *self,
               cairo_surface_t  *surface,
               const JacViewKey *key,
               gint64            duration_us)
{
  g_clear_object (&self->cache);
  self->cache = _jac_texture_new_for_surface (surface);
  self->cache_key = *key;
  /* The first draw also loads fonts: it says nothing about the next ones. */
  self->last_draw_us = self->n_draws++ > 0 ? duration_us : 0;
  self->redraw_due = FALSE;
}

static void
draw_now (JacFigureView    *self,
          const JacViewKey *key)
{
  JacFigureStyle style = self->style;
  gint64 start = g_get_monotonic_time ();
  gint64 duration_us;
  cairo_surface_t *surface;

  style.dark = self->dark;
  surface = draw_surface (analysis_of (self), &style, key);
  duration_us = g_get_monotonic_time () - start;
  install_cache (self, surface, key, duration_us);
  cairo_surface_destroy (surface);
  jac_profile_log ("figure draw %dx%d zoom %.2f: %.2f ms", key->width, key->height, key->zoom,
                   duration_us / 1000.0);
}

static gboolean
settle_cb (gpointer user_data)
{
  JacFigureView *self = user_data;

  self->settle_source = 0;
  self->redraw_due = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return G_SOURCE_REMOVE;
}

/* Shows the cached picture moved and scaled to the current view. */
static void
append_moved_cache (JacFigureView    *self,
                    GtkSnapshot      *snapshot,
                    const JacViewKey *key)
{
  double ratio = key->zoom / self->cache_key.zoom;

  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, key->width, key->height));
  gtk_snapshot_append_texture (snapshot, self->cache,
                               &GRAPHENE_RECT_INIT (self->cache_key.pan_x * ratio - key->pan_x,
                                                    self->cache_key.pan_y * ratio - key->pan_y,
                                                    key->width * ratio, key->height * ratio));
  gtk_snapshot_pop (snapshot);
}

/* A new picture is needed but slow to draw: draw it once the pointer or gesture rests. */
static void
request_slow_redraw (JacFigureView *self)
{
  g_clear_handle_id (&self->settle_source, g_source_remove);
  self->settle_source = g_timeout_add (SETTLE_MS, settle_cb, self);
}

/* ---- event controllers ------------------------------------------------------------------ */

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           JacFigureView            *self)
{
  JacFigureHit hit;

  self->pointer_x = x;
  self->pointer_y = y;
  set_hover (self, hit_test (self, x, y, &hit) ? &hit : NULL);
}

static void
leave_cb (GtkEventControllerMotion *controller,
          JacFigureView            *self)
{
  set_hover (self, NULL);
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           JacFigureView            *self)
{
  GtkEventController *event_controller = GTK_EVENT_CONTROLLER (controller);
  GdkModifierType state = gtk_event_controller_get_current_event_state (event_controller);
  gboolean wheel = gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL;

  if (state & GDK_CONTROL_MASK)
    {
      double step = wheel ? WHEEL_ZOOM_STEP : 1.01;

      jac_figure_view_zoom_at (self, pow (step, -dy), self->pointer_x, self->pointer_y);
      return TRUE;
    }
  if (self->zoom <= 1.0)
    return FALSE;
  if (state & GDK_SHIFT_MASK)
    {
      dx = dy;
      dy = 0;
    }
  jac_figure_view_pan_by (self, dx * (wheel ? WHEEL_PAN_PX : 1.0),
                          dy * (wheel ? WHEEL_PAN_PX : 1.0));
  return TRUE;
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               JacFigureView  *self)
{
  self->drag_start_x = self->pan_x;
  self->drag_start_y = self->pan_y;
  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (self->zoom > 1.0)
    gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          offset_x,
                double          offset_y,
                JacFigureView  *self)
{
  self->pan_x = self->drag_start_x - offset_x;
  self->pan_y = self->drag_start_y - offset_y;
  clamp_pan (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_end_cb (GtkGestureDrag *gesture,
             double          offset_x,
             double          offset_y,
             JacFigureView  *self)
{
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), NULL);
}

static void
pinch_begin_cb (GtkGesture       *gesture,
                GdkEventSequence *sequence,
                JacFigureView    *self)
{
  self->pinch_scale = 1.0;
}

static void
pinch_cb (GtkGestureZoom *gesture,
          double          scale,
          JacFigureView  *self)
{
  double x, y;

  if (scale <= 0 || !gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    return;
  jac_figure_view_zoom_at (self, scale / self->pinch_scale, x, y);
  self->pinch_scale = scale;
}

/* ---- actions ---------------------------------------------------------------------------- */

static void
zoom_in_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  jac_figure_view_zoom_at (JAC_FIGURE_VIEW (widget), KEY_ZOOM_STEP,
                           gtk_widget_get_width (widget) / 2.0,
                           gtk_widget_get_height (widget) / 2.0);
}

static void
zoom_out_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  jac_figure_view_zoom_at (JAC_FIGURE_VIEW (widget), 1.0 / KEY_ZOOM_STEP,
                           gtk_widget_get_width (widget) / 2.0,
                           gtk_widget_get_height (widget) / 2.0);
}

static void
zoom_fit_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  jac_figure_view_set_zoom (JAC_FIGURE_VIEW (widget), 1.0);
}

static void
pan_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  double dx, dy;

  g_variant_get (parameter, "(dd)", &dx, &dy);
  jac_figure_view_pan_by (JAC_FIGURE_VIEW (widget), dx * gtk_widget_get_width (widget),
                          dy * gtk_widget_get_height (widget));
}

/* ---- GObject and GtkWidget overrides ---------------------------------------------------- */

/* Whether the picture on show may stand in for a while, rather than drawing now. */
static gboolean
can_wait (JacFigureView    *self,
          const JacViewKey *key)
{
  gboolean view_moved = key->zoom != self->cache_key.zoom || key->pan_x != self->cache_key.pan_x
                        || key->pan_y != self->cache_key.pan_y;

  if (view_moved)
    return self->last_draw_us > SLOW_VIEW_DRAW_US;
  return self->last_draw_us > SLOW_CONTENT_DRAW_US;
}

static void
jac_figure_view_snapshot (GtkWidget   *widget,
                          GtkSnapshot *snapshot)
{
  JacFigureView *self = JAC_FIGURE_VIEW (widget);
  JacViewKey key;

  update_dark (self);
  current_key (self, &key);
  if (analysis_of (self) == NULL || key.width <= 0 || key.height <= 0)
    return;

  if (self->cache != NULL && same_key (&key, &self->cache_key))
    {
      gtk_snapshot_append_texture (snapshot, self->cache,
                                   &GRAPHENE_RECT_INIT (0, 0, key.width, key.height));
      self->shown_generation = key.generation;
      return;
    }
  if (self->cache != NULL && same_canvas (&key, &self->cache_key) && !self->redraw_due
      && can_wait (self, &key))
    {
      append_moved_cache (self, snapshot, &key);
      request_slow_redraw (self);
      return;
    }
  draw_now (self, &key);
  self->shown_generation = key.generation;
  gtk_snapshot_append_texture (snapshot, self->cache,
                               &GRAPHENE_RECT_INIT (0, 0, key.width, key.height));
}

static void
jac_figure_view_size_allocate (GtkWidget *widget,
                               int        width,
                               int        height,
                               int        baseline)
{
  clamp_pan (JAC_FIGURE_VIEW (widget));
}

static void
jac_figure_view_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  JacFigureView *self = JAC_FIGURE_VIEW (object);

  switch (prop_id)
    {
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_HOVER_TEXT:
      g_value_set_string (value, self->hover_text);
      break;
    case PROP_DARK:
      g_value_set_boolean (value, self->dark);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jac_figure_view_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  JacFigureView *self = JAC_FIGURE_VIEW (object);

  switch (prop_id)
    {
    case PROP_ZOOM:
      jac_figure_view_set_zoom (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jac_figure_view_dispose (GObject *object)
{
  JacFigureView *self = JAC_FIGURE_VIEW (object);

  g_clear_handle_id (&self->settle_source, g_source_remove);
  g_clear_object (&self->cache);
  g_clear_pointer (&self->analysis, jac_analysis_free);

  G_OBJECT_CLASS (jac_figure_view_parent_class)->dispose (object);
}

static void
jac_figure_view_finalize (GObject *object)
{
  JacFigureView *self = JAC_FIGURE_VIEW (object);

  g_clear_pointer (&self->hover_text, g_free);

  G_OBJECT_CLASS (jac_figure_view_parent_class)->finalize (object);
}

static void
add_pan_binding (GtkWidgetClass *widget_class,
                 guint           key,
                 double          dx,
                 double          dy)
{
  gtk_widget_class_add_binding_action (widget_class, key, 0, "figure.pan", "(dd)", dx, dy);
}

static void
jac_figure_view_class_init (JacFigureViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jac_figure_view_dispose;
  object_class->finalize = jac_figure_view_finalize;
  object_class->get_property = jac_figure_view_get_property;
  object_class->set_property = jac_figure_view_set_property;
  widget_class->snapshot = jac_figure_view_snapshot;
  widget_class->size_allocate = jac_figure_view_size_allocate;

  properties[PROP_ZOOM] =
    g_param_spec_double ("zoom", NULL, NULL, 1.0, JAC_FIGURE_VIEW_MAX_ZOOM, 1.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HOVER_TEXT] =
    g_param_spec_string ("hover-text", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DARK] =
    g_param_spec_boolean ("dark", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "figure.zoom-in", NULL, zoom_in_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "figure.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "figure.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, 0, "figure.zoom-in", NULL);
  gtk_widget_class_install_action (widget_class, "figure.zoom-out", NULL, zoom_out_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "figure.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, 0, "figure.zoom-out",
                                       NULL);
  gtk_widget_class_install_action (widget_class, "figure.zoom-fit", NULL, zoom_fit_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "figure.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Home, 0, "figure.zoom-fit", NULL);
  gtk_widget_class_install_action (widget_class, "figure.pan", "(dd)", pan_action);
  add_pan_binding (widget_class, GDK_KEY_Left, -0.1, 0);
  add_pan_binding (widget_class, GDK_KEY_Right, 0.1, 0);
  add_pan_binding (widget_class, GDK_KEY_Up, 0, -0.1);
  add_pan_binding (widget_class, GDK_KEY_Down, 0, 0.1);

  gtk_widget_class_set_css_name (widget_class, "figureview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
jac_figure_view_init (JacFigureView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->zoom = 1.0;
  jac_figure_style_init (&self->style);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "The Jacobian and its contracted form", -1);
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  /* No tooltip: it would cover the cells next to the one being read. The window's hover line,
   * under the figure, says what the cell is made of. */

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "enter", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gesture = gtk_gesture_drag_new ();
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (pinch_begin_cb), self);
  g_signal_connect (gesture, "scale-changed", G_CALLBACK (pinch_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));
}

/* ---- public API ------------------------------------------------------------------------- */

GtkWidget *
jac_figure_view_new (void)
{
  return g_object_new (JAC_TYPE_FIGURE_VIEW, NULL);
}

/* Whether the last frame showed the current analysis and style, rather than the picture before
 * standing in while a slow one waits: what a timing of a change to the screen waits for. */
gboolean
jac_figure_view_is_current (JacFigureView *self)
{
  g_return_val_if_fail (JAC_IS_FIGURE_VIEW (self), FALSE);

  return self->shown_generation == self->generation;
}

void
jac_figure_view_set_analysis (JacFigureView *self,
                              JacAnalysis   *analysis)
{
  g_return_if_fail (JAC_IS_FIGURE_VIEW (self));

  g_clear_pointer (&self->analysis, jac_analysis_free);
  self->analysis = analysis;
  self->style.has_highlight = FALSE;
  g_clear_pointer (&self->hover_text, g_free);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HOVER_TEXT]);
  invalidate (self);
}

void
jac_figure_view_set_style (JacFigureView        *self,
                           const JacFigureStyle *style)
{
  gboolean has_highlight;
  JacFigureHit highlight;

  g_return_if_fail (JAC_IS_FIGURE_VIEW (self));
  g_return_if_fail (style != NULL);

  has_highlight = self->style.has_highlight;
  highlight = self->style.highlight;
  self->style = *style;
  self->style.has_highlight = has_highlight;
  self->style.highlight = highlight;
  invalidate (self);
}

void
jac_figure_view_get_style (JacFigureView  *self,
                           JacFigureStyle *style)
{
  g_return_if_fail (JAC_IS_FIGURE_VIEW (self));

  *style = self->style;
  style->dark = self->dark;
  style->has_highlight = FALSE;
}

double
jac_figure_view_get_zoom (JacFigureView *self)
{
  g_return_val_if_fail (JAC_IS_FIGURE_VIEW (self), 1.0);

  return self->zoom;
}

void
jac_figure_view_set_zoom (JacFigureView *self,
                          double         zoom)
{
  g_return_if_fail (JAC_IS_FIGURE_VIEW (self));

  /* Fitting the view again starts reading afresh. */
  if (zoom <= 1.0)
    set_hover (self, NULL);
  jac_figure_view_zoom_at (self, zoom / self->zoom, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
                           gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

void
jac_figure_view_zoom_at (JacFigureView *self,
                         double         factor,
                         double         x,
                         double         y)
{
  double zoom;

  g_return_if_fail (JAC_IS_FIGURE_VIEW (self));

  zoom = CLAMP (self->zoom * factor, 1.0, JAC_FIGURE_VIEW_MAX_ZOOM);
  if (zoom == self->zoom)
    return;

  self->pan_x = (self->pan_x + x) * zoom / self->zoom - x;
  self->pan_y = (self->pan_y + y) * zoom / self->zoom - y;
  self->zoom = zoom;
  clamp_pan (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
jac_figure_view_pan_by (JacFigureView *self,
                        double         dx,
                        double         dy)
{
  g_return_if_fail (JAC_IS_FIGURE_VIEW (self));

  self->pan_x += dx;
  self->pan_y += dy;
  clamp_pan (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const JacAnalysis *
jac_figure_view_get_analysis (JacFigureView *self)
{
  g_return_val_if_fail (JAC_IS_FIGURE_VIEW (self), NULL);

  return analysis_of (self);
}

gboolean
jac_figure_view_get_highlight (JacFigureView *self,
                               JacFigureHit  *hit)
{
  g_return_val_if_fail (JAC_IS_FIGURE_VIEW (self), FALSE);

  if (self->style.has_highlight && hit != NULL)
    *hit = self->style.highlight;
  return self->style.has_highlight;
}

const char *
jac_figure_view_get_hover_text (JacFigureView *self)
{
  g_return_val_if_fail (JAC_IS_FIGURE_VIEW (self), NULL);

  return self->hover_text;
}

gboolean
jac_figure_view_get_dark (JacFigureView *self)
{
  g_return_val_if_fail (JAC_IS_FIGURE_VIEW (self), FALSE);

  return self->dark;
}
