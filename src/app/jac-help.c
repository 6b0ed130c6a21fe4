/* jac-help.c: the user guide: Yelp when it is there, the same pages in a window of our own when
 * it is not.
 *
 * The guide is one set of Mallard pages (the .page files in help/C), installed for Yelp under
 * share/help/C/jacscope and compiled into the resources. Without Yelp (Debian's minimal GNOME,
 * a classroom PC, Xvfb) F1 shows them in an in-app window, converted to Pango markup: titles,
 * paragraphs, terms, code, keys and GUI words. */
#define G_LOG_DOMAIN "jac-help"

#include <string.h>

#include "jac-help.h"

#define HELP_RESOURCE "/org/jacscope/Jacscope/help/"

/* The pages in reading order. */
static const char * const pages[] = {
  "index", "figure", "layouts", "expressions", "through-time", "export",
};

static gboolean yelp_launcher (GtkWindow *parent, const char *uri);

static JacHelpLauncher launcher = yelp_launcher;

/* ---- Mallard to Pango markup ---- */

typedef struct
{
  GString *out;
  guint    skip;        /* inside <info> or <links>: nothing shown */
  guint    title_depth; /* nesting of <item> when a <title> opens: 0 is a page title */
  guint    items;
  gboolean in_title;
  gboolean in_keyseq;
  guint    keys;        /* keys written in the current <keyseq> */
} Converter;

static void
start_element (GMarkupParseContext  *context,
               const char           *element,
               const char          **attribute_names,
               const char          **attribute_values,
               gpointer              data,
               GError              **error)
{
  Converter *c = data;

  if (g_str_equal (element, "info") || g_str_equal (element, "links"))
    c->skip++;
  if (c->skip > 0)
    return;
  if (g_str_equal (element, "title"))
    {
      c->in_title = TRUE;
      g_string_append (c->out, c->items > 0 ? "• <b>" : "<span size=\"x-large\" weight=\"bold\">");
    }
  else if (g_str_equal (element, "item"))
    c->items++;
  else if (g_str_equal (element, "code") || g_str_equal (element, "cmd"))
    g_string_append (c->out, "<tt>");
  else if (g_str_equal (element, "em"))
    g_string_append (c->out, "<i>");
  else if (g_str_equal (element, "gui"))
    g_string_append (c->out, "<b>");
  else if (g_str_equal (element, "keyseq"))
    {
      c->in_keyseq = TRUE;
      c->keys = 0;
    }
  else if (g_str_equal (element, "key"))
    {
      if (c->in_keyseq && c->keys++ > 0)
        g_string_append_c (c->out, '+');
      g_string_append (c->out, "<b>");
    }
}

static void
end_element (GMarkupParseContext  *context,
             const char           *element,
             gpointer              data,
             GError              **error)
{
  Converter *c = data;

  if (g_str_equal (element, "info") || g_str_equal (element, "links"))
    {
      c->skip--;
      return;
    }
  if (c->skip > 0)
    return;
  if (g_str_equal (element, "title"))
    {
      c->in_title = FALSE;
      g_string_append (c->out, c->items > 0 ? "</b>\n" : "</span>\n\n");
    }
  else if (g_str_equal (element, "item"))
    c->items--;
  else if (g_str_equal (element, "p"))
    g_string_append (c->out, c->items > 0 ? "\n" : "\n\n");
  else if (g_str_equal (element, "terms"))
    g_string_append (c->out, "\n");
  else if (g_str_equal (element, "code") || g_str_equal (element, "cmd"))
    g_string_append (c->out, "</tt>");
  else if (g_str_equal (element, "em"))
    g_string_append (c->out, "</i>");
  else if (g_str_equal (element, "gui") || g_str_equal (element, "key"))
    g_string_append (c->out, "</b>");
  else if (g_str_equal (element, "keyseq"))
    c->in_keyseq = FALSE;
}

