#pragma once

#include "core/sha256.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ks::http {

/// The credentials the sink accepts in an Authorization header, as the
/// shippers send them: `Bearer <token>` (Vector, Fluent Bit through a
/// header) or `Basic <base64 user:password>` (all five). Only digests
/// are kept, and every check compares against all of them in constant
/// time, so neither the timing nor a core dump gives a secret away.
class credentials {
public:
    void add_bearer(std::string_view token);
    void add_basic(std::string_view user, std::string_view password);

    bool empty() const noexcept { return digests_.empty(); }
    std::size_t size() const noexcept { return digests_.size(); }

    /// Whether the value of an Authorization header names one of them.
    /// Scheme names are matched case-insensitively; anything malformed is
    /// simply not accepted.
    bool accepts(std::string_view authorization) const;

    /// Adds what a credentials file holds: one credential per line,
    /// `bearer TOKEN` or `basic USER:PASSWORD`; blank lines and lines
    /// starting with '#' are skipped. Returns a sentence naming the file
    /// and line when it cannot be used.
    std::optional<std::string> add_file(const std::string& path);

    /// Adds KORESHIELD_SINK_TOKEN (a bearer token) and
    /// KORESHIELD_SINK_BASIC_AUTH (USER:PASSWORD) when they are set.
    /// Returns a sentence when one is set but cannot be used.
    std::optional<std::string> add_environment();

private:
    std::vector<digest> digests_;
};

/// True for an address that only this machine can reach: 127.0.0.0/8,
/// ::1, and the name localhost.
bool is_loopback_host(std::string_view host);

} // namespace ks::http
