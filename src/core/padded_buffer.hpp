#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace ks {

/// Bytes that simdjson may read past the end of a document. It equals
/// SIMDJSON_PADDING; parse checks this at compile time so that stages which
/// only make buffers need not include simdjson.
inline constexpr std::size_t json_padding_bytes = 64;

/// Frees a block that came from std::malloc or std::realloc, or keeps it
/// for reuse (see keep_freed_large_blocks).
void release_bytes(void* p) noexcept;

/// Frees memory that came from std::malloc or std::realloc.
struct free_deleter {
    void operator()(void* p) const noexcept { release_bytes(p); }
};

/// Heap bytes from std::malloc. Buffers that grow use std::realloc: glibc
/// serves large blocks with mmap and moves them with mremap, so a body of
/// many megabytes grows by remapping its pages instead of copying them.
using malloc_bytes = std::unique_ptr<char, free_deleter>;

/// Makes the C library serve every block of 1 MiB or more with mmap, for
/// the whole process. glibc otherwise raises that threshold after the
/// first large free, and large buffers then come from arenas that keep
/// freed memory: the resident size drifts above what a memory budget
/// counts, and growing copies instead of remapping. Call it once at
/// start-up, before threads; it does nothing on other C libraries.
void serve_large_blocks_with_mmap() noexcept;

/// Keeps up to `bytes` of freed large blocks (1 MiB or more) mapped, for
/// realloc_bytes to hand out again. A fresh mapping costs a page fault
/// per 4 KiB touched, which for 10 MB request bodies was a fifth of the
/// sink's CPU; a kept block has its pages already. What is kept counts in
/// the resident size beyond any budget of bytes in use, so `bytes` should
/// be small beside it. 0 (the default) keeps none; thread-safe.
void keep_freed_large_blocks(std::size_t bytes) noexcept;

/// Resizes `block` to `bytes` keeping its content up to that size, like
/// std::realloc; throws std::bad_alloc when there is no memory. A block
/// that becomes large may be a kept one, of up to a quarter more bytes.
void realloc_bytes(malloc_bytes& block, std::size_t bytes);

/// A growable byte buffer that always keeps json_padding_bytes of readable,
/// zeroed memory after its last byte, so any slice of it can be handed to
/// simdjson without a copy.
class padded_buffer {
public:
    padded_buffer() = default;
    padded_buffer(const padded_buffer&) = delete;
    padded_buffer& operator=(const padded_buffer&) = delete;
    padded_buffer(padded_buffer&&) noexcept = default;
    padded_buffer& operator=(padded_buffer&&) noexcept = default;

    /// Pointer to the first byte; never null once anything was reserved.
    char* data() noexcept { return data_.get(); }
    const char* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::string_view view() const noexcept { return {data_.get(), size_}; }

    /// Content bytes that fit without another allocation.
    std::size_t capacity() const noexcept { return capacity_; }

    /// Bytes that may be read from data() onwards: size() plus the padding.
    std::size_t readable() const noexcept { return size_ + json_padding_bytes; }

    /// Ensures room for n bytes of content without another allocation.
    void reserve(std::size_t n);

    /// Makes the content n bytes long; new bytes are unspecified.
    void resize(std::size_t n);

    /// Appends n bytes from src.
    void append(const char* src, std::size_t n);
    void append(std::string_view s) { append(s.data(), s.size()); }

    /// Returns room for at least n more bytes after size(); commit() then
    /// adds the bytes actually written. Lets decoders write in place.
    char* prepare(std::size_t n);
    void commit(std::size_t n) noexcept;

    /// Forgets the content but keeps the memory.
    void clear() noexcept { size_ = 0; }

    /// Gives back the memory beyond the content and its padding.
    void shrink_to_fit();

private:
    void grow_to(std::size_t content_capacity);

    malloc_bytes data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0; // content bytes, padding not included
};

} // namespace ks
