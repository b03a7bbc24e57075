import Foundation
import XCTest
@testable import Conformance

/// A slice of the SingleStepTests set in the unit suite (debug build); the whole set runs
/// through `swiftpc conformance --singlestep` in scripts/test.sh with the release build.
final class SingleStepRunnerTests: XCTestCase {
    static let dataDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/conformance-data/singlestep-80286").path
    static let knownDifferences = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("conformance/singlestep-known-differences.txt").path

    func testTwentyTestsOfEveryFilePass() throws {
        guard FileManager.default.fileExists(atPath: Self.dataDirectory) else {
            throw XCTSkip("SingleStepTests data not found at \(Self.dataDirectory)")
        }
        let known = try SingleStepRunner.KnownDifferences(path: Self.knownDifferences)
        let report = try SingleStepRunner().run(directory: Self.dataDirectory, known: known, limitPerFile: 20)
        XCTAssertGreaterThan(report.passed, 6000)
        XCTAssertEqual(report.failed, 0, report.files.filter { $0.failed > 0 }.flatMap(\.failures).joined(separator: "\n"))
    }

    func testAWrongResultIsReportedAsAFailure() throws {
        guard FileManager.default.fileExists(atPath: Self.dataDirectory) else {
            throw XCTSkip("SingleStepTests data not found at \(Self.dataDirectory)")
        }
        // Compare against a doctored copy of one test file: the expected AX of ADD is off by one.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpc-ss-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let record = #"{"name":"add ax,1","bytes":[5,1,0,244],"initial":{"regs":{"ax":1,"bx":0,"cx":0,"dx":0,"cs":0,"ss":0,"ds":0,"es":0,"sp":256,"bp":0,"si":0,"di":0,"ip":4096,"flags":2},"ram":[[4096,5],[4097,1],[4098,0],[4099,244]]},"final":{"regs":{"ax":3,"ip":4100},"ram":[]},"hash":"0000000000000000000000000000000000000000"}"#
        let file = dir.appendingPathComponent("05.jsonl")
        try (record + "\n").write(to: file, atomically: true, encoding: .utf8)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = ["-f", file.path]
        try gz.run()
        gz.waitUntilExit()
        let report = try SingleStepRunner().run(directory: dir.path)
        XCTAssertEqual(report.failed, 1)
        XCTAssertEqual(report.passed, 0)
        XCTAssertTrue(report.files.first?.failures.first?.contains("ax 0x2 != 0x3") ?? false, "\(report.files)")
    }
}
