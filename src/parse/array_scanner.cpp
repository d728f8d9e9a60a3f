#include "parse/array_scanner.hpp"

#include <simdjson.h>

namespace ks::parse {

namespace od = simdjson::ondemand;
using simdjson::error_code;

struct array_scanner::impl {
    bool visit_object(od::object& object, std::string_view key,
                      string_visitor visit, void* context) noexcept;

    od::parser parser;
};

bool array_scanner::impl::visit_object(od::object& object, std::string_view key,
                                       string_visitor visit,
                                       void* context) noexcept
{
    // Every field is looked at, so a repeated key yields each value.
    for (auto field : object) {
        std::string_view name;
        if (field.unescaped_key().get(name) != simdjson::SUCCESS) return false;
        if (name != key) continue;
        std::string_view text;
        if (field.value().get_string().get(text) == simdjson::SUCCESS)
            visit(context, text);
    }
    return true;
}

array_scanner::array_scanner() : impl_(std::make_unique<impl>()) {}

array_scanner::~array_scanner() = default;

bool array_scanner::each_string(std::string_view array_json,
                                std::string_view key, string_visitor visit,
                                void* context) noexcept
{
    od::document doc;
    if (impl_->parser
            .iterate(array_json.data(), array_json.size(),
                     array_json.size() + simdjson::SIMDJSON_PADDING)
            .get(doc) != simdjson::SUCCESS)
        return false;
    od::array array;
    if (doc.get_array().get(array) != simdjson::SUCCESS) return false;

    // Elements that are not objects are stepped over unread.
    for (auto element : array) {
        od::object object;
        error_code e = element.get_object().get(object);
        if (e == simdjson::INCORRECT_TYPE) continue;
        if (e != simdjson::SUCCESS) return false;
        if (!impl_->visit_object(object, key, visit, context)) return false;
    }
    return true;
}

} // namespace ks::parse
