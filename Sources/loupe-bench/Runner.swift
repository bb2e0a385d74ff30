import Foundation

/// One benchmark case: Loupe's side as closures over inputs made once, the peer's side as a kind and sizes.
struct BenchCase {
    let name: String          // "sgemm-512"
    let summary: String       // what is computed, for --list and RESULTS.md
    let peerName: String      // "numpy", "jax"
    let peerKind: String      // what tensor_peer.py builds
    let peerArgs: [(String, Any)]
    /// Relative tolerance of the cross-check between Loupe's and the peer's results.
    var tolerance: Double = 1e-4
    /// The goal for loupe / peer set by the benchmark issue, if any (reported, never enforced).
    var target: Double? = nil
    /// Makes Loupe's inputs (untimed) and returns the prepared case.
    let prepare: () throws -> Prepared

    struct Prepared {
        /// One timed repetition: seconds.
        let rep: () throws -> Double
        /// A summary of the result with the keys the peer's `check` reports (untimed).
        let check: () throws -> [String: Double]
    }
}

struct CaseResult {
    let suite: String
    let name: String
    let summary: String
    let peerName: String
    var target: Double?
    var loupe: Double?
    var peer: Double?
    /// Timed repetitions per side, and back-to-back calls in each (a repetition's time is their mean).
    var reps = 0
    var loupeCalls = 0
    var peerCalls = 0
    var loupeTimes: [Double] = []
    var peerTimes: [Double] = []
    var peerStatus = "ok"
    var peerInfo = ""
    var loupeError: String?
    var check: String?
    var checkOK: Bool?

    var fullName: String { "\(suite)/\(name)" }
    var ratio: Double? { if let l = loupe, let p = peer, p > 0 { return l / p }; return nil }

    /// `SUITE/CASE loupe=SECONDS peer=SECONDS ratio=R peer_name=NAME`
    var line: String {
        let l = loupe.map(formatSeconds) ?? "error"
        let p = peer.map(formatSeconds) ?? "missing"
        let r = ratio.map { String(format: "%.3f", $0) } ?? "missing"
        return "\(fullName) loupe=\(l) peer=\(p) ratio=\(r) peer_name=\(peerName)"
    }

    var json: [String: Any] {
        var o: [String: Any] = [
            "name": fullName, "suite": suite, "case": name, "summary": summary, "peer_name": peerName,
            "loupe": loupe ?? NSNull(), "peer": peer ?? NSNull(), "ratio": ratio ?? NSNull(), "reps": reps, "loupe_calls_per_rep": loupeCalls, "peer_calls_per_rep": peerCalls,
            "loupe_times": loupeTimes, "peer_times": peerTimes, "peer_status": peerStatus,
        ]
        if !peerInfo.isEmpty { o["peer_info"] = peerInfo }
        if let loupeError { o["loupe_error"] = loupeError }
        if let check { o["check"] = check; o["check_ok"] = checkOK ?? false }
        if let target { o["target_ratio"] = target; o["target_met"] = ratio.map { $0 <= target } ?? NSNull() }
        return o
    }
}

struct RunOptions {
    /// Target measured time per side per case; the number of repetitions adapts to it.
    var seconds = 1.5
    var minReps = 5
    var maxReps = 200
    var warmup = 2
    /// A repetition is as many back-to-back calls as fill this many seconds (one call for slow cases).
    var batch = 0.1
    /// Idle seconds after each repetition of either side. OpenBLAS's worker threads spin for 2^28 TSC cycles
    /// (~0.11 s here) after each call before they sleep; without the gap one side's spinning threads would steal
    /// a core from the other side's next repetition on a 2-core machine.
    var gap = 0.15
}

