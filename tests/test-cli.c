/* test-cli.c: the command line through the real binary: outputs, exit codes, messages, no debris. */
#define G_LOG_DOMAIN "test-cli"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cairo.h>

#include "core/jac-analysis.h"
#include "core/jac-npy.h"
#include "core/jac-sequence.h"
#include "npz-writer.h"

typedef struct
{
  char *dir;
} Fixture;

typedef struct
{
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Runs jacscope with the NULL-terminated arguments. */
static void
run (Run        *r,
     const char *first,
     ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *bin = g_getenv ("JACSCOPE_BIN");
  g_auto(GStrv) envp = NULL;
  va_list args;
  int wait_status;

  g_assert_nonnull (bin);
  g_ptr_array_add (argv, (gpointer) bin);
  va_start (args, first);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  /* The command line never needs a display: run it without one, even under Xvfb. */
  envp = g_get_environ ();
  envp = g_environ_unsetenv (envp, "DISPLAY");
  envp = g_environ_unsetenv (envp, "WAYLAND_DISPLAY");
  memset (r, 0, sizeof *r);
  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &r->out, &r->err,
                &wait_status, &error);
  g_assert_no_error (error);
  r->status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128 + WTERMSIG (wait_status);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("jacscope-cli-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static char *
path_in (Fixture    *f,
         const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

/* The folder holds exactly @expected files: no temporary file is left behind. */
static void
assert_file_count (Fixture *f,
                   guint    expected)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  guint n = 0;

  while (g_dir_read_name (dir) != NULL)
    n++;
  g_assert_cmpuint (n, ==, expected);
}

static JacRnn *
default_rnn (void)
{
  JacRnnConfig config;

  jac_rnn_config_init_default (&config);
  return jac_rnn_new (&config, NULL, NULL);
}

/* compute writes the dense Jacobian, equal to the closed form, for every variable. */
static void
test_compute_every_wrt (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(JacRnn) rnn = default_rnn ();

  for (guint v = 0; v < JAC_N_VARS; v++)
    {
      g_autofree char *out = path_in (f, "j.npy");
      g_auto(Run) r;
      g_autoptr(GError) error = NULL;
      g_autoptr(JacTensor) written = NULL;
      g_autoptr(JacTensor) closed = jac_rnn_closed_form_dense (rnn, v);

      run (&r, "compute", "--wrt", jac_variable_name (v), "-o", out, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_cmpstr (r.err, ==, "");
      written = jac_npy_read (out, &error);
      g_assert_no_error (error);
      g_assert_true (jac_tensor_same_shape (written, closed));
      g_assert_cmpfloat (jac_tensor_max_abs_diff (written, closed), <, 1e-12);
      assert_file_count (f, 1);
    }
}

/* Loaded variables set the sizes; --vjp-output and --grad give Σ G·J. */
static void
test_compute_loaded_and_vjp (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *w_path = path_in (f, "w.npy");
  g_autofree char *g_path = path_in (f, "g.npy");
  g_autofree char *out = path_in (f, "j.npy");
  g_autofree char *vjp = path_in (f, "vjp.npy");
  g_autofree char *w_spec = g_strconcat ("W_hh=", w_path, NULL);
  g_autoptr(JacTensor) w = jac_tensor_new_matrix (4, 4);
  g_autoptr(JacTensor) g = jac_tensor_new_matrix (2, 4);
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  g_autoptr(JacTensor) j = NULL;
  g_autoptr(JacTensor) v = NULL;
  g_autoptr(JacTensor) expected = NULL;
  JacTensor *loaded[JAC_N_VARS] = { NULL };
  JacRnnConfig config;
  g_autoptr(JacRnn) rnn = NULL;
  g_auto(Run) r;

  jac_tensor_fill_uniform (w, rand, 1.0);
  jac_tensor_fill_uniform (g, rand, 1.0);
  g_assert_true (jac_npy_write (w_path, w, NULL, NULL));
  g_assert_true (jac_npy_write (g_path, g, NULL, NULL));

  run (&r, "compute", "--var", w_spec, "--grad", g_path, "--vjp-output", vjp, "-o", out,
       "--activation", "sigmoid", NULL);
  g_assert_cmpint (r.status, ==, 0);
  j = jac_npy_read (out, NULL);
  v = jac_npy_read (vjp, NULL);
  g_assert_cmpuint (j->shape[1], ==, 4);
  g_assert_cmpuint (j->shape[3], ==, 4);

  jac_rnn_config_init_default (&config);
  config.activation = JAC_FUNC_SIGMOID;
  loaded[JAC_VAR_W_HH] = w;
  rnn = jac_rnn_new (&config, loaded, NULL);
  expected = jac_rnn_contract_formula (rnn, JAC_VAR_H_PREV, g);
  g_assert_cmpfloat (jac_tensor_max_abs_diff (v, expected), <, 1e-12);
}

/* Usage errors exit 2; bad values, files and shapes exit 1; both with one line naming the culprit. */
static void
test_errors (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *out = path_in (f, "j.npy");
  g_autofree char *png = path_in (f, "j.png");
  g_autofree char *bad = path_in (f, "bad.npy");
  g_autofree char *bad_spec = g_strconcat ("x=", bad, NULL);
  g_autofree char *missing_spec = g_strconcat ("x=", f->dir, "/none.npy", NULL);
  g_autofree char *good = path_in (f, "good.npy");
  g_autofree char *unknown_spec = g_strconcat ("W_zz=", good, NULL);
  g_autoptr(JacTensor) good_value = jac_tensor_new_matrix (3, 3);
  struct { int status; const char *needle; const char *args[10]; } cases[] = {
    { 2, "--frobnicate", { "compute", "--frobnicate", "-o", out } },
    { 2, "missing -o", { "compute" } },
    { 2, "unexpected argument", { "compute", "-o", out, "stray" } },
    { 1, "--activation: unknown “softsign”", { "compute", "--activation", "softsign", "-o", out } },
    { 1, "--wrt: unknown variable “W”", { "compute", "--wrt", "W", "-o", out } },
    { 1, "--batch: “0”", { "compute", "--batch", "0", "-o", out } },
    { 1, "--hidden: “many”", { "compute", "--hidden", "many", "-o", out } },
    { 1, "bad.npy", { "compute", "--var", bad_spec, "-o", out } },
    { 1, "none.npy", { "compute", "--var", missing_spec, "-o", out } },
    { 1, "“W_zz”", { "compute", "--var", unknown_spec, "-o", out } },
    { 1, "memory budget", { "compute", "--batch", "64", "--hidden", "64", "--memory-budget", "1",
                            "-o", out } },
    /* Every choice is a registered enum's nick, the list of choices made from the same table. */
    { 1, "--layout: unknown “sideways” (expected numerator, denominator, vec or per-sample)",
      { "render", "--layout", "sideways", "-o", out } },
    { 1, "--colormap: unknown “jet” (expected blue-red, purple-green or gray)",
      { "render", "--colormap", "jet", "-o", out } },
    { 1, "--upstream: unknown “given” (expected ones, random or loss)",
      { "compute", "--upstream", "given", "-o", out } },
    { 1, "--cell: unknown “lstn” (expected rnn, lstm or gru)",
      { "compute", "--steps", "3", "--cell", "lstn", "-o", out } },
    { 1, "--norm: unknown “max-abs” (expected spectral or frobenius)",
      { "render", "--steps", "3", "--norm", "max-abs", "-o", png } },
    { 1, "W_hh of shape (8192, 8192) would need", { "compute", "--batch", "64", "--hidden",
                                                    "8192", "--memory-budget", "100", "-o",
                                                    out } },
    { 1, "X of shape (100000, 100000)", { "compute", "--expr", "X", "--shape", "X=100000,100000",
                                          "--memory-budget", "100", "-o", out } },
    { 1, "“1e400” is too large", { "compute", "--expr", "1e400 * X", "--shape", "X=2,2", "-o",
                                   out } },
    { 2, "--lag goes with --steps", { "compute", "--lag", "3", "-o", out } },
    { 2, "--latex goes with derive", { "compute", "--latex", "-o", out } },
    { 2, "--numpy goes with derive", { "render", "--numpy", "-o", out } },
    { 2, "--list-presets goes with derive", { "compute", "--list-presets", "-o", out } },
    { 1, "--preset: unknown “nope”", { "derive", "--preset", "nope" } },
    { 1, ".npy", { "render", "-o", out } },
    /* A mistyped command is named, exit 2: it used to reach the window ("cannot open files"). */
    { 2, "unknown command “comptue” (expected compute, render", { "comptue", "-o", out } },
  };

  g_assert_true (g_file_set_contents (bad, "\x93NUMPY garbage", -1, NULL));
  g_assert_true (jac_npy_write (good, good_value, NULL, NULL));
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const char **a = cases[c].args;
      g_auto(Run) r;

      run (&r, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], NULL);
      g_assert_cmpint (r.status, ==, cases[c].status);
      if (strstr (r.err, cases[c].needle) == NULL)
        g_error ("case %u: “%s” not in “%s”", c, cases[c].needle, r.err);
      /* One line; an expression's error adds the expression and a caret under the culprit. */
      if (strstr (r.err, "--expr:") == NULL)
        g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
      g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
    }
  assert_file_count (f, 2);

  /* An output never replaces an input. */
  {
    g_autofree char *same = g_strconcat ("h_prev=", good, NULL);
    g_autoptr(JacTensor) kept = NULL;
    g_auto(Run) r;

    run (&r, "compute", "--var", same, "-o", good, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "would overwrite the input --var"));
    kept = jac_npy_read (good, NULL);
    g_assert_true (jac_tensor_same_shape (kept, good_value));
  }
}

/* An output that exists is left as it was when the command fails. */
static void
test_existing_output_intact (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *out = path_in (f, "j.npy");
  g_autofree char *contents = NULL;
  g_auto(Run) r;
  g_auto(Run) r2;

  g_assert_true (g_file_set_contents (out, "precious", -1, NULL));
  run (&r, "compute", "--wrt", "nothing", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  run (&r2, "compute", "--batch", "100", "--hidden", "100", "--memory-budget", "1", "-o", out,
       NULL);
  g_assert_cmpint (r2.status, ==, 1);
  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "precious");
  assert_file_count (f, 1);
}

