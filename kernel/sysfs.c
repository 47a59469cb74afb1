#include "sysfs.h"
