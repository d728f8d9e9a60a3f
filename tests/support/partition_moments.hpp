#pragma once

#include "support/test_db.hpp"

#include <string>
#include <vector>

namespace ks::test {

/// An instant an event carries, and where the partitioned layout
/// (sql/30_partitions.sql) must put its row.
struct moment {
    std::string label; // part of a request id; no '-'
    std::string stamp; // the event's timestamp field
    std::string utc;   // event_time as the checks read it back
    bool has_month;    // a monthly partition holds it; else the default
};

/// The 15th of the month `months` away from this one (negative: back),
/// by the database's clock, which is the one that made the partitions.
std::string mid_month(test_db& db, int months);

/// The instants the partition tests send: three months that have
/// partitions (four back to four ahead are made), one just outside them,
/// and three no maintenance ever makes a partition for (1970, 2031 and
/// the last day PostgreSQL's timestamps reach in year 9999).
std::vector<moment> partition_moments(test_db& db);

/// The monthly partition pg_partman names for a moment's month.
std::string partition_of(const moment& m);

/// How many rows of koreshield_events are not in the partition of their
/// month, or not in the default one when their month has none: "0"
/// whatever the clock says.
std::string misplaced_rows(test_db& db);

} // namespace ks::test
