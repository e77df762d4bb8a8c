/*
 * dmNego.c --
 *
 *	Content negotiation: the Accept-Encoding field (RFC 9110 12.5.3),
 *	with its q-values, "identity" and "*", picks one of the content
 *	codings a file is available in.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmNego.h"

#include <string.h>

/*
 * A weight in thousandths; NOT_SAID for a coding the field does not name.
 */

#define NOT_SAID	(-1)

/*
 *----------------------------------------------------------------------
 *
 * ParseWeight --
 *
 *	A qvalue: "0" ["." 0*3DIGIT] or "1" ["." 0*3"0"].
 *
 * Results:
 *	The weight in thousandths, or -1 if the text is not a qvalue.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
ParseWeight(
    const char *p,
    const char *end)
{
    int q, scale = 100;

    if (p == end || (*p != '0' && *p != '1')) {
	return -1;
    }
    q = (*p++ - '0') * 1000;
    if (p == end) {
	return q;
    }
    if (*p++ != '.' || end - p > 3) {
	return -1;
    }
    for (; p < end; p++, scale /= 10) {
	if (*p < '0' || *p > '9') {
	    return -1;
	}
	q += (*p - '0') * scale;
    }
    return (q > 1000) ? -1 : q;
}

/*
 *----------------------------------------------------------------------
 *
 * ReadWeights --
 *
 *	Reads one Accept-Encoding line: the weight of each coding the
 *	server knows, and of "*", where the line (or an earlier line of the
 *	same list) has not given one already.  A malformed element is
 *	ignored.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills weight[] and *starPtr (NOT_SAID: not named).
 *
 *----------------------------------------------------------------------
 */

static void
ReadWeights(
    const char *p,
    const char *end,
    int *weight,
    int *starPtr)
{
    while (p < end) {
	const char *name, *nameEnd;
	int q = 1000, *slot = NULL;
	size_t n;

	while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
	    p++;
	}
	for (name = p; p < end && *p != ',' && *p != ';' && *p != ' '
		&& *p != '\t'; p++) {
	}
	nameEnd = p;

	/*
	 * Parameters: only "q" is defined; anything else, or text that is
	 * not a parameter, spoils the element.
	 */

	for (;;) {
	    const char *w;

	    while (p < end && (*p == ' ' || *p == '\t')) {
		p++;
	    }
	    if (p == end || *p != ';') {
		break;
	    }
	    for (p++; p < end && (*p == ' ' || *p == '\t'); p++) {
	    }
	    if (end - p < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') {
		q = -1;
		break;
	    }
	    for (w = p += 2; p < end && *p != ',' && *p != ';' && *p != ' '
		    && *p != '\t'; p++) {
	    }
	    q = ParseWeight(w, p);
	    if (q < 0) {
		break;
	    }
	}
	if (q < 0 || !DmIsToken(name, (size_t) (nameEnd - name))
		|| (p < end && *p != ',')) {
	    while (p < end && *p != ',') {
		p++;
	    }
	    continue;
	}
	n = (size_t) (nameEnd - name);
	if (DmEqualFold(name, n, "gzip") || DmEqualFold(name, n, "x-gzip")) {
	    slot = &weight[DM_ENC_GZIP];
	} else if (DmEqualFold(name, n, "br")) {
	    slot = &weight[DM_ENC_BR];
	} else if (DmEqualFold(name, n, "identity")) {
	    slot = &weight[DM_ENC_IDENTITY];
	} else if (n == 1 && *name == '*') {
	    slot = starPtr;
	}
	if (slot != NULL && *slot == NOT_SAID) {
	    *slot = q;
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmChooseEncoding --
 *
 *	Picks the content coding to send, among identity and the codings in
 *	available (a set of DM_ENC_BIT), by a request's Accept-Encoding
 *	field (its lines read as one list): the one with the highest
 *	weight, brotli before gzip before
 *	identity at equal weights (the smaller body).  A coding the field
 *	does not name weighs what "*" does, or nothing; identity weighs 1
 *	unless "*" or "identity" says otherwise.  The first mention of a
 *	coding counts.
 *
 * Results:
 *	A DM_ENC_* value: DM_ENC_IDENTITY without the field, with more lines
 *	than were kept, and when the field refuses every coding
 *	(the body is sent unencoded rather than refused, as by most servers;
 *	RFC 9110 12.5.3 allows either).
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmChooseEncoding(
    const DmList *field,
    unsigned available)
{
    static const int order[] = { DM_ENC_BR, DM_ENC_GZIP, DM_ENC_IDENTITY };
    int weight[DM_ENC_COUNT], star = NOT_SAID, best = DM_ENC_IDENTITY;
    int bestWeight = 0, i;

    if (field->count <= 0) {
	return DM_ENC_IDENTITY;
    }
    for (i = 0; i < DM_ENC_COUNT; i++) {
	weight[i] = NOT_SAID;
    }
    for (i = 0; i < field->count; i++) {
	ReadWeights(field->line[i].ptr, field->line[i].ptr
		+ field->line[i].len, weight, &star);
    }
    available |= DM_ENC_BIT(DM_ENC_IDENTITY);
    for (i = 0; i < (int) (sizeof(order) / sizeof(order[0])); i++) {
	int e = order[i], w = weight[e];

	if (!(available & DM_ENC_BIT(e))) {
	    continue;
	}
	if (w == NOT_SAID) {
	    w = (star != NOT_SAID) ? star : (e == DM_ENC_IDENTITY ? 1 : 0);
	}
	if (w > bestWeight) {
	    best = e;
	    bestWeight = w;
	}
    }
    return best;
}

/*
 *----------------------------------------------------------------------
 *
 * DmEncodingName --
 *
 *	A coding's name, as Content-Encoding gives it.
 *
 * Results:
 *	"gzip", "br", or "identity".
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

const char *
DmEncodingName(
    int encoding)
{
    return (encoding == DM_ENC_GZIP) ? "gzip"
	    : (encoding == DM_ENC_BR) ? "br" : "identity";
}

/*
 *----------------------------------------------------------------------
 *
 * DmETagVariant --
 *
 *	The entity-tag of a file in a content coding: its own, with the
 *	coding's name before the closing quote, so that each coding of the
 *	file has a tag of its own (RFC 9110 8.8.3.3).
 *
 * Results:
 *	Its length; at most DM_ETAG_MAX for a tag made by DmFormatETag.
 *
 * Side effects:
 *	Writes to buf (which may be etag itself), not NUL-terminated.
 *
 *----------------------------------------------------------------------
 */

size_t
DmETagVariant(
    const char *etag,		/* Strong, quotes included. */
    size_t len,
    int encoding,
    char *buf)
{
    const char *suffix = (encoding == DM_ENC_GZIP) ? "-gz\"" : "-br\"";

    if (encoding == DM_ENC_IDENTITY) {
	memmove(buf, etag, len);
	return len;
    }
    memmove(buf, etag, len - 1);
    memcpy(buf + len - 1, suffix, 4);
    return len + 3;
}