/* A gradient of the wrong shape names both shapes. */
static void
test_grad_shape (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *g_path = path_in (f, "g.npy");
  g_autofree char *out = path_in (f, "j.npy");
  g_autoptr(JacTensor) g = jac_tensor_new_matrix (3, 3);
  g_auto(Run) r;

  g_assert_true (jac_npy_write (g_path, g, NULL, NULL));
  run (&r, "compute", "--grad", g_path, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "(2, 3)"));
  g_assert_nonnull (strstr (r.err, "(3, 3)"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* render writes PNG, SVG and PDF without a display. */
static void
test_render_formats (Fixture       *f,
                     gconstpointer  data)
{
  const char *names[] = { "fig.png", "fig.svg", "fig.pdf" };
  const char *magic[] = { "\x89PNG", "<?xml", "%PDF" };

  for (guint n = 0; n < G_N_ELEMENTS (names); n++)
    {
      g_autofree char *out = path_in (f, names[n]);
      g_autofree char *contents = NULL;
      gsize length;
      g_auto(Run) r;

      run (&r, "render", "--wrt", "W_hh", "--width", "800", "--height", "500", "-o", out, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_true (g_file_get_contents (out, &contents, &length, NULL));
      g_assert_true (g_str_has_prefix (contents, magic[n]));
    }
  assert_file_count (f, 3);
}

/* The page of a PDF as cairo writes it: "/MediaBox [ 0 0 W H ]", in pt. */
static void
read_media_box (const char *path,
                double     *width,
                double     *height)
{
  g_autofree char *contents = NULL;
  const char *box;
  gsize length;
  double x0, y0;

  /* The file holds binary streams with NULs: search it byte by byte, not as a string. */
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  for (box = contents; box + 11 <= contents + length && memcmp (box, "/MediaBox [", 11) != 0;
       box++)
    ;
  g_assert_true (box + 11 <= contents + length);
  g_assert_cmpint (sscanf (box, "/MediaBox [ %lf %lf %lf %lf ]", &x0, &y0, width, height), ==, 4);
  g_assert_cmpfloat (x0, ==, 0);
  g_assert_cmpfloat (y0, ==, 0);
}

/* A PNG's size from its IHDR chunk, which follows the 8-byte signature. */
static void
read_png_size (const char *path,
               guint      *width,
               guint      *height)
{
  g_autofree guchar *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, (char **) &contents, &length, NULL));
  g_assert_cmpuint (length, >, 24);
  g_assert_cmpmem (contents + 12, 4, "IHDR", 4);
  *width = (guint) contents[16] << 24 | contents[17] << 16 | contents[18] << 8 | contents[19];
  *height = (guint) contents[20] << 24 | contents[21] << 16 | contents[22] << 8 | contents[23];
}

/* A size in pt, in, cm or mm is the page of a PDF or SVG, in pt, whatever the unit. */
static void
test_render_page_sizes (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *pdf = path_in (f, "fig.pdf");
  g_autofree char *svg = path_in (f, "fig.svg");
  struct { const char *width, *height, *dpi; double page_w, page_h; } cases[] = {
    { "3.5in", "2.5in", NULL, 252, 180 },
    { "8.89cm", "6.35cm", NULL, 252, 180 },
    { "88.9mm", "63.5mm", NULL, 252, 180 },
    { "252pt", "180pt", NULL, 252, 180 },
    { "3.5in", "2.5in", "300", 252, 180 },   /* --dpi does not change a physical page */
    { "3.5in", "240", NULL, 252, 180 },      /* px beside a physical size: at 96 dpi … */
    { "3.5in", "480px", "192", 252, 180 },   /* … or at --dpi */
    { "7in", NULL, NULL, 504, 283.5 },       /* a side left out follows at 16:9 */
    { NULL, "2.5in", NULL, 320, 180 },
    { "1280", "720", NULL, 1280, 720 },      /* px alone: the page is in px, as before */
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GPtrArray) args = g_ptr_array_new ();
      g_autofree char *contents = NULL;
      g_autofree char *view_box = NULL;
      double page_w, page_h;
      g_auto(Run) r;
      g_auto(Run) r_svg;

      if (cases[c].width)
        g_ptr_array_add (args, (char *) "--width"), g_ptr_array_add (args, (char *) cases[c].width);
      if (cases[c].height)
        g_ptr_array_add (args, (char *) "--height"), g_ptr_array_add (args, (char *) cases[c].height);
      if (cases[c].dpi)
        g_ptr_array_add (args, (char *) "--dpi"), g_ptr_array_add (args, (char *) cases[c].dpi);
      while (args->len < 6)
        g_ptr_array_add (args, (char *) "--no-contraction");
      run (&r, "render", args->pdata[0], args->pdata[1], args->pdata[2], args->pdata[3],
           args->pdata[4], args->pdata[5], "-o", pdf, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_cmpstr (r.err, ==, "");
      read_media_box (pdf, &page_w, &page_h);
      g_assert_cmpfloat_with_epsilon (page_w, cases[c].page_w, 1e-3);
      g_assert_cmpfloat_with_epsilon (page_h, cases[c].page_h, 1e-3);

      run (&r_svg, "render", args->pdata[0], args->pdata[1], args->pdata[2], args->pdata[3],
           args->pdata[4], args->pdata[5], "-o", svg, NULL);
      g_assert_cmpint (r_svg.status, ==, 0);
      g_assert_true (g_file_get_contents (svg, &contents, NULL, NULL));
      view_box = g_strdup_printf ("viewBox=\"0 0 %g %g\"", cases[c].page_w, cases[c].page_h);
      g_assert_nonnull (strstr (contents, view_box));
    }
  assert_file_count (f, 2);
}

/* A physical size makes a PNG of size × dpi / 72 × scale pixels; presentation keeps px. */
static void
test_render_png_sizes (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *png = path_in (f, "fig.png");
  struct { const char *args[8]; guint width, height; } cases[] = {
    { { "--width", "3.5in", "--height", "2.5in", "--dpi", "300" }, 1050, 750 },
    { { "--width", "8.89cm", "--height", "6.35cm", "--dpi", "300" }, 1050, 750 },
    { { "--width", "3.5in", "--height", "2.5in" }, 336, 240 },
    { { "--width", "3.5in", "--height", "2.5in", "--scale", "2" }, 672, 480 },
    { { "--width", "3.5in", "--height", "2.5in", "--dpi", "300", "--scale", "2" }, 2100, 1500 },
    { { "--width", "252pt", "--height", "240", "--dpi", "72" }, 252, 240 },
    { { "--width", "1280", "--height", "720", "--presentation" }, 1280, 720 },
    { { "--width", "1280px", "--height", "720px", "--presentation", "--scale", "2" }, 2560, 1440 },
    { { "--width", "800.4", "--height", "500" }, 800, 500 },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const char **a = cases[c].args;
      guint width, height;
      g_auto(Run) r;

      run (&r, "render", "-o", png, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_cmpstr (r.err, ==, "");
      read_png_size (png, &width, &height);
      g_assert_cmpuint (width, ==, cases[c].width);
      g_assert_cmpuint (height, ==, cases[c].height);
    }
  assert_file_count (f, 1);
}

/* The medium follows the options: at one pixel size, screen, presentation and paper (3.5 in at
 * 96 dpi is 336 px) are three different drawings. */
static void
test_render_media (Fixture       *f,
                   gconstpointer  data)
{
  const char *names[] = { "screen.png", "presentation.png", "paper.png" };
  const char *args[][6] = {
    { "--width", "336", "--height", "240" },
    { "--width", "336", "--height", "240", "--presentation" },
    { "--width", "3.5in", "--height", "2.5in" },
  };
  char *contents[3] = { NULL };
  gsize lengths[3];

  for (guint m = 0; m < G_N_ELEMENTS (names); m++)
    {
      g_autofree char *out = path_in (f, names[m]);
      guint width, height;
      g_auto(Run) r;

      run (&r, "render", args[m][0], args[m][1], args[m][2], args[m][3], "-o", out, args[m][4],
           NULL);
      g_assert_cmpint (r.status, ==, 0);
      read_png_size (out, &width, &height);
      g_assert_cmpuint (width, ==, 336);
      g_assert_cmpuint (height, ==, 240);
      g_assert_true (g_file_get_contents (out, &contents[m], &lengths[m], NULL));
    }
  for (guint m = 0; m < G_N_ELEMENTS (names); m++)
    {
      guint n = (m + 1) % G_N_ELEMENTS (names);

      g_assert_false (lengths[m] == lengths[n] && memcmp (contents[m], contents[n],
                                                          lengths[m]) == 0);
    }
  for (guint m = 0; m < G_N_ELEMENTS (names); m++)
    g_free (contents[m]);
}

/* Bad sizes exit 1, options that do not go together exit 2; one line naming the option and the
 * value, and no file, not even a temporary one. */
static void
test_render_size_errors (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *png = path_in (f, "fig.png");
  g_autofree char *pdf = path_in (f, "fig.pdf");
  g_autofree char *tex = path_in (f, "fig.tex");
  g_autofree char *seq = path_in (f, "seq.png");
  struct { int status; const char *needle; const char *out; const char *args[6]; } cases[] = {
    { 1, "--width: unknown unit “furlongs” in “3.5furlongs”", png, { "--width", "3.5furlongs" } },
    { 1, "--height: unknown unit “ in”", pdf, { "--height", "3.5 in" } },
    { 1, "--width: “0” is not a size above zero", png, { "--width", "0" } },
    { 1, "--height: “-2.5in” is not a size above zero", pdf, { "--height", "-2.5in" } },
    { 1, "--width: “nan” is not a length", png, { "--width", "nan" } },
    { 1, "--width: “inf” is not a length", png, { "--width", "inf" } },
    { 1, "--width: “-infin” is not a length", png, { "--width", "-infin" } },
    { 1, "--width: unknown unit “e400”", png, { "--width", "1e400" } },
    { 1, "--width: “in” has no number", pdf, { "--width", "in" } },
    { 1, "--height: “” has no number", png, { "--height", "" } },
    { 1, "--width: “100in” makes the PNG 28800×720 pixels at 288 dpi", png,
      { "--width", "100in", "--height", "2.5in", "--dpi", "288" } },
    { 1, "--height: “0.1in” makes the PNG 336×10 pixels at 96 dpi", png,
      { "--width", "3.5in", "--height", "0.1in" } },
    { 1, "--width: “6000” makes the PNG 18000×1500 pixels at --scale 3", png,
      { "--width", "6000", "--height", "500", "--scale", "3" } },
    { 1, "--width: “20000px” makes the PNG 20000×900 pixels", png, { "--width", "20000px" } },
    { 1, "--height: “0.1in” makes the figure 252×7.2 pt", pdf,
      { "--width", "3.5in", "--height", "0.1in" } },
    { 1, "--width: “300in” makes the figure 2.16e+04×180 pt", pdf,
      { "--width", "300in", "--height", "2.5in" } },
    { 1, "--width: “10” makes the figure 10×900 px", pdf, { "--width", "10" } },
    { 1, "--dpi: “5” is not a resolution from 10 to 1152", png,
      { "--width", "3in", "--dpi", "5" } },
    { 1, "--dpi: “2400” is not a resolution", png, { "--width", "3in", "--dpi", "2400" } },
    { 1, "--dpi: “300dpi” is not a resolution", png, { "--width", "3in", "--dpi", "300dpi" } },
    { 1, "--dpi: “nan” is not a resolution", png, { "--width", "3in", "--dpi", "nan" } },
    { 1, "--dpi: 600 with --scale 2 is 16.7 pixels per pt", png,
      { "--width", "1in", "--dpi", "600", "--scale", "2" } },
    { 1, "--scale: “4” is not 1, 2 or 3", png, { "--scale", "4" } },
    { 2, "--presentation and --width “3.5in” do not go together", png,
      { "--width", "3.5in", "--height", "720", "--presentation" } },
    { 2, "--presentation and --height “6.35cm” do not go together", pdf,
      { "--height", "6.35cm", "--presentation" } },
    { 2, "--presentation and -o", tex, { "--presentation" } },
    { 2, "--dpi 300 goes with --width or --height in pt, in, cm or mm", png,
      { "--width", "1280", "--height", "720", "--dpi", "300" } },
    { 2, "--dpi 300 goes with", pdf, { "--dpi", "300" } },
    { 2, "--presentation and --width “3.5in”", seq,
      { "--steps", "5", "--width", "3.5in", "--presentation" } },
    { 1, "--width: unknown unit “furlongs”", seq, { "--steps", "5", "--width", "3.5furlongs" } },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const char **a = cases[c].args;
      g_auto(Run) r;

      run (&r, "render", "-o", cases[c].out, a[0], a[1], a[2], a[3], a[4], a[5], NULL);
      if (r.status != cases[c].status || strstr (r.err, cases[c].needle) == NULL)
        g_error ("case %u: exit %d, “%s” not in “%s”", c, r.status, cases[c].needle, r.err);
      g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
      assert_file_count (f, 0);
    }
}

/* The through-time figure takes the same sizes: a page in pt, PNG pixels at --dpi. */
static void
test_render_sequence_sizes (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *pdf = path_in (f, "seq.pdf");
  g_autofree char *png = path_in (f, "seq.png");
  g_autofree char *slide = path_in (f, "slide.png");
  double page_w, page_h;
  guint width, height;
  g_auto(Run) r;
  g_auto(Run) r_png;
  g_auto(Run) r_slide;

  run (&r, "render", "--steps", "12", "--lag", "3", "--width", "8.89cm", "--height", "63.5mm",
       "-o", pdf, NULL);
  g_assert_cmpint (r.status, ==, 0);
  read_media_box (pdf, &page_w, &page_h);
  g_assert_cmpfloat_with_epsilon (page_w, 252, 1e-3);
  g_assert_cmpfloat_with_epsilon (page_h, 180, 1e-3);

  run (&r_png, "render", "--steps", "12", "--lag", "3", "--width", "3.5in", "--height", "2.5in",
       "--dpi", "300", "-o", png, NULL);
  g_assert_cmpint (r_png.status, ==, 0);
  read_png_size (png, &width, &height);
  g_assert_cmpuint (width, ==, 1050);
  g_assert_cmpuint (height, ==, 750);

  run (&r_slide, "render", "--steps", "12", "--width", "1024", "--height", "768",
       "--presentation", "-o", slide, NULL);
  g_assert_cmpint (r_slide.status, ==, 0);
  read_png_size (slide, &width, &height);
  g_assert_cmpuint (width, ==, 1024);
  g_assert_cmpuint (height, ==, 768);
  assert_file_count (f, 3);
}

/* A .tex is always for the page: px convert at --dpi, so --dpi is no usage error there, and
 * neither are sizes left out (7 in × 3.9375 in). Whether the file is written is the TikZ
 * writer's test. */
static void
test_render_tex_options (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *tex = path_in (f, "fig.tex");
  const char *args[][4] = {
    { "--width", "1280", "--dpi", "150" },
    { "--width", "3.5in", "--height", "720" },
    { NULL },
  };

  for (guint c = 0; c < G_N_ELEMENTS (args); c++)
    {
      g_auto(Run) r;

      run (&r, "render", "-o", tex, args[c][0], args[c][1], args[c][2], args[c][3], NULL);
      g_assert_cmpint (r.status, !=, 2);
      g_assert_null (strstr (r.err, "--dpi"));
      g_assert_null (strstr (r.err, "--width"));
    }
}

/* --layout vec draws the matrix ∂vec(h)/∂vec(h_prev) with its Kronecker identity, which the
 * TikZ file carries as text; an unknown layout names the three. */
static void
test_render_vec (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *tex = path_in (f, "vec.tex");
  g_autofree char *plain_tex = path_in (f, "plain.tex");
  g_autofree char *png = path_in (f, "vec.png");
  g_autofree char *contents = NULL;
  g_autofree char *plain = NULL;
  g_auto(Run) r;
  g_auto(Run) p;
  g_auto(Run) image;
  g_auto(Run) bad;

  run (&r, "render", "--layout", "vec", "-o", tex, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  run (&p, "render", "-o", plain_tex, NULL);
  g_assert_cmpint (p.status, ==, 0);
  g_assert_true (g_file_get_contents (tex, &contents, NULL, NULL));
  g_assert_true (g_file_get_contents (plain_tex, &plain, NULL, NULL));
  g_assert_nonnull (strstr (contents, "(row-major vec)"));
  g_assert_nonnull (strstr (contents, "(column-major vec, Magnus"));
  g_assert_nonnull (strstr (contents, "\\otimes"));
  g_assert_null (strstr (plain, "\\otimes"));

  run (&image, "render", "--layout", "vec", "--wrt", "W_hh", "-o", png, NULL);
  g_assert_cmpint (image.status, ==, 0);
  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));

  run (&bad, "render", "--layout", "sideways", "-o", png, NULL);
  g_assert_cmpint (bad.status, ==, 1);
  g_assert_nonnull (strstr (bad.err, "numerator, denominator, vec or per-sample"));
}

/* Whether the help lists the option: "  --name" at the start of a line, or "-o, --output". */
static gboolean
help_lists (const char *help,
            const char *option)
{
  g_autofree char *line = g_strdup_printf ("\n  %s", option);
  g_autofree char *with_value = g_strdup_printf ("%s=", line);
  g_autofree char *alone = g_strdup_printf ("%s ", line);

  if (g_str_equal (option, "-o"))
    return strstr (help, "\n  -o, --output=") != NULL;
  return strstr (help, with_value) != NULL || strstr (help, alone) != NULL;
}

/* CMD --help lists every option CMD accepts, at once, and none that it refuses or ignores. */
static void
test_command_help (Fixture       *f,
                   gconstpointer  data)
{
  static const struct
  {
    const char *command;
    const char *listed[9];
    const char *not_listed[9];
  } cases[] = {
    { "compute", { "--zeros-output", "--per-sample", "--vjp-output", "--hessian", "--steps",
                   "--expr", "-o", "--seed", "--direction" },
                 { "--numpy", "--latex", "--width", "--repeat", "--compare-cells", "--norm",
                   "--layout", "--list-presets", NULL } },
    { "render", { "--width", "--dpi", "--layout", "--compare-cells", "--steps", "--hessian", "-o",
                  "--shared-range", "--dark" },
                { "--zeros-output", "--numpy", "--vjp-output", "--repeat", "--per-sample",
                  "--latex", NULL } },
    { "check", { "--expr", "--wrt", "--grad", "--shape", "--weights", NULL },
               { "-o", "--steps", "--hessian", "--width", "--numpy", "--vjp-output", "--repeat",
                 "--cell", "--zeros-output" } },
    { "bench", { "--repeat", "--steps", "--cell", "--threads", NULL },
               { "--expr", "--width", "-o", "--numpy", "--grad", "--hessian", "--vjp-output",
                 NULL } },
    { "derive", { "--numpy", "--torch", "--latex", "--standalone", "--list-presets", "--hessian",
                  "--layout", "--preset", "--wrt2" },
                { "--steps", "--width", "-o", "--vjp-output", "--zeros-output", "--repeat",
                  "--dark", "--lag", NULL } },
    { "norms", { "--steps", "--cell", "--gain", "--weights", "--grad", NULL },
               { "--expr", "--lag", "--compare-cells", "-o", "--upstream", "--width", "--hessian",
                 "--numpy", "--vjp-output" } },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_auto(Run) r;

      run (&r, cases[c].command, "--help", NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_true (g_str_has_prefix (r.out, "Usage:\n  jacscope [OPTION…] "));
      for (guint k = 0; k < G_N_ELEMENTS (cases[c].listed) && cases[c].listed[k] != NULL; k++)
        if (!help_lists (r.out, cases[c].listed[k]))
          g_error ("%s --help does not list %s:\n%s", cases[c].command, cases[c].listed[k],
                   r.out);
      for (guint k = 0; k < G_N_ELEMENTS (cases[c].not_listed) && cases[c].not_listed[k] != NULL;
           k++)
        if (help_lists (r.out, cases[c].not_listed[k]))
          g_error ("%s --help lists %s:\n%s", cases[c].command, cases[c].not_listed[k], r.out);
      /* The groups' own help options name only groups with something to show. */
      if (g_str_equal (cases[c].command, "norms"))
        g_assert_null (strstr (r.out, "--help-figure"));
    }

  /* What a command's help leaves out is still refused by name, not as unknown. */
  {
    g_auto(Run) r;

    run (&r, "check", "--hessian", NULL);
    g_assert_cmpint (r.status, ==, 2);
    g_assert_nonnull (strstr (r.err, "--hessian goes with compute, render or derive"));
  }
  /* jacscope --help still lists the commands. */
  {
    g_auto(Run) r;

    run (&r, "--help", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "derive"));
    g_assert_nonnull (strstr (r.out, "norms"));
  }
}

/* --help-figure lists the units and the new options. */
static void
test_render_size_help (Fixture       *f,
                       gconstpointer  data)
{
  const char *needles[] = { "--width=W[UNIT]", "--height=H[UNIT]", "pt, in, cm, mm", "--dpi=D",
                            "default 96", "--presentation", "--scale=K" };
  g_auto(Run) r;

  run (&r, "render", "--help-figure", NULL);
  g_assert_cmpint (r.status, ==, 0);
  for (guint n = 0; n < G_N_ELEMENTS (needles); n++)
    if (strstr (r.out, needles[n]) == NULL)
      g_error ("“%s” not in the help:\n%s", needles[n], r.out);
}

/* check passes on the default example and on a non-square one. */
static void
test_check (Fixture       *f,
            gconstpointer  data)
{
  g_auto(Run) r;
  g_auto(Run) r2;

  run (&r, "check", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "all checks passed"));
  for (guint v = 0; v < JAC_N_VARS; v++)
    g_assert_nonnull (strstr (r.out, jac_variable_name (v)));

  run (&r2, "check", "--batch", "3", "--input", "5", "--hidden", "2", "--activation", "relu",
       "--b-shape", "N,H", "--upstream", "loss", NULL);
  g_assert_cmpint (r2.status, ==, 0);
}

