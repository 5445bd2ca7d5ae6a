/* File: server/openssl_shim/libcrypto_shim.c
 * civetweb also calls dlopen("libcrypto.so"): a name that only the -dev
 * package's symlink provides. This library has the SONAME "libcrypto.so"
 * and depends on the real libcrypto.so.3, so that the lookup finds it
 * already loaded, also where no -dev package is installed (the container
 * image). See libssl_shim.c. */
int modelserver_libcrypto_shim(void);
int modelserver_libcrypto_shim(void) { return 1; }
