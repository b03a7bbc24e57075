/// An architectural exception raised while executing an instruction (SDM Vol. 3A §6.3.1).
/// Thrown with typed throws from memory accesses and handlers; the execution loop delivers it.
public struct CPUException: Error, Equatable, Sendable {
    public let vector: UInt8
    /// The error code pushed for vectors that have one (8, 10-14, 17, 21), else nil.
    public let errorCode: UInt32?

    public init(_ vector: UInt8, errorCode: UInt32? = nil) {
        self.vector = vector
        self.errorCode = errorCode
    }

    /// Vector numbers (SDM Vol. 3A, Table 6-1).
    public enum Vector {
        public static let divideError: UInt8 = 0
        public static let debug: UInt8 = 1
        public static let nmi: UInt8 = 2
        public static let breakpoint: UInt8 = 3
        public static let overflow: UInt8 = 4
        public static let boundRange: UInt8 = 5
        public static let invalidOpcode: UInt8 = 6
        public static let deviceNotAvailable: UInt8 = 7
        public static let doubleFault: UInt8 = 8
        public static let invalidTSS: UInt8 = 10
        public static let segmentNotPresent: UInt8 = 11
        public static let stackFault: UInt8 = 12
        public static let generalProtection: UInt8 = 13
        public static let pageFault: UInt8 = 14
        public static let x87: UInt8 = 16
        public static let alignmentCheck: UInt8 = 17
        public static let simd: UInt8 = 19
    }

    public static let divideError = CPUException(Vector.divideError)
    public static let invalidOpcode = CPUException(Vector.invalidOpcode)
    public static func gp(_ code: UInt32 = 0) -> CPUException { CPUException(Vector.generalProtection, errorCode: code) }
    public static func ss(_ code: UInt32 = 0) -> CPUException { CPUException(Vector.stackFault, errorCode: code) }
    public static func np(_ code: UInt32) -> CPUException { CPUException(Vector.segmentNotPresent, errorCode: code) }
    public static func ts(_ code: UInt32) -> CPUException { CPUException(Vector.invalidTSS, errorCode: code) }

    /// Fault-class exceptions (SDM Vol. 3A Table 6-1): the frame's RFLAGS image has RF = 1.
    /// #DB is left out (an instruction breakpoint is a fault that pushes RF as it is; the
    /// other #DB conditions are traps), and so are NMI, #BP, #OF and the aborts #DF and #MC.
    var isFault: Bool {
        switch vector {
        case 0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17, 19, 20, 21: return true
        default: return false
        }
    }

    /// Contributory exceptions for the double-fault rules (SDM Vol. 3A, Table 6-4).
    var isContributory: Bool { vector == 0 || (vector >= 10 && vector <= 13) }
}
