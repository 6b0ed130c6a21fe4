/* test-npy.c: .npy round trips, files as NumPy writes them, and every kind of broken file. */
#define G_LOG_DOMAIN "test-npy"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <glib/gstdio.h>

#include "core/jac-error.h"
#include "core/jac-npy.h"

/* ------------------------------------------------------------------------------------------ */
/* Files exactly as numpy 1.24.2 wrote them (np.save, or write_array with a version).          */
/* ------------------------------------------------------------------------------------------ */

/* np.arange(6.).reshape(2, 3) */
static const char numpy_c23_header[] =
  "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
  "                                                          \n";
/* np.asfortranarray([[1., 2, 3], [4, 5, 6]]): the data is laid out column by column. */
static const char numpy_f23_header[] =
  "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }"
  "                                                           \n";
/* np.arange(24, dtype='>f4').reshape(2, 3, 4) */
static const char numpy_be234_header[] =
  "\x93NUMPY\x01\x00v\x00{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3, 4), }"
  "                                                       \n";
/* np.float64(1.5) */
static const char numpy_scalar_header[] =
  "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (), }"
  "                                                              \n";
/* write_array(f, np.arange(3, dtype='<f4'), version=(3, 0)) */
static const char numpy_v3_header[] =
  "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
  "                                                          \n";
/* write_array(f, np.arange(3.), version=(2, 0)) */
static const char numpy_v2_header[] =
  "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
  "                                                          \n";

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void
append_f8_le (GByteArray *bytes,
              double      value)
{
  guint64 bits;

  memcpy (&bits, &value, sizeof bits);
  bits = GUINT64_TO_LE (bits);
  g_byte_array_append (bytes, (const guint8 *) &bits, sizeof bits);
}

static void
append_f4_be (GByteArray *bytes,
              float       value)
{
  guint32 bits;

  memcpy (&bits, &value, sizeof bits);
  bits = GUINT32_TO_BE (bits);
  g_byte_array_append (bytes, (const guint8 *) &bits, sizeof bits);
}

/* A whole file: a preamble given byte for byte (sizeof - 1: the literals hold NULs). */
static GByteArray *
file_from_header (const char *header,
                  gsize       header_size)
{
  GByteArray *bytes = g_byte_array_new ();

  g_byte_array_append (bytes, (const guint8 *) header, header_size - 1);
  return bytes;
}

/* A file laid out as NumPy lays it out, around a header dictionary of our choosing. */
static GByteArray *
npy_file (guint       major,
          const char *dict,
          gsize       n_data_bytes)
{
  GByteArray *bytes = g_byte_array_new ();
  gsize prefix = (major == 1) ? 10 : 12;
  gsize header_length = strlen (dict) + 1;
  guint8 magic[] = { 0x93, 'N', 'U', 'M', 'P', 'Y', (guint8) major, 0 };

  header_length += 64 - (prefix + header_length) % 64;
  g_byte_array_append (bytes, magic, sizeof magic);
  for (gsize i = 0; i < prefix - 8; i++)
    {
      guint8 b = (header_length >> (8 * i)) & 0xff;

      g_byte_array_append (bytes, &b, 1);
    }
  g_byte_array_append (bytes, (const guint8 *) dict, strlen (dict));
  while (bytes->len < prefix + header_length - 1)
    g_byte_array_append (bytes, (const guint8 *) " ", 1);
  g_byte_array_append (bytes, (const guint8 *) "\n", 1);
  for (gsize i = 0; i < n_data_bytes; i++)
    {
      guint8 b = (guint8) (i * 37 + 11);

      g_byte_array_append (bytes, &b, 1);
    }
  return bytes;
}

/* Parses from an exactly sized copy, so that the sanitizers catch any read past the end. */
static JacTensor *
parse_exact (const guint8  *bytes,
             gsize          length,
             GError       **error)
{
  g_autofree guint8 *copy = g_memdup2 (bytes, length);

  return jac_npy_parse (copy, length, error);
}

static JacTensor *
parse_array (GByteArray *bytes)
{
  g_autoptr(GError) error = NULL;
  JacTensor *tensor = parse_exact (bytes->data, bytes->len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (tensor);
  return tensor;
}

static void
assert_rejected_bytes (const guint8 *bytes,
                       gsize         length,
                       const char   *culprit)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) tensor = parse_exact (bytes, length, &error);

  g_assert_null (tensor);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_FORMAT);
  if (*culprit != '\0')
    g_test_message ("rejected: %s", error->message);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_nonnull (strstr (error->message, culprit));
}

static void
assert_rejected (GByteArray *bytes,
                 const char *culprit)
{
  assert_rejected_bytes (bytes->data, bytes->len, culprit);
  g_byte_array_unref (bytes);
}

static void
assert_header_rejected (const char *dict,
                        gsize       n_data_bytes,
                        const char *culprit)
{
  assert_rejected (npy_file (1, dict, n_data_bytes), culprit);
}

