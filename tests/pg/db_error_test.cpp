#include "pg/db_error.hpp"

#include <catch2/catch.hpp>

using ks::pg::classify;
using ks::pg::error_kind;

TEST_CASE("SQLSTATEs are sorted into data errors and passing conditions")
{
    struct state_case {
        const char* sqlstate;
        bool connection_ok;
        error_kind kind;
    };
    const state_case cases[] = {
        // The data classes fail again anywhere, even on a lost link.
        {"22021", true, error_kind::data},
        {"22P02", true, error_kind::data},
        {"22P04", true, error_kind::data},
        {"23502", true, error_kind::data},
        {"23505", false, error_kind::data},
        {"XX000", true, error_kind::data},
        {"08P01", true, error_kind::data},
        {"08P01", false, error_kind::data},
        // Statements the server refuses whatever the timing.
        {"42P01", true, error_kind::data},
        {"42501", true, error_kind::data},
        {"40002", true, error_kind::data},
        // The link, the server's state or its resources.
        {"08006", true, error_kind::transient},
        {"08001", true, error_kind::transient},
        {"57P01", true, error_kind::transient},
        {"57P02", true, error_kind::transient},
        {"57P03", true, error_kind::transient},
        {"57014", true, error_kind::transient},
        {"53100", true, error_kind::transient},
        {"53300", true, error_kind::transient},
        {"40001", true, error_kind::transient},
        {"40P01", true, error_kind::transient},
        {"55P03", true, error_kind::transient},
        // No SQLSTATE: libpq failed, or the connection died meanwhile.
        {"", true, error_kind::transient},
        {"", false, error_kind::transient},
        {"42P01", false, error_kind::transient},
    };

    for (const state_case& c : cases) {
        CAPTURE(c.sqlstate, c.connection_ok);
        CHECK(classify(c.sqlstate, c.connection_ok) == c.kind);
    }
}

TEST_CASE("an error without a result or connection is transient")
{
    ks::pg::db_error e = ks::pg::error_from_connection(nullptr, "COMMIT");
    CHECK(e.kind == error_kind::transient);
    CHECK(e.sqlstate.empty());
    CHECK(e.message.rfind("COMMIT: ", 0) == 0);
}
