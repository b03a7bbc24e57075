// Typed-error wrappers around the CKVM ioctl shim. Every KVM call site goes through these so
// that a failing ioctl becomes one MachineError line naming the ioctl and errno.
import CKVM
import MachineCore
#if canImport(Glibc)
import Glibc
#endif

/// The text of an errno value ("Permission denied").
func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

enum KVMIoctl {
    /// An ioctl taking a pointer to `value`; returns the non-negative result.
    @discardableResult
    static func call<T>(_ fd: Int32, _ request: UInt, _ value: inout T, _ name: StaticString) throws(MachineError) -> Int32 {
        let r = withUnsafeMutablePointer(to: &value) { ckvm_ioctl_ptr(fd, request, $0) }
        if r < 0 { throw .engineFailure("\(name) failed: \(errnoText(-r))") }
        return r
    }

    /// An ioctl taking a raw pointer (flexible-array structs, XSAVE buffers).
    @discardableResult
    static func call(_ fd: Int32, _ request: UInt, raw: UnsafeMutableRawPointer?, _ name: StaticString) throws(MachineError) -> Int32 {
        let r = ckvm_ioctl_ptr(fd, request, raw)
        if r < 0 { throw .engineFailure("\(name) failed: \(errnoText(-r))") }
        return r
    }

    /// An ioctl taking an integer argument.
    @discardableResult
    static func call(_ fd: Int32, _ request: UInt, int argument: UInt, _ name: StaticString) throws(MachineError) -> Int32 {
        let r = ckvm_ioctl_int(fd, request, argument)
        if r < 0 { throw .engineFailure("\(name) failed: \(errnoText(-r))") }
        return r
    }
}
