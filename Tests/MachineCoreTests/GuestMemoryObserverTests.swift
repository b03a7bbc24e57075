import XCTest
@testable import MachineCore

/// The memory half of the platform contract: every registered engine hears of device writes
/// and attribute changes, and the memory holds them weakly.
final class GuestMemoryObserverTests: XCTestCase {
    final class Recorder: GuestMemoryObserver {
        var writes: [(UInt64, Int)] = []
        var changes: [(a20: Bool, protected: LowMemoryPageMask)] = []
        func guestMemoryWritten(physical address: UInt64, length: Int) { writes.append((address, length)) }
        func guestMemoryAttributesChanged(_ memory: GuestMemory) {
            changes.append((memory.a20Enabled, memory.writeProtectedLowPages))
        }
        var added: [MemoryRegion] = [], removed: [MemoryRegion] = []
        func guestMemoryRegionAdded(_ region: MemoryRegion) { added.append(region) }
        func guestMemoryRegionRemoved(_ region: MemoryRegion) { removed.append(region) }
    }

    func testEveryObserverHearsEveryChange() throws {
        let memory = try GuestMemory(size: GuestMemory.minimumSize)
        let first = Recorder(), second = Recorder()
        memory.addObserver(first)
        memory.addObserver(second)
        var mask = LowMemoryPageMask()
        mask.set(range: 0xF0000..<0x100000, true)
        memory.setWriteProtectedLowPages(mask)
        memory.setA20(enabled: false)
        memory.noteDeviceWrite(physical: 0x7000, length: 512)
        for r in [first, second] {
            XCTAssertEqual(r.changes.count, 2)
            XCTAssertEqual(r.changes.first?.protected, mask)
            XCTAssertEqual(r.changes.first?.a20, true)
            XCTAssertEqual(r.changes.last?.a20, false)
            XCTAssertEqual(r.writes.map { $0.0 }, [0x7000])
            XCTAssertEqual(r.writes.map { $0.1 }, [512])
        }
        // Setting what is already set changes nothing, and nobody hears of it.
        memory.setWriteProtectedLowPages(mask)
        memory.setA20(enabled: false)
        memory.noteDeviceWrite(physical: 0x7000, length: 0)
        XCTAssertEqual(first.changes.count, 2)
        XCTAssertEqual(first.writes.count, 1)
    }

    /// An engine that goes away (a VM torn down, a standby engine dropped) is not kept alive
    /// by the memory, and the memory does not call it.
    func testObserversAreHeldWeakly() throws {
        let memory = try GuestMemory(size: GuestMemory.minimumSize)
        let kept = Recorder()
        weak var gone: Recorder?
        do {
            let temporary = Recorder()
            gone = temporary
            memory.addObserver(temporary)
            memory.addObserver(kept)
        }
        XCTAssertNil(gone, "the memory kept an observer alive")
        memory.setA20(enabled: false)
        memory.noteDeviceWrite(physical: 0x1000, length: 1)
        XCTAssertEqual(kept.changes.count, 1)
        XCTAssertEqual(kept.writes.count, 1)
        // Registering again prunes the dead entry: the list does not grow with engines made
        // and dropped (a standby interpreter per migration run, a VM per speed probe).
        XCTAssertEqual(memory.observers.count, 2)
        let another = Recorder()
        memory.addObserver(another)
        XCTAssertEqual(memory.observers.count, 2)
        XCTAssertTrue(memory.observers.allSatisfy { $0.object != nil })
    }

    /// KVM logs its vCPU's writes only while another engine would need them.
    func testHasObserversBesidesOneself() throws {
        let memory = try GuestMemory(size: GuestMemory.minimumSize)
        let kvm = Recorder()
        memory.addObserver(kvm)
        XCTAssertFalse(memory.hasObservers(besides: kvm))
        do {
            let standby = Recorder()
            memory.addObserver(standby)
            XCTAssertTrue(memory.hasObservers(besides: kvm))
            XCTAssertTrue(memory.hasObservers(besides: standby))
        }
        XCTAssertFalse(memory.hasObservers(besides: kvm), "a dead observer does not count")
    }
}
