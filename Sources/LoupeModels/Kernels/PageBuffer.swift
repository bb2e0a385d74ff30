import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Float memory taken straight from the kernel with mmap, for the large buffers of inference (KV cache, activation
/// rows, prefill product scratch).
///
/// Why not malloc: pages of an anonymous mapping count toward resident memory only once written, so a buffer with
/// room to grow costs what it holds, not what it could hold; pages can be handed back while the buffer is kept
/// (`release(from:)`); and freeing returns them at once. malloc serves buffers of a few hundred KB from its heap
/// once its dynamic mmap threshold has risen, and freed heap pages stay resident.
final class PageBuffer {
    private(set) var pointer: UnsafeMutablePointer<Float>
    /// Floats the mapping holds.
    private(set) var capacity: Int
    private var bytes: Int

    /// A zero-filled buffer of at least `count` floats (whole pages).
    init(count: Int) {
        bytes = PageBuffer.roundUp(Swift.max(count, 1) * MemoryLayout<Float>.stride)
        pointer = PageBuffer.map(bytes)
        capacity = bytes / MemoryLayout<Float>.stride
    }

    deinit { munmap(UnsafeMutableRawPointer(pointer), bytes) }

    /// Grows to at least `count` floats keeping the first `keep` (the pointer changes). The old mapping is unmapped
    /// right after the copy, so only this one buffer is ever resident twice.
    func grow(to count: Int, keep: Int) {
        let newBytes = PageBuffer.roundUp(count * MemoryLayout<Float>.stride)
        guard newBytes > bytes else { return }
        let q = PageBuffer.map(newBytes)
        q.update(from: pointer, count: Swift.min(keep, capacity))
        munmap(UnsafeMutableRawPointer(pointer), bytes)
        pointer = q
        bytes = newBytes
        capacity = newBytes / MemoryLayout<Float>.stride
    }

    /// Hands the pages from float `from` on back to the kernel (they read as zeros when touched again).
    func release(from: Int) {
        let start = PageBuffer.roundUp(from * MemoryLayout<Float>.stride)
        guard start < bytes else { return }
        madvise(UnsafeMutableRawPointer(pointer) + start, bytes - start, MADV_DONTNEED)
    }

    private static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    private static func roundUp(_ n: Int) -> Int { (n + page - 1) / page * page }

    private static func map(_ bytes: Int) -> UnsafeMutablePointer<Float> {
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED
        else {
            // Out of address space or memory: the same outcome malloc's failure would have had.
            fatalError("PageBuffer: mmap of \(bytes) bytes failed: \(String(cString: strerror(errno)))")
        }
        return p.assumingMemoryBound(to: Float.self)
    }
}
