// Credentials as shippers send them: Bearer tokens and Basic user and
// password, from a file or the environment.

#include "http/auth.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <string>

using ks::http::credentials;

TEST_CASE("bearer tokens and basic credentials are accepted, others not")
{
    credentials c;
    CHECK(c.empty());
    c.add_bearer("s3cret-token");
    c.add_basic("vector", "pa:ss");
    CHECK(c.size() == 2);

    CHECK(c.accepts("Bearer s3cret-token"));
    CHECK(c.accepts("bearer s3cret-token"));
    CHECK(c.accepts("  BEARER   s3cret-token  "));
    // "vector:pa:ss": the first colon ends the user.
    CHECK(c.accepts("Basic dmVjdG9yOnBhOnNz"));
    CHECK(c.accepts("basic dmVjdG9yOnBhOnNz"));

    CHECK_FALSE(c.accepts(""));
    CHECK_FALSE(c.accepts("Bearer"));
    CHECK_FALSE(c.accepts("Bearer s3cret-toke"));
    CHECK_FALSE(c.accepts("Bearer s3cret-token2"));
    CHECK_FALSE(c.accepts("Token s3cret-token"));
    // The token is not a basic password, nor the other way round.
    CHECK_FALSE(c.accepts("Basic czNjcmV0LXRva2Vu"));
    CHECK_FALSE(c.accepts("Bearer vector:pa:ss"));
    // Wrong password, bad base64, no colon.
    CHECK_FALSE(c.accepts("Basic dmVjdG9yOnBhOnN6"));
    CHECK_FALSE(c.accepts("Basic dmVjdG9yOnBhOnNz="));
    CHECK_FALSE(c.accepts("Basic !!!!"));
    CHECK_FALSE(c.accepts("Basic dmVjdG9y"));
}

TEST_CASE("a credentials file holds one per line; a bad line is named")
{
    ks::test::temp_dir dir("auth");
    auto write = [&](const std::string& text) {
        std::ofstream(dir.file("creds")) << text;
        return dir.file("creds");
    };

    credentials good;
    CHECK_FALSE(good.add_file(write("# shippers\n\nbearer abc\n"
                                    "basic fluent:bit\r\n  bearer  def  \n")));
    CHECK(good.size() == 3);
    CHECK(good.accepts("Bearer def"));
    CHECK(good.accepts("Basic Zmx1ZW50OmJpdA=="));

    struct bad {
        const char* text;
        const char* says;
    };
    for (const bad& b :
         {bad{"bearer\n", "line 1: expected"},
          bad{"# x\nbasic nocolon\n", "line 2: basic credentials are"},
          bad{"basic :nouser\n", "line 1: basic credentials are"},
          bad{"token abc\n", "line 1: 'token' is not"},
          bad{"bearer a b\n", "line 1: a bearer token cannot"}}) {
        credentials c;
        auto problem = c.add_file(write(b.text));
        REQUIRE(problem.has_value());
        CHECK_THAT(*problem, Catch::Contains(b.says));
    }
    credentials none;
    auto missing = none.add_file(dir.file("absent"));
    REQUIRE(missing.has_value());
    CHECK_THAT(*missing, Catch::Contains("cannot read"));
}

TEST_CASE("credentials come from the environment too")
{
    ::setenv("KORESHIELD_SINK_TOKEN", "env-token", 1);
    ::setenv("KORESHIELD_SINK_BASIC_AUTH", "logstash:pw", 1);
    credentials c;
    CHECK_FALSE(c.add_environment());
    CHECK(c.accepts("Bearer env-token"));
    CHECK(c.accepts("Basic bG9nc3Rhc2g6cHc="));

    ::setenv("KORESHIELD_SINK_BASIC_AUTH", "nopassword", 1);
    credentials bad;
    CHECK(bad.add_environment().has_value());
    ::unsetenv("KORESHIELD_SINK_TOKEN");
    ::unsetenv("KORESHIELD_SINK_BASIC_AUTH");
}

TEST_CASE("loopback hosts are told from others")
{
    for (const char* h : {"127.0.0.1", "127.1.2.3", "::1", "localhost"})
        CHECK(ks::http::is_loopback_host(h));
    for (const char* h : {"0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "sink"})
        CHECK_FALSE(ks::http::is_loopback_host(h));
}
