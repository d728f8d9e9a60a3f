#include "parse/path_index.hpp"

#include <cstring>

namespace ks::parse {

namespace {

// Keys this long or shorter are wholly covered by their words: equal
// words and lengths mean equal keys, with no byte comparison.
constexpr std::size_t word_covered_bytes = 16;

// Mixes the parent, the length and the key's words; keys that share all
// of these only collide, and find() still tells them apart.
inline std::uint64_t hash_key(std::uint32_t parent, std::size_t n,
                              const key_words& w) noexcept
{
    std::uint64_t h = (w.head ^ (std::uint64_t{parent} << 40) ^ n) *
                      0x9E37'79B9'7F4A'7C15ull;
    h ^= w.tail * 0xC2B2'AE3D'27D4'EB4Full;
    h ^= h >> 29;
    h *= 0xBF58'476D'1CE4'E5B9ull;
    return h ^ (h >> 32);
}

} // namespace

key_words path_index::words_of(std::string_view key) noexcept
{
    // Fixed-size loads only, so that no call to memcpy is left. The
    // first and last eight bytes (or four, or three single bytes) cover
    // every byte of a key up to sixteen bytes long.
    const char* p = key.data();
    std::size_t n = key.size();
    key_words w;
    if (n >= 8) {
        std::memcpy(&w.head, p, 8);
        std::memcpy(&w.tail, p + n - 8, 8);
    } else if (n >= 4) {
        std::uint32_t a = 0;
        std::uint32_t b = 0;
        std::memcpy(&a, p, 4);
        std::memcpy(&b, p + n - 4, 4);
        w.head = a | (std::uint64_t{b} << 32);
    } else if (n > 0) {
        w.head = std::uint64_t{static_cast<unsigned char>(p[0])} |
                 std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
                 std::uint64_t{static_cast<unsigned char>(p[n - 1])} << 16;
    }
    return w;
}

namespace {

} // namespace

path_index::path_index(const path_set& paths)
{
    // Depth-first numbering makes every subtree a contiguous range.
    std::vector<std::uint32_t> renumber(paths.nodes_.size());
    nodes_.reserve(paths.nodes_.size());
    number(paths, 0, 0, renumber);

    // Slots follow their nodes to the new numbers.
    slot_nodes_.reserve(paths.slot_nodes_.size());
    for (std::size_t old_id : paths.slot_nodes_)
        slot_nodes_.push_back(renumber[old_id]);

    build_table();
}

void path_index::number(const path_set& paths, std::size_t old_id,
                        std::uint32_t parent,
                        std::vector<std::uint32_t>& renumber)
{
    // This node first, its children after it.
    auto id = static_cast<std::uint32_t>(nodes_.size());
    renumber[old_id] = id;
    const std::string& key = paths.nodes_[old_id].key;
    nodes_.push_back(node_info{parent, 0,
                               static_cast<std::uint32_t>(keys_.size()),
                               static_cast<std::uint32_t>(key.size()),
                               words_of(key)});
    keys_ += key;

    for (std::size_t c : paths.nodes_[old_id].children)
        number(paths, c, id, renumber);
    nodes_[id].subtree_end = static_cast<std::uint32_t>(nodes_.size());
}

void path_index::build_table()
{
    // At most a quarter full, so probes stay short.
    std::size_t cells = 16;
    while (cells < nodes_.size() * 4)
        cells *= 2;
    table_.assign(cells, 0);
    mask_ = cells - 1;

    // Every node but the root is reachable from its parent.
    for (std::uint32_t n = 1; n < nodes_.size(); ++n) {
        const node_info& node = nodes_[n];
        std::size_t at =
            hash_key(node.parent, node.key_size, node.words) & mask_;
        while (table_[at] != 0)
            at = (at + 1) & mask_;
        table_[at] = n;
    }
}

std::uint32_t path_index::find(std::uint32_t parent,
                               std::string_view key) const noexcept
{
    const key_words w = words_of(key);
    std::size_t at = hash_key(parent, key.size(), w) & mask_;
    for (std::uint32_t n = table_[at]; n != 0; n = table_[at]) {
        const node_info& node = nodes_[n];
        bool same = node.parent == parent && node.key_size == key.size() &&
                    node.words.head == w.head && node.words.tail == w.tail &&
                    (key.size() <= word_covered_bytes || key_of(n) == key);
        if (same) return n;
        at = (at + 1) & mask_;
    }
    return none;
}

} // namespace ks::parse
