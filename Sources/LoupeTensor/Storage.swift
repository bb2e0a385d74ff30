import Foundation

/// A fixed-size, 64-byte aligned buffer of Float32, shared by tensors that view the same data.
///
/// Tensors are immutable values: once a tensor is returned its storage is never written again, which is what
/// lets `reshape` share storage and the language's notebooks trust their dependency graph.
public final class Storage: @unchecked Sendable {
    /// The largest tensor Loupe will allocate: as many floats as fit in physical memory. Anything larger would
    /// be killed by the kernel's OOM killer part-way through (Linux overcommits), so it is refused up front.
    public static let maxElements = Int(Swift.min(ProcessInfo.processInfo.physicalMemory / 4, 1 << 34))

    public let base: UnsafeMutablePointer<Float>
    public let count: Int

    /// Allocates uninitialised memory for `count` floats.
    init(uninitialized count: Int, op: String) throws {
        guard count >= 0, count <= Storage.maxElements else {
            throw TensorError.allocationTooLarge(op: op, elements: count)
        }
        var raw: UnsafeMutableRawPointer?
        // posix_memalign: 64-byte alignment keeps SIMD loads on one cache line.
        guard posix_memalign(&raw, 64, Swift.max(count, 1) * MemoryLayout<Float>.stride) == 0, let raw else {
            throw TensorError.allocationTooLarge(op: op, elements: count)
        }
        self.base = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        self.count = count
    }

    deinit { free(base) }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }
}
