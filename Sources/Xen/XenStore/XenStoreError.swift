/// The errors xenstore answers with. On the wire an error is an XS_ERROR message whose payload
/// is the errno's *name* ("ENOENT\0"), from the list in io/xs_wire.h (`xsd_errors`); a client
/// maps the name back to its own number. The raw value is that name.
public enum XenStoreError: String, Error, Sendable, CaseIterable {
    case EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO
    case ENOTEMPTY, ENOSYS, EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM

    /// The payload of the XS_ERROR reply: the name and its terminating NUL (xenstore.txt,
    /// "Error replies").
    public var payload: [UInt8] { Array(rawValue.utf8) + [0] }
}
