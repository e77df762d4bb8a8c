/*
 * dmDate.h --
 *
 *	HTTP and access-log date formatting.  Pure C: no Tcl calls.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_DATE_H
#define DM_DATE_H

#include <stddef.h>
#include <stdint.h>

#include "dmScope.h"

/* Length of "Sun, 06 Nov 1994 08:49:37 GMT"; buffers need one more. */
#define DM_HTTP_DATE_LEN 29

/* Length of "06/Nov/1994:08:49:37 +0000"; buffers need one more. */
#define DM_LOG_DATE_LEN 26

/* Length of "1994-11-06T08:49:37Z"; buffers need one more. */
#define DM_ISO_DATE_LEN 20

MODULE_SCOPE void	DmFormatHttpDate(int64_t seconds, char *buf);
MODULE_SCOPE void	DmFormatLogDate(int64_t seconds, char *buf);
MODULE_SCOPE void	DmFormatIsoDate(int64_t seconds, char *buf);
MODULE_SCOPE int	DmParseHttpDate(const char *s, size_t len,
			    int64_t nowSeconds, int64_t *secondsPtr);

#endif /* DM_DATE_H */
