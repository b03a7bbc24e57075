import XCTest
@testable import Xen

final class XenErrnoTests: XCTestCase {
    /// Hypercalls return -errno in RAX (public/errno.h): -ENOSYS is 0xFFFF_FFFF_FFFF_FFDA.
    func testHypercallResultIsTheNegatedNumber() {
        XCTAssertEqual(XenErrno.ENOSYS.hypercallResult, 0xFFFF_FFFF_FFFF_FFDA)
        XCTAssertEqual(XenErrno.EPERM.hypercallResult, UInt64.max)
    }
}
