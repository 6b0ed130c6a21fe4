/* jac-history.h: undo and redo of an object's state, as its property changes. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _JacHistory JacHistory;

typedef void (*JacHistoryChanged) (JacHistory *history,
                                   gpointer    data);

/* Watches @properties (NULL-terminated) of @object, which must outlive the history. */
JacHistory *jac_history_new              (GObject            *object,
                                          const char * const *properties);
void        jac_history_free             (JacHistory         *self);
/* Called when what can be undone or redone changes. */
void        jac_history_set_changed_func (JacHistory         *self,
                                          JacHistoryChanged   changed,
                                          gpointer            data);
gboolean    jac_history_can_undo         (const JacHistory   *self);
gboolean    jac_history_can_redo         (const JacHistory   *self);
void        jac_history_undo             (JacHistory         *self);
void        jac_history_redo             (JacHistory         *self);
void        jac_history_clear            (JacHistory         *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacHistory, jac_history_free)

G_END_DECLS
