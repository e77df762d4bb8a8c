/*
 * dmProxy.h --
 *
 *	Behind a load balancer: the PROXY protocol (versions 1 and 2) that
 *	prefixes a connection with its client's address, IP addresses and
 *	CIDR ranges, and the client address a trusted proxy gives in
 *	X-Forwarded-For or Forwarded (RFC 7239).  Pure C: no Tcl calls, no
 *	system calls, no allocation, so they can be unit-tested and fuzzed
 *	alone.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_PROXY_H
#define DM_PROXY_H

#include "dmHttp.h"

/*
 * An IP address: family 4 (the first 4 bytes of addr) or 6; 0 for none.
 * An IPv4-mapped IPv6 address is kept as IPv4.
 */

typedef struct DmAddress {
    int family;
    unsigned char addr[16];
} DmAddress;

/*
 * A CIDR range: the address and the number of leading bits that count.
 */

typedef struct DmCidr {
    DmAddress base;
    int bits;
} DmCidr;

/*
 * What a PROXY header says: the client's address and port, or family 0
 * (a LOCAL or UNKNOWN header: the connection's own address stands).
 */

typedef struct DmProxyInfo {
    DmAddress client;
    int port;
} DmProxyInfo;

/*
 * The longest version 2 header taken (TLVs included); a longer one is
 * refused.
 */

#define DM_PROXY_V2_MAX	4096

/*
 * Text of the longest address, with its NUL.
 */

#define DM_ADDRESS_TEXT	46

MODULE_SCOPE long	DmParseProxy(const char *buf, size_t len,
			    DmProxyInfo *infoPtr);
MODULE_SCOPE int	DmParseAddress(const char *s, size_t len,
			    DmAddress *addrPtr);
MODULE_SCOPE size_t	DmFormatAddress(const DmAddress *addrPtr, char *buf);
MODULE_SCOPE int	DmParseCidr(const char *s, size_t len,
			    DmCidr *cidrPtr);
MODULE_SCOPE int	DmCidrMatch(const DmCidr *cidrs, int count,
			    const DmAddress *addrPtr);
MODULE_SCOPE int	DmForwardedClient(const DmList *forwarded,
			    const DmList *xff, const DmCidr *trusted,
			    int count, DmAddress *clientPtr);

#endif /* DM_PROXY_H */
