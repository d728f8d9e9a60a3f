#include "frame/framer.hpp"

#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace std::literals;
using ks::frame::defect;
using ks::frame::framer;
using ks::frame::record;
using ks::frame::shape;

namespace Catch {

template <>
struct StringMaker<shape> {
    static std::string convert(shape s)
    {
        switch (s) {
        case shape::object:
            return "object";
        case shape::array:
            return "array";
        case shape::string:
            return "string";
        case shape::scalar:
            return "scalar";
        case shape::text:
            return "text";
        }
        return "?";
    }
};

template <>
struct StringMaker<defect> {
    static std::string convert(defect d)
    {
        switch (d) {
        case defect::none:
            return "none";
        case defect::unterminated:
            return "unterminated";
        case defect::unbalanced:
            return "unbalanced";
        case defect::newline_in_string:
            return "newline_in_string";
        case defect::control_character:
            return "control_character";
        case defect::bad_separator:
            return "bad_separator";
        }
        return "?";
    }
};

} // namespace Catch

namespace {

/// A record as a case expects it; its index is its place in the list and
/// its length the length of `text`.
struct expected_record {
    std::size_t offset;
    std::string_view text;
    std::uint64_t line;
    shape kind;
    defect problem = defect::none;
    std::size_t problem_offset = 0;
};

/// One body and everything the framer must report for it.
struct framing_case {
    std::string_view name;
    std::string_view body;
    std::vector<expected_record> records;
    std::uint64_t blank_lines;
};

/// Everything one framer yields for `body`, and its blank line count.
struct framed {
    std::vector<record> records;
    std::uint64_t blank_lines = 0;
};

framed frame_all(std::string_view body)
{
    framed result;
    framer f(body);
    record r;
    while (f.next(r)) {
        result.records.push_back(r);
        REQUIRE(result.records.size() <= body.size() + 1);
    }

    // Once done, the framer stays done.
    REQUIRE_FALSE(f.next(r));
    result.blank_lines = f.blank_lines();
    return result;
}

/// Checks every field of every record against the case, byte for byte.
void check_case(const framing_case& c)
{
    const framed got = frame_all(c.body);
    REQUIRE(got.records.size() == c.records.size());
    for (std::size_t i = 0; i < c.records.size(); ++i) {
        const expected_record& want = c.records[i];
        const record& r = got.records[i];
        INFO("record " << i);
        CHECK(r.offset == want.offset);
        CHECK(r.length == want.text.size());
        CHECK(c.body.substr(r.offset, r.length) == want.text);
        CHECK(r.line == want.line);
        CHECK(r.index == i);
        CHECK(r.kind == want.kind);
        CHECK(r.problem == want.problem);
        CHECK(r.problem_offset == want.problem_offset);
    }
    CHECK(got.blank_lines == c.blank_lines);
}

void check_cases(const std::vector<framing_case>& cases)
{
    for (const framing_case& c : cases) {
        DYNAMIC_SECTION(c.name)
        {
            check_case(c);
        }
    }
}

} // namespace

