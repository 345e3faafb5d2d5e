#include "phases/user_actor/frequency_rules.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <date/tz.h>

namespace orch::phases::user_actor {

namespace {

using std::chrono::milliseconds;
constexpr TimeMs kHourMs = 3'600'000;
constexpr TimeMs kDayMs = 24 * kHourMs;
// How far ahead a deferral may look for a time every rule allows.
constexpr int kMaxSteps = 64;

struct Span {
  TimeMs start = 0;
  TimeMs end = 0;
};

std::size_t channel_index(std::string_view channel) {
  return static_cast<std::size_t>(
      std::find(kChannels.begin(), kChannels.end(), channel) - kChannels.begin());
}

TimeMs rolling_length(Window w) {
  switch (w) {
    case Window::day: return kDayMs;
    case Window::week: return 7 * kDayMs;
    case Window::month: return 30 * kDayMs;
  }
  return kDayMs;
}

TimeMs to_ms(date::local_days day, const date::time_zone* zone) {
  // A local midnight that a daylight-saving change skips takes its earliest
  // instant; one that occurs twice, its first.
  const auto sys = zone->to_sys(date::local_seconds(day), date::choose::earliest);
  return std::chrono::duration_cast<milliseconds>(sys.time_since_epoch()).count();
}

date::local_days local_day(TimeMs at, const date::time_zone* zone) {
  const auto local = zone->to_local(date::sys_time<milliseconds>(milliseconds(at)));
  return date::floor<date::days>(local);
}

// The calendar window around `at` in `zone`.
Span calendar(Window w, TimeMs at, const date::time_zone* zone) {
  const date::local_days day = local_day(at, zone);
  switch (w) {
    case Window::day:
      return {to_ms(day, zone), to_ms(day + date::days(1), zone)};
    case Window::week: {
      const date::local_days monday = day - (date::weekday(day) - date::Monday);
      return {to_ms(monday, zone), to_ms(monday + date::days(7), zone)};
    }
    case Window::month: {
      const date::year_month first = date::year_month_day(day).year() / date::year_month_day(day).month();
      return {to_ms(date::local_days(first / 1), zone),
              to_ms(date::local_days((first + date::months(1)) / 1), zone)};
    }
  }
  return {at, at};
}

struct Check {
  bool pass = true;
  std::string rule;
  TimeMs next = 0;  // a time from which this rule may pass
};

// One cap over one window: at most `cap` messages (of `channel`, or all).
Check cap_check(Window w, bool rolling, int cap, const std::string& rule,
                const std::vector<CountedMessage>& history, std::string_view channel, TimeMs t,
                const date::time_zone* zone) {
  std::vector<TimeMs> in;
  Span span = rolling ? Span{t - rolling_length(w) + 1, t + 1} : calendar(w, t, zone);
  for (const CountedMessage& m : history) {
    if (!channel.empty() && m.channel != channel) continue;
    // A message still to come (a deferred reservation) counts in a rolling
    // window too: it will be in the window of every later moment.
    if (m.at >= span.start && (m.at < span.end || rolling)) in.push_back(m.at);
  }
  if (static_cast<int>(in.size()) < cap) return {};
  if (!rolling) return {false, rule, span.end};
  // Rolling: free once enough of the oldest have left the window.
  std::sort(in.begin(), in.end());
  const std::size_t leave = in.size() - static_cast<std::size_t>(std::max(cap, 0));
  return {false, rule, in[leave] + rolling_length(w)};
}

Check quiet_check(const QuietHours& q, TimeMs t, const date::time_zone* zone) {
  if (q.start_minute == q.end_minute) return {};
  const auto local = zone->to_local(date::sys_time<milliseconds>(milliseconds(t)));
  const date::local_days day = date::floor<date::days>(local);
  const int minute = static_cast<int>(
      std::chrono::duration_cast<std::chrono::minutes>(local - day).count());
  const bool wraps = q.end_minute < q.start_minute;
  const bool quiet = wraps ? (minute >= q.start_minute || minute < q.end_minute)
                           : (minute >= q.start_minute && minute < q.end_minute);
  if (!quiet) return {};
  const date::local_days end_day = wraps && minute >= q.start_minute ? day + date::days(1) : day;
  const auto end_local = date::local_seconds(end_day) + std::chrono::minutes(q.end_minute);
  const auto end = zone->to_sys(end_local, date::choose::earliest);
  return {false, "quiet_hours",
          std::chrono::duration_cast<milliseconds>(end.time_since_epoch()).count()};
}

Check gap_check(double hours, const std::vector<CountedMessage>& history, TimeMs t) {
  const TimeMs gap = static_cast<TimeMs>(hours * kHourMs);
  Check c;
  for (const CountedMessage& m : history) {
    if (t > m.at - gap && t < m.at + gap) {
      c.pass = false;
      c.next = std::max(c.next, m.at + gap);
    }
  }
  if (!c.pass) {
    char text[64];
    std::snprintf(text, sizeof text, "min_hours_between_messages (%g)", hours);
    c.rule = text;
  }
  return c;
}

// Every rule at `t`; the first that fails, and when it may pass.
Check check_all(const Settings& s, const std::vector<CountedMessage>& history,
                std::string_view channel, TimeMs t, bool quiet_hours_apply,
                const date::time_zone* zone) {
  if (quiet_hours_apply && s.quiet_hours)
    if (Check c = quiet_check(*s.quiet_hours, t, zone); !c.pass) return c;
  const Caps& caps = s.caps;
  if (caps.min_hours_between)
    if (Check c = gap_check(*caps.min_hours_between, history, t); !c.pass) return c;
  const std::pair<const std::optional<int>*, Window> all[] = {
      {&caps.per_day, Window::day}, {&caps.per_week, Window::week}, {&caps.per_month, Window::month}};
  for (const auto& [cap, w] : all) {
    if (!*cap) continue;
    const std::string rule = std::string("max_messages_per_") + to_string(w) + " (" +
                             std::to_string(**cap) + ")";
    const bool rolling = caps.rolling[static_cast<std::size_t>(w)];
    if (Check c = cap_check(w, rolling, **cap, rule, history, "", t, zone); !c.pass) return c;
  }
  const std::size_t i = channel_index(channel);
  if (i < kChannels.size() && caps.per_channel_week[i]) {
    const int cap = *caps.per_channel_week[i];
    const std::string rule =
        "max_" + std::string(channel) + "_per_week (" + std::to_string(cap) + ")";
    const bool rolling = caps.rolling[static_cast<std::size_t>(Window::week)];
    if (Check c = cap_check(Window::week, rolling, cap, rule, history, channel, t, zone); !c.pass)
      return c;
  }
  return {};
}

const date::time_zone* zone_of(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return date::locate_zone("UTC");
  }
}

}  // namespace

