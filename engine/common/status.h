// Errors on the I/O and journal paths are values, not exceptions.
#pragma once

#include <string>
#include <utility>

namespace orch {

class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(Kind::error, std::move(message)); }
  // Stored data that fails its checks (a checksum, a record's shape): it
  // will not read better on a second try, unlike an I/O error.
  static Status corruption(std::string message) {
    return Status(Kind::corruption, std::move(message));
  }

  bool is_ok() const { return kind_ == Kind::ok; }
  bool is_corruption() const { return kind_ == Kind::corruption; }
  explicit operator bool() const { return kind_ == Kind::ok; }
  const std::string& message() const { return message_; }

 private:
  enum class Kind { ok, error, corruption };
  Status(Kind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  Kind kind_ = Kind::ok;
  std::string message_;
};

}  // namespace orch