TEST_CASE("shipper layouts frame byte for byte", "[frame]")
{
    const std::vector<framing_case> cases = {
        {"vector newline_delimited without final newline",
         "{\"a\":1,\"m\":\"x\"}\n{\"a\":2,\"m\":\"y\"}"sv,
         {
             {0, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
             {16, "{\"a\":2,\"m\":\"y\"}"sv, 2, shape::object},
         },
         0},
        {"fluent bit json_lines with final newline",
         "{\"a\":1,\"m\":\"x\"}\n{\"a\":2,\"m\":\"y\"}\n"sv,
         {
             {0, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
             {16, "{\"a\":2,\"m\":\"y\"}"sv, 2, shape::object},
         },
         0},
        {"fluent bit json_stream without separator",
         "{\"a\":1,\"m\":\"x\"}{\"a\":2,\"m\":\"y\"}"sv,
         {
             {0, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
             {15, "{\"a\":2,\"m\":\"y\"}"sv, 1, shape::object},
         },
         0},
        {"single object",
         "{\"a\":1,\"m\":\"x\"}"sv,
         {
             {0, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
         },
         0},
        {"logstash json_batch",
         "[{\"a\":1,\"m\":\"x\"},{\"a\":2,\"m\":\"y\"}]"sv,
         {
             {1, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
             {17, "{\"a\":2,\"m\":\"y\"}"sv, 1, shape::object},
         },
         0},
        {"vector payload prefix and suffix stay one object",
         "{\"data\":[{\"a\":1,\"m\":\"x\"},{\"a\":2,\"m\":\"y\"}]}"sv,
         {
             {0, "{\"data\":[{\"a\":1,\"m\":\"x\"},{\"a\":2,\"m\":\"y\"}]}"sv,
              1, shape::object},
         },
         0},
        {"pretty-printed objects span lines",
         "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": [1, 2]\n  }\n}\n"
         "{\n  \"d\": 2\n}\n"sv,
         {
             {0, "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": [1, 2]\n  }\n}"sv, 1,
              shape::object},
             {43, "{\n  \"d\": 2\n}"sv, 7, shape::object},
         },
         0},
        {"crlf line endings",
         "{\"a\":1,\"m\":\"x\"}\r\n{\"a\":2,\"m\":\"y\"}\r\n\r\n"
         "{\"a\":1,\"m\":\"x\"}\r\n"sv,
         {
             {0, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
             {17, "{\"a\":2,\"m\":\"y\"}"sv, 2, shape::object},
             {36, "{\"a\":1,\"m\":\"x\"}"sv, 4, shape::object},
         },
         1},
        {"byte order mark is skipped",
         "\xEF\xBB\xBF{\"a\":1,\"m\":\"x\"}\n"sv,
         {
             {3, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
         },
         0},
        {"strings hide brackets, escaped quotes and backslashes",
         "{\"m\":\"}{][\",\"q\":\"say \\\"hi\\\" {\","
         "\"p\":\"c:\\\\\"}{\"n\":2}"sv,
         {
             {0,
              "{\"m\":\"}{][\",\"q\":\"say \\\"hi\\\" {\",\"p\":\"c:\\\\\"}"sv,
              1, shape::object},
             {42, "{\"n\":2}"sv, 1, shape::object},
         },
         0},
        {"text lines between json lines",
         "{\"a\":1,\"m\":\"x\"}\nINFO uvicorn started\n"
         "{\"a\":2,\"m\":\"y\"}\n"sv,
         {
             {0, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
             {16, "INFO uvicorn started"sv, 2, shape::text},
             {37, "{\"a\":2,\"m\":\"y\"}"sv, 3, shape::object},
         },
         0},
        {"text line keeps inner spaces and drops trailing ones",
         "  INFO a  b \t\r\nWARN c"sv,
         {
             {2, "INFO a  b"sv, 1, shape::text},
             {15, "WARN c"sv, 2, shape::text},
         },
         0},
        {"scalars and strings in the stream",
         "42\ntrue\n-1 \nnull\n\"str\"\n"sv,
         {
             {0, "42"sv, 1, shape::scalar},
             {3, "true"sv, 2, shape::scalar},
             {8, "-1"sv, 3, shape::scalar},
             {12, "null"sv, 4, shape::scalar},
             {17, "\"str\""sv, 5, shape::string},
         },
         0},
        {"string followed by object on one line",
         "\"a\"{\"b\":1}"sv,
         {
             {0, "\"a\""sv, 1, shape::string},
             {3, "{\"b\":1}"sv, 1, shape::object},
         },
         0},
    };
    check_cases(cases);
}

TEST_CASE("top-level arrays yield their elements", "[frame]")
{
    const std::vector<framing_case> cases = {
        {"vector json codec array",
         "[{\"a\":1,\"m\":\"x\"},{\"a\":2,\"m\":\"y\"}]"sv,
         {
             {1, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
             {17, "{\"a\":2,\"m\":\"y\"}"sv, 1, shape::object},
         },
         0},
        {"byte order mark before an array",
         "\xEF\xBB\xBF[{\"a\":1,\"m\":\"x\"}]"sv,
         {
             {4, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
         },
         0},
        {"bare string elements in an array",
         "[\"{\\\"a\\\":1}\",\"x\"]"sv,
         {
             {1, "\"{\\\"a\\\":1}\""sv, 1, shape::string},
             {13, "\"x\""sv, 1, shape::string},
         },
         0},
        {"scalar elements in an array",
         "[1,-2.5e3,true,false,null]"sv,
         {
             {1, "1"sv, 1, shape::scalar},
             {3, "-2.5e3"sv, 1, shape::scalar},
             {10, "true"sv, 1, shape::scalar},
             {15, "false"sv, 1, shape::scalar},
             {21, "null"sv, 1, shape::scalar},
         },
         0},
        {"nested arrays are elements",
         "[[1,[2]],[],{\"a\":[3]}]"sv,
         {
             {1, "[1,[2]]"sv, 1, shape::array},
             {9, "[]"sv, 1, shape::array},
             {12, "{\"a\":[3]}"sv, 1, shape::object},
         },
         0},
        {"empty array yields nothing",
         "[]\n"sv,
         {

         },
         0},
        {"several arrays in a row",
         "[{\"a\":1,\"m\":\"x\"}]\n"
         "[{\"a\":2,\"m\":\"y\"},{\"a\":1,\"m\":\"x\"}][1]"sv,
         {
             {1, "{\"a\":1,\"m\":\"x\"}"sv, 1, shape::object},
             {19, "{\"a\":2,\"m\":\"y\"}"sv, 2, shape::object},
             {35, "{\"a\":1,\"m\":\"x\"}"sv, 2, shape::object},
             {52, "1"sv, 2, shape::scalar},
         },
         0},
        {"pretty-printed array",
         "[\n  {\"a\":1,\"m\":\"x\"},\n  {\"a\":2,\"m\":\"y\"}\n]\n"sv,
         {
             {4, "{\"a\":1,\"m\":\"x\"}"sv, 2, shape::object},
             {23, "{\"a\":2,\"m\":\"y\"}"sv, 3, shape::object},
         },
         0},
        {"array elements with spaces",
         "[ 1 , \"a\" ,\t{} ]"sv,
         {
             {2, "1"sv, 1, shape::scalar},
             {6, "\"a\""sv, 1, shape::string},
             {12, "{}"sv, 1, shape::object},
         },
         0},
        {"text elements in an array",
         "[nan,inf]"sv,
         {
             {1, "nan"sv, 1, shape::scalar},
             {5, "inf"sv, 1, shape::text},
         },
         0},
        {"two arrays alone still yield their elements",
         "[1,2]\n[3]"sv,
         {
             {1, "1"sv, 1, shape::scalar},
             {3, "2"sv, 1, shape::scalar},
             {7, "3"sv, 2, shape::scalar},
         },
         0},
    };
    check_cases(cases);
}

TEST_CASE("log lines that open with '[' are text lines, not arrays",
          "[frame]")
{
    const std::vector<framing_case> cases = {
        {"gunicorn's line first does not open a batch",
         "[2026-03-30 16:02:11 +0000] [7] [INFO] Booting\n{\"a\":1}"sv,
         {
             {0, "[2026-03-30 16:02:11 +0000] [7] [INFO] Booting"sv, 1,
              shape::text},
             {47, "{\"a\":1}"sv, 2, shape::object},
         },
         0},
        {"between events, the whole line is one record",
         "{\"a\":1}\n[30/Mar/2026:16:02:11 +0000] GET /\n"
         "[INFO] ready [x]\n{\"b\":2}"sv,
         {
             {0, "{\"a\":1}"sv, 1, shape::object},
             {8, "[30/Mar/2026:16:02:11 +0000] GET /"sv, 2, shape::text},
             {43, "[INFO] ready [x]"sv, 3, shape::text},
             {60, "{\"b\":2}"sv, 4, shape::object},
         },
         0},
        {"literals and numbers still open an array",
         "[true, nan, 12.5e-3]"sv,
         {
             {1, "true"sv, 1, shape::scalar},
             {7, "nan"sv, 1, shape::scalar},
             {12, "12.5e-3"sv, 1, shape::scalar},
         },
         0},
    };
    check_cases(cases);
}

TEST_CASE("blank lines are counted outside records only", "[frame]")
{
    const std::vector<framing_case> cases = {
        {"blank lines are counted",
         "\n{\"a\":1,\"m\":\"x\"}\n\n\n{\"a\":2,\"m\":\"y\"}\n  \n"sv,
         {
             {1, "{\"a\":1,\"m\":\"x\"}"sv, 2, shape::object},
             {19, "{\"a\":2,\"m\":\"y\"}"sv, 5, shape::object},
         },
         4},
        {"blank lines between records",
         "a\n\nb\n"sv,
         {
             {0, "a"sv, 1, shape::text},
             {3, "b"sv, 3, shape::text},
         },
         1},
        {"two lines without final newline",
         "a\nb"sv,
         {
             {0, "a"sv, 1, shape::text},
             {2, "b"sv, 2, shape::text},
         },
         0},
        {"two lines with final newline",
         "a\nb\n"sv,
         {
             {0, "a"sv, 1, shape::text},
             {2, "b"sv, 2, shape::text},
         },
         0},
        {"only line feeds",
         "\n\n"sv,
         {

         },
         2},
        {"empty body",
         ""sv,
         {

         },
         0},
        {"whitespace-only body",
         " \t\r\n\n "sv,
         {

         },
         3},
        {"trailing spaces line at end counts as blank",
         "a\n \t"sv,
         {
             {0, "a"sv, 1, shape::text},
         },
         1},
        {"empty arrays and a blank line",
         "[]\n\n[ ]"sv,
         {

         },
         1},
    };
    check_cases(cases);
}

TEST_CASE("defects are contained and framing resumes", "[frame]")
{
    const std::vector<framing_case> cases = {
        {"line feed in a string inside an array leaves the array",
         "[{\"a\":\"x\ny\"},{\"b\":2}]\n{\"c\":3}"sv,
         {
             {1, "{\"a\":\"x"sv, 1, shape::object, defect::newline_in_string,
              8},
             {9, "y\"},{\"b\":2}]"sv, 2, shape::text},
             {22, "{\"c\":3}"sv, 3, shape::object},
         },
         0},
        {"raw line feed in a string cuts the record; next line is framed",
         "{\"a\":\"x\ny\"}\n{\"b\":2}\n"sv,
         {
             {0, "{\"a\":\"x"sv, 1, shape::object, defect::newline_in_string,
              7},
             {8, "y\"}"sv, 2, shape::text},
             {12, "{\"b\":2}"sv, 3, shape::object},
         },
         0},
        {"cut at a crlf drops the carriage return",
         "{\"a\":\"x\r\ny\"}\r\n{\"b\":2}"sv,
         {
             {0, "{\"a\":\"x"sv, 1, shape::object, defect::newline_in_string,
              8},
             {9, "y\"}"sv, 2, shape::text},
             {14, "{\"b\":2}"sv, 3, shape::object},
         },
         0},
        {"raw line feed in a bare string",
         "\"abc\ndef\"\n"sv,
         {
             {0, "\"abc"sv, 1, shape::string, defect::newline_in_string, 4},
             {5, "def\""sv, 2, shape::text},
         },
         0},
        {"escaped raw line feed still cuts",
         "{\"a\":\"x\\\ny\"}\n"sv,
         {
             {0, "{\"a\":\"x\\"sv, 1, shape::object, defect::newline_in_string,
              8},
             {9, "y\"}"sv, 2, shape::text},
         },
         0},
        {"cut bare string element; the rest is a stream",
         "[\"ab\n\",1]\n\n2"sv,
         {
             {1, "\"ab"sv, 1, shape::string, defect::newline_in_string, 4},
             {5, "\",1]"sv, 2, shape::string, defect::newline_in_string, 9},
             {11, "2"sv, 4, shape::scalar},
         },
         1},
        {"raw control bytes in strings are flagged, not cut",
         "{\"a\":\"x\ty\"}\n{\"b\":\"\x00\"}\n{\"c\":\"\\\r\"}\n"sv,
         {
             {0, "{\"a\":\"x\ty\"}"sv, 1, shape::object,
              defect::control_character, 7},
             {12, "{\"b\":\"\x00\"}"sv, 2, shape::object,
              defect::control_character, 18},
             {22, "{\"c\":\"\\\r\"}"sv, 3, shape::object,
              defect::control_character, 29},
         },
         0},
        {"control bytes in array elements",
         "[\"\x01\x02\",{\"a\":\"\x1F\"}]"sv,
         {
             {1, "\"\x01\x02\""sv, 1, shape::string, defect::control_character,
              2},
             {6, "{\"a\":\"\x1F\"}"sv, 1, shape::object,
              defect::control_character, 12},
         },
         0},
        {"control bytes between tokens are whitespace",
         "{\t\"a\" :\r 1}"sv,
         {
             {0, "{\t\"a\" :\r 1}"sv, 1, shape::object},
         },
         0},
        {"mismatched bracket spoils the rest of its line",
         "{\"a\":[1}]\n{\"b\":2}\n"sv,
         {
             {0, "{\"a\":[1}]"sv, 1, shape::object, defect::unbalanced, 7},
             {10, "{\"b\":2}"sv, 2, shape::object},
         },
         0},
        {"mismatched bracket on a later line cuts at the first line",
         "{\n\"a\":]  x \n}\n{\"b\":1}"sv,
         {
             {0, "{"sv, 1, shape::object, defect::unterminated, 1},
             {2, "\"a\""sv, 2, shape::string},
             {5, ":]  x"sv, 2, shape::text},
             {12, "}"sv, 3, shape::text, defect::unbalanced, 12},
             {14, "{\"b\":1}"sv, 4, shape::object},
         },
         0},
        {"stray closing brackets in the stream",
         "}\n] x\n{\"a\":1}"sv,
         {
             {0, "}"sv, 1, shape::text, defect::unbalanced, 0},
             {2, "] x"sv, 2, shape::text, defect::unbalanced, 2},
             {6, "{\"a\":1}"sv, 3, shape::object},
         },
         0},
        {"mismatched bracket in an array takes the rest of the body",
         "[{\"a\":1},{\"b\":]},{\"c\":3}]\n{\"d\":4}\n"sv,
         {
             {1, "{\"a\":1}"sv, 1, shape::object},
             {9, "{\"b\":]},{\"c\":3}]\n{\"d\":4}"sv, 1, shape::object,
              defect::unbalanced, 14},
         },
         0},
        {"closing brace after an array element",
         "[1}]\n{\"d\":4}"sv,
         {
             {1, "1"sv, 1, shape::scalar},
             {2, "}]\n{\"d\":4}"sv, 1, shape::text, defect::unbalanced, 2},
         },
         0},
        {"closing brace where an element belongs",
         "[1,}]"sv,
         {
             {1, "1"sv, 1, shape::scalar},
             {3, "}]"sv, 1, shape::text, defect::unbalanced, 3},
         },
         0},
        {"input ends inside an object",
         "{\"a\":1}\n{\"b\":{\"c\":2}\n\n"sv,
         {
             {0, "{\"a\":1}"sv, 1, shape::object},
             {8, "{\"b\":{\"c\":2}"sv, 2, shape::object, defect::unterminated,
              22},
         },
         0},
        {"input ends inside a bare string",
         "{\"a\":1}\n\"abc"sv,
         {
             {0, "{\"a\":1}"sv, 1, shape::object},
             {8, "\"abc"sv, 2, shape::string, defect::unterminated, 12},
         },
         0},
        {"input ends after a backslash",
         "{\"a\":\"bc\\"sv,
         {
             {0, "{\"a\":\"bc\\"sv, 1, shape::object, defect::unterminated, 9},
         },
         0},
        {"array elements without a comma",
         "[{\"a\":1} {\"b\":2}]\n{\"c\":3}"sv,
         {
             {1, "{\"a\":1}"sv, 1, shape::object},
             {9, "{\"b\":2}]\n{\"c\":3}"sv, 1, shape::object,
              defect::bad_separator, 9},
         },
         0},
        {"array starting with a comma",
         "[,1]"sv,
         {
             {1, ",1]"sv, 1, shape::text, defect::bad_separator, 1},
         },
         0},
        {"array ending with a comma",
         "[1,]"sv,
         {
             {1, "1"sv, 1, shape::scalar},
             {3, "]"sv, 1, shape::text, defect::bad_separator, 3},
         },
         0},
        {"array with a doubled comma",
         "[1,,2] "sv,
         {
             {1, "1"sv, 1, shape::scalar},
             {3, ",2]"sv, 1, shape::text, defect::bad_separator, 3},
         },
         0},
        {"scalars without a comma",
         "[1 2]"sv,
         {
             {1, "1"sv, 1, shape::scalar},
             {3, "2]"sv, 1, shape::scalar, defect::bad_separator, 3},
         },
         0},
        {"array without closing bracket",
         "[{\"a\":1},{\"b\":2}"sv,
         {
             {1, "{\"a\":1}"sv, 1, shape::object},
             {9, "{\"b\":2}"sv, 1, shape::object},
             {16, ""sv, 1, shape::text, defect::unterminated, 16},
         },
         0},
        {"array ending after a comma",
         "[{\"a\":1},\n"sv,
         {
             {1, "{\"a\":1}"sv, 1, shape::object},
             {10, ""sv, 2, shape::text, defect::unterminated, 10},
         },
         0},
        {"input ends inside an array element",
         "[{\"a\":1"sv,
         {
             {1, "{\"a\":1"sv, 1, shape::object, defect::unterminated, 7},
         },
         0},
        {"lone opening bracket",
         "["sv,
         {
             {1, ""sv, 1, shape::text, defect::unterminated, 1},
         },
         0},
    };
    check_cases(cases);
}

TEST_CASE("a damaged value spanning lines keeps only its first line", "[frame]")
{
    const std::vector<framing_case> cases = {
        {"cut line followed by valid lines",
         "{\"event\":\"cut\",\n{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"sv,
         {
             {0, "{\"event\":\"cut\","sv, 1, shape::object,
              defect::unterminated, 15},
             {16, "{\"a\":1}"sv, 2, shape::object},
             {24, "{\"a\":2}"sv, 3, shape::object},
             {32, "{\"a\":3}"sv, 4, shape::object},
         },
         0},
        {"cut line in the middle of a crlf body",
         "{\"a\":1}\r\n{\"event\":\"cut\",\r\n{\"a\":2}\r\n{\"a\":3}\r\n"sv,
         {
             {0, "{\"a\":1}"sv, 1, shape::object},
             {9, "{\"event\":\"cut\","sv, 2, shape::object,
              defect::unterminated, 25},
             {26, "{\"a\":2}"sv, 3, shape::object},
             {35, "{\"a\":3}"sv, 4, shape::object},
         },
         0},
        {"several cut lines in a row",
         "{\"a\":\n{\"b\":\n{\"c\":1}\n"sv,
         {
             {0, "{\"a\":"sv, 1, shape::object, defect::unterminated, 5},
             {6, "{\"b\":"sv, 2, shape::object, defect::unterminated, 11},
             {12, "{\"c\":1}"sv, 3, shape::object},
         },
         0},
        {"values before the broken one on its line are kept",
         "{\"x\":\n{\"a\":1}{\"b\":[\n{\"c\":3}\n"sv,
         {
             {0, "{\"x\":"sv, 1, shape::object, defect::unterminated, 5},
             {6, "{\"a\":1}"sv, 2, shape::object},
             {13, "{\"b\":["sv, 2, shape::object, defect::unterminated, 19},
             {20, "{\"c\":3}"sv, 3, shape::object},
         },
         0},
        {"pretty-printed value after a cut line stays whole",
         "{\"cut\":\n{\n \"a\": 1\n}\n{\"b\":2}"sv,
         {
             {0, "{\"cut\":"sv, 1, shape::object, defect::unterminated, 7},
             {8, "{\n \"a\": 1\n}"sv, 2, shape::object},
             {20, "{\"b\":2}"sv, 5, shape::object},
         },
         0},
        {"pretty-printed object cut short comes out line by line",
         "{\n  \"a\": {\n    \"b\": 1\n"sv,
         {
             {0, "{"sv, 1, shape::object, defect::unterminated, 1},
             {4, "\"a\""sv, 2, shape::string},
             {7, ": {"sv, 2, shape::text},
             {15, "\"b\""sv, 3, shape::string},
             {18, ": 1"sv, 3, shape::text},
         },
         0},
        {"mismatched bracket on a later line",
         "{\"cut\":\n{\"a\":1}\n{\"b\":]}\n{\"c\":3}"sv,
         {
             {0, "{\"cut\":"sv, 1, shape::object, defect::unterminated, 7},
             {8, "{\"a\":1}"sv, 2, shape::object},
             {16, "{\"b\":]}"sv, 3, shape::object, defect::unbalanced, 21},
             {24, "{\"c\":3}"sv, 4, shape::object},
         },
         0},
        {"line feed in a string on a later line",
         "{\"cut\":\n{\"a\":1}\n{\"b\":\"x\ny\"}\n{\"c\":3}"sv,
         {
             {0, "{\"cut\":"sv, 1, shape::object, defect::unterminated, 7},
             {8, "{\"a\":1}"sv, 2, shape::object},
             {16, "{\"b\":\"x"sv, 3, shape::object, defect::newline_in_string,
              23},
             {24, "y\"}"sv, 4, shape::text},
             {28, "{\"c\":3}"sv, 5, shape::object},
         },
         0},
        {"value open at the end on its only line runs to the end",
         "{\"a\":1}\n{\"b\":[1,\r\n \t\n"sv,
         {
             {0, "{\"a\":1}"sv, 1, shape::object},
             {8, "{\"b\":[1,"sv, 2, shape::object, defect::unterminated, 21},
         },
         0},
    };
    check_cases(cases);
}

TEST_CASE("a '[' opens a batch only while the body holds nothing else",
          "[frame]")
{
    const std::vector<framing_case> cases = {
        {"array line between object lines is one record",
         "{\"a\":1}\n[1,2]\n{\"b\":2}"sv,
         {
             {0, "{\"a\":1}"sv, 1, shape::object},
             {8, "[1,2]"sv, 2, shape::array},
             {14, "{\"b\":2}"sv, 3, shape::object},
         },
         0},
        {"array right after an object on its line",
         "{\"a\":1}[2]"sv,
         {
             {0, "{\"a\":1}"sv, 1, shape::object},
             {7, "[2]"sv, 1, shape::array},
         },
         0},
        {"array after a scalar line",
         "7\n[1,[2]]"sv,
         {
             {0, "7"sv, 1, shape::scalar},
             {2, "[1,[2]]"sv, 2, shape::array},
         },
         0},
        {"array after a text line",
         "INFO up\n[1]"sv,
         {
             {0, "INFO up"sv, 1, shape::text},
             {8, "[1]"sv, 2, shape::array},
         },
         0},
        {"array after a batch and an object",
         "[1]\n{\"a\":1}\n[2]"sv,
         {
             {1, "1"sv, 1, shape::scalar},
             {4, "{\"a\":1}"sv, 2, shape::object},
             {12, "[2]"sv, 3, shape::array},
         },
         0},
        {"strings hide brackets in an array record",
         "{}\n[\"]\",{\"a\":\"[\"}]"sv,
         {
             {0, "{}"sv, 1, shape::object},
             {3, "[\"]\",{\"a\":\"[\"}]"sv, 2, shape::array},
         },
         0},
        {"unterminated array record at the end",
         "{\"a\":1}\n[1,2"sv,
         {
             {0, "{\"a\":1}"sv, 1, shape::object},
             {8, "[1,2"sv, 2, shape::array, defect::unterminated, 12},
         },
         0},
        {"unterminated array record before more lines is cut",
         "{\"a\":1}\n[1,2\n{\"b\":2}\n"sv,
         {
             {0, "{\"a\":1}"sv, 1, shape::object},
             {8, "[1,2"sv, 2, shape::array, defect::unterminated, 12},
             {13, "{\"b\":2}"sv, 3, shape::object},
         },
         0},
        {"mismatched bracket in an array record spoils its line",
         "{}\n[1} x\n{\"a\":1}"sv,
         {
             {0, "{}"sv, 1, shape::object},
             {3, "[1} x"sv, 2, shape::array, defect::unbalanced, 5},
             {9, "{\"a\":1}"sv, 3, shape::object},
         },
         0},
        {"a batch cut by a line feed leaves batches possible",
         "[\"a\n[1]"sv,
         {
             {1, "\"a"sv, 1, shape::string, defect::newline_in_string, 3},
             {5, "1"sv, 2, shape::scalar},
         },
         0},
    };
    check_cases(cases);
}

TEST_CASE("cut lines never make framing quadratic", "[frame][large]")
{
    SECTION("400000 valid events after a cut line are all kept")
    {
        const std::size_t events = 400000;
        std::string body = "{\"event\":\"cut\",\n";
        for (std::size_t i = 0; i < events; ++i)
            body += "{\"event\":\"ok\",\"n\":" + std::to_string(i) + "}\n";

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == events + 1);
        CHECK(got.records[0].length == 15);
        CHECK(got.records[0].problem == defect::unterminated);
        CHECK(got.records[0].problem_offset == 15);
        std::size_t clean = 0;
        for (std::size_t i = 1; i <= events; ++i)
            clean += got.records[i].problem == defect::none &&
                     got.records[i].line == i + 1;
        CHECK(clean == events);
        CHECK(
            body.substr(got.records.back().offset, got.records.back().length) ==
            "{\"event\":\"ok\",\"n\":399999}");
    }

    SECTION("every other line is cut")
    {
        const std::size_t pairs = 100000;
        std::string body;
        for (std::size_t i = 0; i < pairs; ++i)
            body += "{\"a\":[\n{\"ok\":1}\n";

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == 2 * pairs);
        std::size_t as_expected = 0;
        for (std::size_t i = 0; i < 2 * pairs; ++i) {
            const record& r = got.records[i];
            const bool cut = i % 2 == 0;
            as_expected +=
                r.offset == i / 2 * 16 + (cut ? 0 : 7) &&
                r.length == (cut ? 6 : 8) &&
                r.problem == (cut ? defect::unterminated : defect::none);
        }
        CHECK(as_expected == 2 * pairs);
    }

    SECTION("a mismatch after many open lines")
    {
        const std::size_t lines = 100000;
        std::string body;
        for (std::size_t i = 0; i < lines; ++i)
            body += "{[\n";
        body += "}\n";

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == lines + 1);
        CHECK(got.records[lines - 1].problem == defect::unterminated);
        CHECK(got.records[lines - 1].problem_offset == 3 * lines - 1);
        CHECK(got.records[lines].problem == defect::unbalanced);
    }

    SECTION("a deep pretty-printed object cut short")
    {
        const std::size_t lines = 100000;
        std::string body;
        for (std::size_t i = 0; i < lines; ++i)
            body += "{\n";

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == lines);
        CHECK(got.records[0].problem_offset == 1);
        CHECK(got.records[lines - 2].problem_offset == 2 * lines - 3);
        CHECK(got.records[lines - 1].problem_offset == 2 * lines);
    }
}

TEST_CASE("framing past the end stays done", "[frame]")
{
    framer f("{\"a\":1}\n"sv);
    record r;
    REQUIRE(f.next(r));
    CHECK_FALSE(f.next(r));
    CHECK_FALSE(f.next(r));
    CHECK(f.blank_lines() == 0);
}

TEST_CASE("a 10 MB single line is one record", "[frame][large]")
{
    const std::size_t big = 10 * 1024 * 1024;

    SECTION("a string value scanned in bulk")
    {
        std::string body = "{\"m\":\"";
        body.append(big, 'x');
        body += "\"}\n{\"a\":1}";

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == 2);
        CHECK(got.records[0].offset == 0);
        CHECK(got.records[0].length == big + 8);
        CHECK(got.records[0].kind == shape::object);
        CHECK(got.records[0].problem == defect::none);
        CHECK(got.records[1].offset == big + 9);
        CHECK(got.records[1].line == 2);
    }

    SECTION("a text line")
    {
        std::string body(big, 'y');
        body += " \n7";

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == 2);
        CHECK(got.records[0].length == big);
        CHECK(got.records[0].kind == shape::text);
        CHECK(got.records[1].offset == big + 2);
        CHECK(got.records[1].kind == shape::scalar);
    }

    SECTION("a control byte at the very end of a huge string")
    {
        std::string body = "\"";
        body.append(big, 'z');
        body += "\x01\"";

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == 1);
        CHECK(got.records[0].length == big + 3);
        CHECK(got.records[0].problem == defect::control_character);
        CHECK(got.records[0].problem_offset == big + 1);
    }
}

