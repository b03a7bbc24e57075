import MachineCore

/// HYPERVISOR_event_channel_op (hypercall 32): decodes the sub-operation's argument structure
/// from guest memory, runs it, and writes its outputs back (Xen `do_event_channel_op`).
extension EventChannelTable {
    /// Runs event-channel operation `command` on the structure at guest-physical `argument`.
    /// Returns nil on success or the error whose negation goes to RAX. A structure outside guest
    /// memory is -EFAULT; FIFO operations (init_control, expand_array, set_priority) are -ENOSYS
    /// so that the guest keeps the 2-level ABI; PIRQs do not exist (-EINVAL); unknown operations
    /// are -ENOSYS. Upcalls that become due go to `upcallHandler`.
    public func hypercall(command: UInt64, argument: UInt64) -> XenErrno? {
        // Xen's handler takes `int cmd`: only the low 32 bits of the register count.
        let op = UInt64(UInt32(truncatingIfNeeded: command))
        switch op {
        case EventChannelABI.opInitControl, EventChannelABI.opExpandArray, EventChannelABI.opSetPriority:
            return .ENOSYS
        default:
            break
        }
        guard let size = Self.argumentSize(op) else { return .ENOSYS }
        guard let arg = GuestArgument(memory: memory, address: argument, size: size) else { return .EFAULT }
        do {
            return try run(op, arg)
        } catch {
            return error.errno
        }
    }

    /// Bytes of the argument structure of operation `command`, nil for one without (unknown).
    public static func argumentSize(_ command: UInt64) -> Int? {
        switch command {
        case EventChannelABI.opAllocUnbound: return EventChannelABI.allocUnboundSize
        case EventChannelABI.opBindInterdomain: return EventChannelABI.bindInterdomainSize
        case EventChannelABI.opBindVIRQ: return EventChannelABI.bindVIRQSize
        case EventChannelABI.opBindPIRQ: return 12
        case EventChannelABI.opBindIPI: return EventChannelABI.bindIPISize
        case EventChannelABI.opClose, EventChannelABI.opSend, EventChannelABI.opUnmask: return EventChannelABI.portOnlySize
        case EventChannelABI.opStatus: return EventChannelABI.statusSize
        case EventChannelABI.opBindVCPU: return EventChannelABI.bindVCPUSize
        case EventChannelABI.opReset: return EventChannelABI.resetSize
        case EventChannelABI.opInitControl: return EventChannelABI.initControlSize
        case EventChannelABI.opExpandArray: return EventChannelABI.expandArraySize
        case EventChannelABI.opSetPriority: return 8
        default: return nil
        }
    }

    private func run(_ op: UInt64, _ arg: GuestArgument) throws(Failure) -> XenErrno? {
        typealias ABI = EventChannelABI
        /// Xen copies the outputs back after the operation took effect; a failed copy is
        /// -EFAULT and the operation stays done ("cleaning up here would be a mess").
        func output(_ fields: [(UInt64, [UInt8])]) -> XenErrno? { arg.write(fields) ? nil : .EFAULT }
        switch op {
        case ABI.opAllocUnbound:
            let port = try allocUnbound(dom: arg.u16(ABI.allocUnboundDom), remoteDom: arg.u16(ABI.allocUnboundRemoteDom))
            return output([(ABI.allocUnboundPort, port.guestBytes)])
        case ABI.opBindInterdomain:
            let port = try bindInterdomain(remoteDom: arg.u16(ABI.bindInterdomainRemoteDom),
                                           remotePort: arg.u32(ABI.bindInterdomainRemotePort))
            return output([(ABI.bindInterdomainLocalPort, port.guestBytes)])
        case ABI.opBindVIRQ:
            let port = try bindVIRQ(arg.u32(ABI.bindVIRQVirq), vcpu: arg.u32(ABI.bindVIRQVCPU))
            return output([(ABI.bindVIRQPort, port.guestBytes)])
        case ABI.opBindPIRQ:
            // No XENFEAT_hvm_pirqs: the domain has no PIRQs, so every number is out of range.
            return .EINVAL
        case ABI.opBindIPI:
            let port = try bindIPI(vcpu: arg.u32(ABI.bindIPIVCPU))
            return output([(ABI.bindIPIPort, port.guestBytes)])
        case ABI.opClose:
            try close(port: arg.u32(0))
            return nil
        case ABI.opSend:
            try send(port: arg.u32(0))
            return nil
        case ABI.opUnmask:
            try unmask(port: arg.u32(0))
            return nil
        case ABI.opStatus:
            let answer = try status(dom: arg.u16(ABI.statusDom), port: arg.u32(ABI.statusPort))
            var fields: [(UInt64, [UInt8])] = [(ABI.statusStatus, answer.status.guestBytes), (ABI.statusVCPU, answer.vcpu.guestBytes)]
            switch answer.status {
            case ABI.statusUnbound:
                fields.append((ABI.statusUnionDom, answer.remoteDomain.guestBytes))
            case ABI.statusInterdomain:
                fields.append((ABI.statusUnionDom, answer.remoteDomain.guestBytes))
                fields.append((ABI.statusUnionPort, answer.remotePort.guestBytes))
            case ABI.statusVIRQ:
                fields.append((ABI.statusUnionVIRQ, answer.virq.guestBytes))
            default:
                break
            }
            return output(fields)
        case ABI.opBindVCPU:
            try bindVCPU(port: arg.u32(ABI.bindVCPUPort), vcpu: arg.u32(ABI.bindVCPUVCPU))
            return nil
        case ABI.opReset:
            try reset(dom: arg.u16(0))
            return nil
        default:
            return .ENOSYS
        }
    }
}
