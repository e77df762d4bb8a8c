/*
 * dmTls.c --
 *
 *	TLS with OpenSSL (3.0 or later) for servers configured with -tls:
 *	the contexts made from the option's value (one per certificate, the
 *	first the default, the others chosen by the name the client asks
 *	for), and each connection's reads and writes through OpenSSL on its
 *	non-blocking socket.  Only TLS 1.2 and 1.3, no renegotiation, ALPN
 *	"http/1.1", session tickets whose keys change every hour (unless
 *	turned off), no session cache.  The ticket keys are derived from a
 *	secret of the process and the hour, so every server, thread and
 *	process given the same secret (dustmote::ticketsecret; the
 *	launcher gives its workers its own) takes the others' tickets, and
 *	a reload keeps them.
 *
 *	A connection's SSL object is the DmTls pointer itself.  Records are
 *	read without read-ahead and into room for a whole record, so
 *	OpenSSL never holds input that the event set cannot see (the
 *	channel of a takeover, whose reads Tcl sizes, asks DmTlsPending).
 *
 * Copyright (c) 2026 the dustmote developers.
 * See the file "LICENSE" for terms of use.
 */

#include "dmInt.h"
#include "dmAscii.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_OPENSSL

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define TICKET_ROTATE	3600	/* Seconds (of the wall clock, which all
				 * processes share) a ticket key encrypts
				 * for; it decrypts for as long again. */
#define SECRET_SIZE	32
#define MAX_CERTS	DM_TLS_MAX_CERTS

typedef struct TicketKey {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
} TicketKey;

struct DmTlsConfig {
    int refs;			/* The server's, and one per connection:
				 * the contexts' callbacks use this. */
    int numCerts;
    SSL_CTX *ctx[MAX_CERTS];	/* By certificate; ctx[0] the default. */
    X509 *cert[MAX_CERTS];	/* Their leaf certificates (borrowed). */
};

/*
 * The parts of -tls, in Tcl_GetIndexFromObj's order.
 */

static const char *const tlsOptions[] = {
    "-cafile", "-certfile", "-ciphers", "-ciphersuites", "-keyfile",
    "-protocols", "-tickets", NULL
};
enum {
    TLS_CAFILE, TLS_CERTFILE, TLS_CIPHERS, TLS_CIPHERSUITES, TLS_KEYFILE,
    TLS_PROTOCOLS, TLS_TICKETS, TLS_PARTS
};

static int	ConfigIndex = -1;	/* SSL_CTX ex_data: the DmTlsConfig. */
static Tcl_Mutex indexMutex;		/* Guards ConfigIndex and the secret. */
static unsigned char ticketSecret[SECRET_SIZE];
static unsigned	secretGen;		/* Counts the secret's changes: 0 until
					 * it is made or set. */

/*
 * Each thread keeps the ticket keys it derived (three HMACs each), one
 * slot for each of the periods TicketKeys uses, so a handshake costs a
 * lookup.
 */

typedef struct KeySlot {
    unsigned gen;		/* The secret's generation; 0: empty. */
    int64_t period;
    TicketKey key;
} KeySlot;

typedef struct KeyCache {
    KeySlot slots[3];		/* By period modulo 3. */
    int wipeSet;		/* WipeKeys is set to run at thread exit. */
} KeyCache;

static Tcl_ThreadDataKey keyCacheKey;

/*
 *----------------------------------------------------------------------
 *
 * TlsError --
 *
 *	Leaves an error about -tls in the interpreter, with OpenSSL's
 *	reason for the last failure when there is one.
 *
 * Results:
 *	TCL_ERROR.
 *
 * Side effects:
 *	Sets the result and -errorcode {DUSTMOTE TLS what}; empties
 *	OpenSSL's error queue.
 *
 *----------------------------------------------------------------------
 */

static int
TlsError(
    Tcl_Interp *interp,
    const char *what,
    const char *message,
    const char *subject)
{
    unsigned long e = ERR_peek_last_error();
    char reason[256];

    reason[0] = '\0';
    if (e != 0) {
	ERR_error_string_n(e, reason, sizeof(reason));
    }
    ERR_clear_error();
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("-tls: %s%s%s%s%s", message,
	    subject ? " " : "", subject ? subject : "", reason[0] ? ": " : "",
	    reason));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "TLS", what, NULL);
    return TCL_ERROR;
}

/*
 *----------------------------------------------------------------------
 *
 * AlpnSelect --
 *
 *	Picks the application protocol: HTTP/1.1 is all this server
 *	speaks, so a client that offers protocols but not it is refused
 *	with the no_application_protocol alert (RFC 7301, 3.2).
 *
 * Results:
 *	SSL_TLSEXT_ERR_OK or SSL_TLSEXT_ERR_ALERT_FATAL.
 *
 * Side effects:
 *	Sets *out and *outLen.
 *
 *----------------------------------------------------------------------
 */