TEST_CASE("deep nesting is scanned without recursion", "[frame][large]")
{
    const std::size_t levels = 10000;

    SECTION("10000 nested objects")
    {
        std::string body;
        for (std::size_t i = 0; i < levels; ++i)
            body += "{\"a\":";
        body += "1";
        body.append(levels, '}');

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == 1);
        CHECK(got.records[0].length == body.size());
        CHECK(got.records[0].problem == defect::none);
    }

    SECTION("10000 nested arrays inside a top-level array")
    {
        std::string body(levels, '[');
        body.append(levels, ']');

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == 1);
        CHECK(got.records[0].offset == 1);
        CHECK(got.records[0].length == body.size() - 2);
        CHECK(got.records[0].kind == shape::array);
        CHECK(got.records[0].problem == defect::none);
    }

    SECTION("a mismatch at the deepest level")
    {
        std::string body;
        for (std::size_t i = 0; i < levels; ++i)
            body += "{\"a\":";
        body += "1]\n{}";

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == 2);
        CHECK(got.records[0].problem == defect::unbalanced);
        CHECK(got.records[0].problem_offset == levels * 5 + 1);
        CHECK(got.records[1].offset == levels * 5 + 3);
    }

    SECTION("10000 open arrays and no close")
    {
        const std::string body(levels, '[');

        const framed got = frame_all(body);
        REQUIRE(got.records.size() == 1);
        CHECK(got.records[0].offset == 1);
        CHECK(got.records[0].problem == defect::unterminated);
        CHECK(got.records[0].problem_offset == levels);
    }
}