/* bench prints one JSON object per line. */
static void
test_bench (Fixture       *f,
            gconstpointer  data)
{
  g_auto(Run) r;
  g_auto(GStrv) lines = NULL;
  guint n_objects = 0;

  run (&r, "bench", "--repeat", "1", "--batch", "4", "--hidden", "8", NULL);
  g_assert_cmpint (r.status, ==, 0);
  lines = g_strsplit (r.out, "\n", -1);
  for (guint l = 0; lines[l] != NULL; l++)
    {
      if (lines[l][0] == '\0')
        continue;
      g_assert_true (g_str_has_prefix (lines[l], "{\"bench\": "));
      g_assert_true (g_str_has_suffix (lines[l], "}"));
      g_assert_nonnull (strstr (lines[l], "\"median_ms\": "));
      n_objects++;
    }
  g_assert_cmpuint (n_objects, ==, 5);
}

/* An error quoting what was typed (a --wrt name, a --shape, a file name) writes an invalid UTF-8
 * byte or a control character as \xNN: no raw byte or terminal escape reaches stderr. */
static void
test_error_bytes_escaped (Fixture       *f,
                          gconstpointer  data)
{
  g_auto(Run) wrt;
  g_auto(Run) shape;
  g_auto(Run) file;

  run (&wrt, "derive", "--expr", "X @ W", "--wrt", "\xff\x1b[31mQ", NULL);
  g_assert_cmpint (wrt.status, ==, 1);
  g_assert_cmpstr (wrt.err, ==, "jacscope derive: --wrt: “\\xff\\x1b[31mQ” is not a variable of "
                                "the expression\n");

  run (&shape, "derive", "--expr", "X @ W", "--shape", "\xfe" "X=2,3", NULL);
  g_assert_cmpint (shape.status, ==, 1);
  g_assert_nonnull (strstr (shape.err, "“\\xfeX” is not a valid name"));

  run (&file, "compute", "--expr", "X @ W", "--var", "X=\xff\x07.npy", "-o",
       "unused.npy", NULL);
  g_assert_cmpint (file.status, ==, 1);
  g_assert_nonnull (strstr (file.err, "\\xff\\x07.npy"));
  for (const Run *r = &wrt; r != NULL; r = r == &wrt ? &shape : r == &shape ? &file : NULL)
    {
      g_assert_true (g_utf8_validate (r->err, -1, NULL));
      g_assert_null (strchr (r->err, '\x1b'));
      g_assert_null (strchr (r->err, '\x07'));
    }
}

/* derive prints the index-notation steps a teacher writes for U = V A, and LaTeX on request. */
static void
test_derive (Fixture       *f,
             gconstpointer  data)
{
  g_auto(Run) r;
  g_auto(Run) latex;
  g_auto(Run) rnn;

  run (&r, "derive", "--expr", "U = V @ A", "--shape", "V=2,4", "--shape", "A=4,3", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "U_ij = Σ_k V_ik A_kj"));
  g_assert_nonnull (strstr (r.out, "∂U_ij/∂V_pq = Σ_k δ_ip δ_kq A_kj"));
  g_assert_nonnull (strstr (r.out, "∂U_ij/∂V_pq = δ_ip A_qj"));
  g_assert_nonnull (strstr (r.out, "sparsity: nonzero only where p = i: 2 of 4 blocks"));
  g_assert_nonnull (strstr (r.out, "contracted form: G Aᵀ"));
  /* The Kronecker identity, as --latex and the window state it (the identities themselves are
   * checked against the materialized matrices in test-kron). */
  g_assert_nonnull (strstr (r.out, "as one matrix: ∂vec(U)/∂vec(V) = (I_2 ⊗ Aᵀ) (row-major vec) "
                                   "= (Aᵀ ⊗ I_2) (column-major vec, Magnus–Neudecker)\n"));

  run (&latex, "derive", "--expr", "U = V @ A", "--shape", "V=2,4", "--shape", "A=4,3",
       "--wrt", "A", "--latex", NULL);
  g_assert_cmpint (latex.status, ==, 0);
  g_assert_nonnull (strstr (latex.out, "\\frac{\\partial U_{ij}}{\\partial A_{pq}} = V_{ip} \\delta_{jq}"));
  g_assert_nonnull (strstr (latex.out, "V^{\\top} G"));

  /* Without --expr, the RNN step: the transpose the student asked about. */
  run (&rnn, "derive", NULL);
  g_assert_cmpint (rnn.status, ==, 0);
  g_assert_nonnull (strstr (rnn.out, "∂h_ij/∂h_prev_pq = S_ij δ_ip W_hh_qj"));
  g_assert_nonnull (strstr (rnn.out, "contracted form: (G ⊙ S) W_hhᵀ"));
  g_assert_nonnull (strstr (rnn.out, "as one matrix: ∂vec(h)/∂vec(h_prev) = diag(vec S) (I_2 ⊗ W_hhᵀ) "
                                     "(row-major vec)"));
}

