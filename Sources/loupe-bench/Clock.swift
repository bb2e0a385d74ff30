import Foundation

/// Monotonic time in seconds (CLOCK_MONOTONIC).
@inline(__always)
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Seconds taken by `body`. The result is kept alive until the clock has stopped, then released (the peers do
/// the same), so freeing large outputs is not timed on either side.
@inline(never)
func timed<R>(_ body: () throws -> R) rethrows -> Double {
    let t0 = monotonicSeconds()
    let r = try body()
    let t1 = monotonicSeconds()
    withExtendedLifetime(r) {}
    return t1 - t0
}

func median(_ xs: [Double]) -> Double {
    precondition(!xs.isEmpty)
    let s = xs.sorted()
    let n = s.count
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

/// Seconds as printed in case lines: 6 significant digits.
func formatSeconds(_ s: Double) -> String { String(format: "%.6g", s) }
