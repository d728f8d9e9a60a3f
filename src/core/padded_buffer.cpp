#include "core/padded_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ks {

void serve_large_blocks_with_mmap() noexcept
{
#if defined(__GLIBC__)
    constexpr int large_block_bytes = 1 << 20;
    static_cast<void>(mallopt(M_MMAP_THRESHOLD, large_block_bytes));
#endif
}

void realloc_bytes(malloc_bytes& block, std::size_t bytes)
{
    // realloc(p, 0) may free p and return null; callers never need an
    // empty block, so ask for one byte at least.
    void* grown = std::realloc(block.get(), std::max<std::size_t>(bytes, 1));
    if (grown == nullptr) throw std::bad_alloc();
    static_cast<void>(block.release());
    block.reset(static_cast<char*>(grown));
}

void padded_buffer::reserve(std::size_t n)
{
    // Allocate even for n == 0 so that data() and the padding exist.
    if (n > capacity_ || !data_) grow_to(n);
}

void padded_buffer::resize(std::size_t n)
{
    reserve(n);
    size_ = n;
    std::memset(data_.get() + size_, 0, json_padding_bytes);
}

void padded_buffer::append(const char* src, std::size_t n)
{
    char* dst = prepare(n);
    if (n != 0) std::memcpy(dst, src, n);
    commit(n);
}

char* padded_buffer::prepare(std::size_t n)
{
    if (size_ + n > capacity_ || !data_) {
        // Grow geometrically so that decoders appending in small steps
        // stay linear.
        grow_to(std::max(size_ + n, capacity_ + capacity_ / 2 + 4096));
    }
    return data_.get() + size_;
}

void padded_buffer::commit(std::size_t n) noexcept
{
    size_ += n;
    std::memset(data_.get() + size_, 0, json_padding_bytes);
}

void padded_buffer::grow_to(std::size_t content_capacity)
{
    // The content survives; the padding after it is written again
    // because the block may have moved.
    realloc_bytes(data_, content_capacity + json_padding_bytes);
    std::memset(data_.get() + size_, 0, json_padding_bytes);
    capacity_ = content_capacity;
}

} // namespace ks
