/* test-npz.c: .npz archives written by hand (stored, deflated, zip64 markers, float32/float64),
 * damaged archives, and — when NumPy is installed — archives np.savez itself wrote. */
#define G_LOG_DOMAIN "test-npz"

#include <math.h>

#include <glib/gstdio.h>

#include "core/jac-error.h"
#include "npz-writer.h"

static JacTensor *
counting_tensor (guint        rank,
                 const gsize *shape,
                 double       scale)
{
  JacTensor *t = jac_tensor_new (rank, shape, NULL);

  for (gsize e = 0; e < t->size; e++)
    t->data[e] = scale * ((double) e - 2.5) / 7.0;
  return t;
}

typedef struct
{
  gboolean deflated;
  gboolean zip64;
  gboolean f4;
} ArchiveKind;

static void
test_round_trip (gconstpointer data)
{
  const ArchiveKind *kind = data;
  gsize shape_a[2] = { 3, 4 }, shape_b[1] = { 5 }, shape_c[3] = { 2, 1, 3 };
  g_autoptr(JacTensor) a = counting_tensor (2, shape_a, 1.0);
  g_autoptr(JacTensor) b = counting_tensor (1, shape_b, -3.0);
  g_autoptr(JacTensor) c = counting_tensor (3, shape_c, 1e-3);
  JacTensor *tensors[3] = { a, b, c };
  const char *keys[3] = { "weight_ih_l0", "bias_hh_l0", "x" };
  GBytes *contents[3];
  g_autoptr(GBytes) archive = NULL;
  g_autoptr(GHashTable) table = NULL;
  g_autoptr(GError) error = NULL;

  for (guint e = 0; e < 3; e++)
    contents[e] = npz_npy_bytes (tensors[e], kind->f4 ? JAC_NPY_F4_LE : JAC_NPY_F8_LE);
  archive = npz_archive (3, keys, contents, kind->deflated, kind->zip64);
  table = jac_npz_parse (g_bytes_get_data (archive, NULL), g_bytes_get_size (archive), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (table), ==, 3);
  for (guint e = 0; e < 3; e++)
    {
      const JacTensor *got = g_hash_table_lookup (table, keys[e]);

      g_assert_nonnull (got);
      g_assert_cmpuint (got->rank, ==, tensors[e]->rank);
      for (guint r = 0; r < got->rank; r++)
        g_assert_cmpuint (got->shape[r], ==, tensors[e]->shape[r]);
      for (gsize i = 0; i < got->size; i++)
        if (kind->f4)
          g_assert_cmpfloat (got->data[i], ==, (double) (float) tensors[e]->data[i]);
        else
          g_assert_cmpfloat (got->data[i], ==, tensors[e]->data[i]);
      g_bytes_unref (contents[e]);
    }
}

/* A deflated member must actually be compressed for the test to mean anything. */
static void
test_deflate_is_compressed (void)
{
  gsize shape[1] = { 4096 };
  g_autoptr(JacTensor) zeros = jac_tensor_new (1, shape, NULL);
  g_autoptr(GBytes) npy = npz_npy_bytes (zeros, JAC_NPY_F8_LE);
  g_autoptr(GBytes) packed = npz_deflate_raw (npy);
  const char *key = "z";
  g_autoptr(GBytes) archive = npz_archive (1, &key, &npy, TRUE, TRUE);
  g_autoptr(GHashTable) table = NULL;
  g_autoptr(GError) error = NULL;
  const JacTensor *got;

  g_assert_cmpuint (g_bytes_get_size (packed) * 10, <, g_bytes_get_size (npy));
  g_assert_cmpuint (g_bytes_get_size (archive), <, g_bytes_get_size (npy));
  table = jac_npz_parse (g_bytes_get_data (archive, NULL), g_bytes_get_size (archive), &error);
  g_assert_no_error (error);
  got = g_hash_table_lookup (table, "z");
  g_assert_nonnull (got);
  g_assert_cmpuint (got->size, ==, 4096);
  g_assert_cmpfloat (jac_tensor_max_abs (got), ==, 0.0);
}

static void
test_crc32_known_value (void)
{
  /* The check value of CRC-32/ISO-HDLC. */
  g_assert_cmphex (jac_npz_crc32 ((const guint8 *) "123456789", 9), ==, 0xcbf43926);
  g_assert_cmphex (jac_npz_crc32 (NULL, 0), ==, 0);
}

static GByteArray *
sample_archive (gboolean deflated)
{
  gsize shape[2] = { 2, 3 };
  g_autoptr(JacTensor) t = counting_tensor (2, shape, 1.0);
  g_autoptr(GBytes) npy = npz_npy_bytes (t, JAC_NPY_F8_LE);
  const char *key = "weight_hh_l0";
  g_autoptr(GBytes) archive = npz_archive (1, &key, &npy, deflated, TRUE);

  return g_bytes_unref_to_array (g_steal_pointer (&archive));
}

static void
expect_format_error (const GByteArray *bytes,
                     const char       *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) table = jac_npz_parse (bytes->data, bytes->len, &error);

  g_assert_null (table);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_FORMAT);
  if (strstr (error->message, fragment) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, fragment);
}

