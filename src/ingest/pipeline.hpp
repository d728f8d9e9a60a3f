#pragma once

#include "core/padded_buffer.hpp"
#include "core/sha256.hpp"
#include "decode/body_decoder.hpp"
#include "decode/decode.hpp"
#include "frame/framer.hpp"
#include "ingest/byte_budget.hpp"
#include "map/mapper.hpp"
#include "pg/writer.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ks::ingest {

/// Columns of koreshield_events that rows are encoded for; `id` is left
/// to its default.
inline constexpr std::string_view event_columns =
    "(event_time, event_type, severity, provider, model, request_id, "
    "blocked, taxonomy, metadata)";

/// Columns of the dead-letter table that dead letters are encoded for.
inline constexpr std::string_view dead_letter_columns =
    "(received_at, source_kind, source, record_index, line_number, "
    "byte_offset, reason_code, reason, raw, raw_bytes)";

/// Where a body came from, recorded with each dead letter.
struct origin {
    std::string_view kind; // "request" or "file"
    std::string_view name; // request id, or file path
};

/// How records of one body were counted. Always:
/// received == loaded + dead_lettered; blank lines are counted apart.
struct counts {
    std::uint64_t received = 0;
    std::uint64_t loaded = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t blank_lines = 0;
    std::uint64_t time_from_receipt = 0; // rows without a timestamp field
    std::uint64_t text_lines = 0; // rows made from lines that are not JSON
};

/// Limits applied while preparing a body.
struct limits {
    std::size_t max_decoded_bytes = 256u << 20;
    /// Raw bytes kept of a dead letter; longer ones are cut and flagged.
    std::size_t max_dead_letter_bytes = 16u << 20;
};

/// Input after the records that could not be decoded, and where.
struct unreadable_input {
    std::uint64_t offset = 0;     // in the input as stored (compressed)
    std::uint64_t record_index = 0;
    std::string message;          // the decoder's sentence
    std::string_view raw;         // the bytes from `offset` on, or their
                                  // start when there are too many
    std::uint64_t raw_bytes = 0;  // all the bytes from `offset` on
};

/// Whether a body could be prepared at all.
enum class prepare_status : std::uint8_t {
    ok,                   // rows and dead letters are in the batch
    unsupported_encoding, // Content-Encoding names an unknown coding
    too_large,            // decoded size is over limits::max_decoded_bytes
    over_budget,          // the memory budget cannot cover the body now
    larger_than_budget,   // the body needs more than the whole budget
};

/// The outcome of preparer::prepare.
struct prepare_result {
    prepare_status status = prepare_status::ok;
    std::string message; // a sentence for the client when not ok
    /// over_budget: the size the budget hold had to reach when it was
    /// refused; worth trying again once that much can be held.
    std::size_t needed_bytes = 0;
    /// ok, but the body could not be decoded: it is one dead letter.
    bool undecodable = false;
};

/// Runs decode, frame, parse/map and encode for one body and leaves the
/// encoded rows in a pg::batch. One preparer per thread: it owns parsers
/// and scratch buffers that are reused from body to body.
class preparer {
public:
    explicit preparer(map::mapping_options options = {}, limits lim = {});

    /// Prepares `body`, whose Content-Encoding header value is
    /// `content_encoding` (empty for none). Events that cannot become
    /// rows are encoded as dead letters into the same batch; a body that
    /// cannot be decoded (corrupt or truncated) becomes one dead letter
    /// keeping its bytes as received. `receive_time` is µs since
    /// 2000-01-01 UTC. On ok, `out` holds finished buffers and `tally`
    /// the counts; otherwise nothing is to be written.
    ///
    /// Memory: with a `hold`, every byte this call allocates for the
    /// decoded text and the encoded rows is taken from its budget first,
    /// on top of what `hold` already holds (the body, say). On ok, `hold`
    /// keeps covering the capacity of `out`; the decoded text is given
    /// back, and a buffer for it larger than 16 MiB is freed. When the
    /// budget cannot grant a step, `out` is emptied and freed, `hold` is
    /// back where it was, and the status is over_budget (try again later)
    /// or larger_than_budget (it could never fit). Without a hold the
    /// decoded size is limited by max_decoded_bytes alone.
    ///
    /// With `body_key`, what names the request in the ledger is put
    /// there: the SHA-256 of a plain body, or of a coded body's codings
    /// and bytes as received (a retry resends the same bytes), decodable
    /// or not.
    prepare_result prepare(std::string_view content_encoding,
                           std::span<const char> body, const origin& from,
                           std::int64_t receive_time, pg::batch& out,
                           counts& tally, budget_hold* hold = nullptr,
                           digest* body_key = nullptr);

