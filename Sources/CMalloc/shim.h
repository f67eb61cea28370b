#ifndef POLDER_CMALLOC_SHIM_H
#define POLDER_CMALLOC_SHIM_H

// glibc's allocator controls (mallopt), which the Glibc module leaves out.
#include <malloc.h>

#endif
