#include "load/file_list.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using ks::load::input_file;
using ks::load::list_inputs;
using ks::load::listing_error;
using ks::load::listing_options;
using ks::test::temp_dir;

namespace {

namespace fs = std::filesystem;

void write_file(const std::string& path, const std::string& content)
{
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path);
}

void make_dir(const std::string& path)
{
    fs::create_directory(path);
}

void make_symlink(const std::string& target, const std::string& link)
{
    fs::create_symlink(target, link);
}

void make_fifo(const std::string& path)
{
    if (::mkfifo(path.c_str(), 0600) != 0) {
        const int error = errno;
        throw std::system_error(error, std::generic_category(),
                                "mkfifo " + path);
    }
}

/// Leaves a socket file at `path`, as a running daemon would.
void make_socket(const std::string& path)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        throw std::runtime_error("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "socket");
    const int bound =
        ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int bind_error = errno;
    ::close(fd);
    if (bound != 0)
        throw std::system_error(bind_error, std::generic_category(),
                                "bind " + path);
}

/// A tree with every kind of entry the lister meets:
///
///   <tmp>/tree/.hidden.gz             hidden file
///   <tmp>/tree/2026-01/koreshield.log
///   <tmp>/tree/2026-01/other.log
///   <tmp>/tree/a.log
///   <tmp>/tree/b.gz
///   <tmp>/tree/sub.gz                 sorts before sub/ bytewise
///   <tmp>/tree/sub/c.gz
///   <tmp>/tree/sub/deeper/d.gz
///   <tmp>/tree/fifo, sock             not regular files
///   <tmp>/tree/link_to_a -> a.log     a second way to a.log
///   <tmp>/tree/loop -> .              a directory loop
///   <tmp>/tree/selfloop -> selfloop   a link loop
///   <tmp>/tree/dangling -> nowhere
///   <tmp>/tree/extlink -> ../ext      a directory outside the tree
///   <tmp>/ext/e.gz
class fixture_tree {
public:
    fixture_tree() : root_(tmp_.path() + "/tree")
    {
        make_dir(root_);
        write_file(root_ + "/.hidden.gz", "hidden");
        make_dir(root_ + "/2026-01");
        write_file(root_ + "/2026-01/koreshield.log", "k");
        write_file(root_ + "/2026-01/other.log", "o");
        write_file(root_ + "/a.log", "alpha\n");
        write_file(root_ + "/b.gz", "bravo");
        write_file(root_ + "/sub.gz", "sub");
        make_dir(root_ + "/sub");
        write_file(root_ + "/sub/c.gz", "charlie");
        make_dir(root_ + "/sub/deeper");
        write_file(root_ + "/sub/deeper/d.gz", "delta");
        make_fifo(root_ + "/fifo");
        make_socket(root_ + "/sock");
        make_symlink("a.log", root_ + "/link_to_a");
        make_symlink(".", root_ + "/loop");
        make_symlink("selfloop", root_ + "/selfloop");
        make_symlink("nowhere", root_ + "/dangling");
        make_dir(tmp_.path() + "/ext");
        write_file(tmp_.path() + "/ext/e.gz", "echo");
        make_symlink("../ext", root_ + "/extlink");
    }

    const std::string& root() const { return root_; }
    std::string at(const std::string& relative) const
    {
        return root_ + "/" + relative;
    }

private:
    temp_dir tmp_{"file-list"};
    std::string root_;
};

/// The listed paths with `root` and its slash taken off the front, so
/// that expectations read like the tree above.
std::vector<std::string> relative_paths(const std::vector<input_file>& files,
                                        const std::string& root)
{
    std::vector<std::string> paths;
    const std::string prefix = root + "/";
    for (const input_file& f : files) {
        if (f.path.compare(0, prefix.size(), prefix) == 0)
            paths.push_back(f.path.substr(prefix.size()));
        else
            paths.push_back(f.path);
    }
    return paths;
}

listing_options including(std::vector<std::string> include,
                          std::vector<std::string> exclude = {})
{
    listing_options o;
    o.include = std::move(include);
    o.exclude = std::move(exclude);
    return o;
}

/// A listing whose paths are given relative to the tree's root.
struct listed {
    std::vector<std::string> paths;
    std::vector<listing_error> errors;
    std::vector<input_file> files;
};

listed list(const fixture_tree& tree, const std::vector<std::string>& paths,
            const listing_options& options = {})
{
    listed result;
    result.files = list_inputs(paths, options, result.errors);
    result.paths = relative_paths(result.files, tree.root());
    return result;
}

const std::vector<std::string> every_regular_file = {
    ".hidden.gz",
    "2026-01/koreshield.log",
    "2026-01/other.log",
    "a.log",
    "b.gz",
    "sub.gz",
    "sub/c.gz",
    "sub/deeper/d.gz",
};

} // namespace

