import MachineCore

/// console_io (hypercall 18; public/xen.h): CONSOLEIO_write puts bytes on the hypervisor's
/// console, which Linux uses for early output (`xen_raw_console_write`). Reading the
/// hypervisor console is domain 0's and answers -ENOSYS.
extension XenHypervisor {
    func consoleIO(_ args: XenHypercallArguments, _ buffer: XenGuestBuffer) -> Int64 {
        guard args.command == XenConsoleIOABI.write else { return -XenErrno.ENOSYS.rawValue }
        // (cmd, count, buffer): count is an unsigned int.
        let count = args.a2 & 0xFFFF_FFFF
        guard count <= XenConsoleIOABI.maxWrite else { return -XenErrno.EINVAL.rawValue }
        guard count > 0 else { return 0 }
        guard let bytes = buffer.read(at: args.a3, count: Int(count)) else { return -XenErrno.EFAULT.rawValue }
        onConsoleWrite?(bytes)
        return 0
    }
}