static void
assert_shape (const JacTensor *tensor,
              guint            rank,
              const gsize     *shape)
{
  g_assert_cmpuint (tensor->rank, ==, rank);
  for (guint a = 0; a < rank; a++)
    g_assert_cmpuint (tensor->shape[a], ==, shape[a]);
}

static guint8 *
write_to_memory (const JacTensor    *tensor,
                 const JacNpyFormat *format,
                 gsize              *length)
{
  g_autoptr(GError) error = NULL;
  char *buffer = NULL;
  size_t size = 0;
  FILE *stream = open_memstream (&buffer, &size);

  g_assert_nonnull (stream);
  g_assert_true (jac_npy_write_stream (stream, tensor, format, &error));
  g_assert_no_error (error);
  g_assert_cmpint (fclose (stream), ==, 0);
  *length = size;
  return (guint8 *) buffer;
}

static JacTensor *
numbered_tensor (guint        rank,
                 const gsize *shape)
{
  JacTensor *tensor = jac_tensor_new (rank, shape, NULL);

  /* Distinct, signed, and not all exactly representable as float32. */
  for (gsize n = 0; n < tensor->size; n++)
    tensor->data[n] = ((double) n - 7.0) * 0.3 + 1e-9 * (double) n;
  return tensor;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The folder's entries, sorted, separated by spaces. */
static char *
list_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
remove_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);

      g_assert_cmpint (g_remove (file), ==, 0);
    }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* round trips                                                                                */
/* ------------------------------------------------------------------------------------------ */

typedef struct
{
  JacNpyDtype dtype;
  gboolean    fortran_order;
} RoundTrip;

static const char *descr[] = { "<f8", ">f8", "<f4", ">f4" };

/* Reads the element at @position of the file's data, independently of the code under test. */
static double
file_element (const guint8 *data,
              gsize         position,
              JacNpyDtype   dtype)
{
  if (dtype == JAC_NPY_F8_LE || dtype == JAC_NPY_F8_BE)
    {
      guint64 bits;
      double value;

      memcpy (&bits, data + 8 * position, 8);
      bits = (dtype == JAC_NPY_F8_LE) ? GUINT64_FROM_LE (bits) : GUINT64_FROM_BE (bits);
      memcpy (&value, &bits, 8);
      return value;
    }
  else
    {
      guint32 bits;
      float value;

      memcpy (&bits, data + 4 * position, 4);
      bits = (dtype == JAC_NPY_F4_LE) ? GUINT32_FROM_LE (bits) : GUINT32_FROM_BE (bits);
      memcpy (&value, &bits, 4);
      return value;
    }
}

/* Where element @n (C order) of @tensor sits in the file. */
static gsize
file_position (const JacTensor *tensor,
               gsize            n,
               gboolean         fortran_order)
{
  gsize position = 0, stride = 1;

  if (!fortran_order)
    return n;
  for (guint a = 0; a < tensor->rank; a++)
    {
      gsize index = (n / tensor->strides[a]) % tensor->shape[a];

      position += index * stride;
      stride *= tensor->shape[a];
    }
  return position;
}

static void
check_round_trip (const JacTensor *tensor,
                  const RoundTrip *rt,
                  guint            version)
{
  JacNpyFormat format = { rt->dtype, rt->fortran_order, version };
  gboolean f8 = (rt->dtype == JAC_NPY_F8_LE || rt->dtype == JAC_NPY_F8_BE);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) back = NULL;
  g_autofree guint8 *bytes = NULL;
  g_autofree char *header = NULL;
  gsize length, header_length, prefix, preamble;

  bytes = write_to_memory (tensor, &format, &length);
  g_assert_cmpmem (bytes, 6, "\x93NUMPY", 6);
  g_assert_cmpuint (bytes[6], ==, version == 0 ? 1 : version);
  g_assert_cmpuint (bytes[7], ==, 0);
  prefix = (bytes[6] == 1) ? 10 : 12;
  header_length = bytes[8] | bytes[9] << 8;
  if (bytes[6] != 1)
    header_length |= (gsize) bytes[10] << 16 | (gsize) bytes[11] << 24;
  preamble = prefix + header_length;
  g_assert_cmpuint (preamble % 64, ==, 0);
  g_assert_cmpuint (bytes[preamble - 1], ==, '\n');
  g_assert_cmpuint (length, ==, preamble + tensor->size * (f8 ? 8 : 4));

  header = g_strndup ((const char *) bytes + prefix, header_length);
  g_assert_nonnull (strstr (header, descr[rt->dtype]));
  g_assert_nonnull (strstr (header, rt->fortran_order ? "'fortran_order': True"
                                                      : "'fortran_order': False"));

  /* The layout in the file, checked without the reader. */
  for (gsize n = 0; n < tensor->size; n++)
    {
      double expected = f8 ? tensor->data[n] : (double) (float) tensor->data[n];
      gsize position = file_position (tensor, n, rt->fortran_order);

      g_assert_cmpfloat (file_element (bytes + preamble, position, rt->dtype), ==, expected);
    }

  back = parse_exact (bytes, length, &error);
  g_assert_no_error (error);
  assert_shape (back, tensor->rank, tensor->shape);
  for (gsize n = 0; n < tensor->size; n++)
    {
      if (f8)
        g_assert_cmpfloat (back->data[n], ==, tensor->data[n]);
      else
        g_assert_cmpfloat_with_epsilon (back->data[n], tensor->data[n],
                                        1e-6 * MAX (1.0, fabs (tensor->data[n])));
    }
}

