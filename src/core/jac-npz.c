/* jac-npz.c: .npz archives read without NumPy or libzip: the zip directory, stored or raw-deflate
 * members (GIO's GZlibDecompressor), each member a .npy for jac_npy_parse. */
#define G_LOG_DOMAIN "jac-npz"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "jac-error.h"
#include "jac-npy.h"
#include "jac-npz.h"

#define EOCD_SIGNATURE         0x06054b50u
#define EOCD64_SIGNATURE       0x06064b50u
#define EOCD64_LOCATOR_SIG     0x07064b50u
#define CENTRAL_SIGNATURE      0x02014b50u
#define LOCAL_SIGNATURE        0x04034b50u
#define EOCD_SIZE              22
#define EOCD64_LOCATOR_SIZE    20
#define CENTRAL_HEADER_SIZE    46
#define LOCAL_HEADER_SIZE      30
#define ZIP64_EXTRA_ID         0x0001
#define METHOD_STORED          0
#define METHOD_DEFLATED        8
/* A zip comment is at most 65535 bytes: the end record lies within this much of the end. */
#define EOCD_SEARCH_MAX        (EOCD_SIZE + 65535)

static guint16
get16 (const guint8 *p)
{
  return p[0] | p[1] << 8;
}

static guint32
get32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

static guint64
get64 (const guint8 *p)
{
  return get32 (p) | (guint64) get32 (p + 4) << 32;
}

guint32
jac_npz_crc32 (const guint8 *bytes,
               gsize         length)
{
  static guint32 table[256];
  static gsize table_ready = 0;
  guint32 crc = 0xffffffffu;

  g_return_val_if_fail (bytes != NULL || length == 0, 0);

  if (g_once_init_enter (&table_ready))
    {
      for (guint32 n = 0; n < 256; n++)
        {
          guint32 c = n;

          for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
          table[n] = c;
        }
      g_once_init_leave (&table_ready, 1);
    }
  for (gsize e = 0; e < length; e++)
    crc = table[(crc ^ bytes[e]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

typedef struct
{
  char    *name;
  guint16  flags;
  guint16  method;
  guint32  crc;
  guint64  compressed_size;
  guint64  size;
  guint64  local_offset;
} Member;

static void
member_clear (Member *m)
{
  g_free (m->name);
}

/* The zip64 extra field holds, in this order, whichever of size, compressed size and offset
 * the fixed header marks with 0xffffffff. */
static gboolean
apply_zip64_extra (Member        *m,
                   const guint8  *extra,
                   gsize          extra_length,
                   gboolean       size_marked,
                   gboolean       compressed_marked,
                   gboolean       offset_marked,
                   GError       **error)
{
  for (gsize pos = 0; pos + 4 <= extra_length;)
    {
      guint16 id = get16 (extra + pos), length = get16 (extra + pos + 2);
      const guint8 *field = extra + pos + 4;
      gsize used = 0;

      if (pos + 4 + length > extra_length)
        break;
      if (id == ZIP64_EXTRA_ID)
        {
          if (size_marked && used + 8 <= length)
            m->size = get64 (field + used), used += 8, size_marked = FALSE;
          if (compressed_marked && used + 8 <= length)
            m->compressed_size = get64 (field + used), used += 8, compressed_marked = FALSE;
          if (offset_marked && used + 8 <= length)
            m->local_offset = get64 (field + used), used += 8, offset_marked = FALSE;
        }
      pos += 4 + length;
    }
  if (size_marked || compressed_marked || offset_marked)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "member “%s”: its zip64 sizes are missing", m->name);
      return FALSE;
    }
  return TRUE;
}

/* Finds the central directory from the end record (and the zip64 end record when the 32-bit
 * fields are saturated). */
static gboolean
find_directory (const guint8  *bytes,
                gsize          length,
                guint64       *count,
                guint64       *offset,
                guint64       *size,
                GError       **error)
{
  gsize search = MIN (length, (gsize) EOCD_SEARCH_MAX);
  const guint8 *eocd = NULL;

  for (gsize back = EOCD_SIZE; back <= search; back++)
    if (get32 (bytes + length - back) == EOCD_SIGNATURE)
      {
        eocd = bytes + length - back;
        break;
      }
  if (eocd == NULL)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "not a zip archive (no end of central directory record): np.savez writes one");
      return FALSE;
    }
  if (get16 (eocd + 4) != 0 || get16 (eocd + 6) != 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT, "multi-volume zip archives are not read");
      return FALSE;
    }
  *count = get16 (eocd + 10);
  *size = get32 (eocd + 12);
  *offset = get32 (eocd + 16);
  if ((*count == 0xffff || *size == 0xffffffffu || *offset == 0xffffffffu)
      && eocd - bytes >= EOCD64_LOCATOR_SIZE
      && get32 (eocd - EOCD64_LOCATOR_SIZE) == EOCD64_LOCATOR_SIG)
    {
      guint64 record = get64 (eocd - EOCD64_LOCATOR_SIZE + 8);

      if (record > length || length - record < 56 || get32 (bytes + record) != EOCD64_SIGNATURE)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                       "the zip64 end of central directory record is damaged");
          return FALSE;
        }
      *count = get64 (bytes + record + 32);
      *size = get64 (bytes + record + 40);
      *offset = get64 (bytes + record + 48);
    }
  if (*offset > length || *size > length - *offset)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "the central directory lies outside the file (truncated archive?)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_directory (const guint8  *bytes,
                gsize          length,
                GArray        *members,
                GError       **error)
{
  guint64 count, offset, size, pos;

  if (!find_directory (bytes, length, &count, &offset, &size, error))
    return FALSE;
  pos = offset;
  for (guint64 e = 0; e < count; e++)
    {
      Member m = { 0 };
      guint16 name_length, extra_length, comment_length;
      guint32 size32, compressed32, offset32;

      if (pos + CENTRAL_HEADER_SIZE > offset + size || get32 (bytes + pos) != CENTRAL_SIGNATURE)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                       "central directory entry %" G_GUINT64_FORMAT " is damaged", e + 1);
          return FALSE;
        }
      m.flags = get16 (bytes + pos + 8);
      m.method = get16 (bytes + pos + 10);
      m.crc = get32 (bytes + pos + 16);
      compressed32 = get32 (bytes + pos + 20);
      size32 = get32 (bytes + pos + 24);
      name_length = get16 (bytes + pos + 28);
      extra_length = get16 (bytes + pos + 30);
      comment_length = get16 (bytes + pos + 32);
      offset32 = get32 (bytes + pos + 42);
      if (pos + CENTRAL_HEADER_SIZE + name_length + extra_length + comment_length > offset + size)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                       "central directory entry %" G_GUINT64_FORMAT " runs past the directory",
                       e + 1);
          return FALSE;
        }
      m.name = g_strndup ((const char *) bytes + pos + CENTRAL_HEADER_SIZE, name_length);
      m.compressed_size = compressed32;
      m.size = size32;
      m.local_offset = offset32;
      g_array_append_val (members, m);
      if (!apply_zip64_extra (&g_array_index (members, Member, members->len - 1),
                              bytes + pos + CENTRAL_HEADER_SIZE + name_length, extra_length,
                              size32 == 0xffffffffu, compressed32 == 0xffffffffu,
                              offset32 == 0xffffffffu, error))
        return FALSE;
      pos += CENTRAL_HEADER_SIZE + name_length + extra_length + comment_length;
    }
  return TRUE;
}

