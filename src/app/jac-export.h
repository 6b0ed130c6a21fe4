/* jac-export.h: what the Export dialog asks for, and the figure size and medium it comes to. */
#pragma once

#include <glib.h>

#include "render/jac-figure.h"

G_BEGIN_DECLS

typedef enum
{
  JAC_EXPORT_PANE,       /* the figure pane as on screen, in the window's medium */
  JAC_EXPORT_SLIDE_16_9, /* 1920 × 1080 px, presentation type */
  JAC_EXPORT_SLIDE_4_3,  /* 1024 × 768 px, presentation type */
  JAC_EXPORT_COLUMN,     /* a LaTeX column: 3.5 × 2.5 in, paper type */
  JAC_EXPORT_PAGE,       /* a LaTeX page: 7 × 5 in, paper type */
  JAC_EXPORT_CUSTOM,     /* width × height in a unit of one's own */
  JAC_N_EXPORT_PRESETS
} JacExportPreset;

typedef enum
{
  JAC_UNIT_PX,
  JAC_UNIT_PT,
  JAC_UNIT_IN,
  JAC_UNIT_CM,
  JAC_UNIT_MM,
  JAC_N_UNITS
} JacUnit;

/* The dialog's choices; the window keeps them for the session. */
typedef struct
{
  JacFigureFormat format;
  JacExportPreset preset;
  double          custom_width;
  double          custom_height;
  JacUnit         custom_unit;
  int             scale;    /* PNG pixels per px: 1, 2 or 3, for the px sizes */
  int             dpi;      /* PNG pixels per inch, for the physical sizes */
  char           *folder;   /* the last folder exported to, or NULL */
  char           *name;     /* the last file name without its extension, or NULL */
} JacExportChoices;

/* What the choices come to for a pane of a given size. */
typedef struct
{
  double    width;    /* in the medium's units: px, or pt for paper */
  double    height;
  double    scale;    /* PNG pixels per unit */
  JacMedium medium;
} JacExportSize;

void        jac_export_choices_init    (JacExportChoices       *choices);
void        jac_export_choices_copy    (JacExportChoices       *dest,
                                        const JacExportChoices *src);
void        jac_export_choices_clear   (JacExportChoices       *choices);
/* The size for a pane of @pane_width × @pane_height px drawn in @pane_medium. */
void        jac_export_resolve         (const JacExportChoices *choices,
                                        double                  pane_width,
                                        double                  pane_height,
                                        JacMedium               pane_medium,
                                        JacExportSize          *size);
gboolean    jac_unit_is_physical       (JacUnit                 unit);
/* Points in one @unit (72 per inch); 0 for px, which has no physical size. */
double      jac_unit_points            (JacUnit                 unit);
const char *jac_unit_name              (JacUnit                 unit);
const char *jac_export_format_extension (JacFigureFormat        format);
/* "1920 × 1080 px · presentation type · PNG 3840 × 2160 pixels", for the dialog. */
char       *jac_export_size_describe   (const JacExportSize    *size,
                                        JacFigureFormat         format);

G_END_DECLS
