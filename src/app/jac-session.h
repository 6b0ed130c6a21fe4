/* jac-session.h: the application's state, as typed properties with their defaults in one place. */
#pragma once

#include <gio/gio.h>

#include "core/jac-analysis.h"
#include "core/jac-sequence.h"
#include "render/jac-figure.h"

G_BEGIN_DECLS

/* Which figure the window shows. */
typedef enum
{
  JAC_VIEW_STEP,      /* one step's Jacobian */
  JAC_VIEW_SEQUENCE,  /* ∂h_T/∂h_{T−k} through time */
} JacView;

/* The RNN step's activation φ (core's JacFunc of the same name). */
typedef enum
{
  JAC_ACTIVATION_TANH,
  JAC_ACTIVATION_SIGMOID,
  JAC_ACTIVATION_RELU,
  JAC_ACTIVATION_IDENTITY,
} JacActivation;

/* The RNN step's bias: one row broadcast over the batch, or one per batch row. */
typedef enum
{
  JAC_BIAS_SHAPE_H,    /*< nick=H >*/
  JAC_BIAS_SHAPE_NXH,  /*< nick=NxH >*/
} JacBiasShape;

#include "jac-app-enums.h"

#define JAC_SESSION_MAX_BATCH 64
#define JAC_SESSION_MAX_SIZE 1024
#define JAC_SESSION_MAX_STEPS 400
#define JAC_SESSION_MAX_GAIN 2.0   /* the gain slider's end */
/* Ctrl+plus and Ctrl+minus move the text scale along the powers of one step. */
#define JAC_SESSION_TEXT_SCALE_STEP 1.15
#define JAC_SESSION_TEXT_SCALE_MIN_POWER (-4)
#define JAC_SESSION_TEXT_SCALE_MAX_POWER 4
#define JAC_SESSION_MIN_TEXT_SCALE \
  pow (JAC_SESSION_TEXT_SCALE_STEP, JAC_SESSION_TEXT_SCALE_MIN_POWER)
#define JAC_SESSION_MAX_TEXT_SCALE \
  pow (JAC_SESSION_TEXT_SCALE_STEP, JAC_SESSION_TEXT_SCALE_MAX_POWER)

#define JAC_TYPE_SESSION (jac_session_get_type ())

G_DECLARE_FINAL_TYPE (JacSession, jac_session, JAC, SESSION, GObject)

JacSession         *jac_session_new                     (void);
/* Sets @properties (NULL-terminated names, or NULL for all) back to their defaults, as one
 * change. */
void                jac_session_reset                   (JacSession         *self,
                                                         const char * const *properties);
/* Every property's name, in the order they are declared. */
const char * const *jac_session_list_properties         (void);
/* The state a user changes and may want back (undo): the data, the expression, the figure's
 * choices; not the window's chrome (panes, presentation mode, text scale, dark style). */
const char * const *jac_session_undoable_properties     (void);
/* What persists between runs: the GSettings keys of the same names (org.jacscope.Jacscope). */
const char * const *jac_session_persistent_properties   (void);
/* Adds an action named after each property to @map (a window's "win." actions): a
 * GPropertyAction, or for an enum a string-valued one by the enum's nicks that ignores other
 * names. */
void                jac_session_add_actions             (JacSession         *self,
                                                         GActionMap         *map);
/* Binds every persistent property to its key of @settings: restored now, saved as it changes. */
void                jac_session_bind_settings           (JacSession         *self,
                                                         GSettings          *settings);

/* Binds the enum @property to a string property of @target by the enum's nicks. */
GBinding           *jac_session_bind_nick               (JacSession         *self,
                                                         const char         *property,
                                                         gpointer            target,
                                                         const char         *target_property,
                                                         GBindingFlags       flags);
/* Binds the enum @property both ways to a guint property of @target that is a position in a list
 * of the enum's values in order (a drop-down's or combo row's "selected"). */
GBinding           *jac_session_bind_position           (JacSession         *self,
                                                         const char         *property,
                                                         gpointer            target,
                                                         const char         *target_property);
/* The RNN step's configuration the state describes (sizes, seed, activation, bias shape). */
void                jac_session_rnn_config              (JacSession         *self,
                                                         JacRnnConfig       *config);
/* An enum property's nick: "denominator" for "layout". */
const char         *jac_session_get_nick                (JacSession         *self,
                                                         const char         *property);

G_END_DECLS
