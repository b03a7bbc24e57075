import XCTest
import MachineCore
@testable import Devices

final class CivilTimeTests: XCTestCase {
    func testKnownDates() {
        let leap = CivilTime(secondsSinceEpoch: 1_709_251_198)
        XCTAssertEqual(leap, CivilTime(year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 58, weekday: 5))
        let y2k = CivilTime(secondsSinceEpoch: 946_684_799)
        XCTAssertEqual(y2k, CivilTime(year: 1999, month: 12, day: 31, hour: 23, minute: 59, second: 59, weekday: 6))
        let before = CivilTime(secondsSinceEpoch: -315_619_200)
        XCTAssertEqual(before, CivilTime(year: 1960, month: 1, day: 1, hour: 0, minute: 0, second: 0, weekday: 6))
    }

    func testRoundTrip() {
        for t in stride(from: Int64(-2_000_000_000), through: 4_000_000_000, by: 7_777_777) {
            XCTAssertEqual(CivilTime(secondsSinceEpoch: t).secondsSinceEpoch, t)
        }
    }
}