namespace {

/// Random nesting of objects and arrays, `depth` deep and closed
/// correctly; the outermost level is an object so it frames as a stream
/// value. Fills `closers` with the offset of each closing bracket,
/// innermost first.
std::string random_nesting(std::mt19937& rng, std::size_t depth,
                           std::vector<std::size_t>& closers)
{
    std::string body;
    std::string stack;
    for (std::size_t i = 0; i < depth; ++i) {
        const bool is_array = i > 0 && (rng() & 1) != 0;
        body += is_array ? "[" : "{\"k\":";
        stack += is_array ? ']' : '}';
    }
    body += "0";
    closers.clear();
    while (!stack.empty()) {
        closers.push_back(body.size());
        body += stack.back();
        stack.pop_back();
    }
    return body;
}

} // namespace

TEST_CASE("bracket kinds are remembered at every depth", "[frame]")
{
    std::mt19937 rng(7);
    std::vector<std::size_t> closers;

    for (const std::size_t depth : {1, 63, 64, 65, 130, 1000}) {
        CAPTURE(depth);

        // Correct nesting frames as one clean record, twice in a row so
        // the second reuses what the first stored.
        const std::string one = random_nesting(rng, depth, closers);
        const std::string two = random_nesting(rng, depth, closers);
        const framed clean = frame_all(one + "\n" + two);
        REQUIRE(clean.records.size() == 2);
        CHECK(clean.records[0].problem == defect::none);
        CHECK(clean.records[1].problem == defect::none);

        // Flipping any one closer is caught exactly there.
        for (const std::size_t at :
             {closers.front(), closers[depth / 2], closers.back()}) {
            std::string broken = two;
            broken[at] = broken[at] == '}' ? ']' : '}';
            const framed got = frame_all(broken);
            REQUIRE(!got.records.empty());
            CHECK(got.records[0].problem == defect::unbalanced);
            CHECK(got.records[0].problem_offset == at);
        }
    }
}

