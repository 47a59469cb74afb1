#include "driver-core.h"