static void
test_round_trip (gconstpointer data)
{
  const RoundTrip *rt = data;
  const gsize shape[] = { 2, 3, 4 };
  const gsize vector = 5;

  for (guint version = 0; version <= 3; version++)
    for (guint rank = 0; rank <= 3; rank++)
      {
        g_autoptr(JacTensor) tensor = numbered_tensor (rank, rank == 1 ? &vector : shape);

        check_round_trip (tensor, rt, version);
      }
}

/* More elements than one conversion chunk, in an odd shape. */
static void
test_round_trip_large (void)
{
  const gsize shape[] = { 131, 257 };
  g_autoptr(JacTensor) tensor = numbered_tensor (2, shape);

  for (JacNpyDtype dtype = JAC_NPY_F8_LE; dtype <= JAC_NPY_F4_BE; dtype++)
    for (int fortran = 0; fortran < 2; fortran++)
      {
        RoundTrip rt = { dtype, fortran };

        check_round_trip (tensor, &rt, 0);
      }
}

static void
test_round_trip_special_values (void)
{
  const double values[] = { 0.0, -0.0, INFINITY, -INFINITY, NAN, DBL_MIN, DBL_MAX, 1e300, -1e-320 };
  gsize n = G_N_ELEMENTS (values);
  g_autoptr(JacTensor) tensor = jac_tensor_new (1, &n, NULL);

  memcpy (tensor->data, values, sizeof values);
  for (JacNpyDtype dtype = JAC_NPY_F8_LE; dtype <= JAC_NPY_F4_BE; dtype++)
    {
      JacNpyFormat format = { dtype, FALSE, 0 };
      g_autoptr(JacTensor) back = NULL;
      g_autofree guint8 *bytes = NULL;
      gsize length;

      bytes = write_to_memory (tensor, &format, &length);
      back = parse_exact (bytes, length, NULL);
      g_assert_nonnull (back);
      g_assert_true (isnan (back->data[4]));
      g_assert_true (signbit (back->data[1]));
      g_assert_cmpfloat (back->data[2], ==, INFINITY);
      g_assert_cmpfloat (back->data[3], ==, -INFINITY);
      if (dtype == JAC_NPY_F8_LE || dtype == JAC_NPY_F8_BE)
        {
          g_assert_cmpfloat (back->data[6], ==, DBL_MAX);
          g_assert_cmpfloat (back->data[8], ==, -1e-320);
        }
      else
        {
          /* Out of float32's range: infinity and zero, as NumPy's astype gives. */
          g_assert_cmpfloat (back->data[6], ==, INFINITY);
          g_assert_cmpfloat (back->data[7], ==, INFINITY);
          g_assert_cmpfloat (back->data[8], ==, 0.0);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* files as NumPy writes them                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void
test_read_numpy_c_order (void)
{
  g_autoptr(GByteArray) bytes = file_from_header (numpy_c23_header, sizeof numpy_c23_header);
  g_autoptr(JacTensor) tensor = NULL;
  const gsize shape[] = { 2, 3 };

  g_assert_cmpuint (bytes->len, ==, 128);
  for (int n = 0; n < 6; n++)
    append_f8_le (bytes, n);
  tensor = parse_array (bytes);
  assert_shape (tensor, 2, shape);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      g_assert_cmpfloat (JAC_AT2 (tensor, i, j), ==, 3 * i + j);
}

/* The file holds the columns one after another: 1 4 | 2 5 | 3 6. */
static void
test_read_numpy_fortran_order (void)
{
  g_autoptr(GByteArray) bytes = file_from_header (numpy_f23_header, sizeof numpy_f23_header);
  g_autoptr(JacTensor) tensor = NULL;
  const double column_major[] = { 1, 4, 2, 5, 3, 6 };
  const gsize shape[] = { 2, 3 };

  for (guint n = 0; n < G_N_ELEMENTS (column_major); n++)
    append_f8_le (bytes, column_major[n]);
  tensor = parse_array (bytes);
  assert_shape (tensor, 2, shape);
  g_assert_cmpfloat (JAC_AT2 (tensor, 0, 0), ==, 1);
  g_assert_cmpfloat (JAC_AT2 (tensor, 0, 1), ==, 2);
  g_assert_cmpfloat (JAC_AT2 (tensor, 0, 2), ==, 3);
  g_assert_cmpfloat (JAC_AT2 (tensor, 1, 0), ==, 4);
  g_assert_cmpfloat (JAC_AT2 (tensor, 1, 1), ==, 5);
  g_assert_cmpfloat (JAC_AT2 (tensor, 1, 2), ==, 6);
  for (int n = 0; n < 6; n++)
    g_assert_cmpfloat (tensor->data[n], ==, n + 1);
}

/* Rank 3 in Fortran order: element (i, j, k) is at i + 2 j + 6 k in the file. */
static void
test_read_fortran_rank3 (void)
{
  g_autoptr(GByteArray) bytes = NULL;
  g_autoptr(JacTensor) tensor = NULL;
  const gsize shape[] = { 2, 3, 4 };

  bytes = npy_file (1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }", 0);
  for (int k = 0; k < 4; k++)
    for (int j = 0; j < 3; j++)
      for (int i = 0; i < 2; i++)
        append_f8_le (bytes, 100 * i + 10 * j + k);
  tensor = parse_array (bytes);
  assert_shape (tensor, 3, shape);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++)
        g_assert_cmpfloat (tensor->data[12 * i + 4 * j + k], ==, 100 * i + 10 * j + k);
}

static void
test_read_numpy_big_endian_f4 (void)
{
  g_autoptr(GByteArray) bytes = file_from_header (numpy_be234_header, sizeof numpy_be234_header);
  g_autoptr(JacTensor) tensor = NULL;
  const gsize shape[] = { 2, 3, 4 };

  for (int n = 0; n < 24; n++)
    append_f4_be (bytes, n);
  g_assert_cmpuint (bytes->len, ==, 224);
  tensor = parse_array (bytes);
  assert_shape (tensor, 3, shape);
  for (int n = 0; n < 24; n++)
    g_assert_cmpfloat (tensor->data[n], ==, n);
}

static void
test_read_numpy_scalar_and_versions (void)
{
  g_autoptr(GByteArray) scalar = file_from_header (numpy_scalar_header,
                                                   sizeof numpy_scalar_header);
  g_autoptr(GByteArray) v3 = file_from_header (numpy_v3_header, sizeof numpy_v3_header);
  g_autoptr(GByteArray) v2 = file_from_header (numpy_v2_header, sizeof numpy_v2_header);
  g_autoptr(JacTensor) t_scalar = NULL;
  g_autoptr(JacTensor) t_v3 = NULL;
  g_autoptr(JacTensor) t_v2 = NULL;
  const guint8 f4_012[] = { 0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40 };

  append_f8_le (scalar, 1.5);
  t_scalar = parse_array (scalar);
  g_assert_cmpuint (t_scalar->rank, ==, 0);
  g_assert_cmpuint (t_scalar->size, ==, 1);
  g_assert_cmpfloat (t_scalar->data[0], ==, 1.5);

  g_byte_array_append (v3, f4_012, sizeof f4_012);
  t_v3 = parse_array (v3);
  g_assert_cmpuint (t_v3->rank, ==, 1);
  g_assert_cmpuint (t_v3->shape[0], ==, 3);
  for (int n = 0; n < 3; n++)
    g_assert_cmpfloat (t_v3->data[n], ==, n);

  for (int n = 0; n < 3; n++)
    append_f8_le (v2, n);
  t_v2 = parse_array (v2);
  g_assert_cmpuint (t_v2->shape[0], ==, 3);
  g_assert_cmpfloat (t_v2->data[2], ==, 2);
}

static void
assert_written_like_numpy (const JacTensor    *tensor,
                           const JacNpyFormat *format,
                           const char         *header,
                           gsize               header_size)
{
  g_autoptr(GByteArray) expected = file_from_header (header, header_size);
  g_autofree guint8 *bytes = NULL;
  gsize length;

  bytes = write_to_memory (tensor, format, &length);
  g_assert_cmpuint (length, >=, expected->len);
  g_assert_cmpmem (bytes, expected->len, expected->data, expected->len);
}

static void
test_write_matches_numpy (void)
{
  const gsize shape23[] = { 2, 3 };
  const gsize shape234[] = { 2, 3, 4 };
  const gsize three = 3;
  g_autoptr(JacTensor) c23 = jac_tensor_new (2, shape23, NULL);
  g_autoptr(JacTensor) be234 = jac_tensor_new (3, shape234, NULL);
  g_autoptr(JacTensor) scalar = jac_tensor_new_scalar (1.5);
  g_autoptr(JacTensor) vector = jac_tensor_new (1, &three, NULL);
  g_autoptr(GByteArray) whole = file_from_header (numpy_c23_header, sizeof numpy_c23_header);
  JacNpyFormat fortran = { JAC_NPY_F8_LE, TRUE, 0 };
  JacNpyFormat f4_be = { JAC_NPY_F4_BE, FALSE, 0 };
  JacNpyFormat v3 = { JAC_NPY_F4_LE, FALSE, 3 };
  JacNpyFormat v2 = { JAC_NPY_F8_LE, FALSE, 2 };
  g_autofree guint8 *bytes = NULL;
  gsize length;

  for (int n = 0; n < 6; n++)
    c23->data[n] = n;
  for (int n = 0; n < 24; n++)
    be234->data[n] = n;
  for (int n = 0; n < 3; n++)
    vector->data[n] = n;

  /* The whole file, data included, for the default format. */
  for (int n = 0; n < 6; n++)
    append_f8_le (whole, n);
  bytes = write_to_memory (c23, NULL, &length);
  g_assert_cmpmem (bytes, length, whole->data, whole->len);

  assert_written_like_numpy (c23, &fortran, numpy_f23_header, sizeof numpy_f23_header);
  assert_written_like_numpy (be234, &f4_be, numpy_be234_header, sizeof numpy_be234_header);
  assert_written_like_numpy (scalar, NULL, numpy_scalar_header, sizeof numpy_scalar_header);
  assert_written_like_numpy (vector, &v3, numpy_v3_header, sizeof numpy_v3_header);
  assert_written_like_numpy (vector, &v2, numpy_v2_header, sizeof numpy_v2_header);
}

/* Headers NumPy itself would accept, though it never writes them this way. */
static void
test_read_lenient_headers (void)
{
  static const struct
  {
    const char *dict;
    guint       rank;
    gsize       shape[3];
  } cases[] = {
    { "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f8\"}", 2, { 2, 3 } },
    { "  {'descr':'<f8','fortran_order':False,'shape':(2,3,)}", 2, { 2, 3 } },
    { "{\n\t'descr' : '<f8' ,\n\t'fortran_order' : False ,\n\t'shape' : ( 6 , ) ,\n}", 1, { 6 } },
    { "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }", 2, { 2, 3 } },
    { "{'descr': '=f8', 'fortran_order': False, 'shape': (1, 2, 3), }", 3, { 1, 2, 3 } },
    { "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 0), }", 2, { 3, 0 } },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      gsize n_bytes = 8;
      g_autoptr(GByteArray) bytes = NULL;
      g_autoptr(JacTensor) tensor = NULL;

      for (guint a = 0; a < cases[c].rank; a++)
        n_bytes *= cases[c].shape[a];
      bytes = npy_file (1 + c % 3, cases[c].dict, n_bytes);
      tensor = parse_array (bytes);
      assert_shape (tensor, cases[c].rank, cases[c].shape);
    }
}

/* A header with no padding and no newline is still a valid file. */
static void
test_read_unpadded_header (void)
{
  const char dict[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}";
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  g_autoptr(JacTensor) tensor = NULL;
  guint8 preamble[] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, sizeof dict - 1, 0 };

  g_byte_array_append (bytes, preamble, sizeof preamble);
  g_byte_array_append (bytes, (const guint8 *) dict, sizeof dict - 1);
  append_f8_le (bytes, -2.5);
  tensor = parse_array (bytes);
  g_assert_cmpfloat (tensor->data[0], ==, -2.5);
}

/* ------------------------------------------------------------------------------------------ */
/* rejections                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static void
test_reject_bad_magic (void)
{
  assert_rejected_bytes ((const guint8 *) "\x93NUMPZ\x01\x00\x00\x00", 10, "magic");
  assert_rejected_bytes ((const guint8 *) "hello, world", 12, "not a .npy file");
  assert_rejected_bytes ((const guint8 *) "PK\x03\x04\x14\x00\x00\x00", 8, ".npz");
  assert_rejected_bytes ((const guint8 *) "\x93NUMP", 5, "truncated");
  assert_rejected_bytes ((const guint8 *) "x", 1, "magic");
}

static void
test_reject_truncated_preamble (void)
{
  g_autoptr(GByteArray) v2 = file_from_header (numpy_v2_header, sizeof numpy_v2_header);

  assert_rejected_bytes ((const guint8 *) "", 0, "empty");
  assert_rejected_bytes ((const guint8 *) "\x93NUMPY\x01", 7, "truncated preamble");
  assert_rejected_bytes ((const guint8 *) "\x93NUMPY\x01\x00v", 9, "truncated preamble");
  assert_rejected_bytes (v2->data, 11, "truncated preamble");
}

static void
test_reject_truncated_header (void)
{
  g_autoptr(GByteArray) bytes = file_from_header (numpy_c23_header, sizeof numpy_c23_header);

  assert_rejected_bytes (bytes->data, 10, "truncated header");
  assert_rejected_bytes (bytes->data, 60, "truncated header");
  assert_rejected_bytes (bytes->data, 127, "truncated header");
}

static void
test_reject_truncated_data (void)
{
  g_autoptr(GByteArray) bytes = file_from_header (numpy_c23_header, sizeof numpy_c23_header);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) tensor = NULL;

  for (int n = 0; n < 5; n++)
    append_f8_le (bytes, n);
  tensor = parse_exact (bytes->data, bytes->len, &error);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_FORMAT);
  g_assert_cmpstr (error->message, ==,
                   "truncated data: shape (2, 3) of <f8 needs 48 bytes of data, the file has 40");

  /* Only the header: no data at all. */
  assert_rejected_bytes (bytes->data, 128, "truncated data");
  assert_header_rejected ("{'descr': '>f4', 'fortran_order': True, 'shape': (7,), }", 27,
                          "needs 28 bytes");
}

