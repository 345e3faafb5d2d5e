// The frequency rules of one user: may a message go out on a channel at a
// time, and if not, which rule blocks it and when it next may. Pure
// functions of the user's settings and message history: the user actor
// (user_actor.h) keeps those, journaled, and asks here.
//
// Every rule must pass:
//  - the channel is not opted out;
//  - not within quiet hours (local time, e.g. 22:00-08:00);
//  - at least min_hours_between_messages since the last message (rolling);
//  - at most max_messages_per_day / _per_week / _per_month, and at most
//    max_<channel>_per_week on one channel. Day, week (Monday to Sunday) and
//    month are calendar windows in the user's IANA time zone, correct across
//    daylight-saving changes; a window named in `rolling` is the last 24 h,
//    7 days or 30 days instead.
// A message counts from the moment it is reserved (a pending reservation
// holds its slot) until it is released or expires.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/time/clock.h"

namespace orch::phases::user_actor {

using engine::TimeMs;

// The channels of CONTRACT.md.
inline constexpr std::array<std::string_view, 7> kChannels = {
    "email", "social", "blog", "sms", "whatsapp", "push", "in_app"};
bool known_channel(std::string_view channel);

enum class Window { day, week, month };
const char* to_string(Window w);

struct Caps {
  std::optional<int> per_day, per_week, per_month;
  std::optional<double> min_hours_between;
  std::array<std::optional<int>, kChannels.size()> per_channel_week{};  // by kChannels index
  std::array<bool, 3> rolling{};  // by Window: a rolling window instead of a calendar one
};

struct QuietHours {
  int start_minute = 0;  // local minutes after midnight; the hours run start..end
  int end_minute = 0;    // (over midnight when end < start); equal: none
};

// One message that counts toward caps: sent, or reserved and pending.
struct CountedMessage {
  TimeMs at = 0;
  std::string_view channel;
};

struct Settings {
  std::string timezone = "UTC";  // an IANA name
  Caps caps;
  std::optional<QuietHours> quiet_hours;
  std::vector<std::string> opted_out;
};

struct Verdict {
  bool allowed = true;
  std::string rule;         // the blocking rule, e.g. "max_messages_per_day (3)"
  bool deferrable = false;  // false: opted out, or nothing can make it pass
  TimeMs next_eligible_at = 0;  // when every rule would pass (deferrable only)
};

struct Counters {
  int today = 0, this_week = 0, this_month = 0;
  std::array<int, kChannels.size()> channel_this_week{};
  std::optional<TimeMs> last_message_at;
};

// Whether `timezone` is an IANA zone this machine knows.
bool valid_timezone(const std::string& timezone);
// Parses "HH:MM" (00:00 to 23:59) into minutes after midnight.
std::optional<int> parse_clock(std::string_view text);

// Checks a message on `channel` at `at` against every rule, with the
// messages that count (`history`, any order). `obey_caps` false checks the
// opt-out only (transactional messages). `quiet_hours_apply` false skips
// quiet hours (a high-priority message).
Verdict evaluate(const Settings& settings, const std::vector<CountedMessage>& history,
                 std::string_view channel, TimeMs at, bool obey_caps, bool quiet_hours_apply);

// The counts of the windows around `at`, for views and eligibility answers.
Counters count(const Settings& settings, const std::vector<CountedMessage>& history, TimeMs at);

// The longest window any rule of `caps` looks back: history older than this
// no longer matters (the actor keeps at least the last 1,000 messages too).
TimeMs longest_window_ms(const Caps& caps);

}  // namespace orch::phases::user_actor
