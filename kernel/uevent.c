#include "uevent.h"
