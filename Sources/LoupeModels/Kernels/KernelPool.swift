import Foundation
import LoupeTensor
import Synchronization

/// A persistent fork-join pool for the inference kernels: the calling thread runs part 0 of a job and one parked
/// worker per extra core runs the others.
///
/// Decode calls a matrix-vector product about 200 times per token, each lasting tens of microseconds, so the
/// hand-off must cost well under a microsecond. `DispatchQueue.concurrentPerform` (what `Parallel.forEach` uses)
/// wakes a thread through the kernel each time (measured here: see the report in KernelTests). These workers instead
/// spin on an atomic generation counter for a while after each job (`spinLimit`, ~0.1-0.3 ms), so a job that
/// follows soon after the last one starts at once; after that they sleep on a condition variable and cost nothing.
final class KernelPool: @unchecked Sendable {
    /// The pool the kernels use: one worker per core beyond the first.
    static let shared = KernelPool(workers: Swift.max(0, Parallel.cores - 1))

    /// Threads besides the caller.
    let workers: Int
    /// Spin iterations (one atomic load each) before a worker goes to sleep.
    private let spinLimit = 200_000

    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let sleeping = Atomic<Int>(0)
    private let wake = NSCondition()
    /// Serialises callers: a second thread that finds the pool busy runs its job on its own thread.
    private let busy = Atomic<Bool>(false)
    /// The current job, written before `generation` is released and read after it is acquired.
    nonisolated(unsafe) private var job: ((Int, Int) -> Void)?

    init(workers: Int) {
        self.workers = workers
        for w in 0..<workers {
            let t = Thread { [unowned self] in self.workerLoop(index: w + 1) }
            t.name = "loupe-kernel-\(w + 1)"
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Runs `body(part, parts)` for every part in `0..<parts` (parts = workers + 1), part 0 on the calling thread,
    /// and returns when all are done. With `parallel == false`, or when the pool is busy with another caller's job,
    /// runs `body(0, 1)` alone.
    func run(parallel: Bool = true, _ body: (Int, Int) -> Void) {
        guard parallel, workers > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            body(0, 1)
            return
        }
        let parts = workers + 1
        withoutActuallyEscaping(body) { body in
            job = body
            pending.store(workers, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            // A worker that went to sleep must be woken (it set `sleeping` before re-checking the generation, so
            // either it sees the new generation or we see it asleep).
            if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
            body(0, parts)
            while pending.load(ordering: .acquiring) > 0 {}
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    private func workerLoop(index: Int) {
        var seen = generation.load(ordering: .acquiring)
        while true {
            var spins = 0
            var now = generation.load(ordering: .acquiring)
            // Hot wait: one atomic load per iteration; a job posted now starts within ~100 ns.
            while now == seen && spins < spinLimit {
                spins += 1
                now = generation.load(ordering: .acquiring)
            }
            if now == seen {
                // Cold wait: announce the sleep, re-check, then block until `run` broadcasts.
                wake.lock()
                sleeping.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                sleeping.subtract(1, ordering: .sequentiallyConsistent)
                wake.unlock()
                now = generation.load(ordering: .acquiring)
            }
            seen = now
            job?(index, workers + 1)
            pending.subtract(1, ordering: .releasing)
        }
    }

    /// The part of `0..<count` that part `part` of `parts` handles, in multiples of `align` where possible.
    @inline(__always)
    static func split(_ count: Int, part: Int, parts: Int, align: Int = 1) -> Range<Int> {
        let units = (count + align - 1) / align
        let lo = Swift.min(count, units * part / parts * align)
        let hi = Swift.min(count, units * (part + 1) / parts * align)
        return lo..<hi
    }
}
