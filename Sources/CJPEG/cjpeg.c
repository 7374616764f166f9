#include "cjpeg.h"
#include <stdio.h>
#include <jpeglib.h>
int cjpeg_version(void) { return JPEG_LIB_VERSION; }
