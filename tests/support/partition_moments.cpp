#include "support/partition_moments.hpp"

namespace ks::test {

std::string mid_month(test_db& db, int months)
{
    return db.scalar("SELECT to_char(date_trunc('month', now() AT TIME ZONE "
                     "'UTC') + make_interval(months => " +
                     std::to_string(months) +
                     ") + interval '14 days 12:34:56.789012', "
                     "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
}

std::vector<moment> partition_moments(test_db& db)
{
    const std::string now = mid_month(db, 0);
    const std::string last = mid_month(db, -1);
    const std::string back3 = mid_month(db, -3);
    const std::string back5 = mid_month(db, -5);
    return {
        {"now", now, now, true},
        {"last", last, last, true},
        {"back3", back3, back3, true},
        {"back5", back5, back5, false},
        {"y1970", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z", false},
        {"y2031", "2031-06-15T08:00:00.5Z", "2031-06-15T08:00:00.500000Z",
         false},
        {"y9999", "9999-12-31T00:00:00Z", "9999-12-31T00:00:00.000000Z", false},
    };
}

std::string partition_of(const moment& m)
{
    return "koreshield_events_p" + m.utc.substr(0, 4) + "_" +
           m.utc.substr(5, 2);
}

std::string misplaced_rows(test_db& db)
{
    return db.scalar(R"(
        SELECT count(*) FROM koreshield_events e
         WHERE e.tableoid::regclass::text <> coalesce(
               (SELECT c.relname::text FROM pg_inherits i
                  JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'koreshield_events'::regclass
                   AND c.relname = 'koreshield_events_p' ||
                       to_char(e.event_time AT TIME ZONE 'UTC', 'YYYY_MM')),
               'koreshield_events_default'))");
}

} // namespace ks::test