static guint8 *
inflate_raw (const guint8  *data,
             gsize          compressed_size,
             gsize          size,
             const char    *name,
             GError       **error)
{
  g_autoptr(GZlibDecompressor) decompressor =
    g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  g_autofree guint8 *out = g_malloc (MAX (size, 1));
  g_autoptr(GError) local = NULL;
  gsize in_pos = 0, out_pos = 0;

  for (;;)
    {
      gsize read = 0, written = 0;
      guint8 spill[64];
      gboolean full = out_pos == size;
      GConverterResult result =
        g_converter_convert (G_CONVERTER (decompressor), data + in_pos, compressed_size - in_pos,
                             full ? spill : out + out_pos, full ? sizeof spill : size - out_pos,
                             G_CONVERTER_INPUT_AT_END, &read, &written, &local);

      if (result == G_CONVERTER_ERROR)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT, "member “%s”: %s", name,
                       g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT)
                       ? "the deflate stream is truncated" : local->message);
          return NULL;
        }
      in_pos += read;
      if (full && written > 0)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                       "member “%s” inflates to more than the %" G_GSIZE_FORMAT
                       " bytes the directory records", name, size);
          return NULL;
        }
      out_pos += written;
      if (result == G_CONVERTER_FINISHED)
        break;
    }
  if (out_pos != size)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "member “%s” inflates to %" G_GSIZE_FORMAT " bytes, the directory records %"
                   G_GSIZE_FORMAT, name, out_pos, size);
      return NULL;
    }
  return g_steal_pointer (&out);
}

