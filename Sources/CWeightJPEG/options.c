#include "weightjpeg.h"

/* The one piece of the C interface written in C: plain defaults need no Swift. */
void wj_options_init(wj_options *options) {
    if (!options) return;
    options->quality = 0;
    options->max_rel_error = 0;
    options->jobs = 0;
}
