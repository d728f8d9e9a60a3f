// The TOML config file: settings become flags placed before the command
// line, [mapping] fills the mapping rules, and every mistake is named by
// file, table and key.

#include "config/config_file.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

using ks::config::file_settings;
using ks::config::read_config;

namespace {

// A program with --writers, --dsn and the switch --no-dedup.
std::optional<bool> flags(const std::string& flag)
{
    if (flag == "--writers" || flag == "--dsn") return false;
    if (flag == "--no-dedup") return true;
    return std::nullopt;
}

struct config {
    ks::test::temp_dir dir{"config"};
    file_settings out;

    std::optional<std::string> read(const std::string& text,
                                    std::string_view table = "sink")
    {
        std::ofstream(dir.file("c.toml")) << text;
        out = {};
        return read_config(dir.file("c.toml"), table, flags, out);
    }
};

} // namespace

TEST_CASE("settings of [database] and the program's table become flags")
{
    config c;
    REQUIRE_FALSE(c.read("[database]\ndsn = \"dbname=logs\"\n"
                         "[sink]\nwriters = 4\nno_dedup = true\n"
                         "[load]\nworkers = 9\n"));
    // Keys of one table come in name order; each names a flag once.
    CHECK(c.out.arguments == std::vector<std::string>{
                                 "--dsn", "dbname=logs", "--no-dedup",
                                 "--writers", "4"});

    // A switch set to false is simply not given; the other program's
    // table is another program's business.
    REQUIRE_FALSE(c.read("[sink]\nno-dedup = false\n[load]\nwhatever = 1\n"));
    CHECK(c.out.arguments.empty());
}

TEST_CASE("[mapping] changes only what it names")
{
    config c;
    REQUIRE_FALSE(c.read(R"(
[mapping]
time_fields = ["ts", "meta.time"]
derive_severity = false
redact = ["sanitization.sanitized", "excerpt"]
[mapping.severity]
fields = ["prio"]
default = "low"
lowercase = false
level_fields = []
[mapping.provider]
fields = ["vendor"]
default = "self-hosted"
lowercase = true
[mapping.blocked]
action_values = ["deny"]
)"));
    const ks::map::mapping_rules& r = c.out.rules;
    CHECK(r.time == std::vector<std::string>{"ts", "meta.time"});
    CHECK(r.severity.fields == std::vector<std::string>{"prio"});
    CHECK(r.severity.fallback == "low");
    CHECK_FALSE(r.severity.lowercase);
    CHECK(r.level.empty());
    CHECK(r.provider.fallback == "self-hosted");
    CHECK(r.provider.lowercase);
    CHECK(r.blocked_action_values == std::vector<std::string>{"deny"});
    CHECK_FALSE(c.out.derive_severity);
    CHECK(r.redact ==
          std::vector<std::string>{"sanitization.sanitized", "excerpt"});

    // Untouched: the defaults.
    const ks::map::mapping_rules defaults;
    CHECK(r.event_type.fields == defaults.event_type.fields);
    CHECK(r.blocked_event_types == defaults.blocked_event_types);
    CHECK(c.out.unwrap_message);
}

TEST_CASE("every mistake names the file, the table and the key")
{
    config c;
    struct bad {
        const char* text;
        const char* says;
    };
    for (const bad& b : {
             bad{"[sink]\ncolour = 1\n", "[sink] colour: not a setting"},
             bad{"[sink]\nconfig = \"x\"\n", "[sink] config: not a setting"},
             bad{"[sink]\nwriters = 1.5\n", "[sink] writers: expected a "
                                            "string or a whole number"},
             bad{"[sink]\nno_dedup = 1\n", "[sink] no_dedup: expected true"},
             bad{"[sinks]\nwriters = 1\n", "'sinks' is not one of the tables"},
             bad{"writers = 1\n", "'writers' is not one of the tables"},
             bad{"[mapping]\nseverity_fields = []\n",
                 "[mapping] severity_fields: not a mapping setting"},
             bad{"[mapping.severity]\ncolour = 1\n",
                 "[mapping.severity] colour: not a setting of a column"},
             bad{"[mapping.severity]\nfields = \"severity\"\n",
                 "[mapping.severity] fields: expected a list"},
             bad{"[mapping.model]\nfields = [\"a..b\"]\n",
                 "[mapping.model] fields[0]: expected a field path"},
             bad{"[mapping.model]\nfields = [\"a\",\"b\",\"c\",\"d\",\"e\","
                 "\"f\",\"g\",\"h\",\"i\"]\n",
                 "at most 8 fields, 9 given"},
             bad{"[mapping.event_type]\ndefault = \"\"\n",
                 "default: the column cannot be NULL"},
             bad{"[mapping.provider]\ndefault = 3\n",
                 "[mapping.provider] default: expected a string (leave it "
                 "out for NULL)"},
             bad{"[mapping.blocked]\naction_values = [1]\n",
                 "[mapping.blocked] action_values[0]: expected a string"},
             bad{"[sink\n", "line 1, column"},
         }) {
        INFO(b.text);
        auto problem = c.read(b.text);
        REQUIRE(problem.has_value());
        CHECK_THAT(*problem, Catch::Contains(b.says));
        CHECK_THAT(*problem, Catch::Contains(c.dir.file("c.toml")));
    }

    file_settings out;
    auto missing = read_config(c.dir.file("absent.toml"), "sink", flags, out);
    REQUIRE(missing.has_value());
    CHECK_THAT(*missing, Catch::Contains("absent.toml"));
}
