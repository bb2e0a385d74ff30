import Foundation
import LoupeTensor
import Synchronization

/// A persistent pool for the inference kernels: the calling thread and one parked worker per extra core share the
/// chunks of a job.
///
/// Decode calls a matrix-vector product about 200 times per token, each lasting tens of microseconds, so handing
/// work to the other core must cost well under a microsecond; `DispatchQueue.concurrentPerform` (what
/// `Parallel.forEach` uses) costs several. Here:
/// - Workers spin on an atomic job counter for a short while after each job (`spinLimit`), so the next job starts
///   on them within ~100 ns; after that they sleep on a condition variable and cost nothing.
/// - Chunks are claimed, not assigned: caller and workers take chunk indices from one atomic ticket. The caller
///   never waits for a worker that has not started (on a busy machine the worker may not be scheduled for
///   milliseconds): it runs the unclaimed chunks itself and waits only for chunks a worker is running.
/// The ticket carries the job's generation in its high bits, so a worker waking late cannot claim a chunk of a job
/// that has moved on.
final class KernelPool: @unchecked Sendable {
    /// The pool the kernels use: one worker per core beyond the first, or `LOUPE_KERNEL_THREADS - 1` workers when
    /// that variable holds a positive number (fewer threads for a shared machine, 1 for single-core measurements).
    static let shared = KernelPool(workers: Swift.max(0, threadCount() - 1))

    /// Threads (caller included) the shared pool uses: `LOUPE_KERNEL_THREADS` if set to a positive integer, else
    /// one per core.
    static func threadCount(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let v = environment["LOUPE_KERNEL_THREADS"], let n = Int(v.trimmingCharacters(in: .whitespaces)), n > 0 {
            return n
        }
        return Parallel.cores
    }

    /// Threads besides the caller.
    let workers: Int
    /// Spin iterations (one atomic load each, ~30-50 µs in all) before an idle worker goes to sleep.
    private let spinLimit = 50_000

    /// generation << 32 | next chunk index.
    private let ticket = Atomic<Int>(0)
    /// Chunks finished in the current job.
    private let done = Atomic<Int>(0)
    private let sleeping = Atomic<Int>(0)
    private let wake = NSCondition()
    /// Serialises callers: a second thread that finds the pool busy runs its job alone.
    private let busy = Atomic<Bool>(false)
    /// The current job, written before `ticket` is released and read after a chunk of it is claimed.
    nonisolated(unsafe) private var job: ((Int) -> Void)?
    nonisolated(unsafe) private var chunks = 0

    init(workers: Int) {
        self.workers = workers
        for w in 0..<workers {
            let t = Thread { [unowned self] in self.workerLoop() }
            t.name = "loupe-kernel-\(w + 1)"
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Runs `body(range)` over consecutive ranges of `0..<count` of `chunk` elements (the last may be shorter),
    /// spread over the caller and the workers; returns when all are done. With `parallel == false`, no workers,
    /// or the pool busy with another caller's job, runs `body(0..<count)` on the calling thread.
    func run(count: Int, chunk: Int, parallel: Bool = true, _ body: (Range<Int>) -> Void) {
        let n = (count + chunk - 1) / Swift.max(chunk, 1)
        guard parallel, workers > 0, n > 1,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = { c in body(c * chunk ..< Swift.min(count, (c + 1) * chunk)) }
            chunks = n
            done.store(0, ordering: .relaxed)
            // Generations wrap at 2^31 (only equality matters), so the ticket never overflows.
            let generation = ((ticket.load(ordering: .relaxed) >> 32) + 1) & 0x7FFF_FFFF
            ticket.store(generation << 32, ordering: .sequentiallyConsistent)  // publishes job and chunks
            // A worker that went to sleep announced it before re-checking the ticket, so either it sees this job
            // or we see it asleep and wake it.
            if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
            var mine = 0
            while true {
                let c = ticket.add(1, ordering: .acquiring).oldValue & 0xFFFF_FFFF
                if c >= n { break }
                body(c * chunk ..< Swift.min(count, (c + 1) * chunk))
                mine += 1
            }
            // Wait only for chunks a worker claimed and is running now.
            var spins = 0
            while done.load(ordering: .acquiring) + mine < n {
                spins += 1
                if spins & 0x3FF == 0 { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Runs `body(part, parts)` once for every part in `0..<parts` (parts = workers + 1), spread over the caller and
    /// the workers like `run(count:chunk:)`; returns when all are done. With `parallel == false`, or the pool busy
    /// with another caller's job, runs `body(0, 1)` alone. Each part runs on one thread, so per-part scratch
    /// (indexed by `part`, at most `workers + 1` of them) is never shared.
    func run(parallel: Bool = true, _ body: (Int, Int) -> Void) {
        let parts = workers + 1
        guard parallel, parts > 1 else { body(0, 1); return }
        run(count: parts, chunk: 1) { range in
            // The whole range at once means the pool ran it serially: one part covering everything.
            if range.count == parts { body(0, 1) } else { body(range.lowerBound, parts) }
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

    private func workerLoop() {
        var seen = 0  // the last generation this worker took part in
        while true {
            // Hot wait: one atomic load per iteration, so a job posted now starts here within ~100 ns.
            var t = ticket.load(ordering: .acquiring)
            var spins = 0
            while t >> 32 == seen && spins < spinLimit {
                spins += 1
                t = ticket.load(ordering: .acquiring)
            }
            if t >> 32 == seen {
                // Cold wait: announce the sleep, re-check, then block until `run` broadcasts.
                wake.lock()
                sleeping.add(1, ordering: .sequentiallyConsistent)
                while ticket.load(ordering: .sequentiallyConsistent) >> 32 == seen { wake.wait() }
                sleeping.subtract(1, ordering: .sequentiallyConsistent)
                wake.unlock()
                t = ticket.load(ordering: .acquiring)
            }
            let generation = t >> 32
            seen = generation
            // Claim chunks of this generation only: a compare-exchange, so a stale ticket is never advanced.
            while true {
                let cur = ticket.load(ordering: .acquiring)
                if cur >> 32 != generation { break }
                let c = cur & 0xFFFF_FFFF
                if c >= chunks { break }
                guard ticket.compareExchange(expected: cur, desired: cur + 1, ordering: .acquiring).exchanged else {
                    continue
                }
                job!(c)
                done.add(1, ordering: .releasing)
            }
        }
    }
}
