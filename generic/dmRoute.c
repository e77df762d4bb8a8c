/*
 * dmRoute.c --
 *
 *	Matching requests against a server's routes and filters.  The
 *	tables and their policy (which route is the most specific, in what
 *	order filters run) live in Tcl (library/route.tcl): "$server
 *	route" and "$server filter" keep them and hand the ordered result to
 *	"dustmote::Pipeline", which compiles it here.  Matching is in C
 *	because it runs for every request.
 *
 *	A pattern is a path: "/bye" matches that path only; "/api/" followed
 *	by "*" the path "/api" and everything below it; "/user/{id}" any path of two
 *	segments whose first is "user", the second being the part named id.
 *	Paths are matched after they are decoded and normalised.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdlib.h>
#include <string.h>

enum {
    SEG_LITERAL,		/* Matches itself. */
    SEG_PARAM			/* Matches any one non-empty segment. */
};

/*
 * The most segments a pattern may have (what MatchPath keeps on its
 * stack).
 */

#define DM_ROUTE_MAX_SEGS	64

typedef struct Segment {
    int kind;
    const char *text;		/* SEG_LITERAL: the bytes (in pattern). */
    size_t len;
    Tcl_Obj *name;		/* SEG_PARAM: the part's name. */
} Segment;

/*
 * One route or filter.
 */

typedef struct Rule {
    Tcl_Obj *pattern;		/* The pattern, as given (UTF-8 inside). */
    Segment *segs;
    int numSegs;
    int rest;			/* Ends in "/" and "*": matches below too. */
    Tcl_Obj *methods;		/* List of method names, or NULL: all. */
    Tcl_Obj *command;		/* The command prefix. */
    int takeover;		/* Route: the handler takes the socket. */
} Rule;

struct DmPipeline {
    Rule *routes, *before, *after;
    int numRoutes, numBefore, numAfter;
    Tcl_Obj *restKey;		/* "*": the params key of the rest. */
};

/*
 *----------------------------------------------------------------------
 *
 * CompilePattern --
 *
 *	Splits a pattern into segments.  The pattern object is kept by the
 *	rule, so the segments may point into its string.
 *
 * Results:
 *	A standard Tcl result; an error for a malformed pattern, with
 *	-errorcode {DUSTMOTE ROUTE PATTERN}.
 *
 * Side effects:
 *	Fills the rule's segments.
 *
 *----------------------------------------------------------------------
 */

static int
CompilePattern(
    Tcl_Interp *interp,
    Rule *rule)
{
    Tcl_Size len;
    const char *p = Tcl_GetStringFromObj(rule->pattern, &len);
    const char *end = p + len, *why = NULL;
    int max = 1;

    if (len == 0 || p[0] != '/') {
	why = "must start with \"/\"";
	goto bad;
    }
    for (const char *q = p; q < end; q++) {
	max += (*q == '/');
    }
    if (max > DM_ROUTE_MAX_SEGS + 1) {
	why = "it has more than " DM_STRINGIFY(DM_ROUTE_MAX_SEGS) " segments";
	goto bad;
    }
    rule->segs = (Segment *) Tcl_Alloc(sizeof(Segment) * (size_t) max);
    rule->numSegs = 0;
    p++;
    while (p < end) {
	const char *s = p;
	Segment *seg = &rule->segs[rule->numSegs];

	while (p < end && *p != '/') {
	    p++;
	}
	if (p - s == 1 && *s == '*') {
	    if (p != end) {
		why = "\"*\" may only end it";
		goto bad;
	    }
	    rule->rest = 1;
	    break;
	}
	if (p - s >= 2 && *s == '{' && p[-1] == '}') {
	    const char *n;

	    for (n = s + 1; n < p - 1; n++) {
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z')
			|| *n == '_' || (n > s + 1 && *n >= '0' && *n <= '9'))) {
		    break;
		}
	    }
	    if (n != p - 1 || n == s + 1) {
		why = "a part's name is letters, digits and \"_\"";
		goto bad;
	    }
	    seg->kind = SEG_PARAM;
	    seg->name = Tcl_NewStringObj(s + 1, (Tcl_Size) (p - s - 2));
	    Tcl_IncrRefCount(seg->name);
	    rule->numSegs++;
	} else if (p == s && p < end) {
	    why = "it has an empty segment";
	    goto bad;
	} else if (memchr(s, '{', (size_t) (p - s)) != NULL
		|| memchr(s, '}', (size_t) (p - s)) != NULL
		|| memchr(s, '*', (size_t) (p - s)) != NULL) {
	    why = "\"{\", \"}\" and \"*\" may only form whole segments";
	    goto bad;
	} else {
	    seg->kind = SEG_LITERAL;
	    seg->text = s;
	    seg->len = (size_t) (p - s);
	    seg->name = NULL;
	    rule->numSegs++;
	}
	if (p < end) {
	    p++;			/* Past the '/'. */
	    if (p == end) {
		/*
		 * A final slash: the last segment is empty, which only a
		 * path with the same final slash matches.
		 */

		seg = &rule->segs[rule->numSegs++];
		seg->kind = SEG_LITERAL;
		seg->text = p;
		seg->len = 0;
		seg->name = NULL;
	    }
	}
    }
    if (rule->numSegs == 0 && !rule->rest) {
	Segment *seg = &rule->segs[rule->numSegs++];	/* The root. */

	seg->kind = SEG_LITERAL;
	seg->text = end;
	seg->len = 0;
	seg->name = NULL;
    }
    return TCL_OK;

  bad:
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("bad route pattern \"%s\": %s",
	    Tcl_GetString(rule->pattern), why));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "ROUTE", "PATTERN", NULL);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * FreeRules --
 *
 *	Frees an array of rules.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Drops references.
 *
 *----------------------------------------------------------------------
 */