static int
AlpnSelect(
    TCL_UNUSED(SSL *),
    const unsigned char **out,
    unsigned char *outLen,
    const unsigned char *in,
    unsigned int inLen,
    TCL_UNUSED(void *))
{
    static const unsigned char http11[] = "\x08http/1.1";
    unsigned char *selected;

    if (SSL_select_next_proto(&selected, outLen, http11, sizeof(http11) - 1,
	    in, inLen) != OPENSSL_NPN_NEGOTIATED) {
	return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * SniSelect --
 *
 *	Picks the certificate for the server name the client asked for: the
 *	first whose names (with wildcards) cover it; the first of all when
 *	none does or none was asked for, as nginx's default server.
 *
 * Results:
 *	SSL_TLSEXT_ERR_OK.
 *
 * Side effects:
 *	May move the connection to another certificate's context.
 *
 *----------------------------------------------------------------------
 */

static int
SniSelect(
    SSL *ssl,
    TCL_UNUSED(int *),
    void *arg)
{
    DmTlsConfig *tc = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    int i;

    if (name == NULL) {
	return SSL_TLSEXT_ERR_OK;
    }
    for (i = 0; i < tc->numCerts; i++) {
	if (X509_check_host(tc->cert[i], name, 0, 0, NULL) == 1) {
	    if (i > 0) {
		SSL_set_SSL_CTX(ssl, tc->ctx[i]);
	    }
	    break;
	}
    }
    return SSL_TLSEXT_ERR_OK;
}

/*
 *----------------------------------------------------------------------
 *
 * GetSecret --
 *
 *	The generation of the process's ticket secret, making a random
 *	secret the first time; copies the secret too unless secret is NULL.
 *
 * Results:
 *	The generation, or 0 if no random bytes could be had.
 *
 * Side effects:
 *	May make the secret.
 *
 *----------------------------------------------------------------------
 */

static unsigned
GetSecret(
    unsigned char *secret)
{
    unsigned gen;

    Tcl_MutexLock(&indexMutex);
    if (secretGen == 0
	    && RAND_priv_bytes(ticketSecret, SECRET_SIZE) > 0) {
	secretGen = 1;
    }
    gen = secretGen;
    if (secret != NULL) {
	memcpy(secret, ticketSecret, SECRET_SIZE);
    }
    Tcl_MutexUnlock(&indexMutex);
    return gen;
}

/*
 *----------------------------------------------------------------------
 *
 * PeriodKey, WipeKeys --
 *
 *	PeriodKey: the ticket key of one period: its name, cipher key and
 *	MAC key are each HMAC-SHA256 of the secret over a label and the
 *	period number, derived once per thread, period and secret.
 *	WipeKeys clears a thread's keys when it ends, before Tcl frees
 *	them, so that they are not left in freed memory.
 *
 * Results:
 *	The key (in the thread's cache, valid until its next call), or
 *	NULL if the secret or a digest failed.
 *
 * Side effects:
 *	May derive the key into the thread's cache; sets WipeKeys to run at
 *	the thread's exit.
 *
 *----------------------------------------------------------------------
 */

static void
WipeKeys(
    void *clientData)
{
    KeyCache *cache = clientData;

    OPENSSL_cleanse(cache->slots, sizeof(cache->slots));
}

static const TicketKey *
PeriodKey(
    int64_t period)
{
    KeyCache *cache = Tcl_GetThreadData(&keyCacheKey, sizeof(KeyCache));
    KeySlot *slot = &cache->slots[((period % 3) + 3) % 3];
    unsigned char secret[SECRET_SIZE], data[9], md[32];
    unsigned int len;
    int i, ok;

    if (slot->gen != 0 && slot->gen == GetSecret(NULL)
	    && slot->period == period) {
	return &slot->key;
    }
    if (!cache->wipeSet) {
	cache->wipeSet = 1;
	Tcl_CreateThreadExitHandler(WipeKeys, cache);
    }
    slot->gen = GetSecret(secret);
    slot->period = period;
    for (i = 0; i < 8; i++) {
	data[8 - i] = (unsigned char) (period >> (8 * i));
    }
    data[0] = 'n';
    ok = slot->gen != 0 && HMAC(EVP_sha256(), secret, SECRET_SIZE, data, 9,
	    md, &len) != NULL;
    memcpy(slot->key.name, md, sizeof(slot->key.name));
    OPENSSL_cleanse(md, sizeof(md));
    data[0] = 'a';
    ok = ok && HMAC(EVP_sha256(), secret, SECRET_SIZE, data, 9,
	    slot->key.aes, &len) != NULL;
    data[0] = 'h';
    ok = ok && HMAC(EVP_sha256(), secret, SECRET_SIZE, data, 9,
	    slot->key.hmac, &len) != NULL;
    OPENSSL_cleanse(secret, sizeof(secret));
    if (!ok) {
	slot->gen = 0;
	return NULL;
    }
    return &slot->key;
}

/*
 *----------------------------------------------------------------------
 *
 * TicketKeys --
 *
 *	Encrypts and decrypts session tickets with keys of our own, so that
 *	they change and are shared: the key of the current period (of
 *	TICKET_ROTATE seconds) encrypts, and it and the one before decrypt,
 *	as does the one after, for machines whose clocks are a little apart
 *	(tickets of the other keys are renewed); a session lasts
 *	TICKET_ROTATE seconds.  OpenSSL's own key would last as long as the
 *	server and be its alone.  A TLS 1.3 ticket is renewed whenever it
 *	is used: a client is meant to use each once (RFC 8446, C.4), and
 *	OpenSSL sends no new one otherwise.
 *
 * Results:
 *	1 (ticket made, or good), 2 (good, but renew it), 0 (unknown key:
 *	a full handshake), -1 (error).
 *
 * Side effects:
 *	May derive keys (PeriodKey).
 *
 *----------------------------------------------------------------------
 */

static int
TicketKeys(
    SSL *ssl,
    unsigned char *keyName,
    unsigned char *iv,
    EVP_CIPHER_CTX *cipher,
    EVP_MAC_CTX *mac,
    int encrypt)
{
    int64_t period = (int64_t) time(NULL) / TICKET_ROTATE;
    const TicketKey *key = NULL;
    OSSL_PARAM params[3];
    int result = 1, i;

    if (encrypt) {
	key = PeriodKey(period);
	if (key == NULL || RAND_bytes(iv, 16) <= 0) {
	    return -1;
	}
	memcpy(keyName, key->name, 16);
	if (!EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, key->aes,
		iv)) {
	    return -1;
	}
    } else {
	static const int tried[] = {0, -1, 1};	/* Periods from now. */

	for (i = 0; i < 3; i++) {
	    key = PeriodKey(period + tried[i]);
	    if (key == NULL) {
		return -1;
	    }
	    if (memcmp(keyName, key->name, 16) == 0) {
		result = (i == 0 && SSL_version(ssl) != TLS1_3_VERSION) ? 1
			: 2;
		break;
	    }
	}
	if (i == 3) {
	    return 0;
	}
	if (!EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, key->aes,
		iv)) {
	    return -1;
	}
    }
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *) key->hmac, sizeof(key->hmac));
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *) "SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(mac, params) ? result : -1;
}

