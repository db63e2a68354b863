// A fuzz input as a file in memory (a memfd), read by path through
// /proc/self/fd/N as dptrace reads a binary or a BTF file: for the readers
// that take a path. Closed when it goes out of scope.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

class MemoryFile {
public:
  MemoryFile(const char* name, const uint8_t* data, size_t size) : fd_(memfd_create(name, MFD_CLOEXEC)) {
    if (fd_ >= 0 && write(fd_, data, size) != static_cast<ssize_t>(size)) {
      close(fd_);
      fd_ = -1;
    }
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  ~MemoryFile() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

private:
  int fd_;
};
