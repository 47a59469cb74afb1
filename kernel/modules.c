#include "modules.h"
