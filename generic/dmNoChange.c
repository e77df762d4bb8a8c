/*
 * dmNoChange.c --
 *
 *	No change notification (Windows, and Unix without inotify):
 *	DmChangeCreate gives no change source, so the cache stats the file
 *	on every hit and calls none of the others, which answer as a source
 *	that trusts nothing.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

DmChange *
DmChangeCreate(void)
{
    return NULL;
}

void
DmChangeDelete(
    TCL_UNUSED(DmChange *))
{
}

int
DmChangePending(
    TCL_UNUSED(DmChange *))
{
    return 1;
}

uint64_t
DmChangeEpoch(
    TCL_UNUSED(const DmChange *))
{
    return 0;
}

uint64_t
DmChangeTouched(
    TCL_UNUSED(DmChange *),
    TCL_UNUSED(int))
{
    return UINT64_MAX;
}

int
DmChangeWatchDirs(
    TCL_UNUSED(DmChange *),
    TCL_UNUSED(int),
    TCL_UNUSED(const char *))
{
    return 0;
}

int
DmChangeWatchFile(
    TCL_UNUSED(DmChange *),
    TCL_UNUSED(int))
{
    return -1;
}

void
DmChangeRelease(
    TCL_UNUSED(DmChange *),
    TCL_UNUSED(int))
{
}
