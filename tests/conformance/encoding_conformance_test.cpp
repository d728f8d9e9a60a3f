// Content-Encoding at the edges of what shippers send (README, "HTTP
// interface"; wire-formats.md, section 7, rules 6 to 8): an unknown
// coding is refused with 415 naming the supported ones, and nothing of
// it is stored; the names and lists the sink accepts besides the ones
// each shipper suite already covers load.

#include "shipper_bodies.hpp"

using namespace ks::conf;
using ks::test::gzip_member;
using ks::test::json_string;
using ks::test::vector_headers;
using ks::test::zstd_streamed;

namespace {

/// A Vector NDJSON batch of file-source records and its rows.
std::pair<std::string, std::vector<want_row>> ndjson_batch(std::size_t first,
                                                           std::size_t count)
{
    std::vector<std::string> events;
    std::vector<want_row> rows;
    for (const auto& line : koreshield_lines(first, count, 0xe4c0)) {
        std::string e = vector_encode(
            vector_file_record(line, line.us * 1000 + 7'000'001, "gw-eu-1"));
        rows.push_back(wrapped_row(line, e, "message"));
        events.push_back(std::move(e));
    }
    return {vector_ndjson_body(events), rows};
}

} // namespace

TEST_CASE("Content-Encoding: an unknown coding gets 415, the message lists "
          "the supported ones, nothing is stored")
{
    sink_fixture f;
    std::string body = ndjson_batch(0, 5).first;

    // Codings no shipper here sends, alone and at the end of a list.
    for (const char* coding : {"br", "compress", "lz4", "xz", "gzip, br"}) {
        INFO("Content-Encoding: " << coding);
        auto res =
            f.send({"POST", "/ingest",
                    vector_headers("application/x-ndjson", coding), body});
        ks::test::require_error(res, 415, "unsupported_encoding", f.sink);
        std::string message = json_string(res.body, "message");
        for (const char* name :
             {"gzip", "x-gzip", "deflate", "zstd", "snappy", "identity"})
            CHECK(message.find(name) != std::string::npos);
    }
    CHECK(f.count("koreshield_events") == "0");
    CHECK(f.count("koreshield_dead_letters") == "0");
}

TEST_CASE("Content-Encoding: x-gzip, identity and a list undone last-first "
          "load")
{
    sink_fixture f;
    auto [a, a_rows] = ndjson_batch(10, 5);
    auto [b, b_rows] = ndjson_batch(15, 5);
    auto [c, c_rows] = ndjson_batch(20, 5);

    auto res = f.send({"POST", "/ingest",
                       vector_headers("application/x-ndjson", "x-gzip"),
                       gzip_member(a)});
    require_counts(res, f, 5, 5, 0);
    res = f.send({"POST", "/ingest",
                  vector_headers("application/x-ndjson", "identity"), b});
    require_counts(res, f, 5, 5, 0);
    // gzip applied first, zstd last: zstd is undone first.
    res = f.send({"POST", "/ingest",
                  vector_headers("application/x-ndjson", "gzip, zstd"),
                  zstd_streamed(gzip_member(c))});
    require_counts(res, f, 5, 5, 0);

    auto all = a_rows;
    all.insert(all.end(), b_rows.begin(), b_rows.end());
    all.insert(all.end(), c_rows.begin(), c_rows.end());
    require_stored(f, all);
}
