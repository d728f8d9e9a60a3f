#pragma once

#include "pg/connection.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ks::pg {

/// One COPY FROM STDIN in progress. complete() ends it and reads the
/// server's verdict; a stream destroyed before complete() sends CopyFail,
/// so a COPY cut short is refused by the server, never committed.
class copy_stream {
public:
    /// Bytes handed to libpq per PQputCopyData call.
    static constexpr std::size_t chunk_bytes = 256 * 1024;

    /// Takes over `conn` after connection::start_copy succeeded; `step`
    /// names the COPY in error messages.
    copy_stream(connection& conn, std::string step);
    /// Abandons the COPY with CopyFail unless complete() was called.
    ~copy_stream();
    copy_stream(const copy_stream&) = delete;
    copy_stream& operator=(const copy_stream&) = delete;

    /// Sends `bytes` in chunks. Blocks while the socket is full. A bad
    /// row is not reported here: the server answers only at the end.
    [[nodiscard]] db_status write(std::string_view bytes);

    /// Ends the stream and reads the COPY's outcome; on success `rows` is
    /// the count of rows the server stored, and connection::next_copy()
    /// or connection::finish() reads what the rest of the string did. On
    /// failure the server skipped the rest, and it is read here.
    [[nodiscard]] db_status complete(std::uint64_t& rows);

private:
    [[nodiscard]] db_status read_outcome(std::uint64_t& rows);
    void drain() noexcept;

    PGconn* conn_;
    std::string step_;
    bool open_ = true;
};

} // namespace ks::pg
