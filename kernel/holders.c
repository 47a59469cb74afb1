#include "holders.h"
