/* jac-atomic-file.c: outputs are written beside their destination and renamed when complete. */
#define G_LOG_DOMAIN "jac-atomic-file"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jac-atomic-file.h"
#include "jac-error.h"

struct _JacAtomicFile
{
  char *path;
  char *temp_path;
  FILE *stream;
};

#define MAX_LINKS 40

/* The file @path names once its symbolic links are followed: a link is replaced by nothing, its
 * target is written (in the target's folder, so that the rename stays on one file system). A
 * dangling link names the file it would create. */
static char *
resolve_target (const char  *path,
                GError     **error)
{
  char *target = g_strdup (path);

  for (guint hops = 0; hops < MAX_LINKS; hops++)
    {
      g_autofree char *link = NULL;
      g_autofree char *dir = NULL;
      GStatBuf st;

      if (g_lstat (target, &st) != 0 || !S_ISLNK (st.st_mode))
        return target;
      link = g_file_read_link (target, NULL);
      if (link == NULL)
        return target;
      dir = g_path_get_dirname (target);
      g_free (target);
      target = g_path_is_absolute (link) ? g_steal_pointer (&link)
                                         : g_build_filename (dir, link, NULL);
    }
  g_set_error (error, JAC_ERROR, JAC_ERROR_IO,
               "cannot write %s: too many levels of symbolic links", path);
  g_free (target);
  return NULL;
}

JacAtomicFile *
jac_atomic_file_new (const char  *path,
                     GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autofree char *target = resolve_target (path, error);
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *template = NULL;
  JacAtomicFile *self;
  GStatBuf st;
  int fd;

  if (target == NULL)
    return NULL;
  /* Renaming over a device node, a FIFO or a folder would replace it with a regular file. */
  if (g_stat (target, &st) == 0 && !S_ISREG (st.st_mode))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot write %s: %s is not a regular file",
                   path, target);
      return NULL;
    }
  dir = g_path_get_dirname (target);
  base = g_path_get_basename (target);
  template = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp (template);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, JAC_ERROR, JAC_ERROR_IO,
                   "cannot write %s: cannot create a temporary file in the folder %s: %s", path,
                   dir, g_strerror (saved));
      return NULL;
    }

  /* mkstemp makes the file private; an output should get the permissions any new file gets. */
  {
    mode_t mask = umask (0);

    umask (mask);
    fchmod (fd, 0666 & ~mask);
  }

  self = g_new0 (JacAtomicFile, 1);
  self->path = g_steal_pointer (&target);
  self->temp_path = g_steal_pointer (&template);
  self->stream = fdopen (fd, "wb");
  if (self->stream == NULL)
    {
      int saved = errno;

      close (fd);
      jac_atomic_file_abort (self);
      g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot write %s: %s", path,
                   g_strerror (saved));
      return NULL;
    }
  return self;
}

FILE *
jac_atomic_file_get_stream (JacAtomicFile *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->stream;
}

static void
jac_atomic_file_free (JacAtomicFile *self)
{
  g_free (self->path);
  g_free (self->temp_path);
  g_free (self);
}

gboolean
jac_atomic_file_commit (JacAtomicFile  *self,
                        GError        **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  gboolean failed = ferror (self->stream) != 0;
  int saved = failed ? EIO : 0;

  if (fclose (self->stream) != 0 && !failed)
    {
      failed = TRUE;
      saved = errno;
    }
  self->stream = NULL;
  if (!failed && g_rename (self->temp_path, self->path) != 0)
    {
      failed = TRUE;
      saved = errno;
    }
  if (failed)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot write %s: %s", self->path,
                   g_strerror (saved));
      g_unlink (self->temp_path);
    }
  jac_atomic_file_free (self);
  return !failed;
}

void
jac_atomic_file_abort (JacAtomicFile *self)
{
  if (self == NULL)
    return;
  if (self->stream != NULL)
    fclose (self->stream);
  g_unlink (self->temp_path);
  jac_atomic_file_free (self);
}
