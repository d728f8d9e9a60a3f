// koreshield-gen: writes a seeded batch of distinct KoreShield-like events
// shaped as a shipper sends them, and optionally the rows the sink must
// store for them, so a load can be checked column by column. With
// --bodies it cuts the events into many zstd-compressed request bodies
// for the throughput harness (bench/run).

#include <CLI/CLI.hpp>
#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

// Civil date from days since 1970-01-01 (proleptic Gregorian).
void civil_from_days(std::int64_t z, int& y, int& m, int& d)
{
    z += 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    std::int64_t doe = z - era * 146097;
    std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    std::int64_t mp = (5 * doy + 2) / 153;
    d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    y = static_cast<int>(yoe + era * 400 + (m <= 2));
}

// "YYYY-MM-DD?HH:MM:SS.ffffff" for Unix microseconds, with separator sep.
std::string format_time(std::int64_t unix_us, char sep)
{
    std::int64_t secs = unix_us / 1'000'000;
    int y, mo, d;
    civil_from_days(secs / 86400, y, mo, d);
    std::int64_t s = secs % 86400;
    char out[96];
    std::snprintf(out, sizeof out, "%04d-%02d-%02d%c%02d:%02d:%02d.%06lld",
                  y, mo, d, sep, static_cast<int>(s / 3600),
                  static_cast<int>(s / 60 % 60), static_cast<int>(s % 60),
                  static_cast<long long>(unix_us % 1'000'000));
    return out;
}

