/// Xen's error numbers (public/errno.h: the same values as Linux's). Hypercalls and xenstore
/// answer with their negation; every part of the Xen interface uses these names.
public enum XenErrno: Int64, Sendable {
    case EPERM = 1
    case ENOENT = 2
    case ESRCH = 3
    case E2BIG = 7
    case EBADF = 9
    case EAGAIN = 11
    case ENOMEM = 12
    case EACCES = 13
    case EFAULT = 14
    case EBUSY = 16
    case EEXIST = 17
    case EINVAL = 22
    case ENOSPC = 28
    case EROFS = 30
    case ENOSYS = 38
    case ENOTEMPTY = 39
    case EISCONN = 106

    /// The value a hypercall returns in RAX for this error: its negation, as a 64-bit word.
    public var hypercallResult: UInt64 { UInt64(bitPattern: -rawValue) }
}
