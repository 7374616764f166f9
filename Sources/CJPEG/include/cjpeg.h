#ifndef CJPEG_H
#define CJPEG_H
// Placeholder: the libjpeg-turbo shim is filled in by the codec work.
int cjpeg_version(void);
#endif