/* compute --expr writes J[i,j,p,q] = δ_ip A[q,j] for U = V A with the files given. */
static void
test_compute_expr (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *a_path = path_in (f, "a.npy");
  g_autofree char *out = path_in (f, "j.npy");
  g_autofree char *a_spec = g_strconcat ("A=", a_path, NULL);
  g_autoptr(JacTensor) a = jac_tensor_new_matrix (4, 3);
  g_autoptr(GRand) rand = g_rand_new_with_seed (8);
  g_autoptr(JacTensor) j = NULL;
  g_auto(Run) r;
  g_auto(Run) check;

  jac_tensor_fill_uniform (a, rand, 1.0);
  g_assert_true (jac_npy_write (a_path, a, NULL, NULL));
  run (&r, "compute", "--expr", "U = V @ A", "--shape", "V=2,4", "--var", a_spec, "--wrt", "V",
       "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  j = jac_npy_read (out, NULL);
  g_assert_cmpuint (j->rank, ==, 4);
  for (gsize i = 0; i < 2; i++)
    for (gsize c = 0; c < 3; c++)
      for (gsize p = 0; p < 2; p++)
        for (gsize q = 0; q < 4; q++)
          g_assert_cmpfloat (j->data[((i * 3 + c) * 2 + p) * 4 + q], ==,
                             i == p ? JAC_AT2 (a, q, c) : 0.0);

  {
    g_autofree char *fig = path_in (f, "u.pdf");
    g_auto(Run) render;

    run (&render, "render", "--expr", "U = V @ A", "--shape", "V=2,4", "--var", a_spec, "-o", fig,
         NULL);
    g_assert_cmpint (render.status, ==, 0);
    g_assert_true (g_file_test (fig, G_FILE_TEST_EXISTS));
  }

  {
    /* Unicode operators in any locale. */
    g_auto(Run) unicode;

    run (&unicode, "check", "--expr", "Xᵀ @ X − X ⊙ X", "--shape", "X=3,3", NULL);
    g_assert_cmpint (unicode.status, ==, 0);
  }

  run (&check, "check", "--expr", "sum(softmax(X @ W) * log(P)) / 2 - X.T @ X", "--size", "K=5",
       "--shape", "X=K,K", "--shape", "W=K,K", "--shape", "P=K,K", NULL);
  g_assert_cmpint (check.status, ==, 0);
  g_assert_nonnull (strstr (check.out, "all checks passed"));
}

/* compute --hessian: ½‖X W − Y‖² with the files given is (XᵀX)_ik δ_jl w.r.t. W; --direction V
 * gives --vjp-output XᵀX V; --wrt2 X the mixed δ_kq R_pl + X_pk W_ql with R = X W − Y; derive
 * and render take --hessian; errors name their culprit and write nothing. */
static void
test_hessian (Fixture       *f,
              gconstpointer  data)
{
  static const char expr[] = "L = sum((X @ W - Y) ** 2) / 2";
  const char *names[] = { "X", "W", "Y", "V" };
  const gsize rows[] = { 4, 3, 4, 3 }, cols[] = { 3, 2, 2, 2 };
  JacTensor *t[4];
  char *spec[4];
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  g_autofree char *out = path_in (f, "h.npy");
  g_autofree char *hv = path_in (f, "hv.npy");
  g_autofree char *mixed = path_in (f, "hx.npy");
  g_autofree char *fig = path_in (f, "h.png");
  g_autofree char *v_path = NULL;
  g_autofree char *direction = NULL;
  g_autoptr(JacTensor) h = NULL;
  g_autoptr(JacTensor) prod = NULL;
  g_autoptr(JacTensor) hx = NULL;
  g_autoptr(JacTensor) residual = jac_tensor_new_matrix (4, 2);
  g_autoptr(JacTensor) xtx = jac_tensor_new_matrix (3, 3);

  for (guint k = 0; k < 4; k++)
    {
      g_autofree char *file = g_strdup_printf ("%s.npy", names[k]);
      g_autofree char *path = path_in (f, file);

      t[k] = jac_tensor_new_matrix (rows[k], cols[k]);
      jac_tensor_fill_uniform (t[k], rand, 1.0);
      g_assert_true (jac_npy_write (path, t[k], NULL, NULL));
      spec[k] = g_strdup_printf ("%s=%s", names[k], path);
      if (k == 3)
        v_path = g_steal_pointer (&path);
    }
  direction = g_strdup (v_path);
  for (gsize i = 0; i < 3; i++)
    for (gsize k = 0; k < 3; k++)
      for (gsize n = 0; n < 4; n++)
        JAC_AT2 (xtx, i, k) += JAC_AT2 (t[0], n, i) * JAC_AT2 (t[0], n, k);
  for (gsize n = 0; n < 4; n++)
    for (gsize l = 0; l < 2; l++)
      {
        JAC_AT2 (residual, n, l) = -JAC_AT2 (t[2], n, l);
        for (gsize m = 0; m < 3; m++)
          JAC_AT2 (residual, n, l) += JAC_AT2 (t[0], n, m) * JAC_AT2 (t[1], m, l);
      }

  {
    g_auto(Run) r;

    run (&r, "compute", "--expr", expr, "--var", spec[0], "--var", spec[1], "--var", spec[2],
         "--wrt", "W", "--hessian", "--direction", direction, "-o", out, "--vjp-output", hv,
         NULL);
    g_assert_cmpstr (r.err, ==, "");
    g_assert_cmpint (r.status, ==, 0);
  }
  h = jac_npy_read (out, NULL);
  prod = jac_npy_read (hv, NULL);
  g_assert_cmpuint (h->rank, ==, 4);
  g_assert_cmpuint (h->shape[0], ==, 3);
  g_assert_cmpuint (h->shape[3], ==, 2);
  for (gsize i = 0; i < 3; i++)
    for (gsize j = 0; j < 2; j++)
      for (gsize k = 0; k < 3; k++)
        for (gsize l = 0; l < 2; l++)
          g_assert_cmpfloat (fabs (h->data[((i * 2 + j) * 3 + k) * 2 + l] -
                                   (j == l ? JAC_AT2 (xtx, i, k) : 0.0)), <=, 1e-12);
  /* Σ_ij V_ij H[i, j, k, l] = (XᵀX V)_kl (XᵀX is symmetric). */
  for (gsize k = 0; k < 3; k++)
    for (gsize l = 0; l < 2; l++)
      {
        double want = 0;

        for (gsize i = 0; i < 3; i++)
          want += JAC_AT2 (xtx, k, i) * JAC_AT2 (t[3], i, l);
        g_assert_cmpfloat (fabs (JAC_AT2 (prod, k, l) - want), <=, 1e-12);
      }

  {
    g_auto(Run) r;

    run (&r, "compute", "--expr", expr, "--var", spec[0], "--var", spec[1], "--var", spec[2],
         "--wrt", "W", "--hessian", "--wrt2", "X", "-o", mixed, NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  hx = jac_npy_read (mixed, NULL);
  g_assert_cmpuint (hx->rank, ==, 4);
  g_assert_cmpuint (hx->shape[2], ==, 4);
  g_assert_cmpuint (hx->shape[3], ==, 3);
  for (gsize k = 0; k < 3; k++)
    for (gsize l = 0; l < 2; l++)
      for (gsize p = 0; p < 4; p++)
        for (gsize q = 0; q < 3; q++)
          g_assert_cmpfloat (fabs (hx->data[((k * 2 + l) * 4 + p) * 3 + q] -
                                   ((k == q ? JAC_AT2 (residual, p, l) : 0.0) +
                                    JAC_AT2 (t[0], p, k) * JAC_AT2 (t[1], q, l))), <=, 1e-12);

  {
    g_auto(Run) r;

    run (&r, "derive", "--preset", "least-squares", "--hessian", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "Hessian ∂²"));
    g_assert_nonnull (strstr (r.out, "grad = (X.T @ ((X @ W) - Y))"));
    g_assert_nonnull (strstr (r.out, "∂grad_ij/∂W_kl = Σ_m X_mi X_mk δ_jl"));
    g_assert_nonnull (strstr (r.out, "contracted form: Xᵀ X V\n"));
  }
  {
    g_auto(Run) r;

    run (&r, "derive", "--preset", "least-squares-hessian", "--latex", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "\\paragraph{The Hessian $\\partial^2 F / \\partial W^2$}"));
  }
  {
    g_auto(Run) r;

    run (&r, "render", "--preset", "trace-xtax-hessian", "-o", fig, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_true (g_file_test (fig, G_FILE_TEST_IS_REGULAR));
  }

  {
    /* tr(A X) is linear in X: the derivation says its Hessian is zero and H V reads 0. */
    g_auto(Run) r;
    g_auto(Run) latex;

    run (&r, "derive", "--preset", "trace-ax", "--hessian", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "differentiated again w.r.t. X:\nthe Hessian is identically "
                              "zero: the gradient ∂Y/∂X does not depend on X\n"));
    g_assert_nonnull (strstr (r.out, "\ncontracted form: 0\n"));
    g_assert_null (strstr (r.out, "sum(V)"));
    run (&latex, "derive", "--preset", "trace-ax", "--hessian", "--latex", NULL);
    g_assert_cmpint (latex.status, ==, 0);
    g_assert_nonnull (strstr (latex.out, "The Hessian is identically zero: the gradient does not "
                              "depend on $X$."));
  }

  {
    /* sum(kron(A, A)) = (Σ A)²: every entry of its Hessian is 2. */
    g_autofree char *kron_out = path_in (f, "kron-h.npy");
    g_autoptr(JacTensor) kron_h = NULL;
    g_auto(Run) r;

    run (&r, "compute", "--expr", "sum(kron(A, A))", "--hessian", "-o", kron_out, NULL);
    g_assert_cmpint (r.status, ==, 0);
    kron_h = jac_npy_read (kron_out, NULL);
    g_assert_nonnull (kron_h);
    g_assert_cmpuint (kron_h->rank, ==, 4);
    for (gsize k = 0; k < kron_h->size; k++)
      g_assert_cmpfloat (fabs (kron_h->data[k] - 2.0), <=, 1e-12);
    g_unlink (kron_out);
  }

  {
    /* Errors: exit 1 (2 for usage), a message naming the culprit, no output written. */
    g_autofree char *none = path_in (f, "none.npy");
    const struct
    {
      int         status;
      const char *message;
      const char *argv[12];
    } bad[] = {
      { 1, "U has shape (4, 2)", { "compute", "--expr", "U = X @ W", "--var", spec[0], "--hessian",
                                   "-o", none } },
      { 1, "h has shape (2, 3)", { "compute", "--hessian", "-o", none } },
      { 1, "--wrt2: “Q”", { "compute", "--preset", "least-squares", "--hessian", "--wrt2", "Q",
                            "-o", none } },
      { 1, "V has shape (3, 2), but it must be shaped like X: (2, 3)",
        { "compute", "--expr", expr, "--wrt", "X", "--hessian", "--direction", direction, "-o",
          none } },
      { 2, "--wrt2 goes with --hessian", { "compute", "--preset", "least-squares", "--wrt2", "X",
                                           "-o", none } },
      { 2, "--grad sets G", { "compute", "--preset", "least-squares", "--hessian", "--grad",
                              direction, "-o", none } },
      { 2, "--hessian goes with compute, render or derive", { "check", "--preset",
                                                              "least-squares", "--hessian" } },
    };

    for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
      {
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        g_autoptr(GError) error = NULL;
        const char *bin = g_getenv ("JACSCOPE_BIN");
        g_autofree char *err = NULL;
        int wait_status;

        g_ptr_array_add (argv, (gpointer) bin);
        for (guint a = 0; bad[k].argv[a] != NULL; a++)
          g_ptr_array_add (argv, (gpointer) bad[k].argv[a]);
        g_ptr_array_add (argv, NULL);
        g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                      NULL, &err, &wait_status, &error);
        g_assert_no_error (error);
        g_test_message ("%s", err);
        g_assert_true (WIFEXITED (wait_status));
        g_assert_cmpint (WEXITSTATUS (wait_status), ==, bad[k].status);
        g_assert_nonnull (strstr (err, bad[k].message));
        g_assert_null (strchr (strchr (err, '\n') + 1, '\n'));
        g_assert_false (g_file_test (none, G_FILE_TEST_EXISTS));
      }
  }
  for (guint k = 0; k < 4; k++)
    {
      jac_tensor_free (t[k]);
      g_free (spec[k]);
    }
}

