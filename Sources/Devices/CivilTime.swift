/// Calendar arithmetic for the RTC: days since 1970-01-01 to and from a proleptic Gregorian
/// date (the well-known era-based algorithm; exact for any year).
struct CivilTime: Equatable {
    var year: Int
    /// 1-12
    var month: Int
    /// 1-31
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    /// 1 = Sunday ... 7 = Saturday, as the RTC counts.
    var weekday: Int

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.weekday = weekday
    }

    /// Breaks down seconds since the Unix epoch.
    init(secondsSinceEpoch t: Int64) {
        let days = Int(floorDiv(t, 86_400))
        let secs = Int(t - Int64(days) * 86_400)
        hour = secs / 3600
        minute = secs / 60 % 60
        second = secs % 60
        // 1970-01-01 was a Thursday (weekday 5 counting Sunday as 1).
        weekday = (days % 7 + 7 + 4) % 7 + 1
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Seconds since the Unix epoch. Out-of-range fields (day 31 of February) roll over
    /// arithmetically instead of failing: a guest may write anything.
    var secondsSinceEpoch: Int64 {
        let m = min(max(month, 1), 12)
        let y = year - (m <= 2 ? 1 : 0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Int64(days) * 86_400 + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
    }
}

@inline(__always)
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
