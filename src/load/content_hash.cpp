#include "load/content_hash.hpp"

#include "core/padded_buffer.hpp"
#include "decode/sniff.hpp"
#include "decode/stream_decoder.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace ks::load {
namespace {

/// Large reads keep the syscall count negligible next to hashing, which
/// runs at a few hundred MiB/s.
constexpr std::size_t read_block_bytes = 1 << 20;

/// Closes a file descriptor when it goes out of scope.
class fd_owner {
public:
    explicit fd_owner(int fd) noexcept : fd_(fd) {}
    fd_owner(const fd_owner&) = delete;
    fd_owner& operator=(const fd_owner&) = delete;
    ~fd_owner()
    {
        // Nothing was written, so a failed close loses nothing.
        if (fd_ >= 0) static_cast<void>(::close(fd_));
    }

    int get() const noexcept { return fd_; }

private:
    int fd_;
};

std::string_view bytes_of(const unsigned char* p, std::size_t n)
{
    return {reinterpret_cast<const char*>(p), n};
}

/// Reads up to `n` bytes, retrying when a signal interrupts. Returns 0
/// at the end of the file.
std::size_t read_some(int fd, unsigned char* buf, std::size_t n,
                      const std::string& path)
{
    for (;;) {
        const ssize_t got = ::read(fd, buf, n);
        if (got >= 0) return static_cast<std::size_t>(got);
        const int error = errno;
        if (error != EINTR)
            throw std::system_error(error, std::generic_category(),
                                    "read " + path);
    }
}

} // namespace

// Compressed bytes decoded at a time while hashing text.
constexpr std::size_t text_slice_bytes = 4096;

namespace {

/// Decodes the first `limit` bytes of `path` (the coding sniffed as the
/// chunker sniffs it) and hands the text to `take` piece by piece until
/// it returns false. Decoding stops quietly at damage. Small slices keep
/// the text of one step small, however far a compressed slice expands.
template <typename Take>
void decode_text(const std::string& path, std::uint64_t limit, Take&& take)
{
    const fd_owner fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        const int error = errno;
        throw std::system_error(error, std::generic_category(), "open " + path);
    }

    std::vector<unsigned char> buf(read_block_bytes);
    decode::stream_decoder decoder;
    padded_buffer text;
    std::uint64_t read = 0;
    bool started = false;
    while (read < limit) {
        const std::size_t want = static_cast<std::size_t>(
            std::min<std::uint64_t>(buf.size(), limit - read));
        const std::size_t got = read_some(fd.get(), buf.data(), want, path);
        if (got == 0) return;
        read += got;

        const std::span<const char> in(
            reinterpret_cast<const char*>(buf.data()), got);
        if (!started) {
            decoder.reset(decode::sniff(in));
            started = true;
        }
        for (std::size_t at = 0; at < in.size(); at += text_slice_bytes) {
            text.clear();
            const std::size_t n = std::min(text_slice_bytes, in.size() - at);
            if (decoder.feed(in.subspan(at, n), text).error !=
                decode::errc::ok)
                return;
            if (!take(text.view())) return;
        }
    }
}

} // namespace

void text_hashing::update(std::string_view t)
{
    if (bytes < text_head_bytes) {
        const auto room = static_cast<std::size_t>(text_head_bytes - bytes);
        head.update(t.substr(0, std::min(t.size(), room)));
    }
    whole.update(t);
    bytes += t.size();
}

digest hash_text_head(const std::string& path, std::uint64_t limit)
{
    text_hashing h;
    decode_text(path, limit, [&](std::string_view t) {
        h.update(t);
        return h.bytes < text_head_bytes;
    });
    return h.head.so_far();
}

text_hashing hash_text_start(const std::string& path, std::uint64_t limit,
                             std::uint64_t decoded_bytes)
{
    text_hashing h;
    if (decoded_bytes == 0) return h;
    decode_text(path, limit, [&](std::string_view t) {
        const auto take = static_cast<std::size_t>(
            std::min<std::uint64_t>(t.size(), decoded_bytes - h.bytes));
        h.update(t.substr(0, take));
        return h.bytes < decoded_bytes;
    });
    return h;
}

text_and_starts hash_text_and_starts(const std::string& path,
                                     std::uint64_t limit,
                                     std::span<const std::uint64_t> lengths)
{
    // The whole text's stream, its state copied as it reaches each
    // length, shortest first. The text_hashing that holds it also makes
    // the head's digest.
    text_and_starts out;
    out.starts.resize(lengths.size());
    std::vector<std::size_t> order(lengths.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return lengths[a] < lengths[b];
    });

    text_hashing h;
    std::size_t next = 0;
    auto settle = [&] {
        while (next < order.size() && lengths[order[next]] == h.bytes)
            out.starts[order[next++]] = h.whole.so_far();
    };
    settle();
    decode_text(path, limit, [&](std::string_view t) {
        while (!t.empty()) {
            const auto take =
                next < order.size()
                    ? static_cast<std::size_t>(std::min<std::uint64_t>(
                          t.size(), lengths[order[next]] - h.bytes))
                    : t.size();
            h.update(t.substr(0, take));
            t.remove_prefix(take);
            settle();
        }
        return true;
    });

    out.text.head = h.head.so_far();
    out.text.whole = h.whole.so_far();
    out.text.bytes = h.bytes;
    return out;
}

file_hash hash_file(const std::string& path, std::uint64_t limit,
                    std::uint64_t prefix_bytes)
{
    // Open the file and a hashing context.
    const fd_owner fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        const int error = errno;
        throw std::system_error(error, std::generic_category(), "open " + path);
    }
    sha256_stream sha;
    file_hash result;

    // A limit under one block (a small file hashed up to its listed size)
    // needs no full block.
    std::vector<unsigned char> buf(static_cast<std::size_t>(
        std::min<std::uint64_t>(read_block_bytes, limit)));

    // Read and hash block by block. When the prefix boundary falls inside
    // a block, the block is hashed in two parts and the state between
    // them finished on a copy, so the file is read once.
    bool prefix_pending = prefix_bytes != 0 && prefix_bytes <= limit;
    while (result.bytes < limit) {
        const std::size_t want = static_cast<std::size_t>(
            std::min<std::uint64_t>(buf.size(), limit - result.bytes));
        const std::size_t got = read_some(fd.get(), buf.data(), want, path);
        if (got == 0) break;

        if (prefix_pending && result.bytes + got >= prefix_bytes) {
            const auto head =
                static_cast<std::size_t>(prefix_bytes - result.bytes);
            sha.update(bytes_of(buf.data(), head));
            result.prefix = sha.so_far();
            prefix_pending = false;
            sha.update(bytes_of(buf.data() + head, got - head));
        } else {
            sha.update(bytes_of(buf.data(), got));
        }
        result.bytes += got;
    }

    // Finish the whole; a prefix longer than what was hashed stays empty.
    result.whole = sha.so_far();
    return result;
}

} // namespace ks::load
