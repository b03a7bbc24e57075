import XCTest

/// The system-level guests under KVM (skipped with the reason when /dev/kvm is not usable).
/// 32-bit and PAE paging are missing here: this host's KVM (kvm_pvm) refuses CR0.PG outside
/// long mode (#GP), so those two run on the interpreter only.
final class SystemGuestKVMTests: XCTestCase {
    override func setUpWithError() throws { try SwiftPCProcess.requireKVM() }
    let accel = "kvm"

    func testFourLevelPaging() throws { try SystemScenarios.fourLevelPagingFaultsAndAccessedDirtyBits(accel) }
}

/// The same guests on the interpreter: output and exit status identical to KVM's.
final class SystemGuestInterpreterTests: XCTestCase {
    let accel = "interp"

    func testPaging32() throws { try SystemScenarios.paging32WithFourKiBAndFourMiBPages(accel) }
    func testPAEPaging() throws { try SystemScenarios.paePagingFaultsAndAccessedDirtyBits(accel) }
    func testFourLevelPaging() throws { try SystemScenarios.fourLevelPagingFaultsAndAccessedDirtyBits(accel) }
}
