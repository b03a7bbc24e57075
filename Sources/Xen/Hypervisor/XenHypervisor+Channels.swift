import MachineCore

/// event_channel_op (32) and grant_table_op (20): the argument pointer is translated here and
/// the tables run the operation (EventChannels/, GrantTables/).
extension XenHypervisor {
    func eventChannelOp(_ args: XenHypercallArguments, _ buffer: XenGuestBuffer) -> Int64 {
        let op = args.command
        // Operations without a structure here (FIFO, unknown) are answered without reading one.
        guard let size = EventChannelTable.argumentSize(op),
              op != EventChannelABI.opInitControl, op != EventChannelABI.opExpandArray,
              op != EventChannelABI.opSetPriority else {
            return eventChannels.hypercall(command: op, argument: 0).map { -$0.rawValue } ?? 0
        }
        let writesBack = [EventChannelABI.opAllocUnbound, EventChannelABI.opBindInterdomain, EventChannelABI.opBindVIRQ,
                          EventChannelABI.opBindPIRQ, EventChannelABI.opBindIPI, EventChannelABI.opStatus].contains(op)
        guard let address = buffer.structure(at: args.a2, size: size, write: writesBack) else { return -XenErrno.EFAULT.rawValue }
        return eventChannels.hypercall(command: op, argument: address).map { -$0.rawValue } ?? 0
    }

    func grantTableOp(_ args: XenHypercallArguments, _ buffer: XenGuestBuffer) -> Int64 {
        let op = args.command
        // count is an unsigned int.
        let count = args.a3 & 0xFFFF_FFFF
        guard let size = GrantTable.argumentSize(op), count == 1 else {
            return grantTable.hypercall(command: op, argument: 0, count: count).map { -$0.rawValue } ?? 0
        }
        guard let address = buffer.structure(at: args.a2, size: size, write: true) else { return -XenErrno.EFAULT.rawValue }
        return grantTable.hypercall(command: op, argument: address, count: count).map { -$0.rawValue } ?? 0
    }
}
