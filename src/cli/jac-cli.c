/* jac-cli.c: in progress. */
#include "jac-cli.h"
