#pragma once

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace ks::test {

/// A fresh directory under the system's temporary directory, removed
/// with everything in it when the owner goes.
class temp_dir {
public:
    /// Makes `<tmp>/ks-<hint>-XXXXXX`; the hint says which test left a
    /// directory behind after a crash. Throws std::system_error.
    explicit temp_dir(std::string_view hint)
    {
        namespace fs = std::filesystem;
        const std::string leaf = "ks-" + std::string(hint) + "-XXXXXX";
        std::string pattern = (fs::temp_directory_path() / leaf).string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            const int error = errno;
            throw std::system_error(error, std::generic_category(),
                                    "mkdtemp " + pattern);
        }
        path_ = pattern;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    // A test that failed half-way must not fail again here, so removal
    // errors are ignored.
    ~temp_dir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }

    /// The directory itself.
    const std::string& path() const { return path_; }

    /// `name` inside the directory; it need not exist, and an empty name
    /// gives the directory with a final slash.
    std::string file(std::string_view name) const
    {
        return path_ + "/" + std::string(name);
    }

private:
    std::string path_;
};

} // namespace ks::test