/* Every proper prefix of a valid file is an error, and none reads past its end. */
static void
test_reject_every_truncation (void)
{
  g_autoptr(GByteArray) bytes = file_from_header (numpy_be234_header, sizeof numpy_be234_header);

  for (int n = 0; n < 24; n++)
    append_f4_be (bytes, n);
  for (gsize length = 0; length < bytes->len; length++)
    assert_rejected_bytes (bytes->data, length, "");
}

static void
test_reject_trailing_bytes (void)
{
  g_autoptr(GByteArray) bytes = file_from_header (numpy_c23_header, sizeof numpy_c23_header);

  for (int n = 0; n < 6; n++)
    append_f8_le (bytes, n);
  g_byte_array_append (bytes, (const guint8 *) "\0\0\0", 3);
  assert_rejected_bytes (bytes->data, bytes->len, "3 extra bytes after the data");
}

static void
test_reject_bad_header (void)
{
  assert_header_rejected ("garbage", 8, "bad header");
  assert_header_rejected ("", 8, "bad header");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False}", 8, "missing key 'shape'");
  assert_header_rejected ("{'fortran_order': False, 'shape': ()}", 8, "missing key 'descr'");
  assert_header_rejected ("{'descr': '<f8', 'shape': ()}", 8, "missing key 'fortran_order'");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': Flase, 'shape': ()}", 8, "Flase");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': 0, 'shape': ()}", 8,
                          "fortran_order");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': ()", 8, "'}'");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': (), 'x': 1}", 8,
                          "unexpected key 'x'");
  assert_header_rejected ("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, "
                          "'shape': ()}", 8, "twice");
  assert_header_rejected ("{'descr': '<f8' 'fortran_order': False, 'shape': ()}", 8, "','");
  assert_header_rejected ("{descr: '<f8', 'fortran_order': False, 'shape': ()}", 8, "key");
  assert_header_rejected ("{'descr: '<f8', 'fortran_order': False, 'shape': ()}", 8,
                          "unexpected key 'descr: '");
  assert_header_rejected ("{'descr': '<f8, 'fortran_order': False, 'shape': ()}", 8,
                          "unsupported dtype '<f8, '");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': [1]}", 8, "tuple");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': (1)}", 8, "tuple");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,)}", 8,
                          "'1.5'");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': (x,)}", 8,
                          "not an integer");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': (,)}", 8,
                          "dimension");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': (1 2)}", 8,
                          "found '2)}");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': (1,", 8, "end");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} x", 8,
                          "after the dictionary");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}\x01", 8,
                          "\\x01");

  /* A NUL byte inside the header. */
  {
    g_autoptr(GByteArray) bytes =
      npy_file (1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", 8);

    bytes->data[20] = '\0';
    assert_rejected (g_steal_pointer (&bytes), "NUL");
  }

  /* Version 3.0 promises UTF-8. */
  assert_rejected (npy_file (3, "{'descr': '<f8\xff', 'fortran_order': False, 'shape': (1,)}", 8),
                   "UTF-8");
}

