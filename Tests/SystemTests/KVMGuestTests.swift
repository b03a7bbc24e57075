import XCTest

/// The small guests under KVM (skipped with the reason when /dev/kvm is not usable).
final class KVMGuestTests: XCTestCase {
    override func setUpWithError() throws { try SwiftPCProcess.requireKVM() }
    let accel = "kvm"

    func testRealModeGuestPrintsOverTheUART() throws { try GuestScenarios.realModeGuestPrintsOverTheUART(accel) }
    func testLongModeGuestPrintsOverTheUART() throws { try GuestScenarios.longModeGuestPrintsOverTheUART(accel) }
    func testMultibootGuestReadsCommandLineAndModule() throws { try GuestScenarios.multibootGuestReadsCommandLineAndModule(accel) }
    func testMultiboot2GuestReadsItsBootInformation() throws { try GuestScenarios.multiboot2GuestReadsItsBootInformation(accel) }
    func testThirtyTwoBitBzImage() throws { try GuestScenarios.thirtyTwoBitBzImageGetsTheProtectedModeEntry(accel) }
    func testTimerInterruptsFromThePITThroughThePIC() throws { try GuestScenarios.timerInterruptsFromThePITThroughThePIC(accel) }
    func testRTCGuestReadsHostTime() throws { try GuestScenarios.rtcGuestReadsHostTime(accel) }
    func testDemoKernelGreetsAndPowersOff() throws { try GuestScenarios.demoKernelGreetsAndPowersOff(accel) }
    func testThePVHBoardBootsSmallKernels() throws { try GuestScenarios.thePVHBoardBootsSmallKernels(accel) }
    func testTripleFaultExitsWithStatus4() throws { try GuestScenarios.tripleFaultExitsWithStatus4AndARegisterDump(accel) }
    func testGuestResetRestartsTheMachine() throws { try GuestScenarios.guestResetRestartsTheMachineAndCMOSSurvives(accel) }
    func testNoRebootTurnsAResetIntoStatus8() throws { try GuestScenarios.noRebootTurnsAResetIntoStatus8(accel) }
    func testSerialToAFile() throws { try GuestScenarios.serialToAFile(accel) }
    func testSIGTERMStopsTheMachine() throws { try GuestScenarios.sigtermStopsTheMachineWithStatus143(accel) }

    func testSerialNoneDiscardsOutput() throws {
        let r = try SwiftPCProcess.run(["run", "--accel", accel, "--serial", "none", "--bios", try SwiftPCProcess.guest("hello-realmode")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
    }
}

/// The same guests on the interpreter: output and exit status identical to KVM's.
final class InterpreterGuestTests: XCTestCase {
    let accel = "interp"

    func testRealModeGuestPrintsOverTheUART() throws { try GuestScenarios.realModeGuestPrintsOverTheUART(accel) }
    func testLongModeGuestPrintsOverTheUART() throws { try GuestScenarios.longModeGuestPrintsOverTheUART(accel) }
    func testMultibootGuestReadsCommandLineAndModule() throws { try GuestScenarios.multibootGuestReadsCommandLineAndModule(accel) }
    func testMultiboot2GuestReadsItsBootInformation() throws { try GuestScenarios.multiboot2GuestReadsItsBootInformation(accel) }
    func testThirtyTwoBitBzImage() throws { try GuestScenarios.thirtyTwoBitBzImageGetsTheProtectedModeEntry(accel) }
    func testTimerInterruptsFromThePITThroughThePIC() throws { try GuestScenarios.timerInterruptsFromThePITThroughThePIC(accel) }
    func testRTCGuestReadsHostTime() throws { try GuestScenarios.rtcGuestReadsHostTime(accel) }
    func testDemoKernelGreetsAndPowersOff() throws { try GuestScenarios.demoKernelGreetsAndPowersOff(accel) }
    func testThePVHBoardBootsSmallKernels() throws { try GuestScenarios.thePVHBoardBootsSmallKernels(accel) }
    func testTripleFaultExitsWithStatus4() throws { try GuestScenarios.tripleFaultExitsWithStatus4AndARegisterDump(accel) }
    func testGuestResetRestartsTheMachine() throws { try GuestScenarios.guestResetRestartsTheMachineAndCMOSSurvives(accel) }
    func testNoRebootTurnsAResetIntoStatus8() throws { try GuestScenarios.noRebootTurnsAResetIntoStatus8(accel) }
    func testSerialToAFile() throws { try GuestScenarios.serialToAFile(accel) }
    func testSIGTERMStopsTheMachine() throws { try GuestScenarios.sigtermStopsTheMachineWithStatus143(accel) }
}
