import CHeap
import Controller
import Testing

/// The daemon's cap on glibc's malloc arenas, and the allocator's own figures it exports.
@Suite("Allocator arenas and heap figures")
struct AllocatorArenasTests {
    @Test("the operator's MALLOC_ARENA_MAX stands; otherwise one arena per core, at least two")
    func limit() {
        #expect(AllocatorArenas.limit(environment: ["MALLOC_ARENA_MAX": "8"]) == nil)
        #expect(AllocatorArenas.defaultCount >= 2)
        #if canImport(Glibc)
        #expect(AllocatorArenas.limit(environment: [:]) == AllocatorArenas.defaultCount)
        #endif
    }

    @Test("heap in use follows what is allocated and freed, whatever the allocator keeps")
    func heapInUse() throws {
        #if canImport(Glibc)
        let before = lamplighter_heap_now()
        try #require(before.known == 1)
        let size = 64 << 20
        let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        block.initializeMemory(as: UInt8.self, repeating: 1, count: size)
        let during = lamplighter_heap_now()
        block.deallocate()
        let after = lamplighter_heap_now()
        #expect(during.inUse >= before.inUse + size - (1 << 20))
        #expect(after.inUse + size - (1 << 20) <= during.inUse)
        #endif
    }
}
