/* jac-atomic-file.h: write a file next to its destination and rename it into place when complete. */
#pragma once

#include <stdio.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct _JacAtomicFile JacAtomicFile;

/* Creates a temporary file in the folder of @path; nothing exists at @path until commit. A
 * symbolic link at @path is followed: its target is written, in the target's folder, and the
 * link stays. A device node, FIFO, socket or folder at @path is refused ("… is not a regular
 * file"); a temporary file that cannot be made names the folder. */
JacAtomicFile *jac_atomic_file_new        (const char     *path,
                                           GError        **error);
FILE          *jac_atomic_file_get_stream (JacAtomicFile  *self);
/* Closes and renames into place; on failure removes the temporary file. Frees @self. */
gboolean       jac_atomic_file_commit     (JacAtomicFile  *self,
                                           GError        **error);
/* Removes the temporary file. Frees @self. */
void           jac_atomic_file_abort      (JacAtomicFile  *self);

G_END_DECLS