/*
 *----------------------------------------------------------------------
 *
 * SetSessionContext, DigestTagged, CompareDigests --
 *
 *	Names what a session was checked against: a digest of the CA
 *	certificates clients must show one signed by (none without
 *	-cafile) and of -ciphers, -ciphersuites and -protocols.  Every
 *	server of the process takes the same tickets (TicketKeys), and
 *	OpenSSL resumes a session only under the context it was made in:
 *	so a ticket from a server that asks for no client certificate, or
 *	trusts another CA, makes a full handshake on one that requires it,
 *	and a reload that changes the CA or ciphers ends earlier sessions.
 *
 * Results:
 *	1, or 0 if the digest failed; DigestTagged adds one value, after
 *	its kind and length, likewise.  CompareDigests orders
 *	certificates' digests, for qsort.
 *
 * Side effects:
 *	Sets the context's session id context.
 *
 *----------------------------------------------------------------------
 */

#define CERT_DIGEST 32		/* Bytes of a certificate's SHA-256. */

static int
DigestTagged(
    EVP_MD_CTX *md,
    int kind,
    const void *data,
    size_t n)
{
    unsigned char tag[5];		/* Kind and length: no two values
					 * read the same. */

    tag[0] = (unsigned char) kind;
    tag[1] = (unsigned char) (n >> 24);
    tag[2] = (unsigned char) (n >> 16);
    tag[3] = (unsigned char) (n >> 8);
    tag[4] = (unsigned char) n;
    return EVP_DigestUpdate(md, tag, 5) && EVP_DigestUpdate(md, data, n);
}

static int
CompareDigests(
    const void *a,
    const void *b)
{
    return memcmp(a, b, CERT_DIGEST);
}

