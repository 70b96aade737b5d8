// SHA-256's compression function on the x86 SHA extensions (SHA-NI). LampAuth's frame tags
// (SPEC.md §4.3) cost two compressions per message; in Swift that was the largest item of
// the daemon's profile while it takes in status reports (issue 13). Written from Intel's
// description of the instructions: SHA256RNDS2 does two rounds on the state held as
// (A, B, E, F) and (C, D, G, H); SHA256MSG1 and SHA256MSG2 compute the message schedule.
#include "csha256.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int lamplighter_sha256_hardware_available(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    int ssse3 = (ecx >> 9) & 1, sse41 = (ecx >> 19) & 1;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    int sha = (ebx >> 29) & 1;
    return ssse3 && sse41 && sha;
}

static const uint32_t k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

__attribute__((target("sha,sse4.1,ssse3")))
void lamplighter_sha256_compress_hardware(uint32_t state[8], const uint8_t block[64]) {
    // Big-endian words of the block.
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    // state[0..3] = A B C D, state[4..7] = E F G H; the instructions want
    // abef = (A, B, E, F) and cdgh = (C, D, G, H) with A in the highest lane.
    __m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]);
    __m128i badc = _mm_shuffle_epi32(dcba, 0xB1);     // lanes: b a d c -> (C D A B) from low
    __m128i fehg = _mm_shuffle_epi32(hgfe, 0x1B);     // lanes reversed: (H G F E) from low
    __m128i abef = _mm_alignr_epi8(badc, fehg, 8);    // (F E B A) from low: A highest
    __m128i cdgh = _mm_blend_epi16(fehg, badc, 0xF0); // (H G D C) from low: C highest
    const __m128i abef_start = abef, cdgh_start = cdgh;

    __m128i w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * i)), byteswap);
    }
    for (int round = 0; round < 16; round++) {
        __m128i current = w[round & 3];
        if (round >= 4) {
            // w[t..t+3] from w[t-16..t-13], w[t-15..t-12], w[t-7..t-4], w[t-2..t-1].
            __m128i older = w[round & 3];                      // t-16..t-13
            __m128i next = w[(round + 1) & 3];                 // t-12..t-9
            __m128i late = w[(round + 3) & 3];                 // t-4..t-1
            __m128i middle = w[(round + 2) & 3];               // t-8..t-5
            __m128i sum = _mm_sha256msg1_epu32(older, next);   // w[t-16] + s0(w[t-15])
            sum = _mm_add_epi32(sum, _mm_alignr_epi8(late, middle, 4)); // + w[t-7]
            current = _mm_sha256msg2_epu32(sum, late);         // + s1(w[t-2])
            w[round & 3] = current;
        }
        __m128i message = _mm_add_epi32(current, _mm_loadu_si128((const __m128i *)&k[4 * round]));
        // Two rounds each: the first leaves the new (A, B, E, F) in cdgh, and the old one
        // is then the new (C, D, G, H); the second puts them back in their places.
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message);
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(message, 0x0E));
    }
    abef = _mm_add_epi32(abef, abef_start);
    cdgh = _mm_add_epi32(cdgh, cdgh_start);
    // Back to A B C D, E F G H.
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);     // (A B E F) from low
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);     // (G H C D) from low
    dcba = _mm_blend_epi16(feba, dchg, 0xF0);         // (A B C D) from low
    hgfe = _mm_alignr_epi8(dchg, feba, 8);            // (E F G H) from low
    _mm_storeu_si128((__m128i *)&state[0], dcba);
    _mm_storeu_si128((__m128i *)&state[4], hgfe);
}

#else

int lamplighter_sha256_hardware_available(void) { return 0; }

void lamplighter_sha256_compress_hardware(uint32_t state[8], const uint8_t block[64]) {
    (void)state;
    (void)block;
}

#endif
