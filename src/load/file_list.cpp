#include "load/file_list.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <compare>
#include <memory>
#include <set>
#include <system_error>
#include <utility>

namespace ks::load {
namespace {

/// What makes a file the same file whatever path reached it.
struct file_id {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;

    auto operator<=>(const file_id&) const = default;
};

file_id id_of(const struct stat& st)
{
    return {static_cast<std::uint64_t>(st.st_dev),
            static_cast<std::uint64_t>(st.st_ino)};
}

std::string errno_message(int error)
{
    return std::generic_category().message(error);
}

input_file make_input(std::string path, const struct stat& st)
{
    input_file f;
    f.path = std::move(path);
    f.size = static_cast<std::uint64_t>(st.st_size);
    f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                 st.st_mtim.tv_nsec;
    const file_id id = id_of(st);
    f.device = id.device;
    f.inode = id.inode;
    return f;
}

std::string join(const std::string& dir, const std::string& name)
{
    // "logs/" given on the command line must not become "logs//a.gz".
    if (!dir.empty() && dir.back() == '/') return dir + name;
    return dir + "/" + name;
}

/// True when a pattern matches the file's name, or its path relative to
/// the directory named on the command line. In the relative path a "*"
/// stays within one directory, as in the shell. No FNM_PERIOD: hidden
/// files count like any other.
bool matches_any(const std::vector<std::string>& patterns,
                 const std::string& name, const std::string& relative)
{
    return std::any_of(
        patterns.begin(), patterns.end(), [&](const std::string& p) {
            return fnmatch(p.c_str(), name.c_str(), 0) == 0 ||
                   fnmatch(p.c_str(), relative.c_str(), FNM_PATHNAME) == 0;
        });
}

bool wanted(const listing_options& options, const std::string& name,
            const std::string& relative)
{
    if (!options.include.empty() &&
        !matches_any(options.include, name, relative))
        return false;
    return !matches_any(options.exclude, name, relative);
}

struct dir_closer {
    void operator()(DIR* d) const noexcept { static_cast<void>(closedir(d)); }
};
using dir_handle = std::unique_ptr<DIR, dir_closer>;

/// A directory entry that may contribute: a regular file, a directory,
/// or something that could not be examined (`error` is set, `st` is not).
struct dir_entry {
    std::string name;
    struct stat st {};
    int error = 0;
};

/// Reads the entries of `dir` worth a second look, sorted by name so
/// that the walk does not depend on the order the file system returns.
/// Symbolic links are resolved only when `follow`; fifos, sockets and
/// devices are left out, since a directory holds them by accident.
/// Returns 0 or the errno of opening or reading the directory.
int read_entries(const std::string& dir, bool follow,
                 std::vector<dir_entry>& entries)
{
    // Open first; the directory is closed again before the caller
    // descends, so that deep trees do not use one descriptor per level.
    dir_handle d(opendir(dir.c_str()));
    if (!d) return errno;
    const int dfd = dirfd(d.get());

    // Classify each entry relative to the open directory.
    for (;;) {
        errno = 0;
        const dirent* e = readdir(d.get());
        if (e == nullptr) {
            if (errno != 0) return errno;
            break;
        }
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;

        dir_entry entry{name};
        if (fstatat(dfd, e->d_name, &entry.st, AT_SYMLINK_NOFOLLOW) != 0) {
            entry.error = errno;
            entries.push_back(std::move(entry));
            continue;
        }
        if (S_ISLNK(entry.st.st_mode)) {
            if (!follow) continue;
            if (fstatat(dfd, e->d_name, &entry.st, 0) != 0) {
                entry.error = errno;
                entries.push_back(std::move(entry));
                continue;
            }
        }

        // Unreadable files are found now rather than halfway through a
        // load. Directories show it when they are opened.
        if (S_ISREG(entry.st.st_mode)) {
            if (faccessat(dfd, e->d_name, R_OK, AT_EACCESS) != 0)
                entry.error = errno;
        } else if (!S_ISDIR(entry.st.st_mode)) {
            continue;
        }
        entries.push_back(std::move(entry));
    }

    // Sort by the bytes of the name, whatever the locale.
    std::sort(
        entries.begin(), entries.end(),
        [](const dir_entry& a, const dir_entry& b) { return a.name < b.name; });
    return 0;
}

/// Collects the inputs of one call to list_inputs.
class lister {
public:
    lister(const listing_options& options, std::vector<listing_error>& errors)
        : options_(options), errors_(errors)
    {
    }