static int
SetSessionContext(
    SSL_CTX *ctx,
    Tcl_Obj *const parts[])
{
    static const int named[] = {TLS_CIPHERS, TLS_CIPHERSUITES, TLS_PROTOCOLS};
    STACK_OF(X509_OBJECT) *objs =
	    X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[EVP_MAX_MD_SIZE], *certs;
    unsigned int len = 0;
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    int i, total, numCerts = 0;

    for (i = 0; ok && i < (int) (sizeof(named) / sizeof(named[0])); i++) {
	Tcl_Size n;
	const char *s;

	if (parts[named[i]] == NULL) {
	    continue;
	}
	s = Tcl_GetStringFromObj(parts[named[i]], &n);
	ok = DigestTagged(md, named[i], s, (size_t) n);
    }

    /*
     * The certificates as a set: the store's order is OpenSSL's business
     * (and changes with a CRL in the file).
     */

    total = (objs != NULL) ? sk_X509_OBJECT_num(objs) : 0;
    certs = malloc((size_t) (total + 1) * CERT_DIGEST);
    ok = ok && certs != NULL;
    for (i = 0; ok && i < total; i++) {
	X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
	unsigned int oneLen;

	if (x != NULL) {
	    ok = X509_digest(x, EVP_sha256(), certs + numCerts * CERT_DIGEST,
		    &oneLen) && oneLen == CERT_DIGEST;
	    numCerts++;
	}
    }
    if (ok) {
	qsort(certs, (size_t) numCerts, CERT_DIGEST, CompareDigests);
	ok = DigestTagged(md, 0xff, certs, (size_t) numCerts * CERT_DIGEST);
    }
    free(certs);
    ok = ok && EVP_DigestFinal_ex(md, digest, &len)
	    && SSL_CTX_set_session_id_context(ctx, digest,
		    len < SSL_MAX_SID_CTX_LENGTH ? len : SSL_MAX_SID_CTX_LENGTH);
    EVP_MD_CTX_free(md);
    return ok;
}

/*
 *----------------------------------------------------------------------
 *
 * NewContext --
 *
 *	Makes the context for one certificate: its chain and key, checked
 *	against each other and against the clock, and the settings every
 *	context of the server shares.
 *
 * Results:
 *	The context, or NULL with an error in the interpreter.
 *
 * Side effects:
 *	Reads the files.
 *
 *----------------------------------------------------------------------
 */

static SSL_CTX *
NewContext(
    Tcl_Interp *interp,
    DmTlsConfig *tc,
    Tcl_Obj *certFile,
    Tcl_Obj *keyFile,
    Tcl_Obj *const parts[])
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *cert = Tcl_GetString(certFile);
    const char *key = Tcl_GetString(keyFile);
    X509 *x;
    int minVersion = TLS1_2_VERSION, maxVersion = TLS1_3_VERSION;
    int tickets = 1;

    if (ctx == NULL) {
	TlsError(interp, "CONTEXT", "cannot make a TLS context", NULL);
	return NULL;
    }
    SSL_CTX_set_ex_data(ctx, ConfigIndex, tc);
    if (parts[TLS_TICKETS] != NULL) {
	Tcl_GetBooleanFromObj(NULL, parts[TLS_TICKETS], &tickets);
    }
    if (parts[TLS_PROTOCOLS] != NULL) {
	Tcl_Obj **v;
	Tcl_Size n, i;
	int has12 = 0, has13 = 0;

	Tcl_ListObjGetElements(NULL, parts[TLS_PROTOCOLS], &n, &v);
	for (i = 0; i < n; i++) {
	    if (strcmp(Tcl_GetString(v[i]), "tls1.2") == 0) {
		has12 = 1;
	    } else {
		has13 = 1;		/* Checked by DmTlsConfigNew. */
	    }
	}
	minVersion = has12 ? TLS1_2_VERSION : TLS1_3_VERSION;
	maxVersion = has13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    }
    SSL_CTX_set_min_proto_version(ctx, minVersion);
    SSL_CTX_set_max_proto_version(ctx, maxVersion);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION
	    | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION
	    | SSL_OP_ENABLE_KTLS | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS
	    | SSL_MODE_ENABLE_PARTIAL_WRITE
	    | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_timeout(ctx, TICKET_ROTATE);
    if (tickets) {
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, TicketKeys);
    } else {
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
    }
    SSL_CTX_set_alpn_select_cb(ctx, AlpnSelect, NULL);
    SSL_CTX_set_tlsext_servername_callback(ctx, SniSelect);
    SSL_CTX_set_tlsext_servername_arg(ctx, tc);
    if (parts[TLS_CIPHERS] != NULL && !SSL_CTX_set_cipher_list(ctx,
	    Tcl_GetString(parts[TLS_CIPHERS]))) {
	TlsError(interp, "CIPHERS", "no usable cipher in -ciphers", NULL);
	goto failed;
    }
    if (parts[TLS_CIPHERSUITES] != NULL && !SSL_CTX_set_ciphersuites(ctx,
	    Tcl_GetString(parts[TLS_CIPHERSUITES]))) {
	TlsError(interp, "CIPHERS", "no usable cipher suite in"
		" -ciphersuites", NULL);
	goto failed;
    }
    if (!SSL_CTX_use_certificate_chain_file(ctx, cert)) {
	TlsError(interp, "CERTFILE", "cannot use certificate file", cert);
	goto failed;
    }
    if (!SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM)) {
	TlsError(interp, "KEYFILE", "cannot use key file", key);
	goto failed;
    }
    if (!SSL_CTX_check_private_key(ctx)) {
	TlsError(interp, "KEYFILE", "the key does not match the certificate"
		" of", cert);
	goto failed;
    }
    x = SSL_CTX_get0_certificate(ctx);
    if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
	TlsError(interp, "EXPIRED", "the certificate has expired:", cert);
	goto failed;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
	TlsError(interp, "NOTYETVALID", "the certificate is not valid yet:",
		cert);
	goto failed;
    }
    if (parts[TLS_CAFILE] != NULL) {
	const char *ca = Tcl_GetString(parts[TLS_CAFILE]);
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);

	if (names == NULL || !SSL_CTX_load_verify_locations(ctx, ca, NULL)) {
	    sk_X509_NAME_pop_free(names, X509_NAME_free);
	    TlsError(interp, "CAFILE", "cannot use CA file", ca);
	    goto failed;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER
		| SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    if (!SetSessionContext(ctx, parts)) {
	TlsError(interp, "CONTEXT", "cannot make a TLS context", NULL);
	goto failed;
    }
    tc->cert[tc->numCerts] = x;
    return ctx;

  failed:
    SSL_CTX_free(ctx);
    return NULL;
}

