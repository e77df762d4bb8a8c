/*
 * dmFormCmd.c --
 *
 *	Form data as Tcl values: the query of a target, and the body of a
 *	form post (application/x-www-form-urlencoded or multipart/form-
 *	data) for dustmote::formdata, whose policy (where the body is, which
 *	request it belongs to) is in library/helpers.tcl.  The decoding is
 *	dmForm.c's; this file makes the values and writes uploaded files.
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"

#include <stdlib.h>
#include <string.h>

/*
 *----------------------------------------------------------------------
 *
 * DmFormList --
 *
 *	Pairs "key=value&..." as a list of keys and values, decoded
 *	(percent escapes, '+' as a space, UTF-8), in the order sent,
 *	repeated keys kept.
 *
 * Results:
 *	A new list object.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

Tcl_Obj *
DmFormList(
    const char *p,
    const char *end)
{
    Tcl_Obj *list = Tcl_NewObj();
    DmSpan key, value;
    char *tmp = NULL;
    size_t room = 0;

    while (DmFormNext(&p, end, &key, &value)) {
	size_t n, need = (key.len > value.len ? key.len : value.len) + 1;

	if (need > room) {
	    tmp = Tcl_Realloc(tmp, need);
	    room = need;
	}
	n = DmFormDecode(key.ptr, key.len, tmp);
	Tcl_ListObjAppendElement(NULL, list, DmUtf8Obj(tmp, n));
	n = DmFormDecode(value.ptr, value.len, tmp);
	Tcl_ListObjAppendElement(NULL, list, DmUtf8Obj(tmp, n));
    }
    if (tmp != NULL) {
	Tcl_Free(tmp);
    }
    return list;
}

/*
 *----------------------------------------------------------------------
 *
 * FormError --
 *
 *	Leaves a dustmote::formdata error in the interpreter.
 *
 * Results:
 *	TCL_ERROR.
 *
 * Side effects:
 *	Sets the result and -errorcode DUSTMOTE FORM WHAT.
 *
 *----------------------------------------------------------------------
 */