TEST_CASE("a directory lists its regular files recursively in path order",
          "[load][file_list]")
{
    const fixture_tree tree;
    const listed got = list(tree, {tree.root()});

    // Hidden files count; fifos, sockets and links (not followed) do not;
    // "sub.gz" sorts before "sub/c.gz" because '.' < '/'.
    CHECK(got.paths == every_regular_file);
    CHECK(got.errors.empty());
}

TEST_CASE("a listed file carries its size, time and identity",
          "[load][file_list]")
{
    const fixture_tree tree;
    const listed got = list(tree, {tree.at("a.log")});

    REQUIRE(got.files.size() == 1);
    const input_file& f = got.files[0];
    struct stat st {};
    REQUIRE(::stat(f.path.c_str(), &st) == 0);
    CHECK(f.path == tree.at("a.log"));
    CHECK_FALSE(f.is_stdin);
    CHECK(f.size == 6);
    CHECK(f.mtime_ns ==
          st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec);
    CHECK(f.device == st.st_dev);
    CHECK(f.inode == st.st_ino);
}

TEST_CASE("patterns match the file name or the path below the directory",
          "[load][file_list]")
{
    struct pattern_case {
        std::string name;
        listing_options options;
        std::vector<std::string> want;
    };
    const std::vector<pattern_case> cases = {
        {"name pattern at any depth, hidden files included",
         including({"*.gz"}),
         {".hidden.gz", "b.gz", "sub.gz", "sub/c.gz", "sub/deeper/d.gz"}},
        {"relative path pattern",
         including({"2026-*/koreshield*.log"}),
         {"2026-01/koreshield.log"}},
        {"star in a relative path stays within one directory",
         including({"sub/*"}),
         {"sub/c.gz"}},
        {"several include patterns add up",
         including({"a.*", "d.gz"}),
         {"a.log", "sub/deeper/d.gz"}},
        {"exclude alone drops matches",
         including({}, {"*.log"}),
         {".hidden.gz", "b.gz", "sub.gz", "sub/c.gz", "sub/deeper/d.gz"}},
        {"exclude wins over include",
         including({"*.gz"}, {".*", "sub/*"}),
         {"b.gz", "sub.gz", "sub/deeper/d.gz"}},
        {"nothing matches", including({"*.zst"}), {}},
    };

    const fixture_tree tree;
    for (const pattern_case& c : cases) {
        DYNAMIC_SECTION(c.name)
        {
            const listed got = list(tree, {tree.root()}, c.options);
            CHECK(got.paths == c.want);
            CHECK(got.errors.empty());
        }
    }
}

TEST_CASE("a trailing slash on a directory does not double the separator",
          "[load][file_list]")
{
    const fixture_tree tree;
    const listed got = list(tree, {tree.root() + "/sub/"});

    const std::vector<std::string> want = {"sub/c.gz", "sub/deeper/d.gz"};
    CHECK(got.paths == want);
}

TEST_CASE("a file named explicitly is listed whatever the patterns say",
          "[load][file_list]")
{
    const fixture_tree tree;
    const listing_options only_gz = including({"*.gz"}, {"a.*"});

    const listed got = list(tree, {tree.at("a.log"), tree.at("sub")}, only_gz);
    const std::vector<std::string> want = {"a.log", "sub/c.gz",
                                           "sub/deeper/d.gz"};
    CHECK(got.paths == want);

    // A named link is followed, and keeps the name it was given by.
    const listed via_link = list(tree, {tree.at("link_to_a")}, only_gz);
    CHECK(via_link.paths == std::vector<std::string>{"link_to_a"});
    CHECK(via_link.errors.empty());
}

TEST_CASE("a file reached twice is listed once, at its first place",
          "[load][file_list]")
{
    const fixture_tree tree;

    SECTION("named file, then its directory")
    {
        const listed got = list(tree, {tree.at("b.gz"), tree.root()});
        const std::vector<std::string> want = {"b.gz",
                                               ".hidden.gz",
                                               "2026-01/koreshield.log",
                                               "2026-01/other.log",
                                               "a.log",
                                               "sub.gz",
                                               "sub/c.gz",
                                               "sub/deeper/d.gz"};
        CHECK(got.paths == want);
    }

    SECTION("subdirectory, then the directory holding it")
    {
        const listed got = list(tree, {tree.at("sub"), tree.root()});
        const std::vector<std::string> want = {"sub/c.gz",
                                               "sub/deeper/d.gz",
                                               ".hidden.gz",
                                               "2026-01/koreshield.log",
                                               "2026-01/other.log",
                                               "a.log",
                                               "b.gz",
                                               "sub.gz"};
        CHECK(got.paths == want);
    }

    SECTION("a link and the file it points to")
    {
        const listed got = list(tree, {tree.at("link_to_a"), tree.at("a.log")});
        CHECK(got.paths == std::vector<std::string>{"link_to_a"});
    }

    SECTION("a hard link inside the same directory")
    {
        fs::create_hard_link(tree.at("b.gz"), tree.at("b2.gz"));
        const listed got = list(tree, {tree.root()}, including({"b*"}));
        CHECK(got.paths == std::vector<std::string>{"b.gz"});
    }
}