/*
 *----------------------------------------------------------------------
 *
 * DmTlsConfigNew, DmTlsConfigFree --
 *
 *	Make the contexts of a -tls value: "-certfile F -keyfile F" pairs
 *	(one or more, the first the default) and the options they share:
 *	-cafile (client certificates are then required and checked),
 *	-ciphers (TLS 1.2), -ciphersuites (TLS 1.3), -protocols (a list of
 *	tls1.2 and tls1.3), -tickets (0: no session tickets).  An empty
 *	value is no TLS.  Free drops the server's reference; connections
 *	that use them keep them until they end.
 *
 * Results:
 *	TCL_OK with *configPtr set (NULL for an empty value), or TCL_ERROR
 *	with a message and -errorcode {DUSTMOTE TLS what} or {DUSTMOTE
 *	VALUE -tls}.
 *
 * Side effects:
 *	Reads the certificate and key files.
 *
 *----------------------------------------------------------------------
 */

int
DmTlsConfigNew(
    Tcl_Interp *interp,
    Tcl_Obj *value,
    DmTlsConfig **configPtr)
{
    Tcl_Obj **v, *parts[TLS_PARTS];
    Tcl_Obj *certs[MAX_CERTS], *keys[MAX_CERTS];
    Tcl_Size n, i;
    int numCerts = 0, numKeys = 0, which, tickets;
    DmTlsConfig *tc;

    *configPtr = NULL;
    if (Tcl_ListObjGetElements(NULL, value, &n, &v) != TCL_OK || n % 2) {
	goto badValue;
    }
    if (n == 0) {
	return TCL_OK;
    }
    memset(parts, 0, sizeof(parts));
    for (i = 0; i < n; i += 2) {
	if (Tcl_GetIndexFromObj(interp, v[i], tlsOptions, "-tls option", 0,
		&which) != TCL_OK) {
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "-tls", NULL);
	    return TCL_ERROR;
	}
	if (which == TLS_CERTFILE || which == TLS_KEYFILE) {
	    if ((which == TLS_CERTFILE ? numCerts : numKeys) == MAX_CERTS) {
		goto badValue;
	    }
	    if (which == TLS_CERTFILE) {
		certs[numCerts++] = v[i + 1];
	    } else {
		keys[numKeys++] = v[i + 1];
	    }
	} else {
	    parts[which] = v[i + 1];
	}
    }
    if (numCerts == 0 || numCerts != numKeys) {
	goto badValue;
    }
    if (parts[TLS_TICKETS] != NULL
	    && Tcl_GetBooleanFromObj(NULL, parts[TLS_TICKETS], &tickets)
	    != TCL_OK) {
	Tcl_SetObjResult(interp, Tcl_ObjPrintf("bad value \"%s\" for -tls:"
		" -tickets must be a boolean", Tcl_GetString(value)));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "-tls", NULL);
	return TCL_ERROR;
    }
    if (parts[TLS_PROTOCOLS] != NULL) {
	Tcl_Size np;

	if (Tcl_ListObjGetElements(NULL, parts[TLS_PROTOCOLS], &np, &v)
		!= TCL_OK || np == 0) {
	    goto badProtocols;
	}
	for (i = 0; i < np; i++) {
	    const char *p = Tcl_GetString(v[i]);

	    if (strcmp(p, "tls1.2") != 0 && strcmp(p, "tls1.3") != 0) {
		goto badProtocols;
	    }
	}
    }

    Tcl_MutexLock(&indexMutex);
    if (ConfigIndex < 0) {
	ConfigIndex = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    }
    Tcl_MutexUnlock(&indexMutex);
    tc = calloc(1, sizeof(DmTlsConfig));
    if (tc == NULL) {
	Tcl_SetObjResult(interp, Tcl_NewStringObj("out of memory", -1));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "NOMEM", NULL);
	return TCL_ERROR;
    }
    ERR_clear_error();
    for (i = 0; i < numCerts; i++) {
	tc->ctx[i] = NewContext(interp, tc, certs[i], keys[i], parts);
	if (tc->ctx[i] == NULL) {
	    DmTlsConfigFree(tc);
	    return TCL_ERROR;
	}
	tc->numCerts++;
    }
    tc->refs = 1;
    *configPtr = tc;
    return TCL_OK;

  badProtocols:
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("bad value \"%s\" for -tls:"
	    " -protocols must be a list of tls1.2 and tls1.3",
	    Tcl_GetString(value)));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "-tls", NULL);
    return TCL_ERROR;

  badValue:
    Tcl_SetObjResult(interp, Tcl_ObjPrintf("bad value \"%s\" for -tls: %s",
	    Tcl_GetString(value), DM_TLS_USAGE));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "-tls", NULL);
    return TCL_ERROR;
}

