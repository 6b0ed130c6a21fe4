/* npz-writer.h: .npz archives written by hand for the tests — stored or raw-deflated members
 * with the zip64 extra fields NumPy's savez writes — independent of the reader in jac-npz.c
 * except for the CRC-32. */
#pragma once

#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "core/jac-npy.h"
#include "core/jac-npz.h"

G_GNUC_UNUSED static void
npz_put16 (GByteArray *b,
           guint       v)
{
  guint8 p[2] = { v & 0xff, (v >> 8) & 0xff };

  g_byte_array_append (b, p, 2);
}

G_GNUC_UNUSED static void
npz_put32 (GByteArray *b,
           guint32     v)
{
  npz_put16 (b, v & 0xffff);
  npz_put16 (b, v >> 16);
}

G_GNUC_UNUSED static void
npz_put64 (GByteArray *b,
           guint64     v)
{
  npz_put32 (b, v & 0xffffffffu);
  npz_put32 (b, v >> 32);
}

/* The .npy bytes of @tensor in @dtype. */
G_GNUC_UNUSED static GBytes *
npz_npy_bytes (const JacTensor *tensor,
               JacNpyDtype      dtype)
{
  JacNpyFormat format = { dtype, FALSE, 0 };
  char *data = NULL;
  size_t size = 0;
  FILE *stream = open_memstream (&data, &size);
  GError *error = NULL;

  g_assert_true (jac_npy_write_stream (stream, tensor, &format, &error));
  g_assert_no_error (error);
  fclose (stream);
  return g_bytes_new_take (data, size);
}

G_GNUC_UNUSED static GBytes *
npz_deflate_raw (GBytes *content)
{
  g_autoptr(GZlibCompressor) compressor =
    g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW, 6);
  gsize length = g_bytes_get_size (content), capacity = length + 1024, read = 0, written = 0;
  guint8 *out = g_malloc (capacity);
  GError *error = NULL;
  GConverterResult result =
    g_converter_convert (G_CONVERTER (compressor), g_bytes_get_data (content, NULL), length, out,
                         capacity, G_CONVERTER_INPUT_AT_END, &read, &written, &error);

  g_assert_no_error (error);
  g_assert_cmpint (result, ==, G_CONVERTER_FINISHED);
  g_assert_cmpuint (read, ==, length);
  return g_bytes_new_take (out, written);
}

/* An archive of @n members KEY.npy holding @contents (raw member bytes, e.g. from
 * npz_npy_bytes), stored or deflated; with @zip64 the local headers carry NumPy's zip64
 * markers (sizes 0xffffffff and an extra field). */
G_GNUC_UNUSED static GBytes *
npz_archive (guint           n,
             const char    **keys,
             GBytes        **contents,
             gboolean        deflated,
             gboolean        zip64)
{
  GByteArray *b = g_byte_array_new ();
  GByteArray *central = g_byte_array_new ();

  for (guint e = 0; e < n; e++)
    {
      g_autofree char *name = g_strdup_printf ("%s.npy", keys[e]);
      gsize size;
      const guint8 *raw = g_bytes_get_data (contents[e], &size);
      g_autoptr(GBytes) packed = deflated ? npz_deflate_raw (contents[e]) : g_bytes_ref (contents[e]);
      gsize packed_size;
      const guint8 *packed_data = g_bytes_get_data (packed, &packed_size);
      guint32 crc = jac_npz_crc32 (raw, size), offset = b->len;

      npz_put32 (b, 0x04034b50);
      npz_put16 (b, zip64 ? 45 : 20);
      npz_put16 (b, 0);
      npz_put16 (b, deflated ? 8 : 0);
      npz_put32 (b, 0);
      npz_put32 (b, crc);
      npz_put32 (b, zip64 ? 0xffffffffu : packed_size);
      npz_put32 (b, zip64 ? 0xffffffffu : size);
      npz_put16 (b, strlen (name));
      npz_put16 (b, zip64 ? 20 : 0);
      g_byte_array_append (b, (const guint8 *) name, strlen (name));
      if (zip64)
        {
          npz_put16 (b, 1);
          npz_put16 (b, 16);
          npz_put64 (b, size);
          npz_put64 (b, packed_size);
        }
      g_byte_array_append (b, packed_data, packed_size);

      npz_put32 (central, 0x02014b50);
      npz_put16 (central, 20);
      npz_put16 (central, 20);
      npz_put16 (central, 0);
      npz_put16 (central, deflated ? 8 : 0);
      npz_put32 (central, 0);
      npz_put32 (central, crc);
      npz_put32 (central, packed_size);
      npz_put32 (central, size);
      npz_put16 (central, strlen (name));
      npz_put16 (central, 0);
      npz_put16 (central, 0);
      npz_put16 (central, 0);
      npz_put16 (central, 0);
      npz_put32 (central, 0);
      npz_put32 (central, offset);
      g_byte_array_append (central, (const guint8 *) name, strlen (name));
    }
  {
    guint32 central_offset = b->len, central_size = central->len;

    g_byte_array_append (b, central->data, central->len);
    npz_put32 (b, 0x06054b50);
    npz_put16 (b, 0);
    npz_put16 (b, 0);
    npz_put16 (b, n);
    npz_put16 (b, n);
    npz_put32 (b, central_size);
    npz_put32 (b, central_offset);
    npz_put16 (b, 0);
  }
  g_byte_array_unref (central);
  return g_byte_array_free_to_bytes (b);
}

/* Writes an archive of tensors (float64 unless @f4) to @path. */
G_GNUC_UNUSED static void
npz_write_tensors (const char       *path,
                   guint             n,
                   const char      **keys,
                   JacTensor       **tensors,
                   gboolean          deflated,
                   gboolean          f4)
{
  GBytes **contents = g_new0 (GBytes *, MAX (n, 1));
  g_autoptr(GBytes) archive = NULL;
  GError *error = NULL;

  for (guint e = 0; e < n; e++)
    contents[e] = npz_npy_bytes (tensors[e], f4 ? JAC_NPY_F4_LE : JAC_NPY_F8_LE);
  archive = npz_archive (n, keys, contents, deflated, TRUE);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (archive, NULL),
                                      g_bytes_get_size (archive), &error));
  g_assert_no_error (error);
  for (guint e = 0; e < n; e++)
    g_bytes_unref (contents[e]);
  g_free (contents);
}