static void
FreeRules(
    Rule *rules,
    int n)
{
    int i, k;

    for (i = 0; i < n; i++) {
	Rule *r = &rules[i];

	for (k = 0; k < r->numSegs; k++) {
	    if (r->segs[k].name != NULL) {
		Tcl_DecrRefCount(r->segs[k].name);
	    }
	}
	if (r->segs != NULL) {
	    Tcl_Free((char *) r->segs);
	}
	if (r->pattern != NULL) {
	    Tcl_DecrRefCount(r->pattern);
	}
	if (r->methods != NULL) {
	    Tcl_DecrRefCount(r->methods);
	}
	if (r->command != NULL) {
	    Tcl_DecrRefCount(r->command);
	}
    }
    if (rules != NULL) {
	Tcl_Free((char *) rules);
    }
}

/*
 *----------------------------------------------------------------------
 *
 * CompileRules --
 *
 *	Compiles a list of rules, each a list {pattern methods takeover
 *	command} (methods empty for all).
 *
 * Results:
 *	A standard Tcl result; *rulesPtr and *numPtr set on success.
 *
 * Side effects:
 *	Allocates the rules.
 *
 *----------------------------------------------------------------------
 */

static int
CompileRules(
    Tcl_Interp *interp,
    Tcl_Obj *list,
    Rule **rulesPtr,
    int *numPtr)
{
    Tcl_Obj **items;
    Tcl_Size n, i;
    Rule *rules;

    if (Tcl_ListObjGetElements(interp, list, &n, &items) != TCL_OK) {
	return TCL_ERROR;
    }
    rules = (Rule *) Tcl_Alloc(sizeof(Rule) * (size_t) (n ? n : 1));
    memset(rules, 0, sizeof(Rule) * (size_t) (n ? n : 1));
    for (i = 0; i < n; i++) {
	Tcl_Obj **f;
	Tcl_Size nf, nm;

	if (Tcl_ListObjGetElements(interp, items[i], &nf, &f) != TCL_OK
		|| nf != 4 || Tcl_GetBooleanFromObj(interp, f[2],
		&rules[i].takeover) != TCL_OK
		|| Tcl_ListObjLength(interp, f[1], &nm) != TCL_OK) {
	    Tcl_SetObjResult(interp, Tcl_NewStringObj(
		    "bad rule: must be {pattern methods takeover command}",
		    -1));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "ROUTE", "RULE", NULL);
	    FreeRules(rules, (int) n);
	    return TCL_ERROR;
	}
	rules[i].pattern = f[0];
	Tcl_IncrRefCount(f[0]);
	if (nm > 0) {
	    rules[i].methods = f[1];
	    Tcl_IncrRefCount(f[1]);
	}
	rules[i].command = f[3];
	Tcl_IncrRefCount(f[3]);
	if (CompilePattern(interp, &rules[i]) != TCL_OK) {
	    FreeRules(rules, (int) n);
	    return TCL_ERROR;
	}
    }
    *rulesPtr = rules;
    *numPtr = (int) n;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmPipelineObjCmd --
 *
 *	Implements "dustmote::Pipeline server routes before after", which
 *	the Tcl side of "$server route" and "$server filter" calls: installs
 *	the compiled tables (routes already in the order they are tried,
 *	filters in the order they run).  Empty tables remove the pipeline,
 *	so that every request takes the static path unseen.
 *
 * Results:
 *	A standard Tcl result.
 *
 * Side effects:
 *	Replaces the server's pipeline; the old one is freed when no call
 *	can be using it.
 *
 *----------------------------------------------------------------------
 */