void
DmTlsConfigFree(
    DmTlsConfig *tc)
{
    int i;

    if (tc == NULL || --tc->refs > 0) {
	return;
    }
    for (i = 0; i < tc->numCerts; i++) {
	SSL_CTX_free(tc->ctx[i]);
    }
    free(tc);
}

/*
 *----------------------------------------------------------------------
 *
 * DmTlsNew, DmTlsFree --
 *
 *	Begin TLS on an accepted socket, as the server; end it, saying
 *	close_notify first if the handshake was done and nothing went
 *	wrong (the socket is not waited for).
 *
 * Results:
 *	DmTlsNew: the connection's TLS, or NULL if memory ran out.
 *
 * Side effects:
 *	Allocates, frees.
 *
 *----------------------------------------------------------------------
 */

DmTls *
DmTlsNew(
    DmTlsConfig *tc,
    int fd)
{
    SSL *ssl = SSL_new(tc->ctx[0]);

    if (ssl == NULL || !SSL_set_fd(ssl, fd)) {
	SSL_free(ssl);			/* SSL_free(NULL) does nothing. */
	ERR_clear_error();
	return NULL;
    }
    SSL_set_accept_state(ssl);
    tc->refs++;
    return (DmTls *) ssl;
}

void
DmTlsFree(
    DmTls *tls)
{
    SSL *ssl = (SSL *) tls;
    DmTlsConfig *tc = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	    ConfigIndex);

    DmTlsShutdown(tls);
    SSL_free(ssl);
    DmTlsConfigFree(tc);
}

/*
 *----------------------------------------------------------------------
 *
 * DmTlsShutdown --
 *
 *	Says close_notify once, if the handshake was done and the
 *	connection had no error (the socket is not waited for).
 *
 * Results:
 *	None.
 *
 * Side effects:
 *	May write to the socket.
 *
 *----------------------------------------------------------------------
 */

void
DmTlsShutdown(
    DmTls *tls)
{
    SSL *ssl = (SSL *) tls;

    if (SSL_is_init_finished(ssl)
	    && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN)) {
	SSL_shutdown(ssl);
    }
    ERR_clear_error();
}

/*
 *----------------------------------------------------------------------
 *
 * Begin, Outcome --
 *
 *	Outcome turns the result of an OpenSSL call on a non-blocking socket
 *	into ours.
 *
 *	Before each such call, Begin empties OpenSSL's error queue (which
 *	other OpenSSL code in the thread may have left entries in) and
 *	errno, as SSL_get_error needs.
 *
 * Results:
 *	The count, or 0 at the end of the peer's data (with or without
 *	close_notify: SSL_OP_IGNORE_UNEXPECTED_EOF), or -1 with errno set:
 *	EAGAIN when the socket is to be waited for (*wantsWritePtr says for
 *	writing), ECONNRESET after a TLS error.
 *
 * Side effects:
 *	Empties OpenSSL's error queue; after a fatal error, no close_notify
 *	is to be sent.
 *
 *----------------------------------------------------------------------
 */

static inline void
Begin(void)
{
    ERR_clear_error();
    errno = 0;
}

static long
Outcome(
    SSL *ssl,
    int r,
    int *wantsWritePtr)
{
    int err;

    if (r > 0) {
	return r;
    }
    err = SSL_get_error(ssl, r);
    ERR_clear_error();
    switch (err) {
    case SSL_ERROR_WANT_WRITE:
	if (wantsWritePtr != NULL) {
	    *wantsWritePtr = 1;
	}
	/* FALLTHRU */
    case SSL_ERROR_WANT_READ:
	Tcl_SetErrno(EAGAIN);
	return -1;
    case SSL_ERROR_ZERO_RETURN:
	return 0;			/* close_notify. */
    case SSL_ERROR_SYSCALL:
	SSL_set_quiet_shutdown(ssl, 1);
	if (errno == 0 || errno == EAGAIN || errno == EWOULDBLOCK
		|| errno == EINTR) {
	    errno = ECONNRESET;		/* Not a retry OpenSSL asked for. */
	}
	Tcl_SetErrno(errno);
	return -1;
    default:
	SSL_set_quiet_shutdown(ssl, 1);	/* No close_notify after this. */
	Tcl_SetErrno(ECONNRESET);
	return -1;
    }
}

