import Foundation

/// A fixed-size, 64-byte aligned buffer of Float32, shared by tensors that view the same data.
///
/// Tensors are immutable values: once a tensor is returned its storage is never written again, which is what
/// lets `reshape` share storage and the language's notebooks trust their dependency graph.
///
/// Large buffers (>= 4 MiB) are mapped directly, aligned to 2 MiB and advised as transparent huge pages: a fresh
/// 64 MiB output otherwise costs 16k page faults, each zeroing 4 KiB, which took longer than the elementwise op
/// that filled it. Freed large buffers go to a small cache (`LargeBufferCache`) so that loops which make tensors
/// of the same size (training steps, benchmarks, generation) skip the mapping and the faults entirely.
public final class Storage: @unchecked Sendable {
    /// The largest tensor Loupe will allocate: as many floats as fit in physical memory. Anything larger would
    /// be killed by the kernel's OOM killer part-way through (Linux overcommits), so it is refused up front.
    public static let maxElements = Int(Swift.min(ProcessInfo.processInfo.physicalMemory / 4, 1 << 34))

    public let base: UnsafeMutablePointer<Float>
    public let count: Int
    /// Bytes mapped for a large buffer; 0 when the buffer came from malloc.
    private let mappedBytes: Int

    /// Allocates uninitialised memory for `count` floats.
    init(uninitialized count: Int, op: String) throws {
        guard count >= 0, count <= Storage.maxElements else {
            throw TensorError.allocationTooLarge(op: op, elements: count)
        }
        let bytes = Swift.max(count, 1) * MemoryLayout<Float>.stride
        if bytes >= LargeBufferCache.threshold {
            let (p, mapped) = try LargeBufferCache.shared.take(bytes: bytes, op: op, elements: count)
            self.base = p.bindMemory(to: Float.self, capacity: count)
            self.mappedBytes = mapped
        } else {
            var raw: UnsafeMutableRawPointer?
            // posix_memalign: 64-byte alignment keeps SIMD loads on one cache line.
            guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
                throw TensorError.allocationTooLarge(op: op, elements: count)
            }
            self.base = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
            self.mappedBytes = 0
        }
        self.count = count
    }

    deinit {
        if mappedBytes > 0 {
            LargeBufferCache.shared.give(UnsafeMutableRawPointer(base), bytes: mappedBytes)
        } else {
            free(base)
        }
    }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }
}

/// Recently freed large buffers, reused by size. Bounded (at most `limitBytes` held, oldest released first), so
/// it never holds more than a few activations' worth of memory.
final class LargeBufferCache: @unchecked Sendable {
    static let shared = LargeBufferCache()
    static let threshold = 4 << 20
    static let hugePage = 2 << 20
    /// Held at most: 256 MiB, or 1/16 of physical memory on small machines.
    let limitBytes = Int(Swift.min(256 << 20, ProcessInfo.processInfo.physicalMemory / 16))

    private var free: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []
    private var held = 0
    private let lock = NSLock()

    /// A buffer of at least `bytes`, from the cache (same rounded size) or freshly mapped.
    func take(bytes: Int, op: String, elements: Int) throws -> (UnsafeMutableRawPointer, Int) {
        let size = (bytes + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        lock.lock()
        if let i = free.lastIndex(where: { $0.bytes == size }) {
            let p = free.remove(at: i).pointer
            held -= size
            lock.unlock()
            return (p, size)
        }
        lock.unlock()
        // Map one huge page more than needed, then trim so the buffer starts on a 2 MiB boundary.
        let span = size + Self.hugePage
        guard let raw = mmap(nil, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else {
            throw TensorError.allocationTooLarge(op: op, elements: elements)
        }
        let start = (Int(bitPattern: raw) + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        let head = start - Int(bitPattern: raw)
        if head > 0 { munmap(raw, head) }
        let tail = span - head - size
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: start + size), tail) }
        let p = UnsafeMutableRawPointer(bitPattern: start)!
        _ = madvise(p, size, 14 /* MADV_HUGEPAGE */)
        return (p, size)
    }

    /// Returns a buffer; keeps it for reuse unless that would exceed the limit.
    func give(_ p: UnsafeMutableRawPointer, bytes: Int) {
        var release: [(UnsafeMutableRawPointer, Int)] = []
        lock.lock()
        if bytes <= limitBytes {
            free.append((p, bytes))
            held += bytes
            while held > limitBytes, !free.isEmpty {
                let old = free.removeFirst()
                held -= old.bytes
                release.append((old.pointer, old.bytes))
            }
        } else {
            release.append((p, bytes))
        }
        lock.unlock()
        for (q, n) in release { munmap(q, n) }
    }
}