static void
test_reject_damaged (void)
{
  /* Offsets into the one-member archive: local header 30 + name 16 + zip64 extra 20. */
  gsize data_start = 30 + 16 + 20;

  {
    g_autoptr(GByteArray) b = sample_archive (FALSE);

    b->data[data_start + 100] ^= 0x40;
    expect_format_error (b, "CRC-32");
  }
  {
    g_autoptr(GByteArray) b = sample_archive (TRUE);

    b->data[data_start + 3] ^= 0xff;
    b->data[data_start + 4] ^= 0xff;
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GHashTable) table = jac_npz_parse (b->data, b->len, &error);

      g_assert_null (table);
      g_assert_error (error, JAC_ERROR, JAC_ERROR_FORMAT);
      g_assert_nonnull (strstr (error->message, "weight_hh_l0.npy"));
    }
  }
  {
    g_autoptr(GByteArray) b = sample_archive (FALSE);

    g_byte_array_set_size (b, 40);
    expect_format_error (b, "not a zip archive");
  }
  {
    g_autoptr(GByteArray) b = sample_archive (FALSE);

    /* The member's data cut short, the directory kept: truncated inside the data. */
    g_byte_array_remove_range (b, data_start + 10, 60);
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GHashTable) table = jac_npz_parse (b->data, b->len, &error);

      g_assert_null (table);
      g_assert_error (error, JAC_ERROR, JAC_ERROR_FORMAT);
    }
  }
  {
    g_autoptr(GByteArray) b = sample_archive (FALSE);

    /* The method field of the central entry: 12 (bzip2). */
    gsize central = b->len - 22 - 46 - 16;

    b->data[central + 10] = 12;
    expect_format_error (b, "method 12");
  }
  {
    /* A member that is not an array. */
    g_autoptr(GBytes) text = g_bytes_new_static ("hello", 5);
    GBytes *contents[1] = { text };
    const char *key = "readme.txt";
    g_autoptr(GBytes) archive = npz_archive (1, &key, contents, FALSE, FALSE);
    g_autoptr(GByteArray) b = g_bytes_unref_to_array (g_steal_pointer (&archive));

    expect_format_error (b, "readme.txt.npy");
  }
  {
    g_autoptr(GByteArray) b = g_byte_array_new ();

    expect_format_error (b, "not a zip archive");
  }
}

static void
test_read_names_the_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) table = jac_npz_read ("/nonexistent/weights.npz", &error);

  g_assert_null (table);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/weights.npz"));
  /* Said once, as a .npy's is: not GLib's "Failed to open file … open() failed: …". */
  g_assert_cmpstr (error->message, ==, "cannot read /nonexistent/weights.npz: No such file or "
                                       "directory");
  g_clear_error (&error);

  /* A folder is named as one, not as a failed mmap(). */
  g_assert_null (jac_npz_read (g_get_tmp_dir (), &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_assert_true (g_str_has_suffix (error->message, ": Is a directory"));
}

/* np.savez and np.savez_compressed themselves, when NumPy is there: never required. */
static void
test_numpy_written (void)
{
  g_autofree char *dir = g_dir_make_tmp ("jacscope-npz-XXXXXX", NULL);
  g_autofree char *plain = g_build_filename (dir, "plain.npz", NULL);
  g_autofree char *packed = g_build_filename (dir, "packed.npz", NULL);
  g_autofree char *script = NULL;
  const char *argv[] = { "/usr/bin/python3", "-c", NULL, NULL };
  int status = 0;

  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no /usr/bin/python3");
      return;
    }
  script = g_strdup_printf (
    "import sys\n"
    "try:\n import numpy as np\nexcept ImportError:\n sys.exit(77)\n"
    "a = np.arange(12.).reshape(3, 4) / 7\n"
    "b = np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3))\n"
    "np.savez('%s', weight_ih_l0=a, bias_ih_l0=b)\n"
    "np.savez_compressed('%s', weight_ih_l0=a, bias_ih_l0=b.astype('>f4'))\n", plain, packed);
  argv[2] = script;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                               NULL, &status, NULL));
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_test_skip ("NumPy is not installed");
      return;
    }
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  for (guint f = 0; f < 2; f++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GHashTable) table = jac_npz_read (f == 0 ? plain : packed, &error);
      const JacTensor *a, *b;

      g_assert_no_error (error);
      a = g_hash_table_lookup (table, "weight_ih_l0");
      b = g_hash_table_lookup (table, "bias_ih_l0");
      g_assert_nonnull (a);
      g_assert_nonnull (b);
      g_assert_cmpuint (a->shape[0], ==, 3);
      g_assert_cmpuint (a->shape[1], ==, 4);
      for (gsize e = 0; e < 12; e++)
        g_assert_cmpfloat (a->data[e], ==, e / 7.0);
      for (gsize e = 0; e < 6; e++)
        g_assert_cmpfloat (b->data[e], ==, (double) e);
    }
  g_unlink (plain);
  g_unlink (packed);
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  static const ArchiveKind kinds[] = {
    { FALSE, FALSE, FALSE }, { FALSE, TRUE, FALSE }, { TRUE, FALSE, FALSE },
    { TRUE, TRUE, FALSE }, { FALSE, TRUE, TRUE }, { TRUE, TRUE, TRUE },
  };

  g_test_init (&argc, &argv, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autofree char *name = g_strdup_printf ("/npz/round-trip/%s-%s-%s",
                                               kinds[k].deflated ? "deflated" : "stored",
                                               kinds[k].zip64 ? "zip64" : "zip32",
                                               kinds[k].f4 ? "f4" : "f8");

      g_test_add_data_func (name, &kinds[k], test_round_trip);
    }
  g_test_add_func ("/npz/deflate-is-compressed", test_deflate_is_compressed);
  g_test_add_func ("/npz/crc32-known-value", test_crc32_known_value);
  g_test_add_func ("/npz/reject-damaged", test_reject_damaged);
  g_test_add_func ("/npz/read-names-the-file", test_read_names_the_file);
  g_test_add_func ("/npz/numpy-written", test_numpy_written);
  return g_test_run ();
}
