#ifndef POLDER_CLMDB_SHIM_H
#define POLDER_CLMDB_SHIM_H

#include <sys/types.h>
#include <lmdb.h>

#endif
