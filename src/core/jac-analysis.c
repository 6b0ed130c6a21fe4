/* jac-analysis.c: in progress. */
#include "jac-analysis.h"
