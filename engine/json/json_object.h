// Building small JSON objects and arrays on hot paths.
//
// nlohmann's brace form, json{{"id", id}, {"url", url}}, first builds every
// pair as a two-element array (a vector, its storage and a heap string for
// the key) and then moves the parts into the object: about three extra
// allocations per member. These build the same value member by member:
//
//   json_object("id", id, "url", url)   ==  json{{"id", id}, {"url", url}}
//   json_array(a, b)                    ==  json::array({a, b})
//
// Keys are string literals or strings; values are anything json takes, moved
// when passed as rvalues. As with the brace form, the first of two equal keys
// wins.
#pragma once

#include <utility>

#include <nlohmann/json.hpp>

namespace orch {

namespace json_detail {
inline void put(nlohmann::json&) {}
template <class K, class V, class... Rest>
void put(nlohmann::json& object, K&& key, V&& value, Rest&&... rest) {
  object.emplace(std::forward<K>(key), std::forward<V>(value));
  put(object, std::forward<Rest>(rest)...);
}
}  // namespace json_detail

template <class... KeysAndValues>
nlohmann::json json_object(KeysAndValues&&... kv) {
  static_assert(sizeof...(kv) % 2 == 0, "json_object takes key, value pairs");
  nlohmann::json object(nlohmann::json::value_t::object);
  json_detail::put(object, std::forward<KeysAndValues>(kv)...);
  return object;
}

template <class... Values>
nlohmann::json json_array(Values&&... values) {
  nlohmann::json array(nlohmann::json::value_t::array);
  array.get_ref<nlohmann::json::array_t&>().reserve(sizeof...(values));
  (array.emplace_back(std::forward<Values>(values)), ...);
  return array;
}

}  // namespace orch
