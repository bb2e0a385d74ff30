import Foundation

/// Keys and values of every layer for the positions processed so far.
///
/// Layout per layer: K and V are [capacity, kvHeads * headDim] row-major, so the keys of one position are
/// contiguous (appending a token writes one row) and head g of position j starts at j * kvDim + g * headDim.
/// Keys are stored after RoPE. Capacity grows by doubling up to the model's context length.
///
/// `copy()` duplicates the filled rows: N samples of one prompt prefill once and branch from copies
/// (copy-on-branch), each then appending its own continuation.
public final class KVCache {
    public let layers: Int
    public let kvDim: Int
    /// The longest sequence the cache may hold (the model's context length).
    public let maxLength: Int
    /// Positions filled.
    public internal(set) var length = 0 { didSet { written = max(written, length) } }
    /// Positions whose pages may be resident: the longest `length` since pages were last handed back.
    private var written = 0
    private(set) var capacity = 0
    /// One mapping per layer for K and one for V (page-backed: only the positions written are resident).
    private var keyBuffers: [PageBuffer]
    private var valueBuffers: [PageBuffer]
    /// The first float of each layer's K and V (refreshed when a buffer moves).
    private(set) var keys: [UnsafeMutablePointer<Float>]
    private(set) var values: [UnsafeMutablePointer<Float>]

    init(layers: Int, kvDim: Int, maxLength: Int, capacity: Int = 64) {
        self.layers = layers; self.kvDim = kvDim; self.maxLength = maxLength
        let cap = min(max(capacity, 1), maxLength)
        keyBuffers = (0..<layers).map { _ in PageBuffer(count: cap * kvDim) }
        valueBuffers = (0..<layers).map { _ in PageBuffer(count: cap * kvDim) }
        keys = keyBuffers.map(\.pointer)
        values = valueBuffers.map(\.pointer)
        self.capacity = cap
    }

    /// Makes room for `n` positions in total (throws past the context length). Growing remaps the pages in place
    /// of copying them, so the old and new buffers are never resident together.
    func reserve(_ n: Int) throws {
        guard n > capacity else { return }
        guard n <= maxLength else { throw ModelRunError.contextOverflow(needed: n, context: maxLength) }
        let newCap = min(maxLength, max(n, capacity * 2))
        for l in 0..<layers {
            keyBuffers[l].grow(to: newCap * kvDim, keep: length * kvDim)
            valueBuffers[l].grow(to: newCap * kvDim, keep: length * kvDim)
            keys[l] = keyBuffers[l].pointer
            values[l] = valueBuffers[l].pointer
        }
        capacity = newCap
        written = length  // the new mappings hold only the kept positions
    }

    /// An independent cache holding the same positions (for branching generations off one prefill).
    public func copy() -> KVCache {
        let c = KVCache(layers: layers, kvDim: kvDim, maxLength: maxLength, capacity: max(capacity, 1))
        for l in 0..<layers {
            c.keys[l].update(from: keys[l], count: length * kvDim)
            c.values[l].update(from: values[l], count: length * kvDim)
        }
        c.length = length
        return c
    }

    /// Forgets positions from `n` on (keeps the first `n`). Their pages stay mapped until the next pass says how
    /// far it writes (`releasePages(beyond:)`): a session reset and refilled with a prompt of the same length
    /// rewrites them in place instead of faulting them back in, while one refilled with a shorter prompt does not
    /// keep its longest past sequence resident.
    public func truncate(to n: Int) {
        length = max(0, min(length, n))
    }

    /// Hands back to the kernel the pages of positions from `n` on that earlier, longer sequences wrote. Called at
    /// the start of a pass that ends at position `n`, before it touches anything new, so truncation never raises
    /// the process's peak memory.
    func releasePages(beyond n: Int) {
        guard written > n else { return }
        for l in 0..<layers {
            keyBuffers[l].release(from: n * kvDim)
            valueBuffers[l].release(from: n * kvDim)
        }
        written = max(n, length)
    }

    /// Bytes the buffers can hold (their resident part is what has been written).
    public var bytes: Int { 2 * layers * capacity * kvDim * MemoryLayout<Float>.stride }
}
