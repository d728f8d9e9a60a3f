#include "pg/connection.hpp"

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>
#include <vector>

namespace ks::pg {

namespace {

constexpr const char* application_name = "koreshield-sink";

// The default processor prints to stderr; this stage logs nothing, and a
// FATAL that arrives while idle is reported by usable() instead.
void ignore_notice(void*, const char*) {}

// True when the server has sent something that has not been read yet.
bool input_pending(PGconn* conn) noexcept
{
    pollfd p{};
    p.fd = PQsocket(conn);
    p.events = POLLIN;
    if (p.fd < 0) return true; // no socket: let libpq report the failure
    int n;
    do {
        n = poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    return n != 0;
}

// COPY streams far more than the default socket buffer holds (~200 KiB),
// and each time it fills, the sending thread sleeps until the server has
// read three quarters of it: a context switch every few hundred rows.
// A larger buffer lets a whole group go out between two waits. The kernel
// caps it at net.core.wmem_max; failing is harmless.
void widen_send_buffer(int fd) noexcept
{
    constexpr int wanted = 4 << 20;
    if (fd >= 0)
        static_cast<void>(
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &wanted, sizeof wanted));
}

bool is_copy_status(ExecStatusType s) noexcept
{
    return s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH;
}

} // namespace

connection::~connection()
{
    close();
}

db_status connection::open(const std::string& dsn, unsigned connect_timeout_s)
{
    close();

    // Entries before "dbname" are defaults that the expanded DSN
    // overrides; entries after it override the DSN. An empty DSN is left
    // out so libpq falls back to the PG* environment. Keepalives (TCP
    // only) bound how long a batch waits on a server that vanished
    // without closing the link: about a minute instead of the system's
    // two hours.
    std::string timeout = std::to_string(connect_timeout_s);
    const char* keys[8] = {"connect_timeout", "fallback_application_name",
                           "keepalives_idle", "keepalives_interval",
                           "keepalives_count"};
    const char* values[8] = {timeout.c_str(), application_name, "30", "10",
                             "3"};
    int n = 5;
    if (!dsn.empty()) {
        keys[n] = "dbname";
        values[n++] = dsn.c_str();
    }
    keys[n] = "client_encoding";
    values[n++] = "UTF8";
    keys[n] = nullptr;
    values[n] = nullptr;

    // PQconnectdbParams returns null only when it cannot allocate.
    PGconn* c = PQconnectdbParams(keys, values, 1);
    if (c == nullptr)
        return db_error{error_kind::transient, "",
                        "cannot connect to PostgreSQL: out of memory"};
    if (PQstatus(c) != CONNECTION_OK) {
        db_error e = error_from_connection(c, "cannot connect to PostgreSQL");
        PQfinish(c);
        return e;
    }

    // Blocking mode is libpq's default; it is set anyway because COPY
    // relies on it to keep libpq's send buffer from growing.
    if (PQsetnonblocking(c, 0) != 0) {
        db_error e = error_from_connection(c, "cannot use blocking mode");
        PQfinish(c);
        return e;
    }

    widen_send_buffer(PQsocket(c));
    PQsetNoticeProcessor(c, ignore_notice, nullptr);
    conn_ = c;
    return std::nullopt;
}

void connection::close() noexcept
{
    if (conn_ == nullptr) return;
    PQfinish(conn_);
    conn_ = nullptr;
}

bool connection::usable() noexcept
{
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) return false;
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) return false;

    // Reading parses notices and a FATAL; end of file marks the link bad.
    // One read stops at the FATAL even when the end of the stream came
    // with it (a server restart leaves both behind), so read once more.
    for (int reads = 0; reads < 2 && input_pending(conn_); ++reads)
        if (PQconsumeInput(conn_) != 1) return false;
    return PQstatus(conn_) == CONNECTION_OK;
}

bool connection::lost(const db_error& e) noexcept
{
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) return true;

    // An error of libpq's own, without a SQLSTATE. When the server went
    // away while the connection sat idle (an immediate shutdown or a
    // crash sends no FATAL, only a warning), sending the next statement
    // fails and libpq reports it with the connection still marked good,
    // keeping it to read the server's last words. Reading finds the end
    // of the stream and marks it bad; on a live link it reads nothing.
    if (e.sqlstate.empty()) {
        static_cast<void>(PQconsumeInput(conn_));
        return PQstatus(conn_) != CONNECTION_OK;
    }
    return e.sqlstate.size() == 5 && e.sqlstate.compare(0, 3, "57P") == 0;
}

db_status connection::exec(const char* sql, std::string_view step)
{
    result r(PQexec(conn_, sql));
    if (!r) return error_from_connection(conn_, step);

    ExecStatusType s = PQresultStatus(r.get());
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return std::nullopt;
    if (is_copy_status(s))
        return db_error{error_kind::transient, "",
                        std::string(step) + ": unexpected COPY"};
    return error_from_result(r.get(), conn_, step);
}

