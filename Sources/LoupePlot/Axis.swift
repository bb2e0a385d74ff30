import Foundation

/// One axis of a chart: its scale, the data interval it shows, and its ticks with their labels.
public struct Axis: Equatable {
    /// A labelled position on an axis.
    public struct Tick: Equatable {
        public let value: Double
        public let label: String
        public init(value: Double, label: String) { self.value = value; self.label = label }
    }

    public let scale: Scale
    /// The interval shown, in data units (for log axes, the data values themselves, not their logarithms).
    public let domain: ClosedRange<Double>
    public let ticks: [Tick]
    /// Short unlabelled ticks (the 2..9 of each decade on log axes).
    public let minorTicks: [Double]

    /// An axis over the data interval `lo...hi` with automatically chosen ticks; the domain reaches out to the
    /// ticks just beyond the data. Callers pass only values the scale accepts.
    public static func covering(_ lo: Double, _ hi: Double, scale: Scale, target: Int = 5) -> Axis {
        switch scale {
        case .linear:
            let t = Ticks.linear(lo, hi, target: target)
            return Axis(scale: scale, domain: t.domain,
                        ticks: zip(t.values, Ticks.labels(t.values, step: t.step)).map { Tick(value: $0, label: $1) },
                        minorTicks: [])
        case .log:
            let t = Ticks.log(lo, hi)
            return Axis(scale: scale, domain: t.domain, ticks: t.major.map { Tick(value: $0, label: Ticks.logLabel($0)) },
                        minorTicks: t.minor)
        }
    }

    /// An axis with the caller's ticks: the domain spans the data and the ticks, and is not rounded further.
    public static func labelled(_ ticks: [Tick], _ lo: Double, _ hi: Double, scale: Scale) -> Axis {
        var lo = lo, hi = hi
        for t in ticks where scale.accepts(t.value) { lo = min(lo, t.value); hi = max(hi, t.value) }
        if !(lo < hi) {
            // A single value: half to double it on a log axis, 10% either side (or 1 around zero) on a linear one.
            if scale == .log {
                lo /= 2; hi *= 2
            } else {
                let pad = lo == 0 ? 1 : abs(lo) * 0.1
                lo -= pad; hi += pad
            }
        }
        return Axis(scale: scale, domain: lo...hi, ticks: ticks.filter { scale.accepts($0.value) }, minorTicks: [])
    }
}

/// The smallest interval holding every value added (NaN and infinities are ignored).
struct Extent {
    var lo = Double.infinity
    var hi = -Double.infinity
    var isEmpty: Bool { lo > hi }

    mutating func add(_ v: Double) {
        guard v.isFinite else { return }
        lo = min(lo, v); hi = max(hi, v)
    }

    /// The interval, or `fallback` when nothing was added.
    func bounds(or fallback: (Double, Double)) -> (Double, Double) { isEmpty ? fallback : (lo, hi) }
}