/*
 *----------------------------------------------------------------------
 *
 * DmTlsHandshake --
 *
 *	Goes on with the handshake.
 *
 * Results:
 *	DM_TLS_DONE, DM_TLS_READ or DM_TLS_WRITE (wait for the socket), or
 *	DM_TLS_FAILED.
 *
 * Side effects:
 *	Reads and writes the socket.
 *
 *----------------------------------------------------------------------
 */

int
DmTlsHandshake(
    DmTls *tls)
{
    SSL *ssl = (SSL *) tls;
    int wantsWrite = 0;
    long r;

    Begin();
    r = Outcome(ssl, SSL_do_handshake(ssl), &wantsWrite);

    if (r > 0) {
	return DM_TLS_DONE;
    }
    if (r < 0 && DmErrnoIsAgain()) {
	return wantsWrite ? DM_TLS_WRITE : DM_TLS_READ;
    }
    return DM_TLS_FAILED;
}

/*
 *----------------------------------------------------------------------
 *
 * DmTlsRecv, DmTlsSend, DmTlsSendFile --
 *
 *	Move bytes through TLS, with DmNetRecv's and DmNetSend's results.
 *	A receive given room for a whole record (16 KiB) reads at most one;
 *	with less, what is left of it waits in OpenSSL (DmTlsPending).  A
 *	send takes the buffers as one stream, in records of up to 16 KiB
 *	(small buffers are gathered into one record first): a send that has
 *	to wait must be made again with at least the same bytes, as the
 *	connection's pending output and file offset ensure.  File bytes are
 *	sent by the kernel (kTLS) where it does TLS, which sets
 *	*zeroCopyPtr (unless NULL), else read and encrypted.
 *
 * Results:
 *	Bytes moved, 0 at the end of input, or -1 with errno set.
 *
 * Side effects:
 *	As named.
 *
 *----------------------------------------------------------------------
 */

long
DmTlsRecv(
    DmTls *tls,
    char *buf,
    size_t len)
{
    SSL *ssl = (SSL *) tls;

    if (len > INT_MAX) {
	len = INT_MAX;
    }
    Begin();
    return Outcome(ssl, SSL_read(ssl, buf, (int) len), NULL);
}

long
DmTlsSend(
    DmTls *tls,
    const DmBuf *bufs,
    int count)
{
    SSL *ssl = (SSL *) tls;
    const char *ptr = bufs[0].ptr;
    size_t len = bufs[0].len;
    char gather[16384];
    long n;
    int i;

    if (count > 1 && len < sizeof(gather)) {
	/*
	 * A head and a small body: one record, not two.
	 */

	if (len > 0) {
	    memcpy(gather, ptr, len);
	}
	for (i = 1; i < count && len < sizeof(gather); i++) {
	    size_t take = bufs[i].len;

	    if (take > sizeof(gather) - len) {
		take = sizeof(gather) - len;
	    }
	    if (take > 0) {
		memcpy(gather + len, bufs[i].ptr, take);
		len += take;
	    }
	}
	ptr = gather;
    }
    if (len == 0) {
	return 0;			/* Every buffer was empty. */
    }
    if (len > INT_MAX) {
	len = INT_MAX;
    }
    Begin();
    n = Outcome(ssl, SSL_write(ssl, ptr, (int) len), NULL);
    if (n == 0) {
	Tcl_SetErrno(EPIPE);		/* The peer said close_notify. */
	return -1;
    }
    return n;
}

static long
TlsSendProc(
    void *dest,
    const DmBuf *bufs,
    int count)
{
    return DmTlsSend((DmTls *) dest, bufs, count);
}

long
DmTlsSendFile(
    DmTls *tls,
    int fileFd,
    uint64_t *offsetPtr,
    size_t count,
    int *zeroCopyPtr)
{
    SSL *ssl = (SSL *) tls;

    if (BIO_get_ktls_send(SSL_get_wbio(ssl))) {
	long n;

	Begin();
	n = (long) Outcome(ssl, (int) SSL_sendfile(ssl, fileFd,
		(off_t) *offsetPtr, count, 0), NULL);
	if (n > 0) {
	    *offsetPtr += (uint64_t) n;
	    if (zeroCopyPtr != NULL) {
		*zeroCopyPtr = 1;
	    }
	}
	return n;
    }
    return DmSendFileCopy(TlsSendProc, tls, fileFd, offsetPtr, count);
}

/*
 *----------------------------------------------------------------------
 *
 * DmTlsPending, DmTlsInfo --
 *
 *	Whether decrypted input waits in OpenSSL; what was agreed (for the
 *	request dict and the log): the protocol ("TLSv1.3"), the cipher,
 *	and the server name the client asked for ("" if none).
 *
 * Results:
 *	As named.
 *
 * Side effects:
 *	None.
 *
 *----------------------------------------------------------------------
 */

