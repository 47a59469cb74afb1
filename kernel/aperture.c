#include "aperture.h"
