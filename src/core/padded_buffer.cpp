#include "core/padded_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ks {

namespace {

constexpr std::size_t large_block_bytes = 1 << 20;

// At most this many blocks are kept: a list short enough to search.
constexpr std::size_t max_kept_blocks = 32;

// Freed large blocks, still mapped. Never destroyed: buffers in static
// objects may be freed after it would have been.
struct kept_blocks {
    std::mutex lock;
    std::size_t limit = 0; // bytes
    std::size_t held = 0;  // bytes
    std::vector<std::pair<void*, std::size_t>> blocks; // block, usable size
};

kept_blocks& kept()
{
    // Room for every block up front: release_bytes() cannot allocate.
    static kept_blocks* k = [] {
        auto* made = new kept_blocks;
        made->blocks.reserve(max_kept_blocks);
        return made;
    }();
    return *k;
}

std::size_t usable_bytes(void* p) noexcept
{
#if defined(__GLIBC__)
    return p == nullptr ? 0 : malloc_usable_size(p);
#else
    static_cast<void>(p);
    return 0; // nothing is kept
#endif
}

// The smallest kept block that holds `bytes` without wasting much, taken
// out of the list; null when none fits.
void* take_kept(std::size_t bytes) noexcept
{
    kept_blocks& k = kept();
    std::lock_guard<std::mutex> guard(k.lock);
    std::size_t best = k.blocks.size();
    for (std::size_t i = 0; i < k.blocks.size(); ++i) {
        std::size_t size = k.blocks[i].second;
        // Reuse wastes at most a fifth of a block.
        bool fits = size >= bytes && size - bytes <= size / 5;
        if (fits && (best == k.blocks.size() || size < k.blocks[best].second))
            best = i;
    }
    if (best == k.blocks.size()) return nullptr;
    void* p = k.blocks[best].first;
    k.held -= k.blocks[best].second;
    k.blocks[best] = k.blocks.back();
    k.blocks.pop_back();
    return p;
}

} // namespace

void serve_large_blocks_with_mmap() noexcept
{
#if defined(__GLIBC__)
    static_cast<void>(
        mallopt(M_MMAP_THRESHOLD, static_cast<int>(large_block_bytes)));
#endif
}

void keep_freed_large_blocks(std::size_t bytes) noexcept
{
    // Blocks over the new limit go back at once; freeing under the lock
    // needs no list of them, which could not be allocated here anyway.
    kept_blocks& k = kept();
    std::lock_guard<std::mutex> guard(k.lock);
    k.limit = bytes;
    while (k.held > k.limit) {
        std::free(k.blocks.back().first);
        k.held -= k.blocks.back().second;
        k.blocks.pop_back();
    }
}

void release_bytes(void* p) noexcept
{
    std::size_t size = usable_bytes(p);
    if (size >= large_block_bytes) {
        kept_blocks& k = kept();
        std::lock_guard<std::mutex> guard(k.lock);
        if (k.held + size <= k.limit && k.blocks.size() < max_kept_blocks) {
            k.blocks.emplace_back(p, size);
            k.held += size;
            return;
        }
    }
    std::free(p);
}

void realloc_bytes(malloc_bytes& block, std::size_t bytes)
{
    // A block becoming large takes a kept one if there is one; a small
    // block's content is cheap to copy.
    std::size_t old_size = usable_bytes(block.get());
    if (bytes >= large_block_bytes && old_size < large_block_bytes) {
        if (void* reused = take_kept(bytes)) {
            if (block) std::memcpy(reused, block.get(), old_size);
            block.reset(static_cast<char*>(reused));
            return;
        }
    }

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

void padded_buffer::shrink_to_fit()
{
    if (!data_ || capacity_ == size_) return;
    realloc_bytes(data_, size_ + json_padding_bytes);
    capacity_ = size_;
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
