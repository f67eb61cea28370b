#ifndef POLDER_CSODIUM_SHIM_H
#define POLDER_CSODIUM_SHIM_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <sodium.h>

// The BLAKE2b state is a 64-byte-aligned struct Swift cannot import; reach it through void *.
static inline size_t polder_blake2b_state_size(void) {
    return crypto_generichash_blake2b_statebytes();
}
static inline int polder_blake2b_init(void *state, const unsigned char *key, size_t key_length, size_t output_length) {
    return crypto_generichash_blake2b_init((crypto_generichash_blake2b_state *)state, key, key_length, output_length);
}
static inline int polder_blake2b_update(void *state, const unsigned char *input, unsigned long long length) {
    return crypto_generichash_blake2b_update((crypto_generichash_blake2b_state *)state, input, length);
}
static inline int polder_blake2b_final(void *state, unsigned char *output, size_t output_length) {
    return crypto_generichash_blake2b_final((crypto_generichash_blake2b_state *)state, output, output_length);
}

#endif
