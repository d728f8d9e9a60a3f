#include "parse/path_index.hpp"

#include <cstring>

namespace ks::parse {

namespace {

// Mixes the parent, the length and up to sixteen key bytes (the first and
// last eight); keys that share all of these only collide, and find() still
// tells them apart by comparing them.
std::uint64_t hash_key(std::uint32_t parent, std::string_view key) noexcept
{
    // Fixed-size loads only, so that no call to memcpy is left.
    const char* p = key.data();
    std::size_t n = key.size();
    std::uint64_t head = 0;
    std::uint64_t tail = 0;
    if (n >= 8) {
        std::memcpy(&head, p, 8);
        std::memcpy(&tail, p + n - 8, 8);
    } else if (n >= 4) {
        std::uint32_t a = 0;
        std::uint32_t b = 0;
        std::memcpy(&a, p, 4);
        std::memcpy(&b, p + n - 4, 4);
        head = a | (std::uint64_t{b} << 32);
    } else if (n > 0) {
        head = std::uint64_t{static_cast<unsigned char>(p[0])} |
               std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
               std::uint64_t{static_cast<unsigned char>(p[n - 1])} << 16;
    }

    std::uint64_t h =
        (head ^ (std::uint64_t{parent} << 40) ^ n) * 0x9E37'79B9'7F4A'7C15ull;
    h ^= tail * 0xC2B2'AE3D'27D4'EB4Full;
    h ^= h >> 29;
    h *= 0xBF58'476D'1CE4'E5B9ull;
    return h ^ (h >> 32);
}

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
                               static_cast<std::uint32_t>(key.size())});
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
        std::size_t at = hash_key(nodes_[n].parent, key_of(n)) & mask_;
        while (table_[at] != 0)
            at = (at + 1) & mask_;
        table_[at] = n;
    }
}

std::uint32_t path_index::find(std::uint32_t parent,
                               std::string_view key) const noexcept
{
    std::size_t at = hash_key(parent, key) & mask_;
    for (std::uint32_t n = table_[at]; n != 0; n = table_[at]) {
        if (nodes_[n].parent == parent && key_of(n) == key) return n;
        at = (at + 1) & mask_;
    }
    return none;
}

} // namespace ks::parse
