#include "core/padded_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace ks {

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
    auto fresh = std::make_unique_for_overwrite<char[]>(
        content_capacity + json_padding_bytes);
    if (size_ != 0) std::memcpy(fresh.get(), data_.get(), size_);
    std::memset(fresh.get() + size_, 0, json_padding_bytes);
    data_ = std::move(fresh);
    capacity_ = content_capacity;
}

} // namespace ks
