// Files embedded in the binary at build time: api/embed_files.cmake writes
// their bytes into a generated source in the build tree (api/CMakeLists.txt
// names the files). The OpenAPI document and Swagger UI's files, served by
// api/api_docs.cpp.
#pragma once

#include <span>
#include <string_view>

namespace orch::api {

struct EmbeddedFile {
  std::string_view name;   // the file's name, without its folder
  std::string_view bytes;  // its content, unchanged
};

// Every embedded file; names are unique.
std::span<const EmbeddedFile> embedded_files();

}  // namespace orch::api