/* A malformed expression is an error that points at the culprit. */
static void
test_expr_errors (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *out = path_in (f, "j.npy");
  g_auto(Run) parse;
  g_auto(Run) shape;
  g_auto(Run) wrt;
  g_auto(Run) var;

  run (&parse, "compute", "--expr", "tanh(X @ W", "--shape", "X=2,3", "--shape", "W=3,3", "-o",
       out, NULL);
  g_assert_cmpint (parse.status, ==, 1);
  g_assert_nonnull (strstr (parse.err, "unbalanced"));
  g_assert_nonnull (strstr (parse.err, "\n  tanh(X @ W\n  "));
  g_assert_nonnull (strstr (parse.err, "^"));

  run (&shape, "compute", "--expr", "X @ W", "--shape", "X=2,3", "--shape", "W=2,3", "-o", out,
       NULL);
  g_assert_cmpint (shape.status, ==, 1);
  g_assert_nonnull (strstr (shape.err, "(2, 3) @ (2, 3)"));

  run (&wrt, "compute", "--expr", "X @ W", "--shape", "X=2,3", "--shape", "W=3,3", "--wrt", "Q",
       "-o", out, NULL);
  g_assert_cmpint (wrt.status, ==, 1);
  g_assert_nonnull (strstr (wrt.err, "“Q”"));

  run (&var, "compute", "--var", "Q=nothing.npy", "-o", out, NULL);
  g_assert_cmpint (var.status, ==, 1);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* norms, compute and render through time agree with each other and with ρ^k. */
static void
test_sequence (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *out = path_in (f, "seq.npy");
  g_autofree char *fig = path_in (f, "seq.svg");
  g_autofree char *k_text = NULL;
  g_autoptr(JacTensor) j = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(Run) norms;
  g_auto(Run) compute;
  g_auto(Run) render;
  g_auto(Run) bad_lag;
  g_auto(Run) no_steps;
  double frobenius = 0.0, csv_frobenius = -1.0;

  /* An orthogonal W_hh scaled to 0.5 with identity activation: every norm is 0.5^k. */
  run (&norms, "norms", "--steps", "6", "--batch", "2", "--hidden", "4", "--activation",
       "identity", "--orthogonal", "--gain", "0.5", NULL);
  g_assert_cmpint (norms.status, ==, 0);
  lines = g_strsplit (norms.out, "\n", -1);
  g_assert_true (g_str_has_prefix (lines[0], "# spectral radius of W_hh: 0.5"));
  g_assert_cmpstr (lines[1], ==, "k,row,spectral,frobenius");
  for (guint l = 2; lines[l] != NULL && lines[l][0] != '\0'; l++)
    {
      guint64 k, row;
      double spectral, frob;

      g_assert_cmpint (sscanf (lines[l], "%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%lf,%lf",
                               &k, &row, &spectral, &frob), ==, 4);
      g_assert_cmpfloat (fabs (spectral - pow (0.5, k)), <, 1e-12);
      g_assert_cmpfloat (fabs (frob - 2.0 * pow (0.5, k)), <, 1e-12);  /* √H · 0.5^k */
      if (k == 3 && row == 1)
        csv_frobenius = frob;
    }

  /* The tensor compute writes at lag 3 has that norm in block (1, 1) and zeros off the diagonal. */
  k_text = g_strdup ("3");
  run (&compute, "compute", "--steps", "6", "--lag", k_text, "--batch", "2", "--hidden", "4",
       "--activation", "identity", "--orthogonal", "--gain", "0.5", "-o", out, NULL);
  g_assert_cmpint (compute.status, ==, 0);
  j = jac_npy_read (out, NULL);
  g_assert_cmpuint (j->rank, ==, 4);
  for (gsize n = 0; n < j->size; n++)
    {
      gsize i = n / 32, p = (n / 4) % 2;

      if (i != p)
        g_assert_cmpfloat (j->data[n], ==, 0.0);
      else if (i == 1)
        frobenius += j->data[n] * j->data[n];
    }
  g_assert_cmpfloat (fabs (sqrt (frobenius) - csv_frobenius), <, 1e-12);

  run (&render, "render", "--steps", "30", "--lag", "7", "--gain", "1.2", "-o", fig, NULL);
  g_assert_cmpint (render.status, ==, 0);
  g_assert_true (g_file_test (fig, G_FILE_TEST_EXISTS));

  run (&bad_lag, "compute", "--steps", "4", "--lag", "5", "-o", out, NULL);
  g_assert_cmpint (bad_lag.status, ==, 1);
  g_assert_nonnull (strstr (bad_lag.err, "--lag"));
  run (&no_steps, "norms", NULL);
  g_assert_cmpint (no_steps.status, ==, 2);
}

/* ---- --zeros-output, --per-sample and value zeros ---- */

/* A |u1 .npy as numpy.save writes it: version 1.0, the descr and the shape in the header. */
static guint8 *
read_u1 (const char *path,
         const char *shape_text,
         gsize      *n_bytes)
{
  g_autofree char *contents = NULL;
  g_autofree char *want_shape = g_strdup_printf ("'shape': %s, }", shape_text);
  g_autofree char *header = NULL;
  gsize length, header_length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpuint (length, >=, 10);
  g_assert_true (memcmp (contents, "\x93NUMPY\x01\x00", 8) == 0);
  header_length = (guint8) contents[8] | ((gsize) (guint8) contents[9] << 8);
  g_assert_cmpuint ((10 + header_length) % 64, ==, 0);
  header = g_strndup (contents + 10, header_length);
  g_assert_true (g_str_has_prefix (header, "{'descr': '|u1', 'fortran_order': False, "));
  g_assert_nonnull (strstr (header, want_shape));
  *n_bytes = length - 10 - header_length;
  return g_memdup2 (contents + 10 + header_length, *n_bytes);
}

/* --zeros-output alone writes the mask the δs force, entry for entry, for every variable. */
static void
test_zeros_output (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(JacRnn) rnn = default_rnn ();

  for (guint v = 0; v < JAC_N_VARS; v++)
    {
      g_autofree char *out = path_in (f, "z.npy");
      g_autoptr(JacStructured) jac = jac_rnn_jacobian (rnn, v);
      g_autofree guint8 *mask = NULL;
      g_autofree char *shape_text = NULL;
      gsize shape[4], n_bytes, n_forced = 0;
      guint rank = jac_structured_dense_shape (jac, shape);
      g_auto(Run) r;

      run (&r, "compute", "--wrt", jac_variable_name (v), "--zeros-output", out, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_cmpstr (r.err, ==, "");
      assert_file_count (f, 1);
      shape_text = jac_shape_string (rank, shape);
      mask = read_u1 (out, shape_text, &n_bytes);
      g_assert_cmpuint (n_bytes, ==, jac_structured_dense_count (jac));
      for (gsize e = 0; e < n_bytes; e++)
        {
          gsize out_index[2], wrt_index[2] = { 0, 0 }, rest = e;

          for (guint a = jac->wrt_rank; a-- > 0; rest /= jac->wrt_shape[a])
            wrt_index[a] = rest % jac->wrt_shape[a];
          out_index[1] = rest % jac->out_shape[1];
          out_index[0] = rest / jac->out_shape[1];
          g_assert_cmpuint (mask[e], ==, jac_structured_is_structural_zero (jac, out_index,
                                                                             wrt_index));
          n_forced += mask[e];
        }
      /* Every variable of the RNN step has a δ: ∂h/∂h_prev forces 2 of 4 blocks, and so on. */
      g_assert_cmpuint (n_forced, >, 0);
      g_unlink (out);
    }
}

/* With -o too, for an expression: U = V A forces exactly the blocks p ≠ i, and those are 0. */
static void
test_zeros_output_expr (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *out = path_in (f, "j.npy");
  g_autofree char *zeros = path_in (f, "z.npy");
  g_autofree guint8 *mask = NULL;
  g_autoptr(JacTensor) dense = NULL;
  gsize n_bytes;
  g_auto(Run) r;
  g_auto(Run) same;
  g_auto(Run) render;

  run (&r, "compute", "--expr", "U = V @ A", "--shape", "V=2,4", "--shape", "A=4,3",
       "--zeros-output", zeros, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_file_count (f, 2);
  mask = read_u1 (zeros, "(2, 3, 2, 4)", &n_bytes);
  dense = jac_npy_read (out, NULL);
  g_assert_cmpuint (n_bytes, ==, dense->size);
  for (gsize e = 0; e < n_bytes; e++)
    {
      gsize i = e / 24, p = (e / 4) % 2;

      g_assert_cmpuint (mask[e], ==, i != p);
      if (mask[e])
        g_assert_cmpfloat (dense->data[e], ==, 0.0);
    }

  run (&same, "compute", "-o", out, "--zeros-output", out, NULL);
  g_assert_cmpint (same.status, ==, 1);
  g_assert_nonnull (strstr (same.err, "-o and --zeros-output both name"));
  run (&render, "render", "--zeros-output", zeros, "-o", out, NULL);
  g_assert_cmpint (render.status, ==, 2);
  g_assert_nonnull (strstr (render.err, "--zeros-output goes with compute"));
}

/* NumPy reads the mask as uint8 with the Jacobian's shape (skipped without numpy). */
static void
test_zeros_output_numpy (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *out = path_in (f, "j.npy");
  g_autofree char *zeros = path_in (f, "z.npy");
  g_autofree char *script = NULL;
  g_autofree char *py_out = NULL;
  int status = -1;
  g_auto(Run) r;

  if (!g_spawn_command_line_sync ("/usr/bin/python3 -c 'import numpy'", NULL, NULL, &status,
                                  NULL) || status != 0)
    {
      g_test_skip ("/usr/bin/python3 has no numpy");
      return;
    }
  run (&r, "compute", "--wrt", "W_hh", "-o", out, "--zeros-output", zeros, NULL);
  g_assert_cmpint (r.status, ==, 0);
  script = g_strdup_printf ("/usr/bin/python3 -c \"import numpy as np; z = np.load('%s'); "
                            "d = np.load('%s'); print(z.dtype, z.shape, int(z.sum()), "
                            "bool((d[z == 1] == 0).all()))\"", zeros, out);
  g_assert_true (g_spawn_command_line_sync (script, &py_out, NULL, &status, NULL));
  g_assert_cmpint (status, ==, 0);
  /* ∂h/∂W_hh = S_ij h_prev_ik δ_jl: of each 3×3 block (i, k), 6 entries have l ≠ j. */
  g_assert_cmpstr (py_out, ==, "uint8 (2, 3, 3, 3) 36 True\n");
}

/* derive --numpy --var X=rel.npy names the file absolutely: the script, written from the file's
 * folder, loads the same values when it runs from another one. */
static void
test_derive_numpy_relative_var (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *x_path = path_in (f, "x.npy");
  g_autofree char *script_path = path_in (f, "check.py");
  g_autofree char *load = NULL;
  g_autofree char *cwd = g_get_current_dir ();
  g_autoptr(JacTensor) x = jac_tensor_new_matrix (101, 100);
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  g_autoptr(GError) error = NULL;
  g_autofree char *py_out = NULL;
  const char *py_argv[] = { "/usr/bin/python3", script_path, NULL };
  int status = -1;
  g_auto(Run) r;

  /* 10 100 entries: more than the script writes out, so it loads the file. */
  jac_tensor_fill_uniform (x, rand, 1.0);
  g_assert_true (jac_npy_write (x_path, x, NULL, NULL));
  g_assert_cmpint (g_chdir (f->dir), ==, 0);
  run (&r, "derive", "--expr", "sum(X * X)", "--var", "X=x.npy", "--wrt", "X", "--numpy", NULL);
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  g_assert_cmpint (r.status, ==, 0);
  load = g_strdup_printf ("X = np.load(\"%s\").astype(np.float64)\n", x_path);
  g_assert_nonnull (strstr (r.out, load));
  g_assert_null (strstr (r.out, "np.load(\"x.npy\")"));

  if (!g_spawn_command_line_sync ("/usr/bin/python3 -c 'import numpy'", NULL, NULL, &status,
                                  NULL) || status != 0)
    {
      g_test_skip ("/usr/bin/python3 has no numpy");
      return;
    }
  g_assert_true (g_file_set_contents (script_path, r.out, -1, &error));
  g_assert_true (g_spawn_sync ("/", (char **) py_argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                               NULL, &py_out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (py_out, "all checks passed"));
}

/* --per-sample writes the diagonal blocks J[i, :, i, :] of the dense tensor and the closed form. */
static void
test_per_sample (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *out = path_in (f, "ps.npy");
  g_autoptr(JacTensor) blocks = NULL;
  g_autoptr(JacTensor) closed = NULL;
  g_autoptr(JacRnn) rnn = NULL;
  JacRnnConfig config;
  const char *wrts[] = { "h_prev", "x" };

  jac_rnn_config_init_default (&config);
  config.batch = 3;
  config.hidden = 4;
  rnn = jac_rnn_new (&config, NULL, NULL);
  for (guint w = 0; w < G_N_ELEMENTS (wrts); w++)
    {
      JacVariable v;
      gsize q_size;
      g_auto(Run) r;

      g_assert_true (jac_variable_from_name (wrts[w], &v));
      run (&r, "compute", "--batch", "3", "--hidden", "4", "--wrt", wrts[w], "--per-sample",
           "-o", out, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_clear_pointer (&blocks, jac_tensor_free);
      g_clear_pointer (&closed, jac_tensor_free);
      blocks = jac_npy_read (out, NULL);
      closed = jac_rnn_closed_form_dense (rnn, v);
      q_size = closed->shape[3];
      g_assert_cmpuint (blocks->rank, ==, 3);
      g_assert_cmpuint (blocks->shape[0], ==, 3);
      g_assert_cmpuint (blocks->shape[1], ==, 4);
      g_assert_cmpuint (blocks->shape[2], ==, q_size);
      for (gsize i = 0; i < 3; i++)
        for (gsize j = 0; j < 4; j++)
          for (gsize q = 0; q < q_size; q++)
            g_assert_cmpfloat (fabs (blocks->data[(i * 4 + j) * q_size + q]
                                     - closed->data[((i * 4 + j) * 3 + i) * q_size + q]), <,
                               1e-12);
    }
}

/* Not batch-diagonal: refused, naming the block; nothing is written. */
static void
test_per_sample_refused (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *out = path_in (f, "ps.npy");
  g_auto(Run) weights;
  g_auto(Run) shapes;
  g_auto(Run) no_output;
  g_auto(Run) sum;

  run (&weights, "compute", "--batch", "3", "--hidden", "3", "--wrt", "W_hh", "--per-sample",
       "-o", out, NULL);
  g_assert_cmpint (weights.status, ==, 1);
  g_assert_cmpstr (weights.err, ==, "jacscope compute: ∂h/∂W_hh is not batch-diagonal: "
                   "block (0, 1) is not forced to 0\n");
  run (&shapes, "compute", "--wrt", "W_hh", "--per-sample", "-o", out, NULL);
  g_assert_cmpint (shapes.status, ==, 1);
  g_assert_nonnull (strstr (shapes.err, "not batch-diagonal"));
  run (&sum, "compute", "--expr", "Y = X.T @ X", "--shape", "X=3,3", "--per-sample", "-o", out,
       NULL);
  g_assert_cmpint (sum.status, ==, 1);
  g_assert_nonnull (strstr (sum.err, "∂Y/∂X is not batch-diagonal: block (0, 1)"));
  run (&no_output, "compute", "--per-sample", "--zeros-output", out, NULL);
  g_assert_cmpint (no_output.status, ==, 2);
  g_assert_nonnull (strstr (no_output.err, "--per-sample needs -o"));
  assert_file_count (f, 0);
}

/* Against functorch.vmap(functorch.jacrev(f)) on the same values (skipped without torch). */
static void
test_per_sample_torch (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *out = path_in (f, "ps.npy");
  g_autofree char *h_path = path_in (f, "h.npy");
  g_autofree char *w_path = path_in (f, "w.npy");
  g_autofree char *x_path = path_in (f, "x.npy");
  g_autofree char *u_path = path_in (f, "u.npy");
  g_autofree char *b_path = path_in (f, "b.npy");
  g_autofree char *h_spec = g_strconcat ("h_prev=", h_path, NULL);
  g_autofree char *w_spec = g_strconcat ("W_hh=", w_path, NULL);
  g_autofree char *x_spec = g_strconcat ("x=", x_path, NULL);
  g_autofree char *u_spec = g_strconcat ("W_xh=", u_path, NULL);
  g_autofree char *b_spec = g_strconcat ("b=", b_path, NULL);
  g_autofree char *script = NULL;
  g_autofree char *py_out = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  JacTensor *values[] = { jac_tensor_new_matrix (3, 4), jac_tensor_new_matrix (4, 4),
                          jac_tensor_new_matrix (3, 2), jac_tensor_new_matrix (2, 4),
                          jac_tensor_new_vector (4) };
  const char *paths[] = { h_path, w_path, x_path, u_path, b_path };
  int status = -1;
  g_auto(Run) r;

  if (!g_spawn_command_line_sync ("/usr/bin/python3 -c 'import torch, functorch, numpy'", NULL,
                                  NULL, &status, NULL) || status != 0)
    {
      for (guint k = 0; k < G_N_ELEMENTS (values); k++)
        jac_tensor_free (values[k]);
      g_test_skip ("/usr/bin/python3 has no torch with functorch and numpy");
      return;
    }
  for (guint k = 0; k < G_N_ELEMENTS (values); k++)
    {
      jac_tensor_fill_uniform (values[k], rand, 1.0);
      g_assert_true (jac_npy_write (paths[k], values[k], NULL, NULL));
      jac_tensor_free (values[k]);
    }
  run (&r, "compute", "--var", h_spec, "--var", w_spec, "--var", x_spec, "--var", u_spec,
       "--var", b_spec, "--per-sample", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  script = g_strdup_printf (
    "/usr/bin/python3 -c \"import numpy as np, torch, functorch\n"
    "L = lambda p: torch.from_numpy(np.load(p))\n"
    "h, w, x, u, b = L('%s'), L('%s'), L('%s'), L('%s'), L('%s')\n"
    "f = lambda hr, xr: torch.tanh(hr @ w + xr @ u + b)\n"
    "ref = functorch.vmap(functorch.jacrev(f), in_dims=(0, 0))(h, x)\n"
    "print(float((ref - L('%s')).abs().max()) < 1e-12)\"", h_path, w_path, x_path, u_path,
    b_path, out);
  g_assert_true (g_spawn_command_line_sync (script, &py_out, NULL, &status, NULL));
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (py_out, ==, "True\n");
}

/* derive counts the entries ReLU switches off, and they are the dense tensor's unforced zeros. */
static void
test_value_zeros_relu (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *out = path_in (f, "j.npy");
  g_autofree char *zeros = path_in (f, "z.npy");
  g_autofree char *expected = NULL;
  g_autofree guint8 *mask = NULL;
  g_autoptr(JacTensor) dense = NULL;
  gsize n_bytes, n_value_zeros = 0;
  g_auto(Run) compute;
  g_auto(Run) derive;
  g_auto(Run) tanh_run;

  run (&compute, "compute", "--batch", "4", "--hidden", "5", "--activation", "relu", "-o", out,
       "--zeros-output", zeros, NULL);
  g_assert_cmpint (compute.status, ==, 0);
  dense = jac_npy_read (out, NULL);
  mask = read_u1 (zeros, "(4, 5, 4, 5)", &n_bytes);
  for (gsize e = 0; e < n_bytes; e++)
    n_value_zeros += !mask[e] && dense->data[e] == 0.0;
  /* Each unit ReLU switches off empties its row of H entries in block (i, i). */
  g_assert_cmpuint (n_value_zeros, >, 0);
  g_assert_cmpuint (n_value_zeros % 5, ==, 0);

  run (&derive, "derive", "--batch", "4", "--hidden", "5", "--activation", "relu", NULL);
  g_assert_cmpint (derive.status, ==, 0);
  expected = g_strdup_printf ("; %" G_GSIZE_FORMAT " more entries are 0 for these values: "
                              "ReLU off\n", n_value_zeros);
  g_assert_nonnull (strstr (derive.out, expected));

  /* tanh is never exactly flat at these values: no such clause. */
  run (&tanh_run, "derive", "--batch", "4", "--hidden", "5", NULL);
  g_assert_cmpint (tanh_run.status, ==, 0);
  g_assert_null (strstr (tanh_run.out, "for these values"));
}

/* render --layout per-sample draws a batch-diagonal Jacobian and refuses any other, as compute
 * --per-sample does. */
static void
test_render_per_sample (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *fig = path_in (f, "ps.png");
  g_auto(Run) ok;
  g_auto(Run) refused;
  g_auto(Run) with_row;

  run (&ok, "render", "--batch", "4", "--layout", "per-sample", "-o", fig, NULL);
  g_assert_cmpint (ok.status, ==, 0);
  g_assert_true (g_file_test (fig, G_FILE_TEST_EXISTS));
  g_unlink (fig);
  run (&refused, "render", "--batch", "3", "--hidden", "3", "--wrt", "W_hh", "--layout",
       "per-sample", "-o", fig, NULL);
  g_assert_cmpint (refused.status, ==, 1);
  g_assert_cmpstr (refused.err, ==, "jacscope render: --layout per-sample: ∂h/∂W_hh is not "
                   "batch-diagonal: block (0, 1) is not forced to 0\n");
  run (&with_row, "render", "--layout", "per-sample", "--row", "0", "-o", fig, NULL);
  g_assert_cmpint (with_row.status, ==, 1);
  assert_file_count (f, 0);
}

/* A zero loaded into W_hh is a value zero of ∂h/∂h_prev, and derive says why. */
static void
test_value_zeros_data (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *w_path = path_in (f, "w.npy");
  g_autofree char *w_spec = g_strconcat ("W_hh=", w_path, NULL);
  g_autoptr(JacTensor) w = jac_tensor_new_matrix (3, 3);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_auto(Run) derive;

  jac_tensor_fill_uniform (w, rand, 1.0);
  JAC_AT2 (w, 1, 2) = 0.0;
  g_assert_true (jac_npy_write (w_path, w, NULL, NULL));
  /* J[i, j, i, q] = S[i, j] W_hh[q, j]: W_hh[1, 2] = 0 zeroes (j, q) = (2, 1) in both blocks. */
  run (&derive, "derive", "--var", w_spec, NULL);
  g_assert_cmpint (derive.status, ==, 0);
  g_assert_nonnull (strstr (derive.out, "; 2 more entries are 0 for these values: a zero in the "
                                        "data\n"));
}


/* ---- through time for every cell: loaded data, PyTorch weights, BPTT ---- */

static JacTensor *
random_tensor (guint        rank,
               const gsize *shape,
               guint32      seed,
               double       scale)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  JacTensor *t = jac_tensor_new (rank, shape, NULL);

  jac_tensor_fill_uniform (t, rand, scale);
  return t;
}

/* A PyTorch state dict of @g gates, H = 3, D = 2, as np.savez_compressed writes it (float32). */
static void
write_state_dict (const char *path,
                  gsize       g,
                  const char *extra_key)
{
  gsize ih[2] = { g * 3, 2 }, hh[2] = { g * 3, 3 }, b = g * 3;
  JacTensor *t[5] = { random_tensor (2, ih, 1, 0.6), random_tensor (2, hh, 2, 0.6),
                      random_tensor (1, &b, 3, 0.6), random_tensor (1, &b, 4, 0.6),
                      random_tensor (2, hh, 5, 0.6) };
  const char *keys[5] = { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                          extra_key };

  /* Each value rounded to float32 first, so that what the file holds is exactly this. */
  for (guint k = 0; k < 5; k++)
    for (gsize e = 0; e < t[k]->size; e++)
      t[k]->data[e] = (float) t[k]->data[e];
  npz_write_tensors (path, extra_key != NULL ? 5 : 4, keys, t, TRUE, TRUE);
  for (guint k = 0; k < 5; k++)
    jac_tensor_free (t[k]);
}

/* The same sequence built in this process from the same files: what the command must write. */
static JacSequence *
sequence_from_files (JacCell      cell,
                     JacState     output,
                     JacState     wrt,
                     const char  *x_path,
                     const char  *h0_path,
                     const char  *c0_path,
                     const char  *npz_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) x = jac_npy_read (x_path, &error);
  g_autoptr(JacTensor) h0 = jac_npy_read (h0_path, &error);
  g_autoptr(JacTensor) c0 = c0_path != NULL ? jac_npy_read (c0_path, &error) : NULL;
  g_autoptr(GHashTable) dict = jac_npz_read (npz_path, &error);
  JacSequenceConfig config;
  JacSequenceData data = { 0 };
  JacSequence *seq;

  g_assert_no_error (error);
  g_assert_true (jac_sequence_data_from_state_dict (dict, cell, &data, &error));
  data.x = x, data.h0 = h0, data.c0 = c0;
  jac_sequence_config_init_default (&config);
  config.cell = cell, config.output = output, config.wrt = wrt, config.steps = 0;
  seq = jac_sequence_new_with_data (&config, &data, &error);
  g_assert_no_error (error);
  return seq;
}

static void
test_sequence_cells_loaded (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *x_path = path_in (f, "x.npy"), *h0_path = path_in (f, "h0.npy");
  g_autofree char *c0_path = path_in (f, "c0.npy"), *g_path = path_in (f, "g.npy");
  g_autofree char *lstm = path_in (f, "lstm.npz"), *gru = path_in (f, "gru.npz");
  g_autofree char *out = path_in (f, "j.npy"), *vjp = path_in (f, "v.npy");
  g_autofree char *x_spec = g_strconcat ("x=", x_path, NULL);
  g_autofree char *h0_spec = g_strconcat ("h0=", h0_path, NULL);
  g_autofree char *c0_spec = g_strconcat ("c0=", c0_path, NULL);
  gsize x_shape[3] = { 5, 2, 2 }, s_shape[2] = { 2, 3 };
  g_autoptr(JacTensor) x = random_tensor (3, x_shape, 7, 1.0);
  g_autoptr(JacTensor) h0 = random_tensor (2, s_shape, 8, 1.0);
  g_autoptr(JacTensor) c0 = random_tensor (2, s_shape, 9, 1.0);
  g_autoptr(JacTensor) g = random_tensor (2, s_shape, 10, 1.0);

  g_assert_true (jac_npy_write (x_path, x, NULL, NULL));
  g_assert_true (jac_npy_write (h0_path, h0, NULL, NULL));
  g_assert_true (jac_npy_write (c0_path, c0, NULL, NULL));
  g_assert_true (jac_npy_write (g_path, g, NULL, NULL));
  write_state_dict (lstm, 4, NULL);
  write_state_dict (gru, 3, NULL);

  /* ∂c_T/∂c_{T−2} of the LSTM, T from x (no --steps), and ∂L/∂c_{T−2}. */
  {
    g_autoptr(JacSequence) seq = sequence_from_files (JAC_CELL_LSTM, JAC_STATE_C, JAC_STATE_C,
                                                      x_path, h0_path, c0_path, lstm);
    g_autoptr(JacStructured) jac = jac_sequence_jacobian (seq, 2, NULL);
    g_autoptr(JacTensor) dense = jac_structured_to_dense (jac, 0, NULL);
    g_autoptr(JacTensor) expected_vjp = jac_sequence_state_vjp (seq, g, 2, NULL);
    g_autoptr(JacTensor) got = NULL;
    g_autoptr(JacTensor) got_vjp = NULL;
    g_autofree char *g_spec = g_strdup (g_path);
    g_auto(Run) r;

    run (&r, "compute", "--cell", "lstm", "--var", x_spec, "--var", h0_spec, "--var", c0_spec,
         "--weights", lstm, "--output-state", "c", "--wrt", "c", "--lag", "2", "--grad", g_spec,
         "--vjp-output", vjp, "-o", out, NULL);
    g_assert_cmpint (r.status, ==, 0);
    got = jac_npy_read (out, NULL);
    got_vjp = jac_npy_read (vjp, NULL);
    g_assert_true (jac_tensor_same_shape (got, dense));
    g_assert_cmpfloat (jac_tensor_max_abs_diff (got, dense), ==, 0);
    g_assert_cmpfloat (jac_tensor_max_abs (got), >, 0);
    g_assert_cmpfloat (jac_tensor_max_abs_diff (got_vjp, expected_vjp), ==, 0);
  }
  /* The GRU's BPTT gradient for weight_hh_l0, --vjp-output alone (no -o), in PyTorch's shape. */
  {
    g_autoptr(JacSequence) seq = sequence_from_files (JAC_CELL_GRU, JAC_STATE_H, JAC_STATE_H,
                                                      x_path, h0_path, NULL, gru);
    g_autoptr(JacTensor) expected = jac_sequence_param_vjp (seq, g, JAC_PARAM_WEIGHT_HH, NULL);
    g_autoptr(JacTensor) got = NULL;
    g_auto(Run) r;

    g_unlink (vjp);
    run (&r, "compute", "--cell", "gru", "--var", x_spec, "--var", h0_spec, "--weights", gru,
         "--wrt", "weight_hh_l0", "--grad", g_path, "--vjp-output", vjp, NULL);
    g_assert_cmpint (r.status, ==, 0);
    got = jac_npy_read (vjp, NULL);
    g_assert_cmpuint (got->rank, ==, 2);
    g_assert_cmpuint (got->shape[0], ==, 9);
    g_assert_cmpuint (got->shape[1], ==, 3);
    g_assert_cmpfloat (jac_tensor_max_abs_diff (got, expected), ==, 0);
  }
  /* norms of the LSTM's cell state: the same numbers as in this process. */
  {
    g_autoptr(JacSequence) seq = sequence_from_files (JAC_CELL_LSTM, JAC_STATE_C, JAC_STATE_C,
                                                      x_path, h0_path, c0_path, lstm);
    g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, NULL);
    g_auto(GStrv) lines = NULL;
    g_auto(Run) r;

    run (&r, "norms", "--cell", "lstm", "--var", x_spec, "--var", h0_spec, "--var", c0_spec,
         "--weights", lstm, "--output-state", "c", "--wrt", "c", NULL);
    g_assert_cmpint (r.status, ==, 0);
    lines = g_strsplit (r.out, "\n", -1);
    g_assert_cmpstr (lines[0], ==, "# cell: lstm, ∂c_T/∂c_{T−k}");
    g_assert_cmpuint (g_strv_length (lines), ==, 2 + 5 * 2 + 1);
    for (guint l = 2; lines[l][0] != '\0'; l++)
      {
        guint64 k, row;
        double spectral, frob;

        g_assert_cmpint (sscanf (lines[l], "%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%lf,%lf",
                                 &k, &row, &spectral, &frob), ==, 4);
        g_assert_cmpfloat_with_epsilon (spectral / jac_sequence_norms_get (
                                          norms, JAC_SEQUENCE_NORM_SPECTRAL, k, row), 1, 1e-15);
      }
  }
}

/* --weights for the one-step view: the same Jacobian as W_hh = weight_hhᵀ, W_xh = weight_ihᵀ,
 * b = bias_ih + bias_hh given by hand. */
static void
test_step_weights (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *rnn = path_in (f, "rnn.npz"), *a = path_in (f, "a.npy");
  g_autofree char *b_out = path_in (f, "b.npy"), *w_hh = path_in (f, "whh.npy");
  g_autofree char *w_xh = path_in (f, "wxh.npy"), *bias = path_in (f, "bias.npy");
  g_autofree char *hh_spec = g_strconcat ("W_hh=", w_hh, NULL);
  g_autofree char *xh_spec = g_strconcat ("W_xh=", w_xh, NULL);
  g_autofree char *b_spec = g_strconcat ("b=", bias, NULL);
  g_autoptr(GHashTable) dict = NULL;

  write_state_dict (rnn, 1, NULL);
  dict = jac_npz_read (rnn, NULL);
  {
    const JacTensor *hh = g_hash_table_lookup (dict, "weight_hh_l0");
    const JacTensor *ih = g_hash_table_lookup (dict, "weight_ih_l0");
    const JacTensor *bi = g_hash_table_lookup (dict, "bias_ih_l0");
    const JacTensor *bh = g_hash_table_lookup (dict, "bias_hh_l0");
    g_autoptr(JacTensor) t_hh = jac_tensor_new_matrix (3, 3);
    g_autoptr(JacTensor) t_xh = jac_tensor_new_matrix (2, 3);
    g_autoptr(JacTensor) sum = jac_tensor_new_vector (3);

    for (gsize i = 0; i < 3; i++)
      {
        for (gsize j = 0; j < 3; j++)
          JAC_AT2 (t_hh, j, i) = JAC_AT2 (hh, i, j);
        for (gsize d = 0; d < 2; d++)
          JAC_AT2 (t_xh, d, i) = JAC_AT2 (ih, i, d);
        sum->data[i] = bi->data[i] + bh->data[i];
      }
    g_assert_true (jac_npy_write (w_hh, t_hh, NULL, NULL));
    g_assert_true (jac_npy_write (w_xh, t_xh, NULL, NULL));
    g_assert_true (jac_npy_write (bias, sum, NULL, NULL));
  }
  for (guint v = 0; v < 3; v++)
    {
      const char *wrt = v == 0 ? "h_prev" : v == 1 ? "W_hh" : "b";
      g_auto(Run) r1;
      g_auto(Run) r2;
      g_autoptr(JacTensor) one = NULL;
      g_autoptr(JacTensor) two = NULL;

      run (&r1, "compute", "--input", "2", "--weights", rnn, "--wrt", wrt, "-o", a, NULL);
      run (&r2, "compute", "--input", "2", "--var", hh_spec, "--var", xh_spec, "--var", b_spec,
           "--wrt", wrt, "-o", b_out, NULL);
      g_assert_cmpint (r1.status, ==, 0);
      g_assert_cmpint (r2.status, ==, 0);
      one = jac_npy_read (a, NULL);
      two = jac_npy_read (b_out, NULL);
      g_assert_true (jac_tensor_same_shape (one, two));
      g_assert_cmpfloat (jac_tensor_max_abs_diff (one, two), ==, 0);
      g_assert_cmpfloat (jac_tensor_max_abs (one), >, 0);
    }
}

/* The one-step view of the LSTM and GRU programs on a state dict (--preset lstm|gru --weights):
 * each Jacobian is block (i, i) of the through-time cell's one-step state Jacobian built in
 * this process from the same files, zero elsewhere. */
static void
check_program_pair (Fixture    *f,
                    JacCell     cell,
                    const char *npz,
                    const char *output,
                    const char *wrt,
                    guint       out_part,
                    guint       wrt_part)
{
  g_autofree char *x2 = path_in (f, "x2.npy"), *x3 = path_in (f, "x3.npy");
  g_autofree char *h0 = path_in (f, "h0.npy"), *c0 = path_in (f, "c0.npy");
  g_autofree char *out = path_in (f, "j.npy");
  g_autofree char *x_spec = g_strconcat ("x=", x2, NULL);
  g_autofree char *h_spec = g_strconcat ("h_prev=", h0, NULL);
  g_autofree char *c_spec = g_strconcat ("c_prev=", c0, NULL);
  gboolean lstm = cell == JAC_CELL_LSTM;
  g_autoptr(JacSequence) seq = sequence_from_files (cell, JAC_STATE_H, JAC_STATE_H, x3, h0,
                                                    lstm ? c0 : NULL, npz);
  g_autoptr(JacTensor) closed = jac_sequence_step_state_jacobian (seq, 1, NULL);
  g_autoptr(JacTensor) dense = NULL;
  gsize n = 2, h = 3, m = closed->shape[1];
  g_auto(Run) r;

  run (&r, "compute", "--preset", lstm ? "lstm" : "gru", "--weights", npz, "--var", x_spec,
       "--var", h_spec, lstm ? "--var" : "--wrt", lstm ? c_spec : wrt, "--output-state", output,
       "--wrt", wrt, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  dense = jac_npy_read (out, NULL);
  g_assert_nonnull (dense);
  g_assert_cmpuint (dense->size, ==, n * h * n * h);
  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < h; j++)
      for (gsize p = 0; p < n; p++)
        for (gsize q = 0; q < h; q++)
          {
            double want = p != i ? 0.0 : closed->data[(i * m + out_part * h + j) * m
                                                      + wrt_part * h + q];

            g_assert_cmpfloat_with_epsilon (dense->data[((i * h + j) * n + p) * h + q], want,
                                            1e-13);
          }
}

static void
test_program_weights (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *lstm = path_in (f, "lstm.npz"), *gru = path_in (f, "gru.npz");
  g_autofree char *x2 = path_in (f, "x2.npy"), *x3 = path_in (f, "x3.npy");
  g_autofree char *h0 = path_in (f, "h0.npy"), *c0 = path_in (f, "c0.npy");
  g_autofree char *out = path_in (f, "j.npy");
  gsize x_shape[3] = { 1, 2, 2 }, nh[2] = { 2, 3 };
  g_autoptr(JacTensor) x = random_tensor (3, x_shape, 11, 1.0);
  g_autoptr(JacTensor) h = random_tensor (2, nh, 12, 0.8);
  g_autoptr(JacTensor) c = random_tensor (2, nh, 13, 0.8);
  g_autoptr(JacTensor) x_step = jac_tensor_new_matrix (2, 2);

  memcpy (x_step->data, x->data, 4 * sizeof (double));
  g_assert_true (jac_npy_write (x3, x, NULL, NULL));
  g_assert_true (jac_npy_write (x2, x_step, NULL, NULL));
  g_assert_true (jac_npy_write (h0, h, NULL, NULL));
  g_assert_true (jac_npy_write (c0, c, NULL, NULL));
  write_state_dict (lstm, 4, NULL);
  write_state_dict (gru, 3, NULL);
  check_program_pair (f, JAC_CELL_LSTM, lstm, "h", "h_prev", 0, 0);
  check_program_pair (f, JAC_CELL_LSTM, lstm, "c", "c_prev", 1, 1);
  check_program_pair (f, JAC_CELL_LSTM, lstm, "h", "c_prev", 0, 1);
  check_program_pair (f, JAC_CELL_LSTM, lstm, "c", "h_prev", 1, 0);
  check_program_pair (f, JAC_CELL_GRU, gru, "h", "h_prev", 0, 0);

  /* The derivation of the cell state's own path: the forget gate alone. */
  {
    g_auto(Run) r;

    run (&r, "derive", "--preset", "lstm", "--weights", lstm, "--output-state", "c", "--wrt",
         "c_prev", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "∂c_ij/∂c_prev_pq = f_ij δ_ip δ_jq"));
    g_assert_nonnull (strstr (r.out, "contracted form: G ⊙ f\n"));
    g_assert_nonnull (strstr (r.out, "f_ij = σ(Z₂_ij)"));
  }
  /* Errors: another cell's weights, sizes that disagree, names no program assigns. */
  {
    static const struct { int status; const char *message; const char *npz;
                          const char *argv[10]; } bad[] = {
      { 1, "weight_hh_l0 has shape (9, 3); it should be (4·H, H)", "gru",
        { "compute", "--preset", "lstm", "--weights", "@", "-o", "@" } },
      { 1, "--hidden 4 disagrees with H = 3 of the weights", "gru",
        { "compute", "--preset", "gru", "--hidden", "4", "--weights", "@", "-o", "@" } },
      { 1, "--output-state: “q” is not assigned by the expression (its names: r, z, n, h)",
        "gru", { "compute", "--preset", "gru", "--output-state", "q", "--weights", "@", "-o",
                 "@" } },
      { 1, "--weights: the expression uses none of the weights' variables", "lstm",
        { "compute", "--expr", "Y = X @ X", "--weights", "@", "-o", "@" } },
      { 2, "--output-state goes with --steps T, --expr or --preset", "lstm",
        { "compute", "--output-state", "c", "--weights", "@", "-o", "@" } },
    };

    for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
      {
        const char *argv[10] = { NULL };
        g_auto(Run) r;

        g_unlink (out);
        for (guint i = 0; i < G_N_ELEMENTS (argv) && bad[k].argv[i] != NULL; i++)
          argv[i] = !g_str_equal (bad[k].argv[i], "@") ? bad[k].argv[i]
                    : g_str_equal (bad[k].argv[i - 1], "-o") ? out
                    : g_str_equal (bad[k].npz, "gru") ? gru : lstm;
        run (&r, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], argv[7],
             argv[8], argv[9], NULL);
        g_assert_cmpint (r.status, ==, bad[k].status);
        if (strstr (r.err, bad[k].message) == NULL)
          g_error ("“%s” does not say “%s”", r.err, bad[k].message);
        g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
      }
  }
}

/* The same against PyTorch itself: nn.LSTM and nn.GRU, their state dicts saved with np.savez,
 * one step's ∂h/∂h_prev (and the LSTM's ∂c/∂c_prev) by torch.autograd.functional.jacobian. */
static void
test_program_weights_torch (Fixture       *f,
                            gconstpointer  data)
{
  int status = -1;

  if (!g_spawn_command_line_sync ("/usr/bin/python3 -c 'import torch, numpy'", NULL, NULL,
                                  &status, NULL) || status != 0)
    {
      g_test_skip ("/usr/bin/python3 has no torch and numpy");
      return;
    }
  for (guint k = 0; k < 3; k++)
    {
      const char *cell = k < 2 ? "LSTM" : "GRU";
      const char *output = k == 1 ? "c" : "h", *wrt = k == 1 ? "c_prev" : "h_prev";
      g_autofree char *npz = path_in (f, "m.npz"), *x = path_in (f, "x.npy");
      g_autofree char *h = path_in (f, "h.npy"), *c = path_in (f, "c.npy");
      g_autofree char *ref = path_in (f, "ref.npy"), *out = path_in (f, "j.npy");
      g_autofree char *x_spec = g_strconcat ("x=", x, NULL);
      g_autofree char *h_spec = g_strconcat ("h_prev=", h, NULL);
      g_autofree char *c_spec = g_strconcat ("c_prev=", c, NULL);
      g_autofree char *script = g_strdup_printf (
        "/usr/bin/python3 -c \"import numpy as np, torch\n"
        "torch.manual_seed(5)\n"
        "m = torch.nn.%s(2, 3).double()\n"
        "np.savez('%s', **{k: v.detach().numpy() for k, v in m.state_dict().items()})\n"
        "x, h, c = torch.randn(2, 2).double(), torch.randn(2, 3).double(), torch.randn(2, 3).double()\n"
        "np.save('%s', x.numpy()); np.save('%s', h.numpy()); np.save('%s', c.numpy())\n"
        "lstm = isinstance(m, torch.nn.LSTM)\n"
        "def step(hp, cp):\n"
        "    if lstm:\n"
        "        _, (h1, c1) = m(x[None], (hp[None], cp[None]))\n"
        "        return (c1 if %d else h1)[0]\n"
        "    return m(x[None], hp[None])[1][0]\n"
        "wrt = %d\n"
        "f = (lambda v: step(h, v)) if wrt else (lambda v: step(v, c))\n"
        "np.save('%s', torch.autograd.functional.jacobian(f, c if wrt else h).numpy())\"",
        cell, npz, x, h, c, k == 1, k == 1, ref);
      g_autoptr(JacTensor) want = NULL;
      g_autoptr(JacTensor) got = NULL;
      g_auto(Run) r;

      g_assert_true (g_spawn_command_line_sync (script, NULL, NULL, &status, NULL));
      g_assert_cmpint (status, ==, 0);
      if (k < 2)
        run (&r, "compute", "--preset", "lstm", "--weights", npz, "--var", x_spec, "--var",
             h_spec, "--var", c_spec, "--output-state", output, "--wrt", wrt, "-o", out, NULL);
      else
        run (&r, "compute", "--preset", "gru", "--weights", npz, "--var", x_spec, "--var",
             h_spec, "-o", out, NULL);
      g_assert_cmpint (r.status, ==, 0);
      want = jac_npy_read (ref, NULL);
      got = jac_npy_read (out, NULL);
      g_assert_true (jac_tensor_same_shape (want, got));
      g_assert_cmpfloat (jac_tensor_max_abs (want), >, 0.01);
      g_assert_cmpfloat (jac_tensor_max_abs_diff (want, got), <, 1e-12);
    }
}

/* Bad keys, shapes and options that do not apply: one line naming the culprit, exit 1 for a bad
 * value or file, 2 for options that do not go together. */
static void
test_sequence_cell_errors (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *out = path_in (f, "j.npy"), *v = path_in (f, "v.npy");
  g_autofree char *l1 = path_in (f, "l1.npz"), *rev = path_in (f, "rev.npz");
  g_autofree char *gru = path_in (f, "gru.npz"), *lstm = path_in (f, "lstm.npz");
  g_autofree char *missing = path_in (f, "missing.npz"), *x5 = path_in (f, "x5.npy");
  g_autofree char *x_spec = g_strconcat ("x=", x5, NULL);
  gsize x_shape[3] = { 5, 2, 2 };
  g_autoptr(JacTensor) x = random_tensor (3, x_shape, 1, 1.0);
  struct { int status; const char *needle; const char *args[12]; } cases[] = {
    { 2, "--lag does not go with norms", { "norms", "--steps", "5", "--lag", "2" } },
    { 2, "--wrt W_hh does not go with norms", { "norms", "--steps", "5", "--wrt", "W_hh" } },
    /* -o is for the commands that write a file; the others print (it was silently ignored). */
    { 2, "-o goes with compute or render", { "norms", "--steps", "5", "-o", out } },
    { 2, "-o goes with compute or render", { "derive", "-o", out } },
    { 2, "-o goes with compute or render", { "check", "-o", out } },
    { 2, "-o goes with compute or render", { "bench", "--repeat", "1", "-o", out } },
    /* A preset is named as typed, not as the --expr it stands for. */
    { 2, "--preset does not go with --steps", { "norms", "--steps", "5", "--preset", "lstm" } },
    { 2, "--preset does not go with --steps", { "compute", "--steps", "5", "--preset", "gru",
                                                "-o", out } },
    { 2, "--expr does not go with norms, which is about a recurrent cell through time",
      { "norms", "--expr", "X @ W" } },
    { 2, "belongs to the LSTM", { "compute", "--steps", "5", "--cell", "gru", "--output-state",
                                  "c", "-o", out } },
    { 2, "--activation does not apply to the lstm", { "compute", "--steps", "5", "--cell",
                                                      "lstm", "--activation", "relu", "-o",
                                                      out } },
    { 1, "weight_hh_l1", { "compute", "--steps", "5", "--cell", "lstm", "--weights", l1, "-o",
                           out } },
    { 1, "weight_hh_l0_reverse", { "compute", "--steps", "5", "--cell", "lstm", "--weights", rev,
                                   "-o", out } },
    { 1, "weight_ih_l0", { "compute", "--steps", "5", "--cell", "lstm", "--weights", missing,
                           "-o", out } },
    { 1, "--cell gru", { "compute", "--steps", "5", "--cell", "lstm", "--weights", gru, "-o",
                         out } },
    { 2, "--lag does not go with --wrt W_hh", { "compute", "--steps", "5", "--wrt", "W_hh",
                                                "--lag", "2", "-o", out } },
    { 2, "--vjp-output needs --grad", { "compute", "--steps", "5", "--vjp-output", v } },
    { 2, "--grad goes with --vjp-output", { "compute", "--steps", "5", "--grad", x5, "-o",
                                            out } },
    { 1, "T = 5", { "compute", "--steps", "4", "--var", x_spec, "-o", out } },
    { 1, "--cell: unknown “banana”", { "compute", "--steps", "4", "--cell", "banana", "-o",
                                       out } },
    { 2, "--gain does not apply to loaded weights", { "compute", "--steps", "4", "--cell",
                                                      "lstm", "--weights", lstm, "--gain", "2",
                                                      "-o", out } },
    { 2, "--compare-cells goes with render", { "compute", "--steps", "4", "--compare-cells",
                                               "-o", out } },
    { 2, "--carry-bias does not apply to the RNN", { "compute", "--steps", "4", "--carry-bias",
                                                     "1", "-o", out } },
    { 1, "--wrt: unknown “W_ih”", { "compute", "--steps", "4", "--wrt", "W_ih", "-o", out } },
    { 1, "W_hh is the RNN's name", { "compute", "--steps", "4", "--cell", "gru", "--wrt",
                                     "W_hh", "-o", out } },
  };
  guint n_files;

  write_state_dict (l1, 4, "weight_hh_l1");
  write_state_dict (rev, 4, "weight_hh_l0_reverse");
  write_state_dict (gru, 3, NULL);
  write_state_dict (lstm, 4, NULL);
  {
    gsize hh[2] = { 12, 3 };
    g_autoptr(JacTensor) t = random_tensor (2, hh, 1, 1.0);
    JacTensor *tensors[1] = { t };
    const char *keys[1] = { "weight_hh_l0" };

    npz_write_tensors (missing, 1, keys, tensors, FALSE, FALSE);
  }
  g_assert_true (jac_npy_write (x5, x, NULL, NULL));
  n_files = 6;
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const char **a = cases[c].args;
      g_auto(Run) r;

      run (&r, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], NULL);
      if (r.status != cases[c].status || strstr (r.err, cases[c].needle) == NULL)
        g_error ("case %u: exit %d, “%s” not in “%s”", c, r.status, cases[c].needle, r.err);
      g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
      assert_file_count (f, n_files);
    }
}

