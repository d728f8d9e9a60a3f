#pragma once

#include "core/padded_buffer.hpp"
#include "decode/decode.hpp"
#include "frame/framer.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace ks::load {

/// A piece of a file's decoded text that ends at a record boundary, with
/// its records already framed.
struct chunk {
    std::uint64_t offset = 0;      // decoded offset of text's first byte
    std::uint64_t next_offset = 0; // where the next chunk starts
    std::uint64_t first_line = 1;  // line number (1-based) at `offset`
    std::uint64_t first_index = 0; // records of the file before this one
    padded_buffer text;            // decoded bytes [offset, next_offset)
    /// Records in file order. `offset` is relative to `text`; `line` and
    /// `index` count from the start of the file.
    std::vector<frame::record> records;
    std::uint64_t blank_lines = 0; // blank lines within the chunk
    bool last = false;             // no chunk follows
};

/// Reads up to `n` bytes into `dst`; returns how many (0 at the end of
/// input). Throws std::system_error when reading fails.
using read_function = std::function<std::size_t(char* dst, std::size_t n)>;

/// Where cutting starts: the beginning of the input, or the end of what
/// an earlier load of a shorter version of the same file covered. The
/// text from there is framed as a body of its own (but for a byte order
/// mark, skipped only at decoded offset 0) with lines and records counted
/// on from `line` and `index`. At decoded offset 0 they are 1 and 0,
/// whatever they hold.
struct start_point {
    std::uint64_t decoded_offset = 0; // decoded bytes skipped unread
    std::uint64_t line = 1;
    std::uint64_t index = 0;
};

/// Settings of a chunker. Cuts depend only on the input bytes and these
/// values, never on how reads happen to be sized, so the same file cut
/// again with the same settings yields the same chunks; the loader relies
/// on that to resume a load.
struct chunker_options {
    /// Decoded bytes a chunk aims at: it ends at the last record boundary
    /// within that many bytes (the window). At least 1.
    std::size_t chunk_bytes = 4u << 20;
    /// A record longer than chunk_bytes makes the window double until it
    /// fits, up to this many bytes; a record even longer is cut there and
    /// comes out as damaged records (nothing is skipped). A value left
    /// open mid-text (a truncated line in a stream) grows the window this
    /// far too, as only that tells it from a long value; it then comes
    /// out as its first line, and the lines after it are framed as a new
    /// stream. Raised to chunk_bytes if smaller.
    std::size_t max_window_bytes = 256u << 20;
    start_point start;
};

/// Splits an input (a file or stdin) into chunks of whole records: sniffs
/// its coding from the first bytes (gzip, zstd, or plain text), decodes
/// it as a stream, and frames the text as frame::framer does a body
/// (NDJSON, JSON arrays, objects back to back, pretty-printed objects).
///
/// Chunks: every decoded byte from the start point on belongs to exactly
/// one chunk, in order, each starting at the previous one's next_offset.
/// A chunk is cut after the last record of its window that framing can
/// go on after; text that remains once input has ended and fits in a
/// window is the last chunk, framed whole. A text of no bytes (an empty
/// input, or one no longer than the start point) comes out as one empty
/// last chunk, so there is always exactly one chunk with `last` set.
///
/// Damage: a corrupt or truncated compressed input ends the text where
/// decoding stopped; every record before that comes out, the last chunk
/// holds the text decoded up to there, and damage() reports the fault
/// with its input offset, already when that last chunk comes. Chunks
/// before the damage are cut as for an intact input. Never loops: every
/// call consumes input or ends.
///
/// Memory: two to three times the widest window used (the pending text,
/// moved to the front only once that is cheap, and its copy in the
/// chunk), plus a read block of 1 MiB. Compressed
/// input is decoded in slices sized by the expansion seen so far, so the
/// text decoded ahead of the window stays small.
///
/// Threads: one chunker per input, used by one thread; input_bytes()
/// may also be read from another thread, for progress.
class chunker {
public:
    chunker(read_function read, chunker_options options);
    ~chunker();
    chunker(const chunker&) = delete;
    chunker& operator=(const chunker&) = delete;

    /// Fills `out` (reusing its memory) with the next chunk; false when
    /// the input is used up. Throws what `read` throws, and
    /// std::bad_alloc.
    bool next(chunk& out);

    /// Once the last chunk came: ok, or why decoding stopped early
    /// (corrupt or truncated, with input_offset and a message).
    const decode::result& damage() const noexcept;

    /// The coding sniffed from the first bytes; identity before the first
    /// call to next().
    decode::encoding coding() const noexcept;

    /// Input bytes read so far, for progress; safe from any thread.
    std::uint64_t input_bytes() const noexcept;

    /// Decoded bytes so far, those before the start point included; after
    /// the end, the size of the whole text.
    std::uint64_t decoded_bytes() const noexcept;

    /// After the end: the line number after the last byte, and the
    /// records framed in all (counting from the start point). Before it,
    /// the same at the start of the next chunk.
    std::uint64_t end_line() const noexcept;
    std::uint64_t end_index() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ks::load
