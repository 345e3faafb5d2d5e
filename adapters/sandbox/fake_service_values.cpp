// Values the fake services make up: ids and hashes (stable for the same
// input), UUIDs, slugs, trimmed text and timestamps.
#include <cctype>
#include <chrono>
#include <ctime>
#include <string>
#include <string_view>

#include "adapters/sandbox/fake_services.h"

namespace orch::sandbox {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc2822(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string slugify(std::string_view s) {
  std::string out;
  bool dash = false;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      if (dash && !out.empty()) out.push_back('-');
      dash = false;
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else {
      dash = true;
    }
  }
  return out.empty() ? std::string("dashboard") : out;
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string uuid_of(uint64_t a, uint64_t b) {
  std::string h = hex_id(a, 16) + hex_id(b, 16);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
         h.substr(16, 4) + "-" + h.substr(20, 12);
}

uint64_t fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex_id(uint64_t n, std::size_t len, uint64_t salt) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len);
  uint64_t x = n ^ (salt * 0x9e3779b97f4a7c15ULL);
  while (out.size() < len) {
    // splitmix64 step: distinct inputs give distinct, random-looking outputs.
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int i = 0; i < 16 && out.size() < len; ++i) {
      out.push_back(kHex[z & 0xf]);
      z >>= 4;
    }
  }
  return out;
}

}  // namespace orch::sandbox
