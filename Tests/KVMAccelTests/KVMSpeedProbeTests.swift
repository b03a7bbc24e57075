import XCTest
@testable import KVMAccel
import MachineCore

/// The probe `--accel auto` uses: it runs, stops when asked, and tells a software KVM from
/// a hardware one by orders of magnitude.
final class KVMSpeedProbeTests: XCTestCase {
    func testProbeCountsTheLoopAndStops() throws {
        let system = try openKVMOrSkip()
        let result = try KVMSpeedProbe.measure(system: system, runMilliseconds: 5)
        print("KVM speed probe: \(result.mips) MIPS, \(result.milliseconds) ms in all")
        XCTAssertGreaterThan(result.instructionsPerSecond, 0, "the loop ran")
        XCTAssertEqual(result.softwareKVMModuleLoaded, HostQuirks.isPVM)
        if HostQuirks.isPVM {
            // kvm_pvm emulates guest ring 0 at about 1 MIPS; the interpreter does far better.
            XCTAssertLessThan(result.mips, 100)
        }
    }
}
