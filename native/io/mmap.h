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