namespace {

/// Holds a copy of a body whose last byte is the last readable byte of a
/// page, so a read past the end faults instead of passing unnoticed.
class guarded_body {
public:
    explicit guarded_body(std::size_t capacity)
    {
        page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        data_pages_ = (capacity + page_ - 1) / page_ + 1;
        const std::size_t total = (data_pages_ + 1) * page_;
        void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(p != MAP_FAILED);
        base_ = static_cast<char*>(p);
        REQUIRE(mprotect(base_ + data_pages_ * page_, page_, PROT_NONE) == 0);
    }
    guarded_body(const guarded_body&) = delete;
    guarded_body& operator=(const guarded_body&) = delete;
    ~guarded_body() { munmap(base_, (data_pages_ + 1) * page_); }

    /// Copies `body` so that it ends at the guard page.
    std::string_view place(std::string_view body)
    {
        REQUIRE(body.size() <= data_pages_ * page_);
        char* start = base_ + data_pages_ * page_ - body.size();
        std::memcpy(start, body.data(), body.size());
        return {start, body.size()};
    }

private:
    std::size_t page_ = 0;
    std::size_t data_pages_ = 0;
    char* base_ = nullptr;
};

/// A random body built mostly from bytes that matter to framing.
std::string random_garbage(std::mt19937& rng)
{
    static constexpr std::string_view alphabet =
        "{{}}[[]]\"\"\"\\\\,,::  \n\n\r\tab1-tfn\x00\x01\x1f\xef\xbb\xbf\xff"sv;
    std::string body;
    if (rng() % 16 == 0) body = "\xEF\xBB\xBF";
    const std::size_t size = rng() % 200;
    for (std::size_t i = 0; i < size; ++i)
        body += alphabet[rng() % alphabet.size()];
    return body;
}

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/// The framer's promises that hold for any input at all.
void check_invariants(std::string_view body, const framed& got)
{
    const std::size_t skipped = body.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
    std::vector<int> owners(body.size(), 0);
    std::size_t previous_end = skipped;

    for (std::size_t i = 0; i < got.records.size(); ++i) {
        const record& r = got.records[i];
        INFO("record " << i << " at " << r.offset);
        REQUIRE(r.index == i);

        // In order, inside the body, not overlapping.
        REQUIRE(r.offset >= previous_end);
        REQUIRE(r.offset + r.length <= body.size());
        previous_end = r.offset + r.length;

        // Only a last record reporting a truncated array may be empty;
        // otherwise whitespace never starts or ends a record.
        if (r.length == 0) {
            CHECK(i + 1 == got.records.size());
            CHECK(r.problem == defect::unterminated);
        } else {
            CHECK_FALSE(is_space(body[r.offset]));
            CHECK_FALSE(is_space(body[r.offset + r.length - 1]));
        }

        // The line is that of the first byte.
        const auto feeds = std::count(
            body.begin(), body.begin() + static_cast<long>(r.offset), '\n');
        CHECK(r.line == static_cast<std::uint64_t>(feeds) + 1);

        // A defect lies at or after the record's start, inside the body.
        if (r.problem == defect::none) {
            CHECK(r.problem_offset == 0);
        } else {
            CHECK(r.problem_offset >= r.offset);
            CHECK(r.problem_offset <= body.size());
        }

        for (std::size_t b = r.offset; b < r.offset + r.length; ++b)
            ++owners[b];
    }

    // Every other non-whitespace byte is array punctuation.
    for (std::size_t b = skipped; b < body.size(); ++b) {
        if (owners[b] == 0 && !is_space(body[b])) {
            INFO("byte " << b);
            CHECK(std::string_view("[],").find(body[b]) !=
                  std::string_view::npos);
        }
    }

    const auto feeds = std::count(body.begin(), body.end(), '\n');
    CHECK(got.blank_lines <= static_cast<std::uint64_t>(feeds) + 1);
}

} // namespace

