#include "writer_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace ks::test {

namespace {

void add_optional_text(pg::copy_buffer& out,
                       const std::optional<std::string>& v)
{
    if (v)
        out.text(*v);
    else
        out.null();
}

void add_optional_jsonb(pg::copy_buffer& out,
                        const std::optional<std::string>& v)
{
    if (v)
        out.jsonb(*v);
    else
        out.null();
}

void add_optional_int64(pg::copy_buffer& out,
                        const std::optional<std::int64_t>& v)
{
    if (v)
        out.int64(*v);
    else
        out.null();
}

constexpr const char* writer_sessions =
    "FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = 'koreshield-sink'";

} // namespace

void add_event(pg::copy_buffer& out, const event_row& r)
{
    out.begin_row(9);
    out.timestamptz(r.event_time);
    out.text(r.event_type);
    out.text(r.severity);
    add_optional_text(out, r.provider);
    add_optional_text(out, r.model);
    add_optional_text(out, r.request_id);
    out.boolean(r.blocked);
    add_optional_jsonb(out, r.taxonomy);
    add_optional_jsonb(out, r.metadata);
}

void add_dead_letter(pg::copy_buffer& out, const dead_letter_row& r)
{
    out.begin_row(10);
    out.timestamptz(r.received_at);
    out.text(r.source_kind);
    out.text(r.source);
    add_optional_int64(out, r.record_index);
    add_optional_int64(out, r.line_number);
    add_optional_int64(out, r.byte_offset);
    out.text(r.reason_code);
    out.text(r.reason);
    out.bytea(r.raw);
    out.int64(r.raw_bytes);
}

std::shared_ptr<pg::batch> simple_batch(int events, int dead_letters)
{
    auto b = std::make_shared<pg::batch>();
    for (int i = 0; i < events; ++i) {
        event_row r;
        r.event_time = 762525296789012 + i;
        r.metadata = "{\"i\": " + std::to_string(i) + "}";
        add_event(b->events, r);
    }
    for (int i = 0; i < dead_letters; ++i) {
        dead_letter_row r;
        r.record_index = i;
        add_dead_letter(b->dead_letters, r);
    }
    b->events.finish();
    b->dead_letters.finish();
    return b;
}

pg::writer_config config_for(const std::string& dsn, unsigned connections)
{
    pg::writer_config c;
    c.dsn = dsn;
    c.events = {"koreshield_events", event_columns};
    c.dead_letters = {"koreshield_dead_letters", dead_letter_columns};
    c.connections = connections;
    return c;
}

std::string hex(std::string_view bytes)
{
    constexpr const char* digits = "0123456789abcdef";
    std::string out;
    for (char c : bytes) {
        auto u = static_cast<unsigned char>(c);
        out += digits[u >> 4];
        out += digits[u & 0xf];
    }
    return out;
}

struct outcome_slot::state {
    std::mutex mutex;
    std::condition_variable arrived;
    std::optional<pg::commit_outcome> outcome;
    int calls = 0;
    std::thread::id thread;
};

outcome_slot::outcome_slot() : state_(std::make_shared<state>()) {}

pg::writer::completion outcome_slot::callback() const
{
    return [s = state_](pg::commit_outcome o) {
        std::lock_guard lock(s->mutex);
        ++s->calls;
        s->thread = std::this_thread::get_id();
        s->outcome = std::move(o);
        s->arrived.notify_all();
    };
}

pg::commit_outcome outcome_slot::wait() const
{
    std::unique_lock lock(state_->mutex);
    bool got = state_->arrived.wait_for(lock, std::chrono::minutes(1), [&] {
        return state_->outcome.has_value();
    });
    if (!got) FAIL("the writer never completed the batch");
    return *state_->outcome;
}

bool outcome_slot::arrived() const
{
    std::lock_guard lock(state_->mutex);
    return state_->outcome.has_value();
}

int outcome_slot::calls() const
{
    std::lock_guard lock(state_->mutex);
    return state_->calls;
}

std::thread::id outcome_slot::thread() const
{
    std::lock_guard lock(state_->mutex);
    return state_->thread;
}

void wait_for_blocked_writer(test_db& db)
{
    std::string sql = std::string("SELECT count(*) ") + writer_sessions +
                      " AND wait_event_type = 'Lock'";
    for (int i = 0; i < 1000; ++i) {
        if (db.scalar(sql) != "0") return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("no writer connection ever waited for the lock");
}

int writer_backend_count(test_db& db)
{
    return std::stoi(
        db.scalar(std::string("SELECT count(*) ") + writer_sessions));
}

void terminate_writer_backends(test_db& db)
{
    db.query(std::string("SELECT pg_terminate_backend(pid) ") +
             writer_sessions);
}

void on_event_type(test_db& db, const std::string& event_type,
                   const std::string& action)
{
    // The names come from the event type, which tests keep to letters.
    const std::string name = "on_" + event_type;
    db.exec("CREATE FUNCTION " + name +
            "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.event_type = '" + event_type + "' THEN " + action +
            " END IF; RETURN NEW; END $$; CREATE TRIGGER " + name +
            " BEFORE INSERT ON koreshield_events FOR EACH ROW EXECUTE "
            "FUNCTION " + name + "();");
}

} // namespace ks::test