static void
test_reject_dtype (void)
{
  assert_header_rejected ("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 8,
                          "unsupported dtype '<i4'");
  assert_header_rejected ("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", 8, "'|O'");
  assert_header_rejected ("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", 16,
                          "'<c16'");
  assert_header_rejected ("{'descr': '|S10', 'fortran_order': False, 'shape': (1,), }", 10,
                          "'|S10'");
  assert_header_rejected ("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", 8,
                          "'<f2'");
  assert_header_rejected ("{'descr': '|f8', 'fortran_order': False, 'shape': (1,), }", 8,
                          "'|f8'");
  assert_header_rejected ("{'descr': '<f8 ', 'fortran_order': False, 'shape': (1,), }", 8,
                          "'<f8 '");
  assert_header_rejected ("{'descr': [('x', '<f8'), ('y', '<f8')], 'fortran_order': False, "
                          "'shape': (1,), }", 16, "[('x', '<f8'), ('y', '<f8')]");
  assert_header_rejected ("{'descr': None, 'fortran_order': False, 'shape': (1,), }", 8, "None");
}

static void
test_reject_version (void)
{
  const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
  g_autoptr(GByteArray) v4 = npy_file (3, dict, 8);
  g_autoptr(GByteArray) v1_1 = npy_file (1, dict, 8);
  g_autoptr(GByteArray) v0 = npy_file (1, dict, 8);

  v4->data[6] = 4;
  assert_rejected_bytes (v4->data, v4->len, "version 4.0");
  v1_1->data[7] = 1;
  assert_rejected_bytes (v1_1->data, v1_1->len, "version 1.1");
  v0->data[6] = 0;
  assert_rejected_bytes (v0->data, v0->len, "version 0.0");
}

