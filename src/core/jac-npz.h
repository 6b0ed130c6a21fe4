/* jac-npz.h: NumPy .npz archives (np.savez, np.savez_compressed): a zip of .npy members. */
#pragma once

#include "jac-tensor.h"

G_BEGIN_DECLS

/*
 * A .npz is a zip archive whose members are .npy files named KEY.npy. Members may be stored or
 * deflated (np.savez_compressed), and NumPy writes them with zip64 extra fields; both are read.
 * Each member is decoded by jac_npy_parse (float64 or float32, either byte order, C or Fortran
 * order) and checked against the CRC-32 the archive records.
 *
 * The result maps KEY (without ".npy") to its JacTensor; the table owns keys and tensors.
 * Every malformed input is a JAC_ERROR_FORMAT naming the member it is about.
 */
GHashTable *jac_npz_parse (const guint8  *bytes,
                           gsize          length,
                           GError       **error);
/* Reads @path; the error message names the file. */
GHashTable *jac_npz_read  (const char    *path,
                           GError       **error);

/* The CRC-32 of zip (and of zlib's crc32 ()), exposed for tests that write archives by hand. */
guint32     jac_npz_crc32 (const guint8  *bytes,
                           gsize          length);

G_END_DECLS
