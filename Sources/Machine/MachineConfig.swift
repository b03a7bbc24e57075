import MachineCore

/// Which CPU engine runs the vCPUs.
public enum AccelKind: String, CaseIterable, Sendable {
    /// KVM when /dev/kvm opens, the interpreter otherwise.
    case auto
    case kvm
    case interp
}

/// Which board the machine is (`--machine`), see Boards/.
public enum MachineKind: String, CaseIterable, Sendable {
    /// An i440FX/PIIX PC, as QEMU's `pc` machine: firmware or `--kernel` boots, PCI, IDE, VGA.
    case pc
    /// A minimal board for direct kernel boots, the shape of Firecracker and QEMU's
    /// `microvm`: RAM, a 16550 UART, the RTC, PIT/PIC/APICs and ACPI poweroff; no PCI, VGA
    /// or IDE.
    case pvh
}

/// Where the first UART's output goes and its input comes from.
public enum SerialTarget: Equatable, Sendable {
    case stdio
    case none
    case file(String)

    /// Parses `stdio`, `none` or `file:PATH`.
    public init(parsing text: String) throws(MachineError) {
        switch text {
        case "stdio": self = .stdio
        case "none": self = .none
        default:
            guard text.hasPrefix("file:"), text.count > 5 else {
                throw .badConfiguration("invalid --serial '\(text)': use stdio, none or file:PATH")
            }
            self = .file(String(text.dropFirst(5)))
        }
    }
}

/// A disk image: `--disk PATH[,readonly][,if=ide|xen]`, on the IDE controller (the default)
/// or as a Xen virtual block device (xvda, xvdb, … in order; needs `--xen`).
public struct DiskSpec: Equatable, Sendable {
    public enum Interface: String, Equatable, Sendable { case ide, xen }

    public var path: String
    public var readOnly: Bool
    public var interface: Interface

    public init(path: String, readOnly: Bool = false, interface: Interface = .ide) {
        self.path = path
        self.readOnly = readOnly
        self.interface = interface
    }

    /// Parses `PATH` with the options `readonly` (also `ro`) and `if=ide` or `if=xen`.
    public init(parsing text: String) throws(MachineError) {
        var parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let path = parts.first, !path.isEmpty else {
            throw .badConfiguration("invalid --disk '\(text)': use PATH[,readonly][,if=ide|xen]")
        }
        parts.removeFirst()
        var readOnly = false
        var interface = Interface.ide
        for option in parts {
            switch option {
            case "readonly", "ro": readOnly = true
            case _ where option.hasPrefix("if="):
                guard let chosen = Interface(rawValue: String(option.dropFirst(3))) else {
                    throw .badConfiguration("invalid --disk option '\(option)': use if=ide or if=xen")
                }
                interface = chosen
            default: throw .badConfiguration("invalid --disk option '\(option)': use readonly or if=ide|xen")
            }
        }
        self.init(path: path, readOnly: readOnly, interface: interface)
    }
}

/// Everything needed to build one PC (docs/ARCHITECTURE.md, "Command line").
public struct MachineConfig: Sendable {
    public var machine: MachineKind = .pc
    public var memorySize: UInt64 = 256 << 20
    public var cpuCount = 1
    public var accel: AccelKind = .auto
    public var kernel: String?
    public var initrd: String?
    public var commandLine = ""
    public var bios: String?
    public var serial: SerialTarget = .stdio
    public var noReboot = false
    /// IDE disks: the first is the primary master, the second the primary slave.
    public var disks: [DiskSpec] = []
    /// Xen virtual block devices (`if=xen`): xvda, xvdb, … in order.
    public var xenDisks: [DiskSpec] = []
    /// An ISO image in the ATAPI CD-ROM (the secondary master).
    public var cdrom: String?
    /// Boot from the CD-ROM before the disks (`--boot cdrom`); the disks come first otherwise.
    public var bootFromCDROMFirst = false
    /// Where SeaBIOS's debug output (QEMU's debugcon at port 0x402) goes; nil: not decoded.
    public var firmwareLog: String?
    public var cpuModel = CPUModel.swiftpc
    /// The Xen interface (`--xen`, issue 15): hypercalls, event channels, grant tables and the
    /// Xen console; nil for none. It lives in the CPU model because its CPUID leaves do.
    public var xen: XenInterfaceVersion? {
        get { cpuModel.xen }
        set { cpuModel.xen = newValue }
    }
    /// The interpreter translates hot 64-bit code into host code (`--jit on|off`).
    public var blockTranslation = true
    /// Move the vCPU between KVM and the interpreter at this interval (seconds), to show that
    /// a running guest survives the hand-over. Interrupt controllers stay in the kernel, so this
    /// is for guests that do not take interrupts.
    public var migrationInterval: Double?
    /// Display integration: the VGA BIOS served through the VGA's PCI expansion ROM BAR.
    public var vgaBIOS: String?

    public init() {}

    /// Parses a memory size as QEMU's `-m` does: a number with an optional K, M, G or T
    /// suffix (binary units); a bare number means MiB.
    public static func parseMemorySize(_ text: String) throws(MachineError) -> UInt64 {
        let bad = MachineError.badConfiguration("invalid memory size '\(text)': use a number of MiB or a size like 512M or 2G (2 MiB to 1 TiB, a multiple of 4 KiB)")
        var digits = Substring(text)
        var shift: UInt64 = 20
        if let last = digits.last, last.isLetter {
            switch last.uppercased() {
            case "K": shift = 10
            case "M": shift = 20
            case "G": shift = 30
            case "T": shift = 40
            default: throw bad
            }
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt64(digits),
              value <= (GuestMemory.maximumSize >> shift) else { throw bad }
        let bytes = value << shift
        guard bytes >= GuestMemory.minimumSize, bytes <= GuestMemory.maximumSize, bytes % 4096 == 0 else { throw bad }
        return bytes
    }
}
