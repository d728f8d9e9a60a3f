#include "pg/db_error.hpp"

namespace ks::pg {

namespace {

bool in_class(std::string_view sqlstate, std::string_view cls) noexcept
{
    return sqlstate.size() == 5 && sqlstate.substr(0, 2) == cls;
}

// libpq ends its messages with a newline; ours are joined into one line.
std::string_view trimmed(const char* text) noexcept
{
    if (text == nullptr) return {};
    std::string_view s(text);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.remove_suffix(1);
    return s;
}

// Appends `text` on one line, as ours go in one log line: libpq breaks
// long sentences and puts hints on lines of their own, indented. A line
// that starts a new sentence is set off with "; ", a continued one with a
// space.
void append_one_line(std::string& out, std::string_view text)
{
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\n') {
            out += text[i];
            continue;
        }
        while (i + 1 < text.size() &&
               (text[i + 1] == '\t' || text[i + 1] == ' '))
            ++i;
        bool new_sentence =
            i + 1 < text.size() && text[i + 1] >= 'A' && text[i + 1] <= 'Z';
        out += new_sentence ? "; " : " ";
    }
}

std::string join(std::string_view step, std::string_view cause)
{
    std::string m(step);
    m += ": ";
    append_one_line(m, cause.empty() ? "no message from libpq" : cause);
    return m;
}

// The tuple number in a COPY's CONTEXT, which may hold other lines (a
// trigger's, say) before "COPY name, line 17" or "COPY name, line 17,
// column c: ...": the first ", line " followed by digits on that line.
std::uint64_t copy_line_of(std::string_view context) noexcept
{
    std::size_t start = 0;
    while (start < context.size()) {
        std::size_t end = context.find('\n', start);
        if (end == std::string_view::npos) end = context.size();
        std::string_view line = context.substr(start, end - start);
        start = end + 1;
        if (line.substr(0, 5) != "COPY ") continue;

        constexpr std::string_view marker = ", line ";
        for (std::size_t at = line.find(marker); at != std::string_view::npos;
             at = line.find(marker, at + 1)) {
            std::uint64_t n = 0;
            std::size_t i = at + marker.size();
            for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
                if (n > (UINT64_MAX - 9) / 10) return 0;
                n = n * 10 + static_cast<std::uint64_t>(line[i] - '0');
            }
            if (i > at + marker.size() && (i == line.size() || line[i] == ','))
                return n;
        }
    }
    return 0;
}

} // namespace

bool is_data_sqlstate(std::string_view sqlstate) noexcept
{
    return in_class(sqlstate, "22") || in_class(sqlstate, "23") ||
           sqlstate == "XX000" || sqlstate == "08P01";
}

bool is_transient_sqlstate(std::string_view sqlstate) noexcept
{
    if (sqlstate == "08P01") return false;
    return in_class(sqlstate, "08") || in_class(sqlstate, "53") ||
           in_class(sqlstate, "57") || sqlstate == "40001" ||
           sqlstate == "40P01" || sqlstate == "40003" || sqlstate == "55P03";
}

error_kind classify(std::string_view sqlstate, bool connection_ok) noexcept
{
    // The data classes come first: the same bytes fail on any connection.
    if (is_data_sqlstate(sqlstate)) return error_kind::data;

    // Without a SQLSTATE libpq itself failed, which means the link did.
    if (!connection_ok || sqlstate.empty()) return error_kind::transient;

    return is_transient_sqlstate(sqlstate) ? error_kind::transient
                                           : error_kind::data;
}

db_error error_from_result(const PGresult* res, const PGconn* conn,
                           std::string_view step)
{
    // The primary message, or libpq's whole text when the server sent none.
    std::string_view primary =
        trimmed(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    if (primary.empty()) primary = trimmed(PQresultErrorMessage(res));
    if (primary.empty()) primary = trimmed(PQerrorMessage(conn));

    // CONTEXT names the tuple and column, which is what a client can fix.
    std::string message = join(step, primary);
    std::string_view context =
        trimmed(PQresultErrorField(res, PG_DIAG_CONTEXT));
    if (!context.empty()) {
        message += " (";
        append_one_line(message, context);
        message += ')';
    }

    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    std::string sqlstate = state != nullptr ? state : "";
    bool connection_ok = PQstatus(conn) == CONNECTION_OK;
    std::string alone;
    append_one_line(alone, primary);
    return db_error{classify(sqlstate, connection_ok), std::move(sqlstate),
                    std::move(message), std::move(alone),
                    copy_line_of(context)};
}

db_error error_from_connection(const PGconn* conn, std::string_view step)
{
    return db_error{error_kind::transient, "",
                    join(step, trimmed(PQerrorMessage(conn)))};
}

} // namespace ks::pg
