// Credentials end to end: a sink that requires them answers 401 before
// reading a body, takes Bearer and Basic as shippers send them, guards
// the health check too, and will not serve other hosts without them.

#include "sink_fixture.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

using namespace ks::test;

TEST_CASE("with credentials, requests without them get 401 and store "
          "nothing; Bearer and Basic pass")
{
    temp_dir dir("auth");
    std::ofstream(dir.file("creds")) << "bearer vector-token\n"
                                        "basic logstash:s3cret\n";
    sink_fixture f({"--auth-file", dir.file("creds")});
    const std::string body = vector_ndjson(koreshield_events(0, 3));

    // No header, a wrong token: 401 with both challenges, body unread.
    for (const char* auth : {"", "Bearer wrong", "Basic bG9nc3Rhc2g6eA=="}) {
        INFO("Authorization: " << auth);
        http_request req{"POST", "/ingest",
                         vector_headers("application/x-ndjson"), body};
        if (*auth) req.headers.emplace_back("Authorization", auth);
        http_client c = f.client();
        auto res = c.send(req);
        require_error(res, 401, "unauthorized", f.sink);
        CHECK(res.header("WWW-Authenticate").has_value());
        CHECK(c.peer_closed());
    }
    CHECK(f.count("koreshield_events") == "0");

    // The health check is guarded too, as Vector's probe sends auth.
    http_request health{"HEAD", "/health", {}, ""};
    CHECK(f.send(health).status == 401);
    health.headers.emplace_back("Authorization", "Bearer vector-token");
    CHECK(f.send(health).status == 200);

    http_request bearer{"POST", "/ingest",
                        vector_headers("application/x-ndjson"), body};
    bearer.headers.emplace_back("authorization", "Bearer vector-token");
    require_loaded(f.send(bearer), f.sink, 3, 3, 0);

    http_request basic{"POST", "/ingest",
                       vector_headers("application/x-ndjson"),
                       vector_ndjson(koreshield_events(3, 2))};
    basic.headers.emplace_back("Authorization",
                               "Basic bG9nc3Rhc2g6czNjcmV0");
    require_loaded(f.send(basic), f.sink, 2, 2, 0);
    CHECK(f.count("koreshield_events") == "5");
}

TEST_CASE("the sink will not listen beyond loopback without credentials "
          "unless told to")
{
    const std::string dsn = fresh_database("http");
    std::string out;
    CHECK(run_sink_to_exit({"--listen", "0.0.0.0:0", "--dsn", dsn}, out) ==
          2);
    CHECK_THAT(out, Catch::Contains("--no-auth"));

    temp_dir dir("auth");
    std::ofstream(dir.file("empty")) << "# nothing yet\n";
    CHECK(run_sink_to_exit({"--auth-file", dir.file("empty"), "--dsn", dsn},
                           out) == 2);
    CHECK_THAT(out, Catch::Contains("holds no credential"));

    std::ofstream(dir.file("bad")) << "token x\n";
    CHECK(run_sink_to_exit({"--auth-file", dir.file("bad"), "--dsn", dsn},
                           out) == 2);
    CHECK_THAT(out, Catch::Contains("line 1"));

    // Tests listen on loopback only, so --no-auth is only seen accepted.
    sink_process open(sink_args(dsn, {"--no-auth"}));
    CHECK(open.port() != 0);
}
