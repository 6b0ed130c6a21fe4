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

JacAtomicFile *
jac_atomic_file_new (const char  *path,
                     GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *template = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  JacAtomicFile *self;
  int fd;

  fd = g_mkstemp (template);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot write %s: %s", path,
                   g_strerror (saved));
      return NULL;
    }

  /* mkstemp makes the file private; an output should get the permissions any new file gets. */
  {
    mode_t mask = umask (0);

    umask (mask);
    fchmod (fd, 0666 & ~mask);
  }

  self = g_new0 (JacAtomicFile, 1);
  self->path = g_strdup (path);
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