// JSON string literal for s (quotes included).
std::string json_string(std::string_view s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", c);
            out += esc;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// A field of the expected-rows file: COPY text format escaping.
std::string tsv(std::string_view s)
{
    std::string out;
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\t') out += "\\t";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

// A nullable field of the expected-rows file.
std::string tsv_nullable(const std::optional<std::string>& s)
{
    return s ? tsv(*s) : std::string("\\N");
}

// What the sink must store for one event.
struct expected_row {
    std::string event_time; // "YYYY-MM-DD HH:MM:SS.ffffff+00"
    std::string event_type;
    std::string severity;
    std::optional<std::string> provider;
    std::optional<std::string> model;
    std::string request_id;
    bool blocked = false;
    std::optional<std::string> taxonomy;
    std::string metadata;
};

struct event {
    std::string json; // the KoreShield line
    expected_row row;
};

// When the events happen: event i at start + i * spacing, plus up to a
// millisecond of jitter. By default 137 ms apart from 2026-02-17T09:21:44Z,
// when these shapes were current.
struct timeline {
    std::int64_t start_us = 1'771'320'104'000'000;
    std::int64_t spacing_us = 137'000;

    std::int64_t at(std::uint64_t i) const
    {
        return start_us + static_cast<std::int64_t>(i) * spacing_us;
    }
};

class generator {
public:
    generator(std::uint64_t seed, timeline times) : rng_(seed), times_(times)
    {}

    event make(std::uint64_t i)
    {
        // Distinct, ordered times while the spacing exceeds the jitter.
        std::int64_t t = times_.at(i) + pick(0, 999);
        std::string rid = uuid();
        switch (i % 7) {
        case 0: return chat_attack(t, rid);
        case 1: return blocked_line(t, rid);
        case 2: return rag_finding(t, rid);
        case 3: return audit_entry(t, rid);
        case 4: return threat_envelope(t, rid);
        case 5: return received_line(t, rid);
        default: return allowed_line(t, rid);
        }
    }

private:
    std::int64_t pick(std::int64_t lo, std::int64_t hi)
    {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
    }

    template <std::size_t N>
    std::string choose(const std::string_view (&options)[N])
    {
        return std::string(options[pick(0, N - 1)]);
    }

    std::string uuid()
    {
        char out[40];
        std::snprintf(out, sizeof out, "%08llx-%04llx-4%03llx-%04llx-%012llx",
                      static_cast<unsigned long long>(pick(0, 0xffffffff)),
                      static_cast<unsigned long long>(pick(0, 0xffff)),
                      static_cast<unsigned long long>(pick(0, 0xfff)),
                      static_cast<unsigned long long>(pick(0x8000, 0xbfff)),
                      static_cast<unsigned long long>(
                          pick(0, 0xffffffffffffLL)));
        return out;
    }

    // A confidence with two decimals, as text that round-trips exactly.
    std::string confidence() { return "0." + std::to_string(pick(50, 99)); }

    static std::string utc(std::int64_t t) { return format_time(t, ' ') + "+00"; }

    static int rank(std::string_view s)
    {
        if (s == "critical") return 3;
        if (s == "high") return 2;
        if (s == "medium") return 1;
        return 0;
    }

    event chat_attack(std::int64_t t, const std::string& rid)
    {
        std::string detector = choose({"direct_injection",
                                       "suspicious_pattern"});
        std::string risk = choose({"medium", "high", "critical"});
        std::string conf = confidence();
        std::string indicators =
            "[{\"type\":\"role_hijack\",\"severity\":\"high\"},"
            "{\"type\":\"keyword_match\",\"severity\":\"medium\"}]";
        event e;
        e.json = "{\"request_id\":" + json_string(rid) +
                 ",\"attack_type\":\"prompt_injection\",\"detection\":{"
                 "\"is_attack\":true,\"attack_type\":" + json_string(detector) +
                 ",\"confidence\":" + conf + ",\"indicators\":" + indicators +
                 ",\"processing_time_ms\":2.4},\"policy\":{\"allowed\":false,"
                 "\"action\":\"block\",\"reason\":\"High severity policy "
                 "violations detected: 1\",\"risk_class\":" + json_string(risk) +
                 "},\"event\":\"attack_detected\",\"logger\":"
                 "\"koreshield.logger\",\"level\":\"warning\",\"timestamp\":" +
                 json_string(format_time(t, 'T') + "Z") + "}";
        e.row.event_type = "attack_detected";
        e.row.severity = risk;
        e.row.taxonomy = "{\"type\":\"prompt_injection\",\"confidence\":" +
                         conf + ",\"indicators\":" + indicators +
                         ",\"detector_type\":" + json_string(detector) + "}";
        return finish(std::move(e), t, rid);
    }

    event blocked_line(std::int64_t t, const std::string& rid)
    {
        event e;
        e.json = "{\"request_id\":" + json_string(rid) +
                 ",\"reason\":\"Potential prompt injection detected\","
                 "\"event\":\"request_blocked\",\"logger\":"
                 "\"koreshield.logger\",\"level\":\"warning\",\"timestamp\":" +
                 json_string(format_time(t, 'T') + "Z") + "}";
        e.row.event_type = "request_blocked";
        e.row.severity = "warning";
        e.row.blocked = true;
        return finish(std::move(e), t, rid);
    }

    event rag_finding(std::int64_t t, const std::string& rid)
    {
        std::string conf = confidence();
        std::string severity = choose({"low", "medium", "high", "critical"});
        event e;
        e.json = "{\"request_id\":" + json_string(rid) +
                 ",\"attack_type\":\"indirect_injection\",\"endpoint\":"
                 "\"/v1/rag/scan\",\"scan_id\":" + json_string(uuid()) +
                 ",\"documents_with_threats\":1,\"total_threats_found\":1,"
                 "\"overall_confidence\":" + conf + ",\"overall_severity\":" +
                 json_string(severity) + ",\"threat_references\":[{\"document_id\":"
                 "\"kb-" + std::to_string(pick(1, 999)) + "\",\"threat_type\":"
                 "\"indirect_injection\",\"severity\":\"high\",\"confidence\":" +
                 conf + ",\"excerpt\":\"ignore previous instructions\","
                 "\"location\":{},\"evidence_refs\":[]}],\"event\":"
                 "\"attack_detected\",\"logger\":\"koreshield.logger\","
                 "\"level\":\"warning\",\"timestamp\":" +
                 json_string(format_time(t, 'T') + "Z") + "}";
        e.row.event_type = "attack_detected";
        e.row.severity = severity;
        e.row.taxonomy = "{\"type\":\"indirect_injection\",\"confidence\":" +
                         conf + "}";
        return finish(std::move(e), t, rid);
    }

    event audit_entry(std::int64_t t, const std::string& rid)
    {
        bool attack = pick(0, 1) == 1;
        std::string provider = choose({"openai", "anthropic", "koreshield"});
        std::string model = choose({"gpt-4o-mini", "prompt_scan",
                                    "claude-3-5-sonnet"});
        std::string conf = "0." + std::to_string(pick(70, 95));
        std::string indicator = choose({"low", "medium", "high"});
        std::string indicators = "[{\"type\":\"system_prompt_spoof\","
                                 "\"severity\":" + json_string(indicator) + "}]";
        event e;
        e.json = "{\"id\":" + json_string(uuid()) + ",\"request_id\":" +
                 json_string(rid) + ",\"timestamp\":" +
                 json_string(format_time(t, 'T')) +
                 ",\"event\":\"request_log\",\"path\":\"/v1/scan\","
                 "\"method\":\"POST\",\"provider\":" + json_string(provider) +
                 ",\"model\":" + json_string(model) + ",\"status\":" +
                 (attack ? "\"failure\",\"status_code\":403"
                         : "\"success\",\"status_code\":200") +
                 ",\"latency_ms\":9.7,\"tokens_total\":0,\"cost\":0.0,"
                 "\"is_blocked\":" + (attack ? "true" : "false") +
                 ",\"attack_detected\":" + (attack ? "true" : "false") +
                 ",\"attack_type\":" +
                 (attack ? "\"direct_injection\"" : "null") +
                 (attack ? ",\"attack_details\":{\"confidence\":" + conf +
                               ",\"indicators\":" + indicators + "}"
                         : std::string()) +
                 ",\"user_id\":\"u-1187\",\"ip\":null,\"user_agent\":null}";
        e.row.event_type = "request_log";
        e.row.provider = provider;
        e.row.model = model;
        e.row.blocked = attack;
        if (attack) {
            // KoreShield's rule: medium, raised to the worst indicator,
            // raised to high at confidence 0.85 or more.
            int r = std::max(1, rank(indicator));
            if (std::stod(conf) >= 0.85) r = std::max(r, 2);
            static constexpr std::string_view names[] = {
                "low", "medium", "high", "critical"};
            e.row.severity = std::string(names[r]);
            e.row.taxonomy = "{\"type\":\"direct_injection\",\"confidence\":" +
                             conf + ",\"indicators\":" + indicators + "}";
        } else {
            e.row.severity = "info";
        }
        return finish(std::move(e), t, rid);
    }

    event threat_envelope(std::int64_t t, const std::string& rid)
    {
        std::string attack = choose({"direct_injection",
                                     "suspicious_pattern"});
        std::string severity = choose({"medium", "high", "critical"});
        std::string action = choose({"blocked", "allowed"});
        std::string conf = confidence();
        event e;
        e.json = "{\"type\":\"threat_detected\",\"timestamp\":" +
                 json_string(format_time(t, 'T') + "+00:00") +
                 ",\"data\":{\"request_id\":" + json_string(rid) +
                 ",\"endpoint\":\"/v1/chat/completions\",\"attack_type\":" +
                 json_string(attack) + ",\"confidence\":" + conf +
                 ",\"severity\":" + json_string(severity) + ",\"action_taken\":" +
                 json_string(action) + ",\"user_id\":\"u-2210\"}}";
        e.row.event_type = "threat_detected";
        e.row.severity = severity;
        e.row.blocked = action == "blocked";
        e.row.taxonomy = "{\"type\":" + json_string(attack) +
                         ",\"confidence\":" + conf + "}";
        return finish(std::move(e), t, rid);
    }

    event received_line(std::int64_t t, const std::string& rid)
    {
        std::string model = choose({"gpt-4o-mini", "gpt-4o",
                                    "claude-3-5-sonnet"});
        event e;
        e.json = "{\"request_id\":" + json_string(rid) +
                 ",\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                 "\"model\":" + json_string(model) + ",\"message_count\":" +
                 std::to_string(pick(1, 12)) +
                 ",\"event\":\"request_received\",\"logger\":"
                 "\"koreshield.logger\",\"level\":\"info\",\"timestamp\":" +
                 json_string(format_time(t, 'T') + "Z") + "}";
        e.row.event_type = "request_received";
        e.row.severity = "info";
        e.row.model = model;
        return finish(std::move(e), t, rid);
    }

    event allowed_line(std::int64_t t, const std::string& rid)
    {
        event e;
        e.json = "{\"request_id\":" + json_string(rid) +
                 ",\"event\":\"request_allowed\",\"logger\":"
                 "\"koreshield.logger\",\"level\":\"info\",\"timestamp\":" +
                 json_string(format_time(t, 'T') + "Z") + "}";
        e.row.event_type = "request_allowed";
        e.row.severity = "info";
        return finish(std::move(e), t, rid);
    }

    static event finish(event e, std::int64_t t, const std::string& rid)
    {
        e.row.event_time = utc(t);
        e.row.request_id = rid;
        e.row.metadata = e.json;
        return e;
    }

    std::mt19937_64 rng_;
    timeline times_;
};

// Vector's file source without parsing: the line is a string in
// `message`, next to the read time and file metadata, keys sorted.
std::string vector_file_wrap(const event& e, std::uint64_t i,
                             const timeline& times, std::string& envelope)
{
    std::string read_time = format_time(times.at(i) + 5'000, 'T') + "431Z";
    envelope = "{\"file\":\"/var/log/koreshield/koreshield.log\","
               "\"host\":\"gw-eu-1\",\"source_type\":\"file\","
               "\"timestamp\":" + json_string(read_time) + "}";
    return "{\"file\":\"/var/log/koreshield/koreshield.log\",\"host\":"
           "\"gw-eu-1\",\"message\":" + json_string(e.json) +
           ",\"source_type\":\"file\",\"timestamp\":" + json_string(read_time) +
           "}";
}

void write_expected(std::ostream& out, const expected_row& r)
{
    out << r.event_time << '\t' << tsv(r.event_type) << '\t'
        << tsv(r.severity) << '\t' << tsv_nullable(r.provider) << '\t'
        << tsv_nullable(r.model) << '\t' << tsv(r.request_id) << '\t'
        << (r.blocked ? 't' : 'f') << '\t' << tsv_nullable(r.taxonomy) << '\t'
        << tsv(r.metadata) << '\n';
}

// The line a shipper sends for event number i. Wrapping moves the
// KoreShield line into `message`, so the stored metadata gains the
// shipper's envelope.
std::string shipped_line(event& e, std::uint64_t i, const timeline& times,
                         bool wrapped)
{
    if (!wrapped) return e.json;
    std::string envelope;
    std::string line = vector_file_wrap(e, i, times, envelope);
    e.row.metadata.pop_back();
    e.row.metadata += ",\"_envelope\":" + envelope + "}";
    return line;
}

struct cctx_deleter {
    void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};

// Cuts a stream of lines into request bodies the way a shipper's batch
// settings do, compresses each with zstd and writes it to its own file
// (000000.ndjson.zst, 000001.ndjson.zst, ...), then a summary.tsv with the
// totals the throughput harness reports against.
class body_writer {
public:
    body_writer(std::string dir, bool array, int level,
                std::uint64_t max_events, std::uint64_t max_bytes)
        : dir_(std::move(dir)), array_(array), level_(level),
          max_events_(max_events), max_bytes_(max_bytes),
          cctx_(ZSTD_createCCtx())
    {
        if (!cctx_) throw std::runtime_error("cannot create a zstd context");
        body_ = array_ ? "[" : "";
    }

    // Adds one line, first closing the body when the line would take it
    // over a limit (a line larger than max_bytes still gets a body).
    void add(std::string_view line)
    {
        std::uint64_t grown = body_.size() + (body_events_ ? 1 : 0) +
                              line.size() + (array_ ? 1 : 0);
        bool full = (max_events_ && body_events_ == max_events_) ||
                    (max_bytes_ && body_events_ && grown > max_bytes_);
        if (full) flush();

        if (body_events_) body_ += array_ ? ',' : '\n';
        body_ += line;
        ++body_events_;
    }

    // Writes the last body and the summary.
    void finish()
    {
        if (body_events_) flush();
        std::ofstream out(dir_ + "/summary.tsv");
        out << "bodies\tevents\tjson_bytes\tzstd_bytes\n"
            << bodies_ << '\t' << events_ << '\t' << json_bytes_ << '\t'
            << zstd_bytes_ << '\n';
        if (!out.flush()) throw std::runtime_error("cannot write summary");
    }

private:
    void flush()
    {
        // Close the body as Vector frames it: no delimiter at the end.
        if (array_) body_ += ']';
        packed_.resize(ZSTD_compressBound(body_.size()));
        std::size_t n =
            ZSTD_compressCCtx(cctx_.get(), packed_.data(), packed_.size(),
                              body_.data(), body_.size(), level_);
        if (ZSTD_isError(n))
            throw std::runtime_error(std::string("zstd: ") +
                                     ZSTD_getErrorName(n));

        char name[64];
        std::snprintf(name, sizeof name, "/%06llu.%s.zst",
                      static_cast<unsigned long long>(bodies_),
                      array_ ? "json" : "ndjson");
        std::ofstream out(dir_ + name, std::ios::binary);
        out.write(packed_.data(), static_cast<std::streamsize>(n));
        if (!out.flush())
            throw std::runtime_error("cannot write " + dir_ + name);

        // Count, then start the next body.
        ++bodies_;
        events_ += body_events_;
        json_bytes_ += body_.size();
        zstd_bytes_ += n;
        body_ = array_ ? "[" : "";
        body_events_ = 0;
    }

    std::string dir_;
    bool array_;
    int level_;
    std::uint64_t max_events_;
    std::uint64_t max_bytes_;
    std::unique_ptr<ZSTD_CCtx, cctx_deleter> cctx_;
    std::string body_;
    std::string packed_;
    std::uint64_t body_events_ = 0;
    std::uint64_t bodies_ = 0;
    std::uint64_t events_ = 0;
    std::uint64_t json_bytes_ = 0;
    std::uint64_t zstd_bytes_ = 0;
};

struct options {
    std::uint64_t count = 1000;
    std::uint64_t seed = 1;
    std::uint64_t first_index = 0;
    std::string format = "array";
    std::string wrap = "vector-file";
    std::string expect_path;
    std::string bodies_dir;
    std::uint64_t body_events = 0;
    std::uint64_t body_bytes = 0;
    int zstd_level = 3;
    timeline times;
};

int run(const options& opt)
{
    std::ofstream expect;
    if (!opt.expect_path.empty()) {
        expect.open(opt.expect_path);
        if (!expect)
            throw std::runtime_error("cannot write " + opt.expect_path);
    }

    generator gen(opt.seed, opt.times);
    bool array = opt.format == "array";
    bool wrapped = opt.wrap == "vector-file";
    std::uint64_t end = opt.first_index + opt.count;

    // Many compressed bodies in a directory.
    if (!opt.bodies_dir.empty()) {
        body_writer bodies(opt.bodies_dir, array, opt.zstd_level,
                           opt.body_events, opt.body_bytes);
        for (std::uint64_t i = opt.first_index; i < end; ++i) {
            event e = gen.make(i);
            bodies.add(shipped_line(e, i, opt.times, wrapped));
            if (expect.is_open()) write_expected(expect, e.row);
        }
        bodies.finish();
        return !expect.is_open() || expect.flush() ? 0 : 1;
    }

    // One body on stdout: one delimiter between events and none at the
    // end, exactly as Vector frames both codecs.
    std::cout << (array ? "[" : "");
    for (std::uint64_t i = opt.first_index; i < end; ++i) {
        event e = gen.make(i);
        if (i != opt.first_index) std::cout << (array ? ',' : '\n');
        std::cout << shipped_line(e, i, opt.times, wrapped);
        if (expect.is_open()) write_expected(expect, e.row);
    }
    std::cout << (array ? "]" : "");
    std::cout.flush();
    return std::cout && (!expect.is_open() || expect.flush()) ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"Writes seeded KoreShield events shaped like a shipper's "
                 "batch body to stdout, or many compressed bodies to a "
                 "directory."};
    options opt;
    app.add_option("-n,--count", opt.count, "events to write")
        ->capture_default_str();
    app.add_option("--seed", opt.seed, "random seed")->capture_default_str();
    app.add_option("--first-index", opt.first_index,
                   "number of the first event (its shape and time follow "
                   "from it)")
        ->capture_default_str();
    app.add_option("--start-us", opt.times.start_us,
                   "Unix time of event 0, in microseconds")
        ->capture_default_str();
    app.add_option("--spacing-us", opt.times.spacing_us,
                   "microseconds between events (at least 1000 keeps every "
                   "time distinct)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--format", opt.format,
                   "array ([e1,e2], Vector json codec) or ndjson (e1\\ne2, "
                   "Vector newline_delimited framing)")
        ->check(CLI::IsMember({"array", "ndjson"}))
        ->capture_default_str();
    app.add_option("--wrap", opt.wrap,
                   "vector-file (line as a string in message, as Vector's "
                   "file source ships it) or parsed (KoreShield keys at the "
                   "top level)")
        ->check(CLI::IsMember({"vector-file", "parsed"}))
        ->capture_default_str();
    app.add_option("--expect", opt.expect_path,
                   "also write the rows the sink must store, as a "
                   "tab-separated COPY file");
    auto* bodies = app.add_option(
        "--bodies", opt.bodies_dir,
        "write zstd-compressed bodies into this existing directory, plus "
        "summary.tsv with the totals, instead of one body to stdout");
    app.add_option("--body-events", opt.body_events,
                   "at most this many events per body (0: no limit)")
        ->needs(bodies);
    app.add_option("--body-bytes", opt.body_bytes,
                   "at most this many uncompressed bytes per body, as "
                   "Vector's batch.max_bytes (0: no limit)")
        ->needs(bodies);
    app.add_option("--zstd-level", opt.zstd_level, "zstd level of bodies")
        ->needs(bodies)
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    try {
        return run(opt);
    } catch (const std::exception& e) {
        std::cerr << "koreshield-gen: " << e.what() << "\n";
        return 1;
    }
}
