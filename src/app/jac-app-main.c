/* jac-app-main.c: in progress. */
#include "jac-app-main.h"