func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// Measures one case: warm-up on both sides, then alternating repetitions (Loupe, gap, peer, gap, Loupe, ...),
/// the median of each side. A repetition is one call for cases slower than `batch`, else a short batch of
/// back-to-back calls timed one by one and averaged.
func measure(_ c: BenchCase, suite: String, peer: PythonPeer?, options o: RunOptions) -> CaseResult {
    var result = CaseResult(suite: suite, name: c.name, summary: c.summary, peerName: c.peerName, target: c.target)
    let prepared: BenchCase.Prepared
    do { prepared = try c.prepare() } catch {
        result.loupeError = "\(error)"
        note("loupe-bench: \(result.fullName): Loupe failed to prepare: \(error)")
        return result
    }
    let fullName = result.fullName

    // Peer side: inputs, then (outside timing) the cross-check of results.
    var peerReady = false
    if let peer {
        if let why = peer.unavailable {
            result.peerStatus = "missing: \(why)"
        } else {
            let (ok, msg) = peer.setup(fullName, kind: c.peerKind, args: c.peerArgs)
            peerReady = ok
            if ok { result.peerInfo = msg } else { result.peerStatus = msg.hasPrefix("missing") ? msg : "error: \(msg)" }
        }
    } else {
        result.peerStatus = "missing: no peer"
    }
    if !peerReady { note("loupe-bench: \(fullName): peer \(c.peerName) \(result.peerStatus)") }

    if peerReady, let peer {
        do {
            let mine = try prepared.check()
            if let theirs = peer.check(fullName) {
                var worst = 0.0, worstKey = ""
                for (k, v) in theirs.sorted(by: { $0.key < $1.key }) {
                    guard let m = mine[k] else { continue }
                    // Sums are compared relative to the sum of absolute values (they may cancel to ~0).
                    let scale = k == "sum" ? Swift.max(theirs["abs"] ?? Swift.abs(v), 1e-30) : Swift.max(Swift.abs(v), 1e-30)
                    let d = Swift.abs(m - v) / scale
                    if d > worst || worstKey.isEmpty { worst = d; worstKey = k }
                }
                result.checkOK = worst <= c.tolerance
                result.check = String(format: "max relative difference %.2e (%@) vs tolerance %.0e", worst, worstKey, c.tolerance)
                if result.checkOK == false {
                    note("loupe-bench: \(fullName): RESULTS DIFFER from \(c.peerName): \(result.check!); loupe=\(mine) peer=\(theirs)")
                } else {
                    note("loupe-bench: \(fullName): results agree with \(c.peerName): \(result.check!)")
                }
            }
        } catch {
            note("loupe-bench: \(fullName): check failed: \(error)")
        }
    }

    func pause() { if o.gap > 0 { usleep(useconds_t(o.gap * 1e6)) } }
    /// Calls per repetition: back-to-back calls filling about `o.batch` seconds (at least one).
    func calls(_ perCall: Double) -> Int { Swift.max(1, Swift.min(10_000, Int((o.batch / Swift.max(perCall, 1e-7)).rounded(.up)))) }

    do {
        // Warm-up (caches, page faults of first allocations, thread pools, JIT on the peer side), which also
        // sizes the repetitions.
        var lastL = 0.0, lastP = 0.0
        for _ in 0..<o.warmup {
            lastL = try prepared.rep(); pause()
            if peerReady, let t = peer?.run(fullName, 1)?.first { lastP = t; pause() }
        }
        let (kL, kP) = (calls(lastL), calls(lastP))
        let per = Swift.max(Double(kL) * lastL, Double(kP) * lastP, 1e-6)
        let reps = Swift.min(o.maxReps, Swift.max(o.minReps, Int((o.seconds / per).rounded(.up))))
        result.loupeCalls = kL
        result.peerCalls = peerReady ? kP : 0
        for _ in 0..<reps {
            var s = 0.0
            for _ in 0..<kL { s += try prepared.rep() }
            result.loupeTimes.append(s / Double(kL))
            pause()
            if peerReady, let peer {
                if let ts = peer.run(fullName, kP) { result.peerTimes.append(ts.reduce(0, +) / Double(kP)) } else {
                    peerReady = false
                    result.peerStatus = "error: peer stopped answering (\(peer.unavailable ?? "bad reply"))"
                }
                pause()
            }
        }
        result.reps = reps
        result.loupe = median(result.loupeTimes)
    } catch {
        result.loupeError = "\(error)"
        note("loupe-bench: \(fullName): Loupe failed: \(error)")
    }
    if !result.peerTimes.isEmpty && result.peerStatus == "ok" { result.peer = median(result.peerTimes) }
    return result
}