/* The three cells compared: a PNG of the asked size; options that do not apply refused. */
static void
test_compare_cells (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *png = path_in (f, "cells.png");
  g_autofree char *svg = path_in (f, "cells.svg");
  cairo_surface_t *surface;
  g_auto(Run) r;
  g_auto(Run) s;
  g_auto(Run) bad;

  run (&r, "render", "--steps", "30", "--compare-cells", "--carry-bias", "2", "--width", "800",
       "--height", "450", "-o", png, NULL);
  g_assert_cmpint (r.status, ==, 0);
  surface = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (surface), ==, 800);
  g_assert_cmpint (cairo_image_surface_get_height (surface), ==, 450);
  cairo_surface_destroy (surface);
  run (&s, "render", "--steps", "12", "--compare-cells", "-o", svg, NULL);
  g_assert_cmpint (s.status, ==, 0);
  g_assert_true (g_file_test (svg, G_FILE_TEST_EXISTS));
  run (&bad, "render", "--steps", "12", "--compare-cells", "--lag", "3", "-o", svg, NULL);
  g_assert_cmpint (bad.status, ==, 2);
  g_assert_nonnull (strstr (bad.err, "--lag does not go with --compare-cells"));
  assert_file_count (f, 2);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/cli/compute-every-wrt", test_compute_every_wrt);
  ADD ("/cli/compute-loaded-vjp", test_compute_loaded_and_vjp);
  ADD ("/cli/errors", test_errors);
  ADD ("/cli/error-bytes-escaped", test_error_bytes_escaped);
  ADD ("/cli/existing-output-intact", test_existing_output_intact);
  ADD ("/cli/grad-shape", test_grad_shape);
  ADD ("/cli/render-formats", test_render_formats);
  ADD ("/cli/render-page-sizes", test_render_page_sizes);
  ADD ("/cli/render-png-sizes", test_render_png_sizes);
  ADD ("/cli/render-media", test_render_media);
  ADD ("/cli/render-size-errors", test_render_size_errors);
  ADD ("/cli/render-sequence-sizes", test_render_sequence_sizes);
  ADD ("/cli/render-tex-options", test_render_tex_options);
  ADD ("/cli/render-size-help", test_render_size_help);
  ADD ("/cli/command-help", test_command_help);
  ADD ("/cli/render-vec", test_render_vec);
  ADD ("/cli/check", test_check);
  ADD ("/cli/bench", test_bench);
  ADD ("/cli/derive", test_derive);
  ADD ("/cli/compute-expr", test_compute_expr);
  ADD ("/cli/expr-errors", test_expr_errors);
  ADD ("/cli/hessian", test_hessian);
  ADD ("/cli/sequence", test_sequence);
  ADD ("/cli/zeros-output", test_zeros_output);
  ADD ("/cli/zeros-output-expr", test_zeros_output_expr);
  ADD ("/cli/zeros-output-numpy", test_zeros_output_numpy);
  ADD ("/cli/derive-numpy-relative-var", test_derive_numpy_relative_var);
  ADD ("/cli/per-sample", test_per_sample);
  ADD ("/cli/per-sample-refused", test_per_sample_refused);
  ADD ("/cli/per-sample-torch", test_per_sample_torch);
  ADD ("/cli/value-zeros-relu", test_value_zeros_relu);
  ADD ("/cli/value-zeros-data", test_value_zeros_data);
  ADD ("/cli/render-per-sample", test_render_per_sample);
  ADD ("/cli/sequence-cells-loaded", test_sequence_cells_loaded);
  ADD ("/cli/step-weights", test_step_weights);
  ADD ("/cli/program-weights", test_program_weights);
  ADD ("/cli/program-weights-torch", test_program_weights_torch);
  ADD ("/cli/sequence-cell-errors", test_sequence_cell_errors);
  ADD ("/cli/compare-cells", test_compare_cells);
#undef ADD
  return g_test_run ();
}
