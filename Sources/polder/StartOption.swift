import ArgumentParser
import Platform
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// `--since`: where a subscription starts reading the topic's history.
struct StartOption: ExpressibleByArgument {
    let start: SubscriptionStart

    static let help = "Replay history first: 'beginning', a topic position (e.g. 1500), a time ago (90s, 10m, 2h, 7d) or a UTC time (2026-11-21T09:30:00Z)."

    init?(argument: String) {
        guard let start = Self.parse(argument, now: Environment.wallClockMilliseconds()) else { return nil }
        self.start = start
    }

    static func parse(_ text: String, now: UInt64) -> SubscriptionStart? {
        if text == "beginning" { return .beginning }
        if let position = UInt64(text) { return .position(position) }
        let units: [Character: UInt64] = ["s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        if let unit = text.last.flatMap({ units[$0] }), let amount = UInt64(text.dropLast()) {
            let (ago, overflow) = amount.multipliedReportingOverflow(by: unit)
            return .time(overflow || ago > now ? 0 : now - ago)
        }
        // YYYY-MM-DDTHH:MM:SSZ
        let characters = Array(text.utf8)
        guard characters.count == 20, characters[19] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: characters[range], as: UTF8.self)) }
        let separators: [(Int, Character)] = [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":")]
        guard separators.allSatisfy({ characters[$0.0] == $0.1.asciiValue! }),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let seconds = timegm(&parts)
        guard seconds >= 0 else { return nil }
        return .time(UInt64(seconds) * 1000)
    }
}
