#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ks::parse {

/// Dotted paths ("detection.indicators") whose values a walker captures.
/// Each segment names an object key, matched exactly after unescaping;
/// paths never step into arrays. Built once at start-up.
class path_set {
public:
    /// Adds `dotted` and returns its slot, the index walker::get takes.
    /// A path added again keeps the slot it already has.
    std::size_t add(std::string_view dotted);

    /// Number of slots handed out so far.
    std::size_t size() const noexcept { return slot_nodes_.size(); }

private:
    friend class path_index;

    struct node {
        std::string key;
        std::vector<std::size_t> children;
        std::size_t slot = npos;
    };
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    std::size_t child(std::size_t parent, std::string_view key);

    std::vector<node> nodes_{1}; // node 0 stands for the root object
    std::vector<std::size_t> slot_nodes_;
};

} // namespace ks::parse
