// The sink started from a TOML config file: its mapping applies to the
// rows, and a flag on the command line wins over the file.

#include "sink_fixture.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

using namespace ks::test;

TEST_CASE("a config file sets the mapping and flags override its settings")
{
    temp_dir dir("config");
    std::ofstream(dir.file("sink.toml")) << R"(
[sink]
ingest-path = "/from-config"
io_threads = 2

[mapping.severity]
fields = ["prio", "severity"]
lowercase = true

[mapping.request_id]
fields = ["trace.id"]

[mapping.blocked]
action_fields = ["verdict"]
action_values = ["deny"]
)";
    sink_fixture f({"--config", dir.file("sink.toml"), "--ingest-path",
                    "/from-flag"});

    const std::string body =
        R"({"timestamp":"2026-03-01T10:00:00Z","event":"scan",)"
        R"("prio":"P1","trace":{"id":"t-9"},"verdict":"deny"})";
    CHECK(f.send({"POST", "/from-config", vector_headers("application/json"),
                  body})
              .status == 404);
    require_loaded(f.send({"POST", "/from-flag",
                           vector_headers("application/json"), body}),
                   f.sink, 1, 1, 0);
    CHECK(f.db.scalar("SELECT severity || ' ' || request_id || ' ' || "
                      "blocked FROM koreshield_events") == "p1 t-9 true");
}

TEST_CASE("a config file with a mistake stops the sink, naming the key")
{
    temp_dir dir("config");
    std::ofstream(dir.file("bad.toml")) << "[mapping.severity]\n"
                                           "fields = [\"a\", 3]\n";
    std::string out;
    CHECK(run_sink_to_exit({"--config", dir.file("bad.toml")}, out) == 2);
    CHECK_THAT(out, Catch::Contains("[mapping.severity] fields[1]"));
}
