// POSIX mmap of a whole file, with MADV_SEQUENTIAL-free defaults: block-by-block streaming reads
// each tensor once, and the kernel's readahead serves that well.
#include "io/mmap.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

lq_status lq_mmap_open(const char * path, lq_mapping * out) {
    *out = {};
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        return lq_status::fail(e == ENOENT ? LQ_E_NOT_FOUND : LQ_E_IO,
                               std::string("cannot open: ") + std::strerror(e));
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        return lq_status::fail(LQ_E_IO, std::string("cannot stat: ") + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return lq_status::fail(LQ_E_IO, "not a regular file");
    }
    if (st.st_size == 0) {
        ::close(fd);
        return lq_status::success();
    }
    void * p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);
    if (p == MAP_FAILED) return lq_status::fail(LQ_E_IO, std::string("cannot map: ") + std::strerror(e));
    out->data = p;
    out->size = static_cast<size_t>(st.st_size);
    return lq_status::success();
}

void lq_mmap_close(lq_mapping * m) {
    if (m->data) ::munmap(m->data, m->size);
    *m = {};
}