    void add(const std::string& path)
    {
        if (path == "-") {
            add_stdin();
            return;
        }

        // Named paths are always followed: the user pointed at them.
        struct stat st {};
        if (stat(path.c_str(), &st) != 0) {
            fail(path, errno_message(errno));
            return;
        }
        if (S_ISDIR(st.st_mode)) {
            add_directory(path, st);
            return;
        }
        add_named_file(path, st);
    }

    std::vector<input_file> take() { return std::move(inputs_); }

private:
    void add_stdin()
    {
        if (stdin_listed_) {
            fail("-", "standard input can be read only once");
            return;
        }
        stdin_listed_ = true;
        input_file f;
        f.path = "-";
        f.is_stdin = true;
        inputs_.push_back(std::move(f));
    }

    /// A file named on the command line: taken whatever the patterns
    /// say, and whatever its type (a fifo from `<(zcat x.gz)` is fine),
    /// except a socket, which cannot be opened.
    void add_named_file(const std::string& path, const struct stat& st)
    {
        if (S_ISSOCK(st.st_mode)) {
            fail(path, "is a socket, not a file");
            return;
        }
        if (faccessat(AT_FDCWD, path.c_str(), R_OK, AT_EACCESS) != 0) {
            fail(path, errno_message(errno));
            return;
        }
        keep(make_input(path, st));
    }

    void add_directory(const std::string& path, const struct stat& st)
    {
        // Gather the whole tree, then order it by full path: sorting each
        // directory alone would put "a/x" before "a.txt".
        std::vector<input_file> found;
        std::vector<file_id> ancestors{id_of(st)};
        walk(path, "", ancestors, found);
        std::sort(found.begin(), found.end(),
                  [](const input_file& a, const input_file& b) {
                      return a.path < b.path;
                  });

        for (input_file& f : found)
            keep(std::move(f));
    }

    /// Adds the wanted files under `dir` (reached as `relative` from the
    /// named directory) to `found`. `ancestors` are the directories on
    /// the way down; a followed link back to one of them is a loop and
    /// is not entered again, its files are listed already.
    void walk(const std::string& dir, const std::string& relative,
              std::vector<file_id>& ancestors, std::vector<input_file>& found)
    {
        std::vector<dir_entry> entries;
        if (const int error =
                read_entries(dir, options_.follow_symlinks, entries)) {
            fail(dir, errno_message(error));
            return;
        }

        for (const dir_entry& e : entries) {
            const std::string path = join(dir, e.name);
            const std::string rel =
                relative.empty() ? e.name : relative + "/" + e.name;

            // An entry that could not be examined is reported only if it
            // would have been loaded as a file.
            if (e.error != 0) {
                if (wanted(options_, e.name, rel))
                    fail(path, errno_message(e.error));
                continue;
            }

            if (S_ISDIR(e.st.st_mode)) {
                const file_id id = id_of(e.st);
                if (std::find(ancestors.begin(), ancestors.end(), id) !=
                    ancestors.end())
                    continue;
                ancestors.push_back(id);
                walk(path, rel, ancestors, found);
                ancestors.pop_back();
                continue;
            }

            if (wanted(options_, e.name, rel))
                found.push_back(make_input(path, e.st));
        }
    }

    /// Appends `f` unless the same file was listed before.
    void keep(input_file f)
    {
        if (!seen_.insert(file_id{f.device, f.inode}).second) return;
        inputs_.push_back(std::move(f));
    }

    void fail(const std::string& path, std::string message)
    {
        errors_.push_back({path, std::move(message)});
    }

    const listing_options& options_;
    std::vector<listing_error>& errors_;
    std::vector<input_file> inputs_;
    std::set<file_id> seen_;
    bool stdin_listed_ = false;
};

} // namespace

std::vector<input_file> list_inputs(const std::vector<std::string>& paths,
                                    const listing_options& options,
                                    std::vector<listing_error>& errors)
{
    lister l(options, errors);
    for (const std::string& path : paths)
        l.add(path);
    return l.take();
}

} // namespace ks::load