bool known_channel(std::string_view channel) { return channel_index(channel) < kChannels.size(); }

const char* to_string(Window w) {
  switch (w) {
    case Window::day: return "day";
    case Window::week: return "week";
    case Window::month: return "month";
  }
  return "day";
}

bool valid_timezone(const std::string& timezone) {
  try {
    return date::locate_zone(timezone) != nullptr;
  } catch (const std::exception&) {
    return false;
  }
}

std::optional<int> parse_clock(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9' ? text[i] - '0' : -1; };
  const int h1 = digit(0), h2 = digit(1), m1 = digit(3), m2 = digit(4);
  if (h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0) return std::nullopt;
  const int hour = h1 * 10 + h2, minute = m1 * 10 + m2;
  if (hour > 23 || minute > 59) return std::nullopt;
  return hour * 60 + minute;
}

Verdict evaluate(const Settings& s, const std::vector<CountedMessage>& history,
                 std::string_view channel, TimeMs at, bool obey_caps, bool quiet_hours_apply) {
  if (std::find(s.opted_out.begin(), s.opted_out.end(), channel) != s.opted_out.end())
    return {false, "opted_out:" + std::string(channel), false, 0};
  if (!obey_caps) return {};
  const date::time_zone* zone = zone_of(s.timezone);
  Check first = check_all(s, history, channel, at, quiet_hours_apply, zone);
  if (first.pass) return {};
  TimeMs candidate = std::max(first.next, at + 1);
  for (int step = 0; step < kMaxSteps; ++step) {
    Check c = check_all(s, history, channel, candidate, quiet_hours_apply, zone);
    if (c.pass) return {false, first.rule, true, candidate};
    candidate = std::max(c.next, candidate + 1);
  }
  return {false, first.rule, false, 0};
}

Counters count(const Settings& s, const std::vector<CountedMessage>& history, TimeMs at) {
  const date::time_zone* zone = zone_of(s.timezone);
  Counters c;
  auto span = [&](Window w) {
    return s.caps.rolling[static_cast<std::size_t>(w)]
               ? Span{at - rolling_length(w) + 1, at + 1}
               : calendar(w, at, zone);
  };
  const Span day = span(Window::day), week = span(Window::week), month = span(Window::month);
  for (const CountedMessage& m : history) {
    if (m.at > at) continue;  // still to come
    c.today += m.at >= day.start && m.at < day.end;
    c.this_week += m.at >= week.start && m.at < week.end;
    c.this_month += m.at >= month.start && m.at < month.end;
    const std::size_t i = channel_index(m.channel);
    if (i < kChannels.size()) c.channel_this_week[i] += m.at >= week.start && m.at < week.end;
    if (!c.last_message_at || m.at > *c.last_message_at) c.last_message_at = m.at;
  }
  return c;
}

TimeMs longest_window_ms(const Caps& caps) {
  TimeMs longest = 0;
  if (caps.min_hours_between) longest = static_cast<TimeMs>(*caps.min_hours_between * kHourMs);
  if (caps.per_day) longest = std::max(longest, 2 * kDayMs);
  if (caps.per_week || std::any_of(caps.per_channel_week.begin(), caps.per_channel_week.end(),
                                   [](const auto& c) { return c.has_value(); }))
    longest = std::max(longest, 8 * kDayMs);
  if (caps.per_month) longest = std::max(longest, 32 * kDayMs);
  return longest;
}

}  // namespace orch::phases::user_actor
