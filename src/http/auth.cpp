#include "http/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <fstream>

namespace ks::http {
namespace {

// Each kind of credential hashes with its own prefix, so a token can
// never pass for a user and password.
digest bearer_digest(std::string_view token)
{
    return tagged_sha256("bearer", {token});
}

digest basic_digest(std::string_view user_colon_password)
{
    return tagged_sha256("basic", {user_colon_password});
}

bool same_word(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (x != b[i]) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                          s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Standard base64 with padding, as RFC 7617 asks; nothing else passes.
std::optional<std::string> from_base64(std::string_view text)
{
    if (text.empty() || text.size() % 4 != 0) return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(text.data()),
        static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;

    // EVP_DecodeBlock counts the bytes that padding stands for.
    std::size_t size = static_cast<std::size_t>(n);
    if (text.ends_with("==")) size -= 2;
    else if (text.ends_with('=')) size -= 1;
    out.resize(size);
    return out;
}

} // namespace

void credentials::add_bearer(std::string_view token)
{
    digests_.push_back(bearer_digest(token));
}

void credentials::add_basic(std::string_view user, std::string_view password)
{
    std::string pair(user);
    pair += ':';
    pair += password;
    digests_.push_back(basic_digest(pair));
}

bool credentials::accepts(std::string_view authorization) const
{
    authorization = trim(authorization);
    const std::size_t space = authorization.find(' ');
    if (space == std::string_view::npos) return false;
    const std::string_view scheme = authorization.substr(0, space);
    const std::string_view value = trim(authorization.substr(space + 1));
    if (value.empty()) return false;

    digest presented;
    if (same_word(scheme, "bearer")) {
        presented = bearer_digest(value);
    } else if (same_word(scheme, "basic")) {
        auto pair = from_base64(value);
        if (!pair || pair->find(':') == std::string::npos) return false;
        presented = basic_digest(*pair);
    } else {
        return false;
    }

    // Every digest is compared, whichever matches.
    int matches = 0;
    for (const digest& d : digests_)
        matches |= CRYPTO_memcmp(d.data(), presented.data(), d.size()) == 0;
    return matches != 0;
}

std::optional<std::string> credentials::add_file(const std::string& path)
{
    std::ifstream in(path);
    if (!in) return "cannot read the credentials file " + path;

    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const std::string_view l = trim(line);
        if (l.empty() || l.front() == '#') continue;

        const std::string where = path + ", line " + std::to_string(number);
        const std::size_t space = l.find_first_of(" \t");
        const std::string_view kind = l.substr(0, space);
        const std::string_view secret =
            space == std::string_view::npos ? std::string_view()
                                            : trim(l.substr(space + 1));
        if (secret.empty())
            return where + ": expected 'bearer TOKEN' or "
                           "'basic USER:PASSWORD'";
        if (same_word(kind, "bearer")) {
            if (secret.find_first_of(" \t") != std::string_view::npos)
                return where + ": a bearer token cannot hold spaces";
            add_bearer(secret);
        } else if (same_word(kind, "basic")) {
            const std::size_t colon = secret.find(':');
            if (colon == std::string_view::npos || colon == 0)
                return where + ": basic credentials are USER:PASSWORD";
            add_basic(secret.substr(0, colon), secret.substr(colon + 1));
        } else {
            return where + ": '" + std::string(kind) +
                   "' is not 'bearer' or 'basic'";
        }
    }
    return std::nullopt;
}

std::optional<std::string> credentials::add_environment()
{
    if (const char* token = std::getenv("KORESHIELD_SINK_TOKEN");
        token != nullptr && *token != '\0') {
        const std::string_view t = trim(token);
        if (t.empty() || t.find_first_of(" \t") != std::string_view::npos)
            return "KORESHIELD_SINK_TOKEN must be one token without spaces";
        add_bearer(t);
    }
    if (const char* basic = std::getenv("KORESHIELD_SINK_BASIC_AUTH");
        basic != nullptr && *basic != '\0') {
        const std::string_view b(basic);
        const std::size_t colon = b.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return "KORESHIELD_SINK_BASIC_AUTH must be USER:PASSWORD";
        add_basic(b.substr(0, colon), b.substr(colon + 1));
    }
    return std::nullopt;
}

bool is_loopback_host(std::string_view host)
{
    return host == "::1" || host == "localhost" || host.starts_with("127.");
}

} // namespace ks::http
