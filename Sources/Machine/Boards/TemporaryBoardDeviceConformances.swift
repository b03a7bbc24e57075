// TEMPORARY until the device-state branch lands: removed at its merge.
import Devices
import MachineCore

extension Serial16550: BoardDevice {}
extension I8042: BoardDevice {}
extension FastA20Port92: BoardDevice {}
extension PIIX3ResetControl: BoardDevice {}
extension I440FXHostBridge: BoardDevice {}
extension PIIX3ISABridge: BoardDevice {}
extension PIIX3IDE: BoardDevice {}
extension PIIX4PowerManagement: BoardDevice {}
extension APMControlPorts: BoardDevice {}
extension FirmwareConfig: BoardDevice {}
extension DualPIC8259: BoardDevice {}
extension PIT8254: BoardDevice {}
extension IOAPIC: BoardDevice {}
extension LocalAPIC: BoardDevice {}
extension ACPIPowerControl: BoardDevice {}
extension ACPIPMEventBlock: BoardDevice {}
extension VGA: BoardDevice {}
