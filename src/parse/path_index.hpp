#pragma once

#include "parse/path_set.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ks::parse {

/// The first and last bytes of a key as two words (see path_index).
struct key_words {
    std::uint64_t head = 0;
    std::uint64_t tail = 0;
};

/// A path_set compiled for the hot path: nodes renumbered depth-first, so
/// that a subtree is a contiguous range, and one open-addressing table from
/// (parent node, key) to child node, so that a key costs one hash and
/// usually one comparison however many paths there are. Keys are hashed
/// and compared as two words, their first and last eight bytes, which for
/// keys of up to sixteen bytes (nearly all) are the whole key.
class path_index {
public:
    /// Node number meaning "no node": the value is walked, not captured.
    static constexpr std::uint32_t none = 0xFFFF'FFFF;

    /// Compiles `paths`; node 0 is the root object.
    explicit path_index(const path_set& paths);

    /// The child of `parent` reached through `key`, or none.
    std::uint32_t find(std::uint32_t parent,
                       std::string_view key) const noexcept;

    /// Whether any path continues below `node`.
    bool has_children(std::uint32_t node) const noexcept
    {
        return nodes_[node].subtree_end > node + 1;
    }

    /// One past the last node of the subtree rooted at `node`.
    std::uint32_t subtree_end(std::uint32_t node) const noexcept
    {
        return nodes_[node].subtree_end;
    }

    /// The node that captures `slot`.
    std::uint32_t node_of(std::size_t slot) const noexcept
    {
        return slot_nodes_[slot];
    }

    /// Number of slots.
    std::size_t slots() const noexcept { return slot_nodes_.size(); }

    /// Number of nodes, root included.
    std::size_t size() const noexcept { return nodes_.size(); }

private:
    struct node_info {
        std::uint32_t parent = 0;
        std::uint32_t subtree_end = 0;
        std::uint32_t key_offset = 0; // into keys_
        std::uint32_t key_size = 0;
        key_words words; // what find() compares before any byte
    };

    static key_words words_of(std::string_view key) noexcept;

    void number(const path_set& paths, std::size_t old_id, std::uint32_t parent,
                std::vector<std::uint32_t>& renumber);
    void build_table();
    std::string_view key_of(std::uint32_t node) const noexcept
    {
        return {keys_.data() + nodes_[node].key_offset, nodes_[node].key_size};
    }

    std::vector<node_info> nodes_;
    std::string keys_;
    std::vector<std::uint32_t> table_; // node numbers; 0 marks a free cell
    std::size_t mask_ = 0;
    std::vector<std::uint32_t> slot_nodes_;
};

} // namespace ks::parse
