#include "core/sha256.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace ks {
namespace {

struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using md_ctx = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

[[noreturn]] void throw_openssl(const char* what)
{
    // The queue holds the reason; take it so it does not leak into an
    // unrelated later report.
    char reason[256] = "no reason given";
    if (const unsigned long e = ERR_get_error(); e != 0)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    throw std::runtime_error(std::string("sha-256: ") + what + ": " + reason);
}

md_ctx new_context()
{
    md_ctx ctx(EVP_MD_CTX_new());
    if (!ctx) throw_openssl("EVP_MD_CTX_new");
    return ctx;
}

digest finish(EVP_MD_CTX* ctx)
{
    digest d{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx, d.data(), &len) != 1)
        throw_openssl("EVP_DigestFinal_ex");
    if (len != d.size()) throw_openssl("unexpected digest length");
    return d;
}

} // namespace

struct sha256_stream::impl {
    md_ctx ctx = new_context();
};

sha256_stream::sha256_stream() : impl_(std::make_unique<impl>())
{
    if (EVP_DigestInit_ex(impl_->ctx.get(), EVP_sha256(), nullptr) != 1)
        throw_openssl("EVP_DigestInit_ex");
}

sha256_stream::~sha256_stream() = default;
sha256_stream::sha256_stream(sha256_stream&&) noexcept = default;
sha256_stream& sha256_stream::operator=(sha256_stream&&) noexcept = default;

void sha256_stream::update(std::string_view bytes)
{
    if (bytes.empty()) return;
    if (EVP_DigestUpdate(impl_->ctx.get(), bytes.data(), bytes.size()) != 1)
        throw_openssl("EVP_DigestUpdate");
}

digest sha256_stream::so_far() const
{
    // Finished on a copy, so that the stream can go on.
    md_ctx copy = new_context();
    if (EVP_MD_CTX_copy_ex(copy.get(), impl_->ctx.get()) != 1)
        throw_openssl("EVP_MD_CTX_copy_ex");
    return finish(copy.get());
}

digest sha256(std::string_view bytes)
{
    digest d{};
    unsigned int len = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &len, EVP_sha256(),
                   nullptr) != 1 ||
        len != d.size())
        throw_openssl("EVP_Digest");
    return d;
}

digest tagged_sha256(std::string_view tag,
                     std::initializer_list<std::string_view> parts)
{
    sha256_stream sha;
    sha.update(tag);
    for (std::string_view part : parts) {
        sha.update(std::string_view("\0", 1));
        sha.update(part);
    }
    return sha.so_far();
}

std::string to_hex(const digest& d)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(d.size() * 2);
    for (const unsigned char b : d) {
        hex.push_back(digits[b >> 4]);
        hex.push_back(digits[b & 0x0f]);
    }
    return hex;
}

} // namespace ks
