#include "parse/path_set.hpp"

namespace ks::parse {

std::size_t path_set::add(std::string_view dotted)
{
    // Walk or grow the trie one segment at a time.
    std::size_t at = 0;
    while (true) {
        std::size_t dot = dotted.find('.');
        at = child(at, dotted.substr(0, dot));
        if (dot == std::string_view::npos) break;
        dotted.remove_prefix(dot + 1);
    }

    // The last node owns the slot.
    if (nodes_[at].slot == npos) {
        nodes_[at].slot = slot_nodes_.size();
        slot_nodes_.push_back(at);
    }
    return nodes_[at].slot;
}

std::size_t path_set::child(std::size_t parent, std::string_view key)
{
    for (std::size_t c : nodes_[parent].children)
        if (nodes_[c].key == key) return c;

    std::size_t id = nodes_.size();
    nodes_.push_back(node{std::string(key), {}, npos});
    nodes_[parent].children.push_back(id);
    return id;
}

} // namespace ks::parse
