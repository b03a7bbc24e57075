import Foundation
import MachineCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs the assembly conformance suite (Tests/conformance/*.asm): assembles the group files
/// with the suite's Makefile, loads each binary into a fresh machine on an engine, lets the
/// harness run its tests, and turns the report records into results.
public final class AssemblySuiteRunner {
    public enum Failure: Error, CustomStringConvertible {
        case build(String)
        case noBinaries(String)
        case engine(String, String)
        public var description: String {
            switch self {
            case .build(let why): return "cannot assemble the suite: \(why)"
            case .noBinaries(let dir): return "no conformance binaries in \(dir)"
            case .engine(let name, let why): return "\(name): \(why)"
            }
        }
    }

    /// The suite directory (holding the Makefile and the group files).
    public let directory: String
    public private(set) var binaries: [AssemblySuiteBinary] = []
    /// Wall-clock limit of one binary's run; a hang is reported against its unfinished tests.
    public var timeoutSeconds: Double = 120

    public init(directory: String) {
        self.directory = directory
    }

    /// Assembles the group files (`make -s -C DIR`) and loads the binaries.
    public func build() throws {
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        make.arguments = ["make", "-s", "-C", directory]
        let errors = Pipe()
        make.standardError = errors
        make.standardOutput = FileHandle.nullDevice
        do { try make.run() } catch { throw Failure.build("cannot start make: \(error)") }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        make.waitUntilExit()
        guard make.terminationStatus == 0 else {
            throw Failure.build("make -C \(directory) failed (is nasm installed?)\n" + text)
        }
        try load()
    }

    /// Loads `DIR/build/*.bin` whose source `DIR/*.asm` still exists, sorted by name.
    public func load() throws {
        let out = directory + "/build"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter {
            $0.hasSuffix(".bin") && FileManager.default.fileExists(atPath: directory + "/" + $0.dropLast(4) + ".asm")
        }.sorted()
        guard !names.isEmpty else { throw Failure.noBinaries(out) }
        binaries = try names.map { name in
            guard let data = FileManager.default.contents(atPath: out + "/" + name) else { throw Failure.noBinaries(out + "/" + name) }
            return try AssemblySuiteBinary(group: String(name.dropLast(4)), image: [UInt8](data))
        }
    }

    /// Whether `group/test` is selected by `pattern`: a shell glob when it has * ? or [,
    /// otherwise a substring.
    public static func matches(_ name: String, _ pattern: String?) -> Bool {
        guard let pattern, !pattern.isEmpty else { return true }
        if pattern.contains(where: { "*?[".contains($0) }) { return fnmatch(pattern, name, 0) == 0 }
        return name.contains(pattern)
    }

    /// Every selected test on `engine`, group by group; `progress` sees each group's results.
    public func run(on engine: AssemblySuiteEngine, filter: String? = nil,
                    progress: (([AssemblySuiteResult]) -> Void)? = nil) throws -> [AssemblySuiteResult] {
        var all: [AssemblySuiteResult] = []
        for binary in binaries {
            let results = try run(binary, on: engine, filter: filter)
            if !results.isEmpty { progress?(results) }
            all += results
        }
        return all
    }

    /// One binary on one engine.
    public func run(_ binary: AssemblySuiteBinary, on engine: AssemblySuiteEngine, filter: String? = nil) throws -> [AssemblySuiteResult] {
        // Which tests run, and which are skipped and why (nil: runs).
        var selected: [Int: String?] = [:]
        for (i, t) in binary.tests.enumerated() where Self.matches("\(binary.group)/\(t.name)", filter) {
            selected[i] = .some(t.requirements.skipReason(engine.missing))
        }
        if selected.isEmpty { return [] }
        if selected.values.allSatisfy({ $0 != nil }) {
            return AssemblySuiteResult.evaluate(binary, records: [], engine: engine.name, selected: selected, runProblem: nil)
        }
        let memory: GuestMemory
        do {
            memory = try GuestMemory(size: AssemblySuiteGuest.memorySize)
            try AssemblySuiteGuest.load(binary, into: memory)
            // Tests filtered out or skipped on this engine are not run at all.
            for (i, t) in binary.tests.enumerated() {
                let runs = selected[i].map { $0 == nil } ?? false
                if !runs { try memory.write32(t.flagsAddress, t.flags | AssemblySuiteBinary.skipFlag) }
            }
        } catch {
            throw Failure.engine(engine.name, "\(binary.group): cannot set up guest memory: \(error)")
        }
        let control = MachineControl()
        let ports = PortIOBus()
        let vcpu: VCPUEngine
        do {
            try ports.claim(base: 0xF4, count: 1, device: AssemblySuiteExitPort(control: control), name: "debug-exit")
            vcpu = try engine.make(memory, ports, control)
            try vcpu.setState(AssemblySuiteGuest.initialState(binary))
        } catch {
            throw Failure.engine(engine.name, "\(binary.group): cannot create the vCPU: \(error)")
        }
        control.onStopRequested = { [weak vcpu] in vcpu?.requestStop() }
        // The watchdog: a test that hangs stops the run; its results say so.
        let watchdog = DispatchWorkItem { control.requestStop(.external) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds, execute: watchdog)
        var problem: String?
        do {
            let exit = try vcpu.run()
            watchdog.cancel()
            switch control.stopReason {
            case .debugExit?: break
            case .external?: problem = "timed out after \(String(format: "%g", timeoutSeconds)) s"
            case let other?: problem = "the run stopped: \(other)"
            case nil: problem = "the engine returned \(exit)"
            }
            if case .shutdown(let why) = exit { problem = "triple fault: \(why)" }
        } catch {
            watchdog.cancel()
            problem = "engine failure: \(error)"
        }
        var records: [AssemblySuiteBinary.Record] = []
        if let next = try? memory.read64(binary.reportNextAddress), next >= binary.reportBase {
            let count = min(Int((next - binary.reportBase) / 32), binary.reportCapacity)
            if let bytes = try? memory.read(binary.reportBase, count: count * 32) {
                records = AssemblySuiteBinary.records(bytes)
            }
        }
        return AssemblySuiteResult.evaluate(binary, records: records, engine: engine.name, selected: selected, runProblem: problem)
    }
}