TEST_CASE("random garbage is framed safely", "[frame][property]")
{
    std::mt19937 rng(20240611);
    guarded_body guard(4096);

    for (int round = 0; round < 20000; ++round) {
        const std::string body = random_garbage(rng);
        CAPTURE(round, body);
        const framed got = frame_all(guard.place(body));
        check_invariants(body, got);
    }
}

namespace {

/// Appends a random JSON string holding bytes that look structural.
void random_string(std::mt19937& rng, std::string& out)
{
    static constexpr std::string_view pieces[] = {
        "a",
        "xyz",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\\\"",
        "\\\\",
        "\\n",
        "\\t",
        "\\u0000",
        "\xc3\xa9",
        "\\\\\\\"",
        "0123456789abcdef",
    };
    out += '"';
    const std::size_t count = rng() % 12;
    for (std::size_t i = 0; i < count; ++i)
        out += pieces[rng() % std::size(pieces)];
    out += '"';
}

/// Appends a random compact JSON value at most `depth` levels deep.
void random_value(std::mt19937& rng, int depth, std::string& out)
{
    const unsigned pick = depth > 0 ? rng() % 6 : rng() % 3;
    if (pick == 0) {
        random_string(rng, out);
    } else if (pick == 1) {
        out += std::to_string(static_cast<int>(rng() % 2000) - 1000);
    } else if (pick == 2) {
        out += (rng() & 1) != 0 ? "true" : "null";
    } else if (pick == 3) {
        out += '[';
        const std::size_t count = rng() % 4;
        for (std::size_t i = 0; i < count; ++i) {
            if (i > 0) out += ',';
            random_value(rng, depth - 1, out);
        }
        out += ']';
    } else {
        out += '{';
        const std::size_t count = rng() % 4;
        for (std::size_t i = 0; i < count; ++i) {
            if (i > 0) out += ',';
            random_string(rng, out);
            out += ':';
            random_value(rng, depth - 1, out);
        }
        out += '}';
    }
}

/// Pretty-prints compact JSON: a line break after every opening bracket
/// and comma outside strings, two spaces per level.
std::string pretty(std::string_view compact)
{
    std::string out;
    int level = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < compact.size(); ++i) {
        const char c = compact[i];
        out += c;
        if (in_string) {
            if (c == '\\')
                out += compact[++i];
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
            continue;
        }
        if (c == '{' || c == '[') ++level;
        if (c == '}' || c == ']') --level;
        const bool next_closes =
            i + 1 < compact.size() &&
            (compact[i + 1] == '}' || compact[i + 1] == ']');
        if (c == '{' || c == '[' || c == ',' || next_closes) {
            out += '\n';
            out.append(static_cast<std::size_t>(2 * (level - next_closes)),
                       ' ');
        }
    }
    return out;
}

} // namespace

TEST_CASE("random valid events come back in every layout", "[frame][property]")
{
    std::mt19937 rng(99);
    struct layout {
        std::string_view name;
        std::string_view open, between, close;
        bool pretty;
    };
    static constexpr layout layouts[] = {
        {"json array", "[", ",", "]", false},
        {"newline delimited", "", "\n", "", false},
        {"json lines", "", "\n", "\n", false},
        {"json stream", "", "", "", false},
        {"crlf with blank lines", "\r\n", "\r\n\r\n", "\r\n", false},
        {"pretty array", "[\n", ",\n", "\n]\n", true},
        {"pretty stream", "", "\n", "\n", true},
    };

    for (int round = 0; round < 500; ++round) {
        // Objects and arrays only: bare values in a stream are read line by
        // line. The first is an object, or a stream of arrays would be
        // batches.
        std::vector<std::string> events(1 + rng() % 5);
        for (std::string& e : events) {
            const bool first = &e == &events.front();
            while (e.empty() || (e[0] != '{' && (first || e[0] != '['))) {
                e.clear();
                random_value(rng, 4, e);
            }
        }

        for (const layout& l : layouts) {
            CAPTURE(round, l.name);
            std::string body(l.open);
            std::vector<std::size_t> offsets;
            std::vector<std::string> texts;
            for (std::size_t i = 0; i < events.size(); ++i) {
                if (i > 0) body += l.between;
                texts.push_back(l.pretty ? pretty(events[i]) : events[i]);
                offsets.push_back(body.size());
                body += texts.back();
            }
            body += l.close;
            CAPTURE(body);

            const framed got = frame_all(body);
            REQUIRE(got.records.size() == events.size());
            for (std::size_t i = 0; i < events.size(); ++i) {
                const record& r = got.records[i];
                CHECK(r.offset == offsets[i]);
                CHECK(body.substr(r.offset, r.length) == texts[i]);
                CHECK(r.kind ==
                      (texts[i][0] == '{' ? shape::object : shape::array));
                CHECK(r.problem == defect::none);
            }
            check_invariants(body, got);
        }
    }
}

namespace {

/// Where a value ends by the rules for one value alone.
struct value_end {
    std::size_t end; // one past the value, or where it was cut
    defect problem;
    std::size_t problem_offset;
};

/// Byte-at-a-time model of how an object or array starting at `start` is
/// delimited: a backslash anywhere takes away the meaning of the byte
/// after it as a quote or escape; strings hide brackets; a raw line feed
/// in a string cuts; a mismatched bracket spoils the rest of its line.
value_end model_nested(std::string_view body, std::size_t start)
{
    std::string closers;
    bool in_string = false;
    bool escape_next = false;
    value_end r{body.size(), defect::unterminated, body.size()};

    for (std::size_t i = start; i < body.size(); ++i) {
        const char c = body[i];
        const bool escaped = escape_next;
        escape_next = c == '\\' && !escaped;
        if (c == '"' && !escaped) {
            in_string = !in_string;
            continue;
        }
        if (in_string) {
            if (c == '\n') return {i, defect::newline_in_string, i};
            if (static_cast<unsigned char>(c) < 0x20 &&
                r.problem == defect::unterminated) {
                r.problem = defect::control_character;
                r.problem_offset = i;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            closers += c == '{' ? '}' : ']';
            continue;
        }
        if (c != '}' && c != ']') continue;
        if (c != closers.back()) {
            return {std::min(body.find('\n', i), body.size()),
                    defect::unbalanced, i};
        }
        closers.pop_back();
        if (closers.empty()) {
            if (r.problem == defect::unterminated) return {i + 1, {}, 0};
            r.end = i + 1;
            return r;
        }
    }

    // A control byte does not survive running into the end of input.
    return {body.size(), defect::unterminated, body.size()};
}

/// Byte-at-a-time model of a string starting at `start`: an escape
/// covers the next byte, a raw line feed cuts.
value_end model_string(std::string_view body, std::size_t start)
{
    value_end r{body.size(), defect::unterminated, body.size()};
    bool escaped = false;
    for (std::size_t i = start + 1; i < body.size(); ++i) {
        const char c = body[i];
        if (c == '"' && !escaped) {
            if (r.problem == defect::unterminated) return {i + 1, {}, 0};
            r.end = i + 1;
            return r;
        }
        if (c == '\n') return {i, defect::newline_in_string, i};
        if (static_cast<unsigned char>(c) < 0x20 &&
            r.problem == defect::unterminated) {
            r.problem = defect::control_character;
            r.problem_offset = i;
        }
        escaped = c == '\\' && !escaped;
    }
    return {body.size(), defect::unterminated, body.size()};
}

/// Model of the log-line rule: '[', spaces, then digits followed by '-',
/// ':' or '/', or a word that is no JSON literal (nor nan, inf) followed
/// by ']' or a space.
bool model_log_line(std::string_view body, std::size_t pos)
{
    std::string rest(body.substr(pos + 1));
    rest.erase(0, rest.find_first_not_of(" \t"));
    std::size_t n = 0;
    while (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n])))
        ++n;
    if (n > 0)
        return n < rest.size() &&
               (rest[n] == '-' || rest[n] == ':' || rest[n] == '/');
    while (n < rest.size() && std::isalpha(static_cast<unsigned char>(rest[n])))
        ++n;
    if (n == 0 || n == rest.size() || (rest[n] != ']' && rest[n] != ' '))
        return false;
    std::string word = rest.substr(0, n);
    for (char& c : word)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* literal :
         {"true", "false", "null", "nan", "inf", "infinity"})
        if (word == literal) return false;
    return true;
}

