import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// Entry point. ArgumentParser's own exit codes (64 for usage errors) are replaced by the
/// statuses docs/ARCHITECTURE.md promises: 2 and one line on stderr for any bad argument.
do {
    var command = try SwiftPC.parseAsRoot()
    if var run = command as? Run {
        exit(run.execute())
    }
    try command.run()
    exit(0)
} catch {
    let code = SwiftPC.exitCode(for: error)
    if code == .success {
        // --help, --version: print what ArgumentParser prepared and succeed.
        print(SwiftPC.fullMessage(for: error))
        exit(0)
    }
    FileHandleStderr.write("swiftpc: \(SwiftPC.message(for: error))\n")
    exit(ExitCodes.badArguments)
}