static JacTensor *
read_member (const guint8  *bytes,
             gsize          length,
             const Member  *m,
             GError       **error)
{
  g_autofree guint8 *inflated = NULL;
  g_autoptr(GError) local = NULL;
  const guint8 *data, *content;
  guint64 start;
  JacTensor *tensor;

  if (m->local_offset > length || length - m->local_offset < LOCAL_HEADER_SIZE
      || get32 (bytes + m->local_offset) != LOCAL_SIGNATURE)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "member “%s”: its local header is missing or damaged", m->name);
      return NULL;
    }
  /* The local header's own sizes may be zero (data descriptor) or zip64 markers: the central
   * directory's are the ones to trust; only the name and extra lengths are needed here. */
  start = m->local_offset + LOCAL_HEADER_SIZE + get16 (bytes + m->local_offset + 26)
          + get16 (bytes + m->local_offset + 28);
  if (start > length || m->compressed_size > length - start)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "member “%s” is truncated: the archive ends inside its data", m->name);
      return NULL;
    }
  if (m->flags & 1)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "member “%s” is encrypted", m->name);
      return NULL;
    }
  data = bytes + start;
  if (m->method == METHOD_STORED)
    {
      if (m->compressed_size != m->size)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                       "member “%s” is stored but its two sizes differ", m->name);
          return NULL;
        }
      content = data;
    }
  else if (m->method == METHOD_DEFLATED)
    {
      if (m->size > G_MAXSIZE / 2)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                       "member “%s” is too large to inflate", m->name);
          return NULL;
        }
      inflated = inflate_raw (data, m->compressed_size, m->size, m->name, error);
      if (inflated == NULL)
        return NULL;
      content = inflated;
    }
  else
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "member “%s” uses zip compression method %u: only stored (0) and deflated "
                   "(8), as np.savez and np.savez_compressed write, are read", m->name,
                   m->method);
      return NULL;
    }
  if (jac_npz_crc32 (content, m->size) != m->crc)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "member “%s” fails its CRC-32 check (damaged archive)", m->name);
      return NULL;
    }
  tensor = jac_npy_parse (content, m->size, &local);
  if (tensor == NULL)
    g_set_error (error, JAC_ERROR, local->code, "member “%s”: %s", m->name, local->message);
  return tensor;
}

GHashTable *
jac_npz_parse (const guint8  *bytes,
               gsize          length,
               GError       **error)
{
  g_autoptr(GHashTable) table = NULL;
  g_autoptr(GArray) members = NULL;

  g_return_val_if_fail (bytes != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  members = g_array_new (FALSE, TRUE, sizeof (Member));
  g_array_set_clear_func (members, (GDestroyNotify) member_clear);
  if (!read_directory (bytes, length, members, error))
    return NULL;

  table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                 (GDestroyNotify) jac_tensor_free);
  for (guint e = 0; e < members->len; e++)
    {
      const Member *m = &g_array_index (members, Member, e);
      JacTensor *tensor;
      char *key;

      /* Directories and non-.npy members (a savez never writes them) are not arrays. */
      if (g_str_has_suffix (m->name, "/"))
        continue;
      if (!g_str_has_suffix (m->name, ".npy"))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                       "member “%s” is not a .npy array (np.savez names every member KEY.npy)",
                       m->name);
          return NULL;
        }
      key = g_strndup (m->name, strlen (m->name) - 4);
      if (g_hash_table_contains (table, key))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT, "key “%s” appears twice", key);
          g_free (key);
          return NULL;
        }
      tensor = read_member (bytes, length, m, error);
      if (tensor == NULL)
        {
          g_free (key);
          return NULL;
        }
      g_hash_table_insert (table, key, tensor);
    }
  return g_steal_pointer (&table);
}

GHashTable *
jac_npz_read (const char  *path,
              GError     **error)
{
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GError) local = NULL;
  GHashTable *table;
  struct stat st;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Opened here so that a missing file reads as a .npy's does ("cannot read x.npz: No such file
   * or directory"), not as GLib's "cannot read x.npz: Failed to open file “x.npz”: open() failed:
   * No such file or directory". */
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd >= 0 && fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
    {
      close (fd);
      fd = -1;
      errno = EISDIR;
    }
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot read %s: %s", path,
                   g_strerror (saved_errno));
      return NULL;
    }
  file = g_mapped_file_new_from_fd (fd, FALSE, &local);
  close (fd);
  if (file == NULL)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot read %s: %s", path, local->message);
      return NULL;
    }
  table = jac_npz_parse ((const guint8 *) g_mapped_file_get_contents (file),
                         g_mapped_file_get_length (file), &local);
  if (table == NULL)
    g_set_error (error, JAC_ERROR, local->code, "%s: %s", path, local->message);
  return table;
}
