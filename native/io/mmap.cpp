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

lq_status lq_mmap_release(const lq_mapping * m, uint64_t offset, uint64_t length, uint64_t * released) {
    *released = 0;
    if (offset > m->size || length > m->size - offset) {
        return lq_status::fail(LQ_E_BAD_ARGUMENT, "release range " + std::to_string(offset) + "+" + std::to_string(length) +
                                                      " is outside the mapping (" + std::to_string(m->size) + " bytes)");
    }
    if (!m->data || length == 0) return lq_status::success();
    const long ps = ::sysconf(_SC_PAGESIZE);
    const uint64_t page = ps > 0 ? static_cast<uint64_t>(ps) : 4096;
    const uint64_t begin = (offset + page - 1) / page * page;
    const uint64_t stop = offset + length;
    // The mapping covers whole pages; the tail of the last one past the file's end is ours too.
    const uint64_t end = stop == m->size ? (stop + page - 1) / page * page : stop / page * page;
    if (end <= begin) return lq_status::success();
    char * base = static_cast<char *>(m->data);
    if (::madvise(base + begin, static_cast<size_t>(end - begin), MADV_DONTNEED) != 0) {
        const int e = errno;
        return lq_status::fail(LQ_E_IO, std::string("cannot release mapped pages: ") + std::strerror(e));
    }
    *released = end - begin;
    return lq_status::success();
}
