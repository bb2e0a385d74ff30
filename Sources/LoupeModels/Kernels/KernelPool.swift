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
/// - Each thread owns a contiguous span of the job's chunks and walks it front to back, so every core streams one
///   run of memory and the hardware prefetchers stay locked on. Handing out chunks round-robin instead (one shared
///   ticket) broke each core's stream at every chunk: two cores reading SmolLM2's Q4_1 rows in 16-row chunks got
///   8.0 GB/s, in two contiguous halves 11.3 GB/s (one core: 5.7).
/// - Chunks are claimed, not assigned: a thread that finishes its span takes the remaining chunks of another from
///   that span's back. So the caller never waits for a worker that has not started (on a busy machine the worker
///   may not be scheduled for milliseconds): it runs the unclaimed chunks itself and waits only for chunks a
///   worker is running, and the threads finish together even when one core is slower.
/// Every span's state carries the job's generation, so a worker waking late cannot claim a chunk of a job that has
/// moved on.
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

    /// One thread's span of a job's chunks: `generation << 32 | next << 16 | end`. The owner claims `next` and
    /// moves it up; others claim `end - 1` and move it down; the span is used up when they meet.
    final class Span {
        let state = Atomic<Int>(0)
        // Keeps two spans' states off one cache line (the owner writes its span on every claim).
        private let padding: (Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0)
    }

    /// Most chunks in one job (16-bit span bounds); `run` makes chunks larger rather than exceed it.
    static let maxChunks = 0xFFFF

    /// Threads besides the caller.
    let workers: Int
    /// Spin iterations (one atomic load each, ~30-50 µs in all) before an idle worker goes to sleep.
    private let spinLimit = 50_000

    /// The current job's generation (only equality matters; wraps at 2^31). Workers watch it for new jobs.
    private let ticket = Atomic<Int>(0)
    /// Span 0 is the caller's, span w the w-th worker's.
    private let spans: [Span]
    /// Chunks finished in the current job.
    private let done = Atomic<Int>(0)
    private let sleeping = Atomic<Int>(0)
    private let wake = NSCondition()
    /// Serialises callers: a second thread that finds the pool busy runs its job alone.
    private let busy = Atomic<Bool>(false)
    /// The current job (chunk index, running thread), written before the spans are published and read after a
    /// chunk of it is claimed.
    nonisolated(unsafe) private var job: ((Int, Int) -> Void)?

    init(workers: Int) {
        self.workers = workers
        spans = (0...workers).map { _ in Span() }
        for w in 0..<workers {
            let t = Thread { [unowned self] in self.workerLoop(index: w + 1) }
            t.name = "loupe-kernel-\(w + 1)"
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Runs `body(range)` over consecutive ranges of `0..<count` of `chunk` elements (the last may be shorter),
    /// spread over the caller and the workers; returns when all are done. With `parallel == false`, no workers,
    /// or the pool busy with another caller's job, runs `body(0..<count)` on the calling thread.
    func run(count: Int, chunk: Int, parallel: Bool = true, _ body: (Range<Int>) -> Void) {
        run(count: count, chunk: chunk, parallel: parallel) { range, _ in body(range) }
    }

    /// `run(count:chunk:parallel:_:)` telling `body` which thread runs the range: 0 for the caller, `w` for the
    /// w-th worker, so each thread can use its own scratch (`workers + 1` of them). The serial fallback runs as
    /// thread 0: callers that share per-thread scratch across threads must serialise themselves.
    func run(count: Int, chunk: Int, parallel: Bool = true, _ body: (Range<Int>, Int) -> Void) {
        let chunk = Swift.max(chunk, 1, (count + Self.maxChunks - 1) / Self.maxChunks)
        let n = (count + chunk - 1) / chunk
        guard parallel, workers > 0, n > 1,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            if count > 0 { body(0..<count, 0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = { c, thread in body(c * chunk ..< Swift.min(count, (c + 1) * chunk), thread) }
            done.store(0, ordering: .relaxed)
            let generation = (ticket.load(ordering: .relaxed) + 1) & 0x7FFF_FFFF
            // Thread t owns chunks [n t / T, n (t + 1) / T): contiguous, in order.
            let threads = workers + 1
            for (t, span) in spans.enumerated() {
                let lo = n * t / threads, hi = n * (t + 1) / threads
                span.state.store(generation << 32 | lo << 16 | hi, ordering: .relaxed)
            }
            ticket.store(generation, ordering: .sequentiallyConsistent)  // publishes job and spans
            // A worker that went to sleep announced it before re-checking the ticket, so either it sees this job
            // or we see it asleep and wake it.
            if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
            let mine = work(as: 0, generation: generation)
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

    /// Runs chunks of job `generation` until none is left: thread `me`'s own span from the front, then the other
    /// spans from their backs. Returns how many chunks it ran.
    private func work(as me: Int, generation: Int) -> Int {
        var ran = 0
        while let c = claim(spans[me], generation: generation, fromFront: true) {
            job!(c, me)
            ran += 1
        }
        for k in 1..<spans.count {
            let other = spans[(me + k) % spans.count]
            while let c = claim(other, generation: generation, fromFront: false) {
                job!(c, me)
                ran += 1
            }
        }
        return ran
    }

    /// Takes the next chunk of `span` (its front, or its back), or nil when the span is used up or belongs to
    /// another job. A compare-exchange, so a stale generation never changes a span.
    @inline(__always)
    private func claim(_ span: Span, generation: Int, fromFront: Bool) -> Int? {
        var cur = span.state.load(ordering: .acquiring)
        while true {
            let lo = (cur >> 16) & 0xFFFF, hi = cur & 0xFFFF
            guard cur >> 32 == generation, lo < hi else { return nil }
            let next = fromFront ? generation << 32 | (lo + 1) << 16 | hi : generation << 32 | lo << 16 | (hi - 1)
            let (exchanged, original) = span.state.compareExchange(expected: cur, desired: next, ordering: .acquiring)
            if exchanged { return fromFront ? lo : hi - 1 }
            cur = original
        }
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

    private func workerLoop(index: Int) {
        var seen = 0  // the last generation this worker took part in
        while true {
            // Hot wait: one atomic load per iteration, so a job posted now starts here within ~100 ns.
            var t = ticket.load(ordering: .acquiring)
            var spins = 0
            while t == seen && spins < spinLimit {
                spins += 1
                t = ticket.load(ordering: .acquiring)
            }
            if t == seen {
                // Cold wait: announce the sleep, re-check, then block until `run` broadcasts.
                wake.lock()
                sleeping.add(1, ordering: .sequentiallyConsistent)
                while ticket.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                sleeping.subtract(1, ordering: .sequentiallyConsistent)
                wake.unlock()
                t = ticket.load(ordering: .acquiring)
            }
            seen = t
            let ran = work(as: index, generation: t)
            if ran > 0 { done.add(ran, ordering: .releasing) }
        }
    }
}
