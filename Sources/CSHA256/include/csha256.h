#ifndef LAMPLIGHTER_CSHA256_H
#define LAMPLIGHTER_CSHA256_H

#include <stdint.h>

/// 1 when this CPU has the SHA extensions (and SSSE3, SSE4.1) that
/// lamplighter_sha256_compress_hardware uses; 0 otherwise, and on other architectures.
int lamplighter_sha256_hardware_available(void);

/// One SHA-256 compression of the 64-byte `block` into the eight chaining words `state`
/// (FIPS 180-4 order, native integers), with the x86 SHA instructions. Call it only when
/// lamplighter_sha256_hardware_available() says 1.
void lamplighter_sha256_compress_hardware(uint32_t state[8], const uint8_t block[64]);

#endif
