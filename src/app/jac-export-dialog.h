/* jac-export-dialog.h: the Export dialog: format, size preset or custom size, PNG scale or DPI,
 * a preview of the output's shape, then a file chooser for the name. */
#pragma once

#include <gtk/gtk.h>

#include "jac-export.h"

G_BEGIN_DECLS

#define JAC_TYPE_EXPORT_DIALOG (jac_export_dialog_get_type ())

G_DECLARE_FINAL_TYPE (JacExportDialog, jac_export_dialog, JAC, EXPORT_DIALOG, GtkWindow)

/* Draws the figure on show into @cr at @size (its units and medium), for the preview. */
typedef void (*JacExportDrawFunc) (cairo_t             *cr,
                                   const JacExportSize *size,
                                   gpointer             user_data);

/* Modal and transient for @parent; starts from @choices. The pane is what the Pane preset and
 * the preview of a pane-sized export use. */
JacExportDialog        *jac_export_dialog_new           (GtkWindow              *parent,
                                                         const JacExportChoices *choices,
                                                         double                  pane_width,
                                                         double                  pane_height,
                                                         JacMedium               pane_medium);
void                    jac_export_dialog_set_draw_func (JacExportDialog        *self,
                                                         JacExportDrawFunc       draw,
                                                         gpointer                user_data);
/* Sets the controls as @choices say (tests drive the dialog through this). */
void                    jac_export_dialog_set_choices   (JacExportDialog        *self,
                                                         const JacExportChoices *choices);
/* What the controls say now, with the folder and name last exported to. */
const JacExportChoices *jac_export_dialog_get_choices   (JacExportDialog        *self);
void                    jac_export_dialog_get_size      (JacExportDialog        *self,
                                                         JacExportSize          *size);
/* What the file chooser does once a name is chosen: remembers the folder and name, emits
 * "export" with @path and closes the dialog. */
void                    jac_export_dialog_export_to     (JacExportDialog        *self,
                                                         const char             *path);

G_END_DECLS