static void
test_reject_shape (void)
{
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, "
                          "'shape': (4294967296, 4294967296, 4294967296), }", 8, "overflow");
  assert_header_rejected ("{'descr': '<f4', 'fortran_order': False, "
                          "'shape': (4611686018427387904,), }", 8, "overflow");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, "
                          "'shape': (99999999999999999999999,), }", 8, "too large");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3), }", 8,
                          "negative dimension -3");
  assert_header_rejected ("{'descr': '<f8', 'fortran_order': False, "
                          "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", 8, "rank 9");
}

static void
test_accept_rank8 (void)
{
  g_autoptr(GByteArray) bytes =
    npy_file (2, "{'descr': '>f8', 'fortran_order': True, 'shape': (1, 2, 1, 1, 1, 1, 1, 2), }",
              32);
  g_autoptr(JacTensor) tensor = parse_array (bytes);

  g_assert_cmpuint (tensor->rank, ==, 8);
  g_assert_cmpuint (tensor->size, ==, 4);
}

/* Random damage to a valid file must end in a parsed tensor or a format error, never a crash. */
static void
test_reject_corruption (void)
{
  g_autoptr(GByteArray) valid = file_from_header (numpy_f23_header, sizeof numpy_f23_header);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240607);

  for (int n = 0; n < 6; n++)
    append_f8_le (valid, n);
  for (int trial = 0; trial < 5000; trial++)
    {
      g_autofree guint8 *bytes = g_memdup2 (valid->data, valid->len);
      g_autoptr(GError) error = NULL;
      g_autoptr(JacTensor) tensor = NULL;
      gsize length = g_rand_int_range (rand, 0, valid->len + 1);
      int n_changes = g_rand_int_range (rand, 1, 4);

      for (int c = 0; c < n_changes; c++)
        {
          const char *tokens = "0123456789(),:{}'\" -TFLx<>=|fi";
          gsize at = g_rand_int_range (rand, 0, 128);

          bytes[at] = g_rand_boolean (rand) ? tokens[g_rand_int_range (rand, 0, strlen (tokens))]
                                            : (guint8) g_rand_int_range (rand, 0, 256);
        }
      tensor = parse_exact (bytes, length, &error);
      if (tensor == NULL)
        g_assert_error (error, JAC_ERROR, JAC_ERROR_FORMAT);
      else
        g_assert_no_error (error);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* files                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static void
test_write_atomic (void)
{
  g_autofree char *dir = g_dir_make_tmp ("test-npy-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "out.npy", NULL);
  g_autofree char *listing = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) back = NULL;
  const gsize shape[] = { 3, 4 };
  g_autoptr(JacTensor) tensor = numbered_tensor (2, shape);
  JacNpyFormat format = { JAC_NPY_F8_BE, TRUE, 0 };

  g_assert_nonnull (dir);
  g_assert_true (jac_npy_write (path, tensor, NULL, &error));
  g_assert_no_error (error);
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "out.npy");

  back = jac_npy_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (jac_tensor_max_abs_diff (back, tensor), ==, 0.0);
  g_clear_pointer (&back, jac_tensor_free);

  /* Replacing an existing file. */
  g_assert_true (jac_npy_write (path, tensor, &format, &error));
  g_assert_no_error (error);
  g_clear_pointer (&listing, g_free);
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "out.npy");
  back = jac_npy_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (jac_tensor_max_abs_diff (back, tensor), ==, 0.0);

  remove_dir (dir);
}