    /// Maps and encodes `records`, which a chunker framed from `text`
    /// (ks::load::chunk): record offsets are relative to `text`, which
    /// must be followed by json_padding_bytes readable bytes, and dead
    /// letters get `base_offset` added to them; lines and indexes are
    /// taken as they are. `blank_lines` goes to the tally. No budget
    /// applies: the caller bounds how many chunks are in memory. Returns
    /// ok with the finished batch; it cannot fail otherwise.
    ///
    /// `unreadable`, when given, is input that could not be decoded after
    /// the records (a corrupt compressed file's rest): it becomes one more
    /// dead letter, decode_failed, counted as a record.
    prepare_result prepare_framed(std::string_view text,
                                  std::span<const frame::record> records,
                                  std::uint64_t base_offset,
                                  std::uint64_t blank_lines,
                                  const origin& from, std::int64_t receive_time,
                                  pg::batch& out, counts& tally,
                                  const unreadable_input* unreadable = nullptr);

private:
    /// Where a dead letter sat; -1 is stored as NULL.
    struct position {
        std::int64_t index = -1;
        std::int64_t line = -1;
        std::int64_t offset = -1;
    };

    [[nodiscard]] bool add_dead_letter(pg::batch& out, const origin& from,
                                       std::int64_t receive_time,
                                       const position& at, ks::reason why,
                                       std::string_view message,
                                       std::string_view raw,
                                       std::uint64_t raw_bytes = 0);
    [[nodiscard]] bool add_row(pg::batch& out, const map::row& r);
    void arm_refusals(pg::batch& out, const origin& from,
                      std::int64_t receive_time, std::uint64_t first_index);
    [[nodiscard]] bool prepare_records(std::string_view text,
                                       const origin& from,
                                       std::int64_t receive_time,
                                       pg::batch& out, counts& tally);
    [[nodiscard]] bool take_record(std::string_view text,
                                   const frame::record& rec,
                                   std::uint64_t base_offset,
                                   const origin& from,
                                   std::int64_t receive_time, pg::batch& out,
                                   counts& tally);
    [[nodiscard]] bool finish_batch(pg::batch& out);

    [[nodiscard]] bool
    decode_within_budget(std::span<const decode::encoding> codings,
                         std::span<const char> body, decode::result& decoded);
    void charge_text_as_decoded(std::size_t scratch);
    /// Row bytes `text_bytes` of text should encode to, at the ratio of
    /// the last large text.
    std::size_t rows_for_text(std::size_t text_bytes) const noexcept
    {
        return text_bytes / 1024 * rows_per_kib_;
    }
    [[nodiscard]] bool reserve_rows(pg::batch& out, std::size_t text_bytes);
    void learn_rows_per_text(const pg::batch& out,
                             std::size_t text_bytes) noexcept;
    [[nodiscard]] bool make_room(pg::batch& out, pg::copy_buffer& b,
                                 std::size_t more);
    [[nodiscard]] bool cover(const pg::batch& out, std::size_t extra);
    prepare_result refuse(pg::batch& out);
    void put_down_text(const pg::batch& out);

    map::mapper mapper_;
    limits limits_;
    decode::body_decoder decoder_;
    padded_buffer decoded_;
    map::row row_;
    map::rejection rejection_;

    // For each record of the body that became a dead letter, the number
    // of rows before it: the record index of any row can be worked out
    // from it, should PostgreSQL refuse that row. Empty for a clean body.
    std::vector<std::uint64_t> gaps_;

    // The budget of the body being prepared, if any, and what it holds
    // for that body: before this call, for the decoded text, and what
    // the last refused step asked for in all.
    budget_hold* hold_ = nullptr;
    std::size_t held_before_ = 0;
    std::size_t text_bytes_ = 0;
    std::size_t rows_per_kib_ = 1280; // row bytes per KiB of the last text
    bool text_in_scratch_ = false;   // body_decoder used its scratch
    std::size_t refused_total_ = 0;
    bool refused_for_good_ = false;
};

/// The current time in µs since 2000-01-01 00:00:00 UTC.
std::int64_t pg_now() noexcept;

} // namespace ks::ingest