/// Model of framing a body that holds no top-level batch, straight from
/// the rules: each value is read on its own from where the previous one
/// ended, however often that rereads the same bytes, and a damaged object
/// or array that would span lines keeps only its first line.
std::vector<record> model_stream(std::string_view body)
{
    std::vector<record> out;
    std::size_t pos = 0;
    for (;;) {
        while (pos < body.size() && is_space(body[pos]))
            ++pos;
        if (pos == body.size()) return out;

        const char first = body[pos];
        const std::size_t eol = std::min(body.find('\n', pos), body.size());
        record r;
        r.offset = pos;
        value_end v{eol, defect::none, 0};
        if (first == '[' && model_log_line(body, pos)) {
            r.kind = shape::text;
        } else if (first == '{' || first == '[') {
            r.kind = first == '{' ? shape::object : shape::array;
            v = model_nested(body, pos);
            std::size_t last = v.end;
            while (last > pos && is_space(body[last - 1]))
                --last;
            const bool damaged = v.problem == defect::unterminated ||
                                 v.problem == defect::unbalanced ||
                                 v.problem == defect::newline_in_string;
            if (damaged && last > eol) v = {eol, defect::unterminated, eol};
        } else if (first == '"') {
            r.kind = shape::string;
            v = model_string(body, pos);
        } else {
            const bool digit = first >= '0' && first <= '9';
            const bool scalar = digit || first == '-' || first == 't' ||
                                first == 'f' || first == 'n';
            r.kind = scalar ? shape::scalar : shape::text;
            if (first == '}' || first == ']')
                v = {eol, defect::unbalanced, pos};
        }

        std::size_t stop = v.end;
        while (stop > pos && is_space(body[stop - 1]))
            --stop;
        r.length = stop - pos;
        r.problem = v.problem;
        r.problem_offset = v.problem_offset;
        out.push_back(r);
        pos = v.end;
    }
}

/// A random body of short lines, mostly pieces with balanced quotes, so
/// that values often stay open across many lines before the damage.
std::string random_lines(std::mt19937& rng)
{
    static constexpr std::string_view pieces[] = {
        "{",     "{",    "}",  "}",  "[",  "]",    "{\"k\":",   "1",
        ",",     " ",    "\n", "\n", "\n", "\r\n", "\"s\"",     "\"{\"",
        "\"]\"", "\\\"", "\"", "a",  "\t", "\x01", "{\"a\":1}",
    };
    std::string body;
    const std::size_t count = rng() % 120;
    for (std::size_t i = 0; i < count; ++i)
        body += pieces[rng() % std::size(pieces)];
    return body;
}

} // namespace

TEST_CASE("streams are framed as a byte-at-a-time model says",
          "[frame][property]")
{
    std::mt19937 rng(31337);
    guarded_body guard(4096);

    // The first mix ends records early and often; the second, without
    // line feeds and with few brackets, makes them run across several
    // 64-byte blocks with strings and escapes spanning block edges; every
    // third body is random_lines, which keeps values open across many
    // lines. A body never starts with '[', which would open a batch the
    // model does not know.
    static constexpr std::string_view mixes[] = {
        "{{}}[[]]\"\"\"\"\\\\\\\\\\,:ab \n\t\x01"sv,
        "aaaaaaaaaa\"\"\"\"\\\\\\{{}}[]\x01"sv,
    };
    static constexpr std::string_view starts = "{{{{\"a1}]"sv;

    for (int round = 0; round < 60000; ++round) {
        std::string body(1, starts[rng() % starts.size()]);
        if (round % 3 == 2) {
            body += random_lines(rng);
        } else {
            const std::string_view alphabet = mixes[round % 3];
            const std::size_t size = rng() % 400;
            for (std::size_t i = 0; i < size; ++i)
                body += alphabet[rng() % alphabet.size()];
        }
        CAPTURE(round, body);

        const std::vector<record> want = model_stream(body);
        const framed got = frame_all(guard.place(body));
        REQUIRE(got.records.size() == want.size());
        for (std::size_t i = 0; i < want.size(); ++i) {
            INFO("record " << i);
            CHECK(got.records[i].offset == want[i].offset);
            CHECK(got.records[i].length == want[i].length);
            CHECK(got.records[i].kind == want[i].kind);
            CHECK(got.records[i].problem == want[i].problem);
            CHECK(got.records[i].problem_offset == want[i].problem_offset);
        }
        check_invariants(body, got);
    }
}

namespace {

/// Every record one framer yields, with where() after each and at the end.
struct framed_points {
    std::vector<record> records;
    std::vector<ks::frame::stop_point> after; // where() after records[i]
    ks::frame::stop_point end;                // where() once done
    std::uint64_t blank_lines = 0;
};

framed_points frame_points(framer& f)
{
    framed_points got;
    record r;
    while (f.next(r)) {
        got.records.push_back(r);
        got.after.push_back(f.where());
    }
    got.end = f.where();
    got.blank_lines = f.blank_lines();
    return got;
}

/// `got` comes from a framer that started `shift` bytes and `blanks`
/// blank lines into the body that `want` comes from.
void check_same_point(const ks::frame::stop_point& got,
                      const ks::frame::stop_point& want, std::size_t shift,
                      std::uint64_t blanks)
{
    CHECK(got.offset + shift == want.offset);
    CHECK(got.blank_lines + blanks == want.blank_lines);
    CHECK(got.resumable == want.resumable);
    CHECK(got.state.line == want.state.line);
    CHECK(got.state.index == want.state.index);
    CHECK(got.state.in_array == want.state.in_array);
    CHECK(got.state.arrays_only == want.state.arrays_only);
    CHECK(got.state.line_has_record == want.state.line_has_record);
    CHECK(got.state.line_has_space == want.state.line_has_space);
}

/// `got` framed the body from `shift` on; `want` the whole body.
void check_same_record(const record& got, const record& want, std::size_t shift)
{
    CHECK(got.offset + shift == want.offset);
    CHECK(got.length == want.length);
    CHECK(got.line == want.line);
    CHECK(got.index == want.index);
    CHECK(got.kind == want.kind);
    CHECK(got.problem == want.problem);
    if (got.problem != defect::none)
        CHECK(got.problem_offset + shift == want.problem_offset);
    CHECK(got.open_at_end == want.open_at_end);
}

/// A framer resumed at `from` frames the rest of the body as `whole`
/// did from record `first` on.
void check_resumed(std::string_view body, const ks::frame::stop_point& from,
                   std::size_t first, const framed_points& whole)
{
    framer f(body.substr(from.offset), from.state);
    const framed_points rest = frame_points(f);
    REQUIRE(rest.records.size() == whole.records.size() - first);
    for (std::size_t i = 0; i < rest.records.size(); ++i) {
        INFO("record " << first + i);
        check_same_record(rest.records[i], whole.records[first + i],
                          from.offset);
        check_same_point(rest.after[i], whole.after[first + i], from.offset,
                         from.blank_lines);
    }
    CHECK(from.blank_lines + rest.blank_lines == whole.blank_lines);
}

/// The promises of "Framing in pieces" for one body: resuming at every
/// resumable point, and framing every prefix.
void check_pieces(std::string_view body)
{
    framer whole_framer(body);
    const framed_points whole = frame_points(whole_framer);
    CHECK(whole.end.offset == body.size());

    for (std::size_t i = 0; i < whole.records.size(); ++i) {
        if (!whole.after[i].resumable) continue;
        INFO("resumed after record " << i);
        check_resumed(body, whole.after[i], i + 1, whole);
    }
    if (whole.end.resumable) {
        INFO("resumed at the end");
        check_resumed(body, whole.end, whole.records.size(), whole);
    }

    for (std::size_t size = 1; size < body.size(); ++size) {
        INFO("prefix of " << size << " bytes");
        framer f(body.substr(0, size));
        record r;
        std::size_t i = 0;
        bool all_sure = true;
        while (f.next(r)) {
            const ks::frame::stop_point p = f.where();
            if (r.open_at_end || p.offset >= size) {
                all_sure = false;
                break;
            }
            INFO("record " << i);
            REQUIRE(i < whole.records.size());
            check_same_record(r, whole.records[i], 0);
            check_same_point(p, whole.after[i], 0, 0);
            ++i;
        }

        // Ending between stream values, the prefix may go on at its end.
        const ks::frame::stop_point end = f.where();
        if (all_sure && end.resumable) check_resumed(body, end, i, whole);
    }
}

/// A random body of valid events in a random layout.
std::string random_layout(std::mt19937& rng)
{
    static constexpr std::string_view opens[] = {"", "[", "[\n", "\r\n"};
    static constexpr std::string_view betweens[] = {"\n", ",",        ",\n",
                                                    "",   "\r\n\r\n", "\n  \n"};
    const std::size_t layout = rng() % std::size(opens);
    const bool in_array = opens[layout].starts_with("[");
    std::string body(opens[layout]);
    const std::size_t count = 1 + rng() % 6;
    for (std::size_t i = 0; i < count; ++i) {
        if (i > 0) {
            const std::string_view b = betweens[rng() % std::size(betweens)];
            if (in_array && b.find(',') == std::string_view::npos) body += ',';
            body += b;
        }
        // In a stream, bare values are read line by line: objects only.
        std::string e;
        do {
            e.clear();
            random_value(rng, 3, e);
        } while (!in_array && e[0] != '{');
        body += rng() % 3 == 0 ? pretty(e) : e;
    }
    if (in_array) body += rng() % 2 == 0 ? "]" : "\n]\n";
    return body;
}

} // namespace