int
DmTlsPending(
    DmTls *tls)
{
    return SSL_pending((SSL *) tls) > 0;
}

void
DmTlsInfo(
    DmTls *tls,
    const char **protocolPtr,
    const char **cipherPtr,
    const char **serverNamePtr)
{
    SSL *ssl = (SSL *) tls;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

    *protocolPtr = SSL_get_version(ssl);
    *cipherPtr = SSL_get_cipher_name(ssl);
    *serverNamePtr = name ? name : "";
}

/*
 *----------------------------------------------------------------------
 *
 * DmTicketsecretObjCmd --
 *
 *	dustmote::ticketsecret ?SECRET?: the secret the process's session
 *	ticket keys are derived from, as 64 hexadecimal digits; with an
 *	argument, sets it.  Processes (or machines behind one load
 *	balancer) given the same secret take each other's tickets.
 *
 * Results:
 *	A standard Tcl result: the secret.
 *
 * Side effects:
 *	May make or set the secret: tickets made with another secret are
 *	no longer taken.
 *
 *----------------------------------------------------------------------
 */

int
DmTicketsecretObjCmd(
    TCL_UNUSED(void *),
    Tcl_Interp *interp,
    int objc,
    Tcl_Obj *const objv[])
{
    unsigned char secret[SECRET_SIZE];
    char hex[2 * SECRET_SIZE];
    int i;

    if (objc > 2) {
	Tcl_WrongNumArgs(interp, 1, objv, "?secret?");
	return TCL_ERROR;
    }
    if (objc == 2) {
	Tcl_Size len;
	const char *s = Tcl_GetStringFromObj(objv[1], &len);

	for (i = 0; i < 2 * SECRET_SIZE && i < len; i++) {
	    int d = DmHexValue((unsigned char) s[i]);

	    if (d < 0) {
		break;
	    }
	    secret[i / 2] = (unsigned char) ((i % 2) ? secret[i / 2] | d
		    : d << 4);
	}
	if (i != 2 * SECRET_SIZE || len != 2 * SECRET_SIZE) {
	    OPENSSL_cleanse(secret, sizeof(secret));
	    Tcl_SetObjResult(interp, Tcl_NewStringObj("bad ticket secret:"
		    " must be 64 hexadecimal digits", -1));
	    Tcl_SetErrorCode(interp, "DUSTMOTE", "VALUE", "SECRET", NULL);
	    return TCL_ERROR;
	}
	Tcl_MutexLock(&indexMutex);
	memcpy(ticketSecret, secret, SECRET_SIZE);
	if (++secretGen == 0) {
	    secretGen = 1;		/* 0 stays "none". */
	}
	Tcl_MutexUnlock(&indexMutex);
    } else if (GetSecret(secret) == 0) {
	ERR_clear_error();
	Tcl_SetObjResult(interp, Tcl_NewStringObj("no random bytes for the"
		" ticket secret", -1));
	Tcl_SetErrorCode(interp, "DUSTMOTE", "TLS", "RANDOM", NULL);
	return TCL_ERROR;
    }
    for (i = 0; i < SECRET_SIZE; i++) {
	DmPutHexByte(hex + 2 * i, secret[i]);
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    Tcl_SetObjResult(interp, Tcl_NewStringObj(hex, 2 * SECRET_SIZE));
    OPENSSL_cleanse(hex, sizeof(hex));
    return TCL_OK;
}

#else /* !HAVE_OPENSSL */

/*
 * Without OpenSSL a server cannot be given -tls, so no connection has
 * TLS: only DmTlsConfigNew and DmTicketsecretObjCmd are ever reached, to
 * say so.
 */

int
DmTlsConfigNew(
    Tcl_Interp *interp,
    Tcl_Obj *value,
    DmTlsConfig **configPtr)
{
    Tcl_Size n;

    *configPtr = NULL;
    if (Tcl_ListObjLength(NULL, value, &n) == TCL_OK && n == 0) {
	return TCL_OK;
    }
    Tcl_SetObjResult(interp, Tcl_NewStringObj("-tls is not available:"
	    " this build has no OpenSSL", -1));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "UNSUPPORTED", "TLS", NULL);
    return TCL_ERROR;
}

void
DmTlsConfigFree(
    TCL_UNUSED(DmTlsConfig *))
{
}

int
DmTicketsecretObjCmd(
    TCL_UNUSED(void *),
    Tcl_Interp *interp,
    TCL_UNUSED(int) /*objc*/,
    TCL_UNUSED(Tcl_Obj *const *) /*objv*/)
{
    Tcl_SetObjResult(interp, Tcl_NewStringObj("session tickets are not"
	    " available: this build has no OpenSSL", -1));
    Tcl_SetErrorCode(interp, "DUSTMOTE", "UNSUPPORTED", "TLS", NULL);
    return TCL_ERROR;
}

#endif /* HAVE_OPENSSL */
