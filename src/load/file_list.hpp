#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ks::load {

/// One input to load.
struct input_file {
    std::string path; // as given or found; "-" is standard input
    bool is_stdin = false;
    std::uint64_t size = 0;    // bytes at listing time (0 for stdin)
    std::int64_t mtime_ns = 0; // modification time, ns since the epoch
    std::uint64_t device = 0;  // st_dev and st_ino: the same file reached
    std::uint64_t inode = 0;   // by two paths is listed once
};

/// Which files a directory contributes.
struct listing_options {
    /// Shell patterns (fnmatch) matched against a file's name, and
    /// against its path relative to the directory given, e.g. "*.gz" or
    /// "2026-*/koreshield*.log"; in the relative path "*" does not cross
    /// a "/". A leading dot needs no special match. An empty include
    /// list takes every file.
    std::vector<std::string> include;
    std::vector<std::string> exclude; // wins over include
    /// Inside directories; named paths are always followed. A link back
    /// to a directory being walked is not entered again.
    bool follow_symlinks = false;
};

/// A path that could not be listed, and why.
struct listing_error {
    std::string path;
    std::string message;
};

/// Expands the command line's paths into the files to load, in order:
/// each path in the order given; a directory's regular files
/// recursively, sorted by path (bytewise), filtered by the patterns;
/// "-" as standard input (at most once; a second "-" is an error). A
/// file named explicitly is loaded whatever the patterns say and whatever
/// its type (a fifo from `<(zcat x.gz)` too), a socket excepted; inside
/// directories only regular files count. Hidden files count like any
/// other. A file reached twice (same device and inode) is kept once, at
/// its first place. Paths that do not exist or cannot be read, and
/// followed links that lead nowhere, go to `errors` and the rest are
/// still listed; inside directories only if the patterns take them.
std::vector<input_file> list_inputs(const std::vector<std::string>& paths,
                                    const listing_options& options,
                                    std::vector<listing_error>& errors);

} // namespace ks::load
