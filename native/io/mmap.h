// Read-only file mapping. Tensor data is never read into memory: TypeScript gets an external
// ArrayBuffer over the mapping and passes views of it to kernels (zero copy).
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/status.h"

struct lq_mapping {
    void * data = nullptr;  // nullptr for an empty file
    size_t size = 0;
};

// Maps the whole file copy-on-write (a stray write through the view never reaches the file and
// never faults). Failure messages name the path and the OS error.
lq_status lq_mmap_open(const char * path, lq_mapping * out);
void lq_mmap_close(lq_mapping * m);
// Drops the resident pages of [offset, offset + length) of a mapping from lq_mmap_open
// (madvise MADV_DONTNEED on the page-aligned interior; a range ending at the end of the file
// includes the last, partial page). Safe for read-only use of the private mapping: a page touched
// again is read back from the file. Writes made through the view in that range are discarded.
// Sets *released to the bytes dropped. Errors: LQ_E_BAD_ARGUMENT for a range outside the mapping.
lq_status lq_mmap_release(const lq_mapping * m, uint64_t offset, uint64_t length, uint64_t * released);
