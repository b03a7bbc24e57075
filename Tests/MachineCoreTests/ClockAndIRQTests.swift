import XCTest
@testable import MachineCore

final class TimerQueueTests: XCTestCase {
    func testTimersFireInVirtualTimeOnlyWhenDue() {
        let clock = MachineClock(mode: .virtual)
        let timers = TimerQueue(clock: clock)
        var fired: [String] = []
        let a = timers.makeTimer { fired.append("a") }
        let b = timers.makeTimer { fired.append("b") }
        timers.arm(a, at: 1000)
        timers.arm(b, at: 500)
        XCTAssertEqual(timers.nextDeadline, 500)
        clock.advance(by: 499)
        XCTAssertEqual(timers.runExpired(), 0)
        clock.advance(by: 1)
        XCTAssertEqual(timers.runExpired(), 1)
        XCTAssertEqual(fired, ["b"])
        XCTAssertFalse(timers.isArmed(b))
        timers.disarm(a)
        clock.advance(by: 10_000)
        XCTAssertEqual(timers.runExpired(), 0)
        XCTAssertNil(timers.nextDeadline)
    }

    func testACallbackMayRearmItself() {
        let clock = MachineClock(mode: .virtual)
        let timers = TimerQueue(clock: clock)
        var count = 0
        var handle: TimerQueue.Handle!
        handle = timers.makeTimer { count += 1; timers.arm(handle, at: clock.now + 100) }
        timers.arm(handle, at: 100)
        for _ in 0..<5 { clock.advance(by: 100); timers.runExpired() }
        XCTAssertEqual(count, 5)
        XCTAssertEqual(timers.nextDeadline, 600)
    }

    func testHostClockMovesForward() {
        let clock = MachineClock(mode: .host)
        let t0 = clock.now
        usleep(2000)
        XCTAssertGreaterThan(clock.now, t0 + 1_000_000)
    }
}

final class IRQLineTests: XCTestCase {
    func testLevelChangesReachTheSinkOnce() {
        var seen: [(Int, Bool)] = []
        let line = IRQLine(number: 4) { seen.append(($0, $1)) }
        line.raise(); line.raise(); line.lower()
        XCTAssertEqual(seen.map { $0.1 }, [true, false])
        XCTAssertEqual(seen.first?.0, 4)
    }

    func testPulseIsARisingThenFallingEdge() {
        let rec = IRQRecorder()
        let line = rec.line(0)
        line.pulse(); line.pulse()
        XCTAssertEqual(rec.edges, [true, false, true, false])
        XCTAssertEqual(rec.risingEdges, 2)
    }
}

final class MachineControlTests: XCTestCase {
    func testFirstStopRequestWins() {
        let control = MachineControl()
        var kicks = 0
        control.onStopRequested = { kicks += 1 }
        control.requestStop(.debugExit(3))
        control.requestStop(.powerOff)
        XCTAssertEqual(control.stopReason, .debugExit(3))
        XCTAssertEqual(kicks, 1)
        control.clear()
        XCTAssertFalse(control.isStopRequested)
    }

    func testDebugExitStatusFollowsTheIsaDebugExitConvention() {
        XCTAssertEqual(ExitStatus.debugExit(0), 1)
        XCTAssertEqual(ExitStatus.debugExit(0x21), 0x43)
        XCTAssertEqual(ExitStatus.debugExit(0x80), 1)  // truncated to 8 bits as exit(3) does
    }
}

final class CPUStateTests: XCTestCase {
    func testResetStateMatchesTheSDM() {
        let s = CPUState()
        XCTAssertEqual(s.cs.selector, 0xF000)
        XCTAssertEqual(s.cs.base &+ s.rip, 0xFFFF_FFF0)
        XCTAssertEqual(s.cr0, 0x6000_0010)
        XCTAssertEqual(s.rflags, 2)
        XCTAssertFalse(s.isProtectedMode)
    }

    func testAccessRightsRoundTrip() {
        var seg = SegmentRegister.flat(selector: 0x10, code: true, longMode: true)
        seg.dpl = 3
        let ar = seg.accessRights
        XCTAssertEqual(ar & 0xF, 0xB)
        XCTAssertEqual((ar >> 5) & 3, 3)
        XCTAssertNotEqual(ar & (1 << 13), 0)
        var copy = SegmentRegister()
        copy.accessRights = ar
        copy.selector = seg.selector; copy.base = seg.base; copy.limit = seg.limit
        XCTAssertEqual(copy, seg)
    }

    func testCPUIDVendorAndBrand() {
        let m = CPUModel.swiftpc
        let r0 = m.cpuid(leaf: 0)
        let bytes = [r0.ebx, r0.edx, r0.ecx].flatMap { v in (0..<4).map { UInt8((v >> ($0 * 8)) & 0xFF) } }
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "GenuineIntel")
        let r1 = m.cpuid(leaf: 1, apicID: 3)
        XCTAssertEqual(r1.ebx >> 24, 3)
        XCTAssertNotEqual(r1.edx & CPUIDBits.sse2, 0)
        XCTAssertNotEqual(m.cpuid(leaf: 0x8000_0001).edx & CPUIDBits.longMode, 0)
    }
}
