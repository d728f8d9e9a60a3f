#include "coders.hpp"

#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace ks::test {
namespace {

std::string deflate_with(std::string_view data, int level, int window_bits,
                         const char* name)
{
    // Set up the stream, with a gzip header carrying a name if asked.
    z_stream s{};
    if (deflateInit2(&s, level, Z_DEFLATED, window_bits, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    gz_header header{};
    if (name != nullptr) {
        header.name = reinterpret_cast<Bytef*>(const_cast<char*>(name));
        header.comment = header.name;
        if (deflateSetHeader(&s, &header) != Z_OK)
            throw std::runtime_error("deflateSetHeader failed");
    }

    // Compress everything in one go into a buffer of the worst-case size.
    std::string out(deflateBound(&s, data.size()) + 1024, '\0');
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    s.avail_in = static_cast<uInt>(data.size());
    s.next_out = reinterpret_cast<Bytef*>(out.data());
    s.avail_out = static_cast<uInt>(out.size());
    const int status = deflate(&s, Z_FINISH);
    out.resize(out.size() - s.avail_out);
    if (deflateEnd(&s) != Z_OK || status != Z_STREAM_END)
        throw std::runtime_error("deflate did not finish");
    return out;
}

void check_zstd(std::size_t code)
{
    if (ZSTD_isError(code)) throw std::runtime_error(ZSTD_getErrorName(code));
}

// Streams `total` bytes taken repeatedly from `piece` into one frame. The
// input goes in with ZSTD_e_continue and the frame is ended by an empty
// ZSTD_e_end, so libzstd never learns the size and records none.
std::string zstd_stream_of(std::string_view piece, std::size_t total, int level,
                           bool checksum)
{
    ZSTD_CCtx* c = ZSTD_createCCtx();
    if (c == nullptr) throw std::runtime_error("ZSTD_createCCtx failed");
    check_zstd(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level));
    check_zstd(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum));

    std::string out;
    std::vector<char> chunk(ZSTD_CStreamOutSize());
    const auto drain = [&](ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
        std::size_t remaining = 0;
        do {
            ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
            remaining = ZSTD_compressStream2(c, &o, &in, mode);
            check_zstd(remaining);
            out.append(chunk.data(), o.pos);
        } while (in.pos < in.size || (mode == ZSTD_e_end && remaining != 0));
    };

    for (std::size_t left = total; left != 0;) {
        const std::size_t n = std::min(left, piece.size());
        ZSTD_inBuffer in{piece.data(), n, 0};
        drain(in, ZSTD_e_continue);
        left -= n;
    }
    ZSTD_inBuffer none{nullptr, 0, 0};
    drain(none, ZSTD_e_end);
    ZSTD_freeCCtx(c);
    return out;
}

} // namespace

std::string gzip_member(std::string_view data, int level, const char* name)
{
    return deflate_with(data, level, 15 + 16, name);
}

std::string zlib_stream(std::string_view data, int level)
{
    return deflate_with(data, level, 15, nullptr);
}

std::string raw_deflate(std::string_view data, int level)
{
    return deflate_with(data, level, -15, nullptr);
}

std::string zstd_sized(std::string_view data, int level)
{
    std::string out(ZSTD_compressBound(data.size()), '\0');
    const std::size_t n =
        ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
    check_zstd(n);
    out.resize(n);
    return out;
}

std::string zstd_streamed(std::string_view data, int level, bool checksum)
{
    return zstd_stream_of(data, data.size(), level, checksum);
}

std::string zstd_zeros(std::size_t zeros)
{
    const std::string piece(1u << 20, '\0');
    return zstd_stream_of(piece, zeros, 1, false);
}

std::string snappy_block(std::string_view data)
{
    std::string out;
    snappy::Compress(data.data(), data.size(), &out);
    return out;
}

std::string skippable_frame(std::string_view payload, unsigned nibble)
{
    // Magic and payload size, both little-endian, then the payload.
    const std::uint32_t magic = 0x184D2A50u + (nibble & 0x0fu);
    const auto size = static_cast<std::uint32_t>(payload.size());
    std::string out;
    for (int i = 0; i < 4; ++i)
        out += static_cast<char>(magic >> (8 * i));
    for (int i = 0; i < 4; ++i)
        out += static_cast<char>(size >> (8 * i));
    out += payload;
    return out;
}

std::string sample_text(std::size_t bytes)
{
    std::string out;
    out.reserve(bytes + 128);
    for (std::uint64_t i = 0; out.size() < bytes; ++i) {
        out += R"({"seq":)" + std::to_string(i) + R"(,"severity":")" +
               (i % 7 == 0 ? "warn" : "info") + R"(","msg":"request )" +
               std::to_string(i * 2654435761u % 100000) + " served\"}\n";
    }
    out.resize(bytes);
    return out;
}

std::string noise(std::size_t bytes, std::uint32_t seed)
{
    // xorshift32: cheap, deterministic, incompressible enough.
    std::string out(bytes, '\0');
    std::uint32_t x = seed == 0 ? 1 : seed;
    for (char& c : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x);
    }
    return out;
}

} // namespace ks::test