static int
FormError(
    Tcl_Interp *interp,
    const char *what,
    Tcl_Obj *message)
{
    Tcl_SetObjResult(interp, message);
    Tcl_SetErrorCode(interp, "DUSTMOTE", "FORM", what, NULL);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * UnquotedObj --
 *
 *	A parameter's plain value (see DmUnquote) as a UTF-8 string.
 *
 * Results:
 *	A new object.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
UnquotedObj(
    DmSpan span)
{
    char *tmp = Tcl_Alloc(span.len + 1);
    Tcl_Obj *obj = DmUtf8Obj(tmp, DmUnquote(span.ptr, span.len, tmp));

    Tcl_Free(tmp);
    return obj;
}

/*
 *----------------------------------------------------------------------
 *
 * FilePart --
 *
 *	Writes an uploaded file's data to a temporary file, which is
 *	removed when the exchange of request id ends (if one runs).
 *
 * Results:
 *	The part's value: a dict of filename, type, file and size; NULL
 *	with an error in interp if the file cannot be written.
 *
 * Side effects:
 *	Makes the file.
 *
 *----------------------------------------------------------------------
 */

static Tcl_Obj *
FilePart(
    Tcl_Interp *interp,
    const DmPart *part,
    Tcl_WideInt id)
{
    char *path;
    int fd = DmFileTemp(&path), bad;
    Tcl_Obj *pathObj, *dict;

    if (fd < 0) {
	FormError(interp, "IO", Tcl_ObjPrintf(
		"cannot make a file for an upload: %s",
		Tcl_ErrnoMsg(Tcl_GetErrno())));
	return NULL;
    }
    bad = DmFileWrite(fd, part->data.ptr, part->data.len);
    DmFileClose(fd);
    pathObj = Tcl_NewStringObj(path, -1);
    if (bad) {
	FormError(interp, "IO", Tcl_ObjPrintf(
		"cannot write an upload to \"%s\"", path));
	DmFileRemove(path);
	free(path);
	Tcl_DecrRefCount(pathObj);
	return NULL;
    }
    free(path);
    DmExchangeAddFile(id, pathObj);

    /*
     * RFC 7578 4.4: a part without a Content-Type is text/plain.
     */

    dict = Tcl_NewDictObj();
    Tcl_DictObjPut(NULL, dict, Tcl_NewStringObj("filename", -1),
	    UnquotedObj(part->filename));
    Tcl_DictObjPut(NULL, dict, Tcl_NewStringObj("type", -1),
	    part->type.ptr ? DmLatin1Obj(part->type.ptr, part->type.len)
	    : Tcl_NewStringObj("text/plain", -1));
    Tcl_DictObjPut(NULL, dict, Tcl_NewStringObj("file", -1), pathObj);
    Tcl_DictObjPut(NULL, dict, Tcl_NewStringObj("size", -1),
	    Tcl_NewWideIntObj((Tcl_WideInt) part->data.len));
    return dict;
}

/*
 *----------------------------------------------------------------------
 *
 * IsType --
 *
 *	Whether a Content-Type value is of a media type (given in lower
 *	case), parameters aside.
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
IsType(
    const char *type,
    size_t len,
    const char *want)
{
    size_t n = strlen(want);

    return len >= n && DmEqualFold(type, n, want) && (len == n
	    || type[n] == ';' || type[n] == ' ' || type[n] == '\t');
}

/*
 *----------------------------------------------------------------------
 *
 * FormParts --
 *
 *	Decodes a form body held in memory.
 *
 * Results:
 *	TCL_OK with the list of names and values in the result, or
 *	TCL_ERROR.
 *
 * Side effects:
 *	Writes uploaded files.
 *
 *----------------------------------------------------------------------
 */

static int
FormParts(
    Tcl_Interp *interp,
    const char *type,
    size_t typeLen,
    const char *body,
    size_t len,
    Tcl_WideInt id)
{
    DmMultipart mp;
    DmPart part;
    Tcl_Obj *list;
    int more;

    if (IsType(type, typeLen, "application/x-www-form-urlencoded")) {
	Tcl_SetObjResult(interp, DmFormList(body, body + len));
	return TCL_OK;
    }
    if (DmMultipartInit(&mp, type, typeLen, body, len) < 0) {
	if (IsType(type, typeLen, "multipart/form-data")) {
	    return FormError(interp, "MALFORMED", Tcl_NewStringObj(
		    "malformed multipart/form-data body", -1));
	}
	return FormError(interp, "TYPE", Tcl_ObjPrintf(
		"not form data: Content-Type \"%.*s\"", (int) (typeLen < 200
		? typeLen : 200), type));
    }
    list = Tcl_NewObj();
    while ((more = DmMultipartNext(&mp, &part)) > 0) {
	Tcl_Obj *value;

	if (part.filename.ptr != NULL) {
	    value = FilePart(interp, &part, id);
	    if (value == NULL) {
		Tcl_DecrRefCount(list);
		return TCL_ERROR;
	    }
	} else {
	    value = DmUtf8Obj(part.data.ptr, part.data.len);
	}
	Tcl_ListObjAppendElement(NULL, list, UnquotedObj(part.name));
	Tcl_ListObjAppendElement(NULL, list, value);
    }
    if (more < 0) {
	Tcl_DecrRefCount(list);
	return FormError(interp, "MALFORMED", Tcl_NewStringObj(
		"malformed multipart/form-data body", -1));
    }
    Tcl_SetObjResult(interp, list);
    return TCL_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * DmFormpartsObjCmd --
 *
 *	Implements "::dustmote::Formparts TYPE BODY BODYFILE ID", which
 *	dustmote::formdata calls: the form in BODY, or in the file BODYFILE
 *	if that is not empty (mapped, not read in), of Content-Type TYPE.
 *	Uploaded files are removed when the exchange of request ID ends.
 *
 * Results:
 *	A standard Tcl result: a list of names and values; an uploaded
 *	file's value is a dict of filename, type, file and size.
 *
 * Side effects:
 *	Writes uploaded files.
 *
 *----------------------------------------------------------------------
 */

int
DmFormpartsObjCmd(
    void *clientData,
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    Tcl_Size typeLen, fileLen;
    const char *type, *body;
    Tcl_WideInt id = 0;
    Tcl_DString bytes;
    int code;

    (void) clientData;
    if (objc != 5) {
	Tcl_WrongNumArgs(interp, 1, objv, "type body bodyfile id");
	return TCL_ERROR;
    }
    type = Tcl_GetStringFromObj(objv[1], &typeLen);
    Tcl_GetWideIntFromObj(NULL, objv[4], &id);
    Tcl_GetStringFromObj(objv[3], &fileLen);
    if (fileLen > 0) {
	const void *native = Tcl_FSGetNativePath(objv[3]);
	uint64_t len;

	body = (native != NULL) ? DmFileMap(native, &len) : NULL;
	if (body == NULL) {
	    return FormError(interp, "IO", Tcl_ObjPrintf(
		    "cannot read \"%s\": %s", Tcl_GetString(objv[3]),
		    Tcl_ErrnoMsg(Tcl_GetErrno())));
	}
	code = FormParts(interp, type, (size_t) typeLen, body, (size_t) len,
		id);
	DmFileUnmap(body, len);
	return code;
    }
    DmBytesOf(objv[2], &bytes);
    code = FormParts(interp, type, (size_t) typeLen, Tcl_DStringValue(&bytes),
	    (size_t) Tcl_DStringLength(&bytes), id);
    Tcl_DStringFree(&bytes);
    return code;
}