static void
test_write_missing_dir (void)
{
  g_autofree char *dir = g_dir_make_tmp ("test-npy-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "no-such-dir", "out.npy", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) tensor = jac_tensor_new_scalar (1.0);

  g_assert_false (jac_npy_write (path, tensor, NULL, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  remove_dir (dir);
}

/* A write that fails half-way (here: past the file-size limit) leaves the old file alone. */
static void
test_write_failure_keeps_existing (void)
{
  g_autofree char *dir = g_dir_make_tmp ("test-npy-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "out.npy", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *listing = NULL;
  g_autoptr(GError) error = NULL;
  const gsize shape[] = { 100, 100 };
  g_autoptr(JacTensor) tensor = numbered_tensor (2, shape);
  struct rlimit saved, limited;
  void (*saved_handler) (int);
  gboolean written;

  g_assert_true (g_file_set_contents (path, "precious", -1, NULL));

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  limited = saved;
  limited.rlim_cur = 4096;
  saved_handler = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limited), ==, 0);
  written = jac_npy_write (path, tensor, NULL, &error);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  signal (SIGXFSZ, saved_handler);

  g_assert_false (written);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "precious");
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "out.npy");
  remove_dir (dir);
}

static void
test_write_stream_error (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) tensor = jac_tensor_new_scalar (1.0);
  FILE *full = fopen ("/dev/full", "wb");

  if (full == NULL)
    {
      g_test_skip ("no /dev/full");
      return;
    }
  g_assert_false (jac_npy_write_stream (full, tensor, NULL, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, g_strerror (ENOSPC)));
  fclose (full);
}

