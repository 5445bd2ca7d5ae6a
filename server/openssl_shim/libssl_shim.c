/* File: server/openssl_shim/libssl_shim.c
 * Makes Debian 12's civetweb (1.15) work with OpenSSL 3 for HTTPS.
 *
 * civetweb loads OpenSSL with dlopen("libssl.so") and looks its functions
 * up by name. OpenSSL 3 renamed SSL_get_peer_certificate to
 * SSL_get1_peer_certificate (the old name is only a macro now): the lookup
 * gives NULL, civetweb does not notice, and calls it on every HTTPS
 * connection (SIGSEGV; reproduced with a 10-line civetweb program and
 * valgrind: "Jump to the invalid address 0x0").
 *
 * This library has the SONAME "libssl.so" and depends on the real
 * libssl.so.3. modelserver links it, so when civetweb calls
 * dlopen("libssl.so"), the dynamic loader finds this already-loaded object
 * by that name; civetweb's dlsym() lookups search it and its dependencies:
 * SSL_get_peer_certificate resolves here, everything else in libssl.so.3.
 * The old function's contract is the new one's (the caller frees the
 * certificate), so this is a pure rename. */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

X509* SSL_get_peer_certificate(const SSL* ssl);
X509* SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}

/* Referenced by server/tls.cc, so that the linker keeps this library. */
int modelserver_libssl_shim(void);
int modelserver_libssl_shim(void) { return 1; }
