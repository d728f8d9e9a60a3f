// koreshield-copyfile: turns the request bodies koreshield-gen wrote into
// binary COPY files for koreshield_events, through the sink's own preparer,
// so that a server-side COPY FROM '<file>' loads exactly the rows the sink
// would send. This is the speed reference of bench/run.

#include "ingest/pipeline.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;


// Request bodies of a directory (*.zst), in name order, which is the order
// koreshield-gen wrote them in.
std::vector<fs::path> body_files(const fs::path& dir)
{
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.is_regular_file() && entry.path().extension() == ".zst")
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    if (files.empty())
        throw std::runtime_error("no *.zst bodies in " + dir.string());
    return files;
}

std::string read_file(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    return {std::istreambuf_iterator<char>(in),
            std::istreambuf_iterator<char>()};
}

// Prepares bodies [first, last) and writes their rows as one COPY file;
// returns the number of rows. Every event must become a row.
std::uint64_t write_part(ks::ingest::preparer& prep,
                         const std::vector<fs::path>& files, std::size_t first,
                         std::size_t last, const std::string& out_path)
{
    std::ofstream out(out_path, std::ios::binary);
    if (!out) throw std::runtime_error("cannot write " + out_path);
    const std::string_view header = ks::pg::copy_buffer::stream_header();
    out.write(header.data(), static_cast<std::streamsize>(header.size()));

    ks::pg::batch batch;
    ks::ingest::counts tally;
    std::uint64_t rows = 0;
    for (std::size_t i = first; i < last; ++i) {
        std::string body = read_file(files[i]);
        std::string name = files[i].filename().string();
        auto result = prep.prepare("zstd", body, {"request", name},
                                   ks::ingest::pg_now(), batch, tally);
        if (result.status != ks::ingest::prepare_status::ok)
            throw std::runtime_error(name + ": " + result.message);
        if (tally.dead_lettered != 0 || batch.dead_letters.rows() != 0)
            throw std::runtime_error(name + ": " +
                                     std::to_string(tally.dead_lettered) +
                                     " events would be dead letters");

        std::string_view t = batch.events.tuples();
        out.write(t.data(), static_cast<std::streamsize>(t.size()));
        rows += batch.events.rows();
    }

    const std::string_view trailer = ks::pg::copy_buffer::stream_trailer();
    out.write(trailer.data(), static_cast<std::streamsize>(trailer.size()));
    if (!out.flush()) throw std::runtime_error("cannot write " + out_path);
    return rows;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"Writes the koreshield_events rows of koreshield-gen's "
                 "bodies as binary COPY files, one per --out, each with an "
                 "equal share of the bodies in order. Prints each file and "
                 "its row count."};
    std::string dir;
    std::vector<std::string> outs;
    app.add_option("bodies", dir, "directory of *.zst request bodies")
        ->required()
        ->check(CLI::ExistingDirectory);
    app.add_option("--out", outs, "COPY file to write (repeat to split)")
        ->required();
    CLI11_PARSE(app, argc, argv);

    try {
        std::vector<fs::path> files = body_files(dir);
        if (outs.size() > files.size())
            throw std::runtime_error("more --out files than bodies");

        // Contiguous shares, so the files together hold every body once.
        ks::ingest::preparer prep;
        std::size_t parts = outs.size();
        for (std::size_t p = 0; p < parts; ++p) {
            std::size_t first = files.size() * p / parts;
            std::size_t last = files.size() * (p + 1) / parts;
            std::uint64_t rows = write_part(prep, files, first, last, outs[p]);
            std::cout << outs[p] << '\t' << rows << '\n';
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "koreshield-copyfile: " << e.what() << "\n";
        return 1;
    }
}
