/*
 * dmAscii.h --
 *
 *	Character helpers shared by the pure C parsers, locale-free (the C
 *	library's ctype functions depend on the locale).
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#ifndef DM_ASCII_H
#define DM_ASCII_H

/*
 *----------------------------------------------------------------------
 *
 * DmHexValue --
 *
 *	The value of one hexadecimal digit.
 *
 * Results:
 *	0..15, or -1 if c is not a hex digit.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static inline int
DmHexValue(
    int c)
{
    if (c >= '0' && c <= '9') {
	return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
	return c - 'a' + 10;
    }
    return -1;
}

/*
 *----------------------------------------------------------------------
 *
 * DmHexDigit, DmPutHexByte --
 *
 *	The lower-case hexadecimal digit of v (0..15); a byte as two such
 *	digits.
 *
 * Results:
 *	The digit; DmPutHexByte: p advanced past what it wrote.
 *
 * Side effects:
 *	DmPutHexByte writes 2 bytes at p.
 *
 *----------------------------------------------------------------------
 */

static inline char
DmHexDigit(
    unsigned v)
{
    return "0123456789abcdef"[v & 15];
}

static inline char *
DmPutHexByte(
    char *p,
    unsigned char c)
{
    *p++ = DmHexDigit(c >> 4);
    *p++ = DmHexDigit(c);
    return p;
}

#endif /* DM_ASCII_H */
