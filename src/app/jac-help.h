/* jac-help.h: the user guide (F1, Help in the main menu). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Opens @uri for @parent; FALSE when it cannot (no help browser). */
typedef gboolean (*JacHelpLauncher) (GtkWindow  *parent,
                                     const char *uri);

/* Shows the guide: in Yelp (help:jacscope) when it is installed, else in a window of its own,
 * which it returns (NULL when Yelp took it). */
GtkWindow *jac_help_show          (GtkWindow       *parent);
/* Replaces the launcher (tests); NULL restores Yelp's. */
void       jac_help_set_launcher  (JacHelpLauncher  launcher);
/* One Mallard page as Pango markup. */
char      *jac_help_page_markup   (const char      *mallard,
                                   GError         **error);
/* The whole guide, every page in reading order, as Pango markup. */
char      *jac_help_guide_markup  (void);

G_END_DECLS