TEST_CASE("links inside directories are followed only when asked",
          "[load][file_list]")
{
    const fixture_tree tree;
    listing_options follow;
    follow.follow_symlinks = true;
    const listed got = list(tree, {tree.root()}, follow);

    // The outside directory is entered; "link_to_a" is a.log again;
    // "loop" leads back to the root and is not walked a second time.
    const std::vector<std::string> want = {".hidden.gz",
                                           "2026-01/koreshield.log",
                                           "2026-01/other.log",
                                           "a.log",
                                           "b.gz",
                                           "extlink/e.gz",
                                           "sub.gz",
                                           "sub/c.gz",
                                           "sub/deeper/d.gz"};
    CHECK(got.paths == want);

    // Links that lead nowhere are errors once the user asked to follow.
    REQUIRE(got.errors.size() == 2);
    CHECK(got.errors[0].path == tree.at("dangling"));
    CHECK(got.errors[0].message == std::generic_category().message(ENOENT));
    CHECK(got.errors[1].path == tree.at("selfloop"));
    CHECK(got.errors[1].message == std::generic_category().message(ELOOP));
}

TEST_CASE("broken links are not reported when the patterns leave them out",
          "[load][file_list]")
{
    const fixture_tree tree;
    listing_options follow = including({"*.gz"});
    follow.follow_symlinks = true;
    const listed got = list(tree, {tree.root()}, follow);

    CHECK(got.errors.empty());
    CHECK(got.paths.size() == 6);
}

TEST_CASE("standard input is listed once", "[load][file_list]")
{
    const fixture_tree tree;
    const listed got = list(tree, {"-", tree.at("a.log"), "-"});

    REQUIRE(got.files.size() == 2);
    CHECK(got.files[0].path == "-");
    CHECK(got.files[0].is_stdin);
    CHECK(got.files[0].size == 0);
    CHECK(got.files[1].path == tree.at("a.log"));
    CHECK_FALSE(got.files[1].is_stdin);

    REQUIRE(got.errors.size() == 1);
    CHECK(got.errors[0].path == "-");
}

TEST_CASE("missing paths are reported and the rest still listed",
          "[load][file_list]")
{
    const fixture_tree tree;
    const listed got = list(tree, {tree.at("missing.gz"), tree.at("a.log"),
                                   tree.at("sub"), tree.at("sub/nothing/")});

    const std::vector<std::string> want = {"a.log", "sub/c.gz",
                                           "sub/deeper/d.gz"};
    CHECK(got.paths == want);
    REQUIRE(got.errors.size() == 2);
    CHECK(got.errors[0].path == tree.at("missing.gz"));
    CHECK(got.errors[0].message == std::generic_category().message(ENOENT));
    CHECK(got.errors[1].path == tree.at("sub/nothing/"));
}

TEST_CASE("a named fifo is listed, a named socket is not", "[load][file_list]")
{
    const fixture_tree tree;

    // A fifo is how `<(zcat x.gz)` reaches the loader.
    const listed got = list(tree, {tree.at("fifo"), tree.at("sock")});
    CHECK(got.paths == std::vector<std::string>{"fifo"});
    REQUIRE(got.errors.size() == 1);
    CHECK(got.errors[0].path == tree.at("sock"));
}

TEST_CASE("an empty directory lists nothing and is no error",
          "[load][file_list]")
{
    const temp_dir tmp("file-list");
    std::vector<listing_error> errors;
    const std::vector<input_file> files =
        list_inputs({tmp.path()}, listing_options{}, errors);

    CHECK(files.empty());
    CHECK(errors.empty());
}

TEST_CASE("unreadable files and directories are reported, the rest listed",
          "[load][file_list]")
{
    // Root reads whatever the permission bits say, so the failure cannot
    // be provoked; say so rather than pass without checking anything.
    if (::geteuid() == 0) {
        WARN("running as root: permission checks cannot fail, not tested");
        return;
    }

    const fixture_tree tree;
    fs::permissions(tree.at("sub/deeper"), fs::perms::none);
    fs::permissions(tree.at("b.gz"), fs::perms::none);
    const listed got = list(tree, {tree.root()});
    fs::permissions(tree.at("sub/deeper"), fs::perms::owner_all);
    fs::permissions(tree.at("b.gz"), fs::perms::owner_read);

    const std::vector<std::string> want = {".hidden.gz",
                                           "2026-01/koreshield.log",
                                           "2026-01/other.log",
                                           "a.log",
                                           "sub.gz",
                                           "sub/c.gz"};
    CHECK(got.paths == want);
    REQUIRE(got.errors.size() == 2);
    CHECK(got.errors[0].path == tree.at("b.gz"));
    CHECK(got.errors[0].message == std::generic_category().message(EACCES));
    CHECK(got.errors[1].path == tree.at("sub/deeper"));
    CHECK(got.errors[1].message == std::generic_category().message(EACCES));
}