TEST_CASE("records the body ends inside are flagged open_at_end", "[frame]")
{
    struct flag_case {
        std::string_view body;
        std::vector<bool> open;
    };
    const std::vector<flag_case> cases = {
        {"{\"a\":1}\n{\"b\":2}", {false, false}},
        {"{\"a\":1}\n12", {false, true}},
        {"12\n", {false}},
        {"\"ab", {true}},
        {"{\"a\":1}\n{\"b\":", {false, true}},
        {"{\"a\":\n1", {true, true}},
        {"{\"a\":1]", {true}},
        {"{\"a\":1]\n{}", {false, false}},
        {"{\"a\":\"x\ny\"}", {false, true}},
        {"[1]", {false}},
        {"[1,2", {false, true, true}},
        {"[1,2,", {false, false, true}},
        {"[{\"a\":1}", {false, true}},
        {"[{\"a\":1}}", {false, true}},
        {"[{\"a\":1]", {true}},
        {"[\"a\",\"b", {false, true}},
    };
    for (const flag_case& c : cases) {
        CAPTURE(c.body);
        framer f(c.body);
        std::vector<bool> got;
        record r;
        while (f.next(r))
            got.push_back(r.open_at_end);
        CHECK(got == c.open);
    }
}

TEST_CASE("where() tells the offset and state after each record", "[frame]")
{
    // Offsets: '[' 0, '1' 1, '2' 4, ']' 5, LF 6 and 7, "{}" 8 and 9.
    const std::string_view body = "[1, 2]\n\n{}"sv;
    framer f(body);
    record r;

    REQUIRE(f.next(r));
    ks::frame::stop_point p = f.where();
    CHECK(p.offset == 2);
    CHECK(p.resumable);
    CHECK(p.state.in_array);
    CHECK(p.state.arrays_only);
    CHECK(p.state.index == 1);

    REQUIRE(f.next(r));
    p = f.where();
    CHECK(p.offset == 5);
    CHECK(p.state.in_array);

    // The array's line is not blank; the line after it is.
    REQUIRE(f.next(r));
    p = f.where();
    CHECK(p.offset == 10);
    CHECK(p.resumable);
    CHECK_FALSE(p.state.in_array);
    CHECK_FALSE(p.state.arrays_only);
    CHECK(p.state.line == 3);
    CHECK(p.state.index == 3);
    CHECK(p.blank_lines == 1);

    REQUIRE_FALSE(f.next(r));
    p = f.where();
    CHECK(p.offset == body.size());
    CHECK(p.resumable);
    CHECK(f.blank_lines() == 1);
}

TEST_CASE("a blank last line counts once the body has ended", "[frame]")
{
    framer f("{}\n \t"sv);
    record r;
    REQUIRE(f.next(r));
    REQUIRE_FALSE(f.next(r));

    // The line may still get a record in a longer text; where() leaves
    // it to whoever goes on.
    const ks::frame::stop_point p = f.where();
    CHECK(f.blank_lines() == 1);
    CHECK(p.blank_lines == 0);
    CHECK(p.resumable);
    CHECK(p.state.line == 2);
    CHECK(p.state.line_has_space);
    CHECK_FALSE(p.state.line_has_record);
}

TEST_CASE("the lines a cut marks as broken cannot be resumed", "[frame]")
{
    // The ']' on line 3 breaks the object opened on line 1; line 2 is
    // framed knowing that, which a new framer would not.
    const std::string_view body = "{\"a\":\n{\"b\":1}\n]\n{\"c\":2}"sv;
    framer f(body);
    std::vector<bool> resumable;
    std::vector<defect> problems;
    record r;
    while (f.next(r)) {
        resumable.push_back(f.where().resumable);
        problems.push_back(r.problem);
    }
    CHECK(resumable == std::vector<bool>{false, false, true, true});
    CHECK(problems == std::vector<defect>{defect::unterminated, defect::none,
                                          defect::unbalanced, defect::none});
}

TEST_CASE("a resumed framer counts on from its state", "[frame]")
{
    ks::frame::resume_state from;
    from.line = 10;
    from.index = 5;
    from.arrays_only = false;
    framer f("\xEF\xBB\xBF{}\n[1]"sv, from);
    record r;

    // No byte order mark is skipped in the middle of a text.
    REQUIRE(f.next(r));
    CHECK(r.offset == 0);
    CHECK(r.kind == shape::text);
    CHECK(r.line == 10);
    CHECK(r.index == 5);

    // Past the first value, '[' starts a record, not a batch.
    REQUIRE(f.next(r));
    CHECK(r.offset == 6);
    CHECK(r.length == 3);
    CHECK(r.kind == shape::array);
    CHECK(r.line == 11);
    CHECK(r.index == 6);
    CHECK_FALSE(f.next(r));
}

TEST_CASE("a framer resumed inside an array goes on with its elements",
          "[frame]")
{
    ks::frame::resume_state from;
    from.in_array = true;
    framer f(" , 2]\n3"sv, from);
    record r;
    REQUIRE(f.next(r));
    CHECK(r.offset == 3);
    CHECK(r.kind == shape::scalar);
    REQUIRE(f.next(r));
    CHECK(r.offset == 6);
    CHECK(r.line == 2);
    CHECK_FALSE(f.next(r));
}

TEST_CASE("framing in pieces matches framing the whole body",
          "[frame][property]")
{
    std::mt19937 rng(4242);
    for (int round = 0; round < 1500; ++round) {
        const std::string body = random_garbage(rng);
        CAPTURE(round, body);
        check_pieces(body);
    }
    for (int round = 0; round < 1500; ++round) {
        const std::string body = "{" + random_lines(rng);
        CAPTURE(round, body);
        check_pieces(body);
    }
    for (int round = 0; round < 1500; ++round) {
        const std::string body = random_layout(rng);
        CAPTURE(round, body);
        check_pieces(body);
    }
}
