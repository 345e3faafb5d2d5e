#include "api/router/api_docs.h"

#include <algorithm>
#include <array>

#include "api/router/embedded_files.h"

namespace orch::api {

namespace {

constexpr std::string_view kDocument = "openapi.json";
constexpr std::string_view kPage = "index.html";
constexpr std::string_view kAssetPrefix = "/docs/";

struct Asset {
  std::string_view name;
  std::string_view content_type;
};
// What the page loads, by the name under /docs/.
constexpr std::array<Asset, 3> kAssets = {{
    {"swagger-ui-bundle.js", "text/javascript; charset=utf-8"},
    {"swagger-ui.css", "text/css; charset=utf-8"},
    {"docs-init.js", "text/javascript; charset=utf-8"},
}};

// The page may load only from this server: scripts and styles from /docs/,
// the document and "Try it out" requests from the same origin. Swagger UI
// sets inline styles and shows data: images.
constexpr std::string_view kPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// The embedded file `name`. REQUIRES: it is one of api/CMakeLists.txt's.
std::string_view file(std::string_view name) {
  for (const EmbeddedFile& f : embedded_files())
    if (f.name == name) return f.bytes;
  return {};
}

http::Response reply(std::string_view bytes, std::string_view content_type) {
  http::Response r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", std::string(content_type));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.body = std::string(bytes);
  return r;
}

}  // namespace

http::Response openapi_document() { return reply(file(kDocument), "application/json"); }

http::Response docs_page() {
  http::Response r = reply(file(kPage), "text/html; charset=utf-8");
  r.headers.emplace_back("Content-Security-Policy", std::string(kPagePolicy));
  return r;
}

std::optional<http::Response> docs_asset(std::string_view name) {
  auto it =
      std::find_if(kAssets.begin(), kAssets.end(), [&](const Asset& a) { return a.name == name; });
  if (it == kAssets.end()) return std::nullopt;
  return reply(file(it->name), it->content_type);
}

std::vector<std::string> docs_paths() {
  std::vector<std::string> paths = {"/openapi.json", "/docs"};
  for (const Asset& a : kAssets) paths.push_back(std::string(kAssetPrefix) + std::string(a.name));
  return paths;
}

}  // namespace orch::api