int
DmPipelineObjCmd(
    TCL_UNUSED(void *),
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    DmServer *srv;
    DmPipeline *pl;

    if (objc != 5) {
	Tcl_WrongNumArgs(interp, 1, objv, "server routes before after");
	return TCL_ERROR;
    }
    if ((srv = DmServerFromObj(interp, objv[1])) == NULL) {
	return TCL_ERROR;
    }
    pl = (DmPipeline *) Tcl_Alloc(sizeof(DmPipeline));
    memset(pl, 0, sizeof(DmPipeline));
    if (CompileRules(interp, objv[2], &pl->routes, &pl->numRoutes) != TCL_OK
	    || CompileRules(interp, objv[3], &pl->before, &pl->numBefore)
	    != TCL_OK
	    || CompileRules(interp, objv[4], &pl->after, &pl->numAfter)
	    != TCL_OK) {
	DmPipelineFree(pl);
	return TCL_ERROR;
    }
    pl->restKey = Tcl_NewStringObj("*", 1);
    Tcl_IncrRefCount(pl->restKey);
    if (srv->pipeline != NULL) {
	DmRetire(DmPipelineFree, srv->pipeline);
    }
    if (pl->numRoutes + pl->numBefore + pl->numAfter == 0) {
	DmPipelineFree(pl);
	pl = NULL;
    }
    srv->pipeline = pl;
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmPipelineFree --
 *
 *	Frees a compiled pipeline.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Drops references.
 *
 *----------------------------------------------------------------------
 */

void
DmPipelineFree(
    void *ptr)
{
    DmPipeline *pl = ptr;

    FreeRules(pl->routes, pl->numRoutes);
    FreeRules(pl->before, pl->numBefore);
    FreeRules(pl->after, pl->numAfter);
    if (pl->restKey != NULL) {
	Tcl_DecrRefCount(pl->restKey);
    }
    Tcl_Free((char *) pl);
}

/*
 *----------------------------------------------------------------------
 *
 * MatchPath --
 *
 *	Matches a normalised path against a rule's pattern.
 *
 * Results:
 *	1 if it matches, else 0.  With partsPtr, the named parts (and the
 *	rest, under "*") are put in a new dict there, as the path's
 *	segments decoded from UTF-8.
 *
 * Side effects:
 *	May create a dict.
 *
 *----------------------------------------------------------------------
 */

static int
MatchPath(
    const DmPipeline *pl,
    const Rule *rule,
    const char *path,
    size_t pathLen,
    Tcl_Obj **partsPtr)
{
    const char *p = path + 1, *end = path + pathLen;
    const char *starts[DM_ROUTE_MAX_SEGS], *ends[DM_ROUTE_MAX_SEGS];
    int i;

    for (i = 0; i < rule->numSegs; i++) {
	const Segment *seg = &rule->segs[i];
	const char *s = p;

	if (p > end) {
	    return 0;
	}
	while (p < end && *p != '/') {
	    p++;
	}
	if (seg->kind == SEG_LITERAL) {
	    if ((size_t) (p - s) != seg->len || memcmp(s, seg->text,
		    seg->len) != 0) {
		return 0;
	    }
	} else if (p == s) {
	    return 0;			/* A part is never empty. */
	}
	starts[i] = s;
	ends[i] = p;
	p++;				/* Past the '/' (or the end). */
    }
    if (!rule->rest && p <= end) {
	return 0;			/* Segments are left. */
    }
    if (partsPtr != NULL) {
	Tcl_Obj *parts = Tcl_NewDictObj();

	for (i = 0; i < rule->numSegs; i++) {
	    if (rule->segs[i].kind == SEG_PARAM) {
		Tcl_DictObjPut(NULL, parts, rule->segs[i].name,
			DmUtf8Obj(starts[i], (size_t) (ends[i] - starts[i])));
	    }
	}
	if (rule->rest) {
	    Tcl_DictObjPut(NULL, parts, pl->restKey, (p <= end)
		    ? DmUtf8Obj(p, (size_t) (end - p)) : Tcl_NewObj());
	}
	*partsPtr = parts;
    }
    return 1;
}

/*
 *----------------------------------------------------------------------
 *
 * MethodAllowed --
 *
 *	Whether a rule takes a request's method.  A rule that takes GET
 *	takes HEAD too (answered without the body).
 *
 * Results:
 *	1 or 0.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static int
MethodAllowed(
    const Rule *rule,
    const DmRequest *req)
{
    Tcl_Obj **m;
    Tcl_Size n, i;

    if (rule->methods == NULL) {
	return 1;
    }
    Tcl_ListObjGetElements(NULL, rule->methods, &n, &m);
    for (i = 0; i < n; i++) {
	Tcl_Size len;
	const char *s = Tcl_GetStringFromObj(m[i], &len);

	if (((size_t) len == req->methodName.len
		&& memcmp(s, req->methodName.ptr, (size_t) len) == 0)
		|| (req->method == DM_METHOD_HEAD && strcmp(s, "GET") == 0)) {
	    return 1;
	}
    }
    return 0;
}

/*
 *----------------------------------------------------------------------
 *
 * DmPipelineMatch --
 *
 *	Finds what applies to a request: the first route (in the order
 *	Tcl gave) whose pattern matches the path and which takes the
 *	method, the filters whose patterns match, and, when routes match
 *	the path but none takes the method, the methods they take (for a
 *	405's Allow).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Fills *matchPtr; its objects are new (params, filter lists, allow)
 *	or borrowed from the pipeline (handler), which outlives the
 *	request's use of them only if the caller takes references.
 *
 *----------------------------------------------------------------------
 */

void
DmPipelineMatch(
    const DmPipeline *pl,
    const DmRequest *req,
    const char *path,
    size_t pathLen,
    DmMatch *matchPtr)
{
    int i, pathMatched = 0;

    memset(matchPtr, 0, sizeof(DmMatch));
    for (i = 0; i < pl->numRoutes; i++) {
	const Rule *r = &pl->routes[i];

	if (!MatchPath(pl, r, path, pathLen, NULL)) {
	    continue;
	}
	if (MethodAllowed(r, req)) {
	    MatchPath(pl, r, path, pathLen, &matchPtr->params);
	    matchPtr->handler = r->command;
	    matchPtr->takeover = r->takeover;
	    break;
	}
	pathMatched = 1;
	if (matchPtr->allow == NULL) {
	    matchPtr->allow = Tcl_NewObj();
	}
	Tcl_ListObjAppendList(NULL, matchPtr->allow, r->methods);
    }
    if (matchPtr->handler != NULL || !pathMatched) {
	if (matchPtr->allow != NULL) {
	    Tcl_DecrRefCount(matchPtr->allow);	/* Never shared yet. */
	    matchPtr->allow = NULL;
	}
    }
    for (i = 0; i < pl->numBefore; i++) {
	if (MatchPath(pl, &pl->before[i], path, pathLen, NULL)
		&& MethodAllowed(&pl->before[i], req)) {
	    if (matchPtr->before == NULL) {
		matchPtr->before = Tcl_NewObj();
	    }
	    Tcl_ListObjAppendElement(NULL, matchPtr->before,
		    pl->before[i].command);
	}
    }
    for (i = 0; i < pl->numAfter; i++) {
	if (MatchPath(pl, &pl->after[i], path, pathLen, NULL)
		&& MethodAllowed(&pl->after[i], req)) {
	    if (matchPtr->after == NULL) {
		matchPtr->after = Tcl_NewObj();
	    }
	    Tcl_ListObjAppendElement(NULL, matchPtr->after,
		    pl->after[i].command);
	}
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmPipelineCounts --
 *
 *	How many routes and filters a pipeline has, for stats.
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	Sets *routesPtr and *filtersPtr (0 for no pipeline).
 *
 *----------------------------------------------------------------------
 */

void
DmPipelineCounts(
    const DmPipeline *pl,
    int *routesPtr,
    int *filtersPtr)
{
    *routesPtr = pl ? pl->numRoutes : 0;
    *filtersPtr = pl ? pl->numBefore + pl->numAfter : 0;
}
