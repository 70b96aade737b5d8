#include "CHeap.h"

/* stdlib.h brings features.h, which defines __GLIBC__ on glibc. */
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

lamplighter_heap_usage lamplighter_heap_now(void) {
    lamplighter_heap_usage usage = {0, 0, 0};
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 info = mallinfo2();
    usage.inUse = info.uordblks + info.hblkhd;
    usage.heldFree = info.fordblks;
    usage.known = 1;
#endif
    return usage;
}

int lamplighter_heap_trim(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

int lamplighter_heap_limit_arenas(int arenas) {
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
    return mallopt(M_ARENA_MAX, arenas);
#else
    (void)arenas;
    return 0;
#endif
}
