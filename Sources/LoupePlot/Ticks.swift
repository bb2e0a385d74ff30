import Foundation

/// Tick selection. Linear axes step by 1, 2 or 5 times a power of ten, chosen so that about `target` intervals
/// cover the data, and the axis is extended to the ticks just outside the data; log axes put a tick on each decade
/// (every k-th decade when there are many, and 2 and 5 within the decade when there are few).
public enum Ticks {
    /// A tick step: `mantissa` (1, 2 or 5) times 10^`power`.
    public struct Step: Equatable, Sendable {
        public let mantissa: Int
        public let power: Int
        public var value: Double { Ticks.scaled(Double(mantissa), power) }
    }

    /// `x * 10^power`, dividing by an exact power of ten for negative powers so 3 steps of 0.1 give 0.3, not
    /// 0.30000000000000004.
    static func scaled(_ x: Double, _ power: Int) -> Double {
        power >= 0 ? x * pow(10, Double(power)) : x / pow(10, Double(-power))
    }

    /// The 1-2-5 step nearest (geometrically) to `span / target`.
    public static func niceStep(span: Double, target: Int) -> Step {
        let raw = span / Double(max(target, 1))
        let power = Int(floor(log10(raw)))
        let f = raw / pow(10, Double(power))
        // Thresholds at the geometric means between candidates: sqrt(2) between 1 and 2, and so on.
        if f >= 50.0.squareRoot() { return Step(mantissa: 1, power: power + 1) }
        if f >= 10.0.squareRoot() { return Step(mantissa: 5, power: power) }
        if f >= 2.0.squareRoot() { return Step(mantissa: 2, power: power) }
        return Step(mantissa: 1, power: power)
    }

    /// Ticks for a linear axis over `lo...hi`: the values, the step, and the domain (from the first to the last
    /// tick, which enclose the data). A zero-width range is widened by 10% of its value (or by 1 around zero).
    public static func linear(_ lo: Double, _ hi: Double, target: Int = 5) -> (domain: ClosedRange<Double>, values: [Double], step: Step) {
        var lo = lo, hi = hi
        if !(lo < hi) {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad; hi += pad
        }
        let step = niceStep(span: hi - lo, target: target)
        let s = step.value
        // The tolerance absorbs rounding in lo/s so that data ending exactly on a tick does not add another.
        let k0 = Int((lo / s + 1e-9).rounded(.down))
        let k1 = Int((hi / s - 1e-9).rounded(.up))
        let values = (k0...k1).map { scaled(Double($0 * step.mantissa), step.power) }
        return (values.first!...values.last!, values, step)
    }

    /// Ticks for a log axis over `lo...hi` (both > 0): `major` ticks get labels, `minor` ones (2..9 times each
    /// decade, when each decade has a major tick and there are more than two) are drawn short and unlabelled.
    public static func log(_ lo: Double, _ hi: Double) -> (domain: ClosedRange<Double>, major: [Double], minor: [Double]) {
        let e0 = Int((log10(lo) + 1e-9).rounded(.down))
        var e1 = Int((log10(hi) - 1e-9).rounded(.up))
        if e1 <= e0 { e1 = e0 + 1 }
        let decades = e1 - e0
        // At most about 8 labelled decades; beyond that label every k-th one.
        let k = decades <= 8 ? 1 : Int((Double(decades) / 8).rounded(.up))
        e1 = e0 + ((decades + k - 1) / k) * k
        var major: [Double] = stride(from: e0, through: e1, by: k).map { scaled(1, $0) }
        var minor: [Double] = []
        if decades <= 2 {
            for e in e0..<e1 { major += [scaled(2, e), scaled(5, e)] }
            major.sort()
        } else if k == 1 {
            for e in e0..<e1 { for m in 2...9 { minor.append(scaled(Double(m), e)) } }
        }
        return (scaled(1, e0)...scaled(1, e1), major, minor)
    }

    /// Labels for linear ticks `values` spaced by `step`: as many decimals as the step needs ("0.2", "0.4"; a
    /// step is never 0.25), or exponent form ("2e6", "5e-6") for the whole axis when its values reach a million
    /// or its step is below 0.0001, so that one axis never mixes the two forms.
    public static func labels(_ values: [Double], step: Step) -> [String] {
        let exponent = values.contains { abs($0) >= 1e6 } || step.power <= -5
        return values.map { value in
            if value == 0 { return "0" }
            if exponent {
                let e = Int(floor(log10(abs(value)) + 1e-9))
                return NumberFormat.exponent(value, significant: max(1, e - step.power + 1))
            }
            return NumberFormat.fixed(value, max(0, -step.power))
        }
    }

    /// The label of a log tick: plain from 0.001 to 100000, exponent form outside ("1e-5", "2e6").
    public static func logLabel(_ value: Double) -> String {
        let e = Int(floor(log10(value) + 1e-9))
        if e < -3 || e > 5 { return NumberFormat.exponent(value, significant: 1) }
        return NumberFormat.fixed(value, max(0, -e))
    }
}
