#include "pg/copy_stream.hpp"

#include <algorithm>
#include <charconv>

namespace ks::pg {

namespace {

constexpr const char* abandoned = "COPY abandoned by koreshield-sink";

} // namespace

copy_stream::copy_stream(connection& conn, std::string step)
    : conn_(conn.native()), step_(std::move(step))
{
}

copy_stream::~copy_stream()
{
    if (!open_) return;

    // CopyFail makes the server refuse the COPY (57014), the failure we
    // want; reading the results leaves the connection ready for ROLLBACK.
    if (PQputCopyEnd(conn_, abandoned) != 1) return;
    drain();
}

db_status copy_stream::write(std::string_view bytes)
{
    // libpq's send buffer stays small however much is streamed: the
    // connection is in blocking mode (connection::open makes sure), and
    // there PQputCopyData first flushes what is queued when the next
    // message would not fit, and sends as soon as 8 KiB are queued,
    // waiting while the socket is full. The buffer thus holds at most one
    // message of chunk_bytes plus what is left of the previous 8 KiB;
    // batches wait in their own memory, which the caller accounts for.
    while (!bytes.empty()) {
        std::size_t n = std::min(bytes.size(), chunk_bytes);
        if (PQputCopyData(conn_, bytes.data(), static_cast<int>(n)) != 1)
            return error_from_connection(conn_, step_);
        bytes.remove_prefix(n);
    }
    return std::nullopt;
}

db_status copy_stream::complete(std::uint64_t& rows)
{
    // Whatever happens next, the stream can no longer be abandoned.
    open_ = false;

    if (PQputCopyEnd(conn_, nullptr) != 1)
        return error_from_connection(conn_, step_);
    db_status e = read_outcome(rows);
    if (e) drain();
    return e;
}

db_status copy_stream::read_outcome(std::uint64_t& rows)
{
    result r(PQgetResult(conn_));
    if (!r)
        return db_error{error_kind::transient, "",
                        step_ + ": the server sent no result"};

    ExecStatusType s = PQresultStatus(r.get());
    if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH)
        return db_error{error_kind::transient, "",
                        step_ + ": COPY did not end"};
    if (s != PGRES_COMMAND_OK) return error_from_result(r.get(), conn_, step_);

    // PQcmdTuples is the row count of "COPY n" as text.
    std::string_view count = PQcmdTuples(r.get());
    auto [end, ec] =
        std::from_chars(count.data(), count.data() + count.size(), rows);
    if (ec != std::errc() || end != count.data() + count.size() ||
        count.empty())
        return db_error{error_kind::transient, "",
                        step_ + ": the server reported no row count"};
    return std::nullopt;
}

void copy_stream::drain() noexcept
{
    // Null once the server is ready again. A COPY state here means the
    // stream never ended: the link is given up (recover() closes it).
    for (;;) {
        result r(PQgetResult(conn_));
        if (!r) return;
        ExecStatusType s = PQresultStatus(r.get());
        if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH)
            return;
    }
}

} // namespace ks::pg
