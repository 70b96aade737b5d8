#ifndef LAMPLIGHTER_CHEAP_H
#define LAMPLIGHTER_CHEAP_H

#include <stddef.h>

/// What the C library's allocator holds, in bytes (glibc's mallinfo2; zeros elsewhere).
typedef struct {
    /// Bytes handed out by malloc and not yet freed, mmapped chunks included: what the
    /// process really uses, whatever the fragmentation.
    size_t inUse;
    /// Bytes freed but kept by the allocator (its arenas' free chunks): resident or not,
    /// this is what RSS holds beyond `inUse` until it is trimmed.
    size_t heldFree;
    /// Whether the figures are real (0 where the C library does not say).
    int known;
} lamplighter_heap_usage;

/// The allocator's figures now. It walks every arena's bins: microseconds, for a metrics
/// scrape, never the per-message path.
lamplighter_heap_usage lamplighter_heap_now(void);

/// Hands the allocator's free memory back to the kernel (glibc's malloc_trim(0)); returns
/// 1 when some was released, 0 otherwise or where the C library cannot.
int lamplighter_heap_trim(void);

/// Caps the allocator's arenas (glibc's mallopt(M_ARENA_MAX)); call it before other threads
/// start. Returns 1 when set, 0 where the C library cannot.
int lamplighter_heap_limit_arenas(int arenas);

#endif