db_status connection::query(const std::string& sql,
                            std::span<const text_value> params,
                            std::string_view step, std::vector<text_row>& rows)
{
    std::vector<const char*> texts;
    texts.reserve(params.size());
    for (const text_value& p : params)
        texts.push_back(p ? p->c_str() : nullptr);

    result r(PQexecParams(conn_, sql.c_str(), static_cast<int>(texts.size()),
                          nullptr, texts.data(), nullptr, nullptr, 0));
    if (!r) return error_from_connection(conn_, step);
    ExecStatusType s = PQresultStatus(r.get());
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
        return error_from_result(r.get(), conn_, step);

    rows.clear();
    const int n = PQntuples(r.get());
    const int fields = PQnfields(r.get());
    rows.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        text_row& row = rows.emplace_back();
        row.reserve(static_cast<std::size_t>(fields));
        for (int f = 0; f < fields; ++f) {
            if (PQgetisnull(r.get(), i, f))
                row.emplace_back();
            else
                row.emplace_back(std::string(PQgetvalue(r.get(), i, f),
                                             static_cast<std::size_t>(
                                                 PQgetlength(r.get(), i, f))));
        }
    }
    return std::nullopt;
}

db_status connection::query_flag(const std::string& sql,
                                 std::span<const std::string> params,
                                 std::string_view step, bool& value)
{
    std::vector<const char*> texts;
    texts.reserve(params.size());
    for (const std::string& p : params)
        texts.push_back(p.c_str());

    // Text in, text out: a boolean reads "t" or "f".
    result r(PQexecParams(conn_, sql.c_str(), static_cast<int>(texts.size()),
                          nullptr, texts.data(), nullptr, nullptr, 0));
    if (!r) return error_from_connection(conn_, step);
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
        return error_from_result(r.get(), conn_, step);
    if (PQntuples(r.get()) != 1 || PQnfields(r.get()) != 1 ||
        PQgetisnull(r.get(), 0, 0))
        return db_error{error_kind::transient, "",
                        std::string(step) + ": expected one boolean"};
    value = std::string_view(PQgetvalue(r.get(), 0, 0)) == "t";
    return std::nullopt;
}

db_status connection::commit()
{
    constexpr std::string_view step = "COMMIT";
    result r(PQexec(conn_, "COMMIT"));
    if (!r) return error_from_connection(conn_, step);
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
        return error_from_result(r.get(), conn_, step);

    // Cannot happen while every earlier step is checked; if it did, the
    // rows were not stored and the batch must not be reported committed.
    if (std::string_view(PQcmdStatus(r.get())) != "COMMIT")
        return db_error{error_kind::transient, "",
                        "COMMIT: the server rolled the transaction back"};
    return std::nullopt;
}

db_status connection::start_copy(const std::string& sql, std::string_view step)
{
    if (PQsendQuery(conn_, sql.c_str()) != 1)
        return error_from_connection(conn_, step);
    return next_copy(step);
}

db_status connection::next_copy(std::string_view step)
{
    // An error ends the string, so the COPY never starts and the results
    // run out instead.
    bool copying = false;
    db_status failure = read_results(step, true, copying);
    if (copying) return std::nullopt;

    // The string held no COPY: the statement, not the server, is wrong.
    if (!failure)
        failure = db_error{error_kind::data, "",
                           std::string(step) +
                               ": the server never asked for COPY data"};
    return failure;
}

db_status connection::finish(std::string_view step)
{
    bool copying = false;
    return read_results(step, false, copying);
}

db_status connection::read_results(std::string_view step, bool copy_wanted,
                                   bool& copying)
{
    // Results arrive per statement, until null once the server is ready.
    db_status failure;
    for (;;) {
        result r(PQgetResult(conn_));
        if (!r) break;

        ExecStatusType s = PQresultStatus(r.get());
        if (s == PGRES_COPY_IN && copy_wanted && !failure) {
            copying = true;
            return std::nullopt;
        }

        // Any other COPY state would return forever; recover() closes.
        if (is_copy_status(s)) {
            if (!failure)
                failure = db_error{error_kind::transient, "",
                                   std::string(step) + ": unexpected COPY"};
            break;
        }
        bool fine = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ||
                    s == PGRES_EMPTY_QUERY;
        if (!fine && !failure)
            failure = error_from_result(r.get(), conn_, step);
    }
    return failure;
}

void connection::recover() noexcept
{
    if (conn_ == nullptr) return;
    if (PQstatus(conn_) != CONNECTION_OK) {
        close();
        return;
    }

    // In or after a failed transaction: ROLLBACK must bring it to idle.
    PGTransactionStatusType t = PQtransactionStatus(conn_);
    if (t == PQTRANS_IDLE) return;
    if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR) {
        result r(PQexec(conn_, "ROLLBACK"));
        if (r && PQresultStatus(r.get()) == PGRES_COMMAND_OK &&
            PQtransactionStatus(conn_) == PQTRANS_IDLE)
            return;
    }

    // A command still active (a COPY never ended) or an unknown state.
    close();
}

} // namespace ks::pg