static void
text (GMarkupParseContext  *context,
      const char           *text_value,
      gsize                 length,
      gpointer              data,
      GError              **error)
{
  Converter *c = data;
  g_autofree char *escaped = NULL;
  g_autoptr(GString) flat = g_string_sized_new (length);
  gboolean space = FALSE;

  if (c->skip > 0)
    return;
  /* XML's line breaks and indentation are spaces; a paragraph is one line. */
  for (gsize k = 0; k < length; k++)
    {
      char ch = text_value[k];

      if (ch == '\n' || ch == ' ' || ch == '\t')
        space = TRUE;
      else
        {
          if (space && (flat->len > 0 || (c->out->len > 0 && c->out->str[c->out->len - 1] != '\n')))
            g_string_append_c (flat, ' ');
          space = FALSE;
          g_string_append_c (flat, ch);
        }
    }
  if (space && flat->len > 0)
    g_string_append_c (flat, ' ');
  escaped = g_markup_escape_text (flat->str, -1);
  g_string_append (c->out, escaped);
}

char *
jac_help_page_markup (const char  *mallard,
                      GError     **error)
{
  static const GMarkupParser parser = { start_element, end_element, text, NULL, NULL };
  Converter c = { g_string_new (NULL), 0, 0, 0, FALSE, FALSE, 0 };
  g_autoptr(GMarkupParseContext) context = NULL;

  g_return_val_if_fail (mallard != NULL, NULL);

  context = g_markup_parse_context_new (&parser, G_MARKUP_PREFIX_ERROR_POSITION, &c, NULL);
  if (!g_markup_parse_context_parse (context, mallard, -1, error)
      || !g_markup_parse_context_end_parse (context, error))
    {
      g_string_free (c.out, TRUE);
      return NULL;
    }
  while (c.out->len > 0 && c.out->str[c.out->len - 1] == '\n')
    g_string_truncate (c.out, c.out->len - 1);
  return g_string_free (c.out, FALSE);
}

char *
jac_help_guide_markup (void)
{
  GString *guide = g_string_new (NULL);

  for (guint k = 0; k < G_N_ELEMENTS (pages); k++)
    {
      g_autofree char *path = g_strconcat (HELP_RESOURCE, pages[k], ".page", NULL);
      g_autoptr(GBytes) bytes = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
      g_autofree char *markup = NULL;

      if (bytes == NULL)
        continue;
      markup = jac_help_page_markup (g_bytes_get_data (bytes, NULL), NULL);
      if (markup != NULL)
        g_string_append_printf (guide, "%s%s", guide->len > 0 ? "\n\n" : "", markup);
    }
  return g_string_free (guide, FALSE);
}

/* ---- showing it ---- */

/* Yelp, when it is installed and the pages are where it looks: help:jacscope. */
static gboolean
yelp_launcher (GtkWindow  *parent,
               const char *uri)
{
  const char * const *dirs = g_get_system_data_dirs ();
  g_autofree char *yelp = g_find_program_in_path ("yelp");
  gboolean installed = FALSE;

  for (guint k = 0; dirs[k] != NULL && !installed; k++)
    {
      g_autofree char *index = g_build_filename (dirs[k], "help", "C", "jacscope", "index.page",
                                                 NULL);

      installed = g_file_test (index, G_FILE_TEST_EXISTS);
    }
  if (yelp == NULL || !installed)
    return FALSE;
  gtk_show_uri (parent, uri, GDK_CURRENT_TIME);
  return TRUE;
}

void
jac_help_set_launcher (JacHelpLauncher fn)
{
  launcher = fn != NULL ? fn : yelp_launcher;
}

GtkWindow *
jac_help_show (GtkWindow *parent)
{
  GtkWidget *window, *scrolled, *label;
  g_autofree char *markup = NULL;

  if (launcher (parent, "help:jacscope"))
    return NULL;

  markup = jac_help_guide_markup ();
  window = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (window), "Jacscope Help");
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 600);
  if (parent != NULL)
    {
      gtk_window_set_transient_for (GTK_WINDOW (window), parent);
      gtk_window_set_application (GTK_WINDOW (window), gtk_window_get_application (parent));
    }
  gtk_window_set_destroy_with_parent (GTK_WINDOW (window), TRUE);
  label = gtk_label_new (NULL);
  gtk_label_set_markup (GTK_LABEL (label), markup);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_set_valign (label, GTK_ALIGN_START);
  gtk_widget_set_margin_start (label, 24);
  gtk_widget_set_margin_end (label, 24);
  gtk_widget_set_margin_top (label, 18);
  gtk_widget_set_margin_bottom (label, 18);
  gtk_widget_set_name (label, "help-text");
  scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), label);
  gtk_window_set_child (GTK_WINDOW (window), scrolled);
  gtk_window_present (GTK_WINDOW (window));
  return GTK_WINDOW (window);
}