static void
test_read_errors_name_the_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("test-npy-XXXXXX", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.npy", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.npy", NULL);
  g_autofree char *expected = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) tensor = NULL;

  tensor = jac_npy_read (missing, &error);
  g_assert_null (tensor);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  expected = g_strdup_printf ("cannot read %s: %s", missing, g_strerror (ENOENT));
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  tensor = jac_npy_read (dir, &error);
  g_assert_null (tensor);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, dir));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (bad, "\x93NUMPY\x01\x00", 8, NULL));
  tensor = jac_npy_read (bad, &error);
  g_assert_null (tensor);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_FORMAT);
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("%s: truncated preamble", bad);
  g_assert_true (g_str_has_prefix (error->message, expected));

  remove_dir (dir);
}

/* A file's shape is the user's: past the memory budget it is an error naming the size, and
 * without a GError to report it the read fails rather than aborting. */
static void
test_read_past_budget (void)
{
  g_autofree char *dir = g_dir_make_tmp ("test-npy-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "big.npy", NULL);
  g_autoptr(JacTensor) tensor = jac_tensor_new (2, (gsize[]) { 64, 64 }, NULL);
  g_autoptr(GError) error = NULL;
  gsize budget = jac_get_memory_budget ();

  jac_tensor_fill (tensor, 0.5);
  g_assert_true (jac_npy_write (path, tensor, NULL, NULL));
  jac_set_memory_budget (4096);
  g_assert_null (jac_npy_read (path, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "(64, 64)"));
  g_assert_null (jac_npy_read (path, NULL));
  jac_set_memory_budget (budget);
  {
    g_autoptr(JacTensor) back = jac_npy_read (path, NULL);

    g_assert_nonnull (back);
    g_assert_cmpfloat (jac_tensor_max_abs_diff (back, tensor), ==, 0.0);
  }
  remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  static const char *orders[] = { "c", "fortran" };
  static const char *dtypes[] = { "f8le", "f8be", "f4le", "f4be" };
  static RoundTrip round_trips[8];

  g_test_init (&argc, &argv, NULL);

  for (guint d = 0; d < 4; d++)
    for (guint o = 0; o < 2; o++)
      {
        g_autofree char *name = g_strdup_printf ("/npy/roundtrip-%s-%s", dtypes[d], orders[o]);
        RoundTrip *rt = &round_trips[2 * d + o];

        rt->dtype = (JacNpyDtype) d;
        rt->fortran_order = o;
        g_test_add_data_func (name, rt, test_round_trip);
      }
  g_test_add_func ("/npy/roundtrip-large", test_round_trip_large);
  g_test_add_func ("/npy/roundtrip-special-values", test_round_trip_special_values);
  g_test_add_func ("/npy/read-numpy-c-order", test_read_numpy_c_order);
  g_test_add_func ("/npy/read-numpy-fortran-order", test_read_numpy_fortran_order);
  g_test_add_func ("/npy/read-fortran-rank3", test_read_fortran_rank3);
  g_test_add_func ("/npy/read-numpy-big-endian-f4", test_read_numpy_big_endian_f4);
  g_test_add_func ("/npy/read-numpy-scalar-and-versions", test_read_numpy_scalar_and_versions);
  g_test_add_func ("/npy/read-lenient-headers", test_read_lenient_headers);
  g_test_add_func ("/npy/read-unpadded-header", test_read_unpadded_header);
  g_test_add_func ("/npy/write-matches-numpy", test_write_matches_numpy);
  g_test_add_func ("/npy/accept-rank8", test_accept_rank8);
  g_test_add_func ("/npy/reject-bad-magic", test_reject_bad_magic);
  g_test_add_func ("/npy/reject-truncated-preamble", test_reject_truncated_preamble);
  g_test_add_func ("/npy/reject-truncated-header", test_reject_truncated_header);
  g_test_add_func ("/npy/reject-truncated-data", test_reject_truncated_data);
  g_test_add_func ("/npy/reject-every-truncation", test_reject_every_truncation);
  g_test_add_func ("/npy/reject-trailing-bytes", test_reject_trailing_bytes);
  g_test_add_func ("/npy/reject-bad-header", test_reject_bad_header);
  g_test_add_func ("/npy/reject-dtype", test_reject_dtype);
  g_test_add_func ("/npy/reject-version", test_reject_version);
  g_test_add_func ("/npy/reject-shape", test_reject_shape);
  g_test_add_func ("/npy/reject-corruption", test_reject_corruption);
  g_test_add_func ("/npy/write-atomic", test_write_atomic);
  g_test_add_func ("/npy/write-missing-dir", test_write_missing_dir);
  g_test_add_func ("/npy/write-failure-keeps-existing", test_write_failure_keeps_existing);
  g_test_add_func ("/npy/write-stream-error", test_write_stream_error);
  g_test_add_func ("/npy/read-errors-name-the-file", test_read_errors_name_the_file);
  g_test_add_func ("/npy/read-past-budget", test_read_past_budget);

  return g_test_run ();
}
