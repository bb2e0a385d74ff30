import Foundation

/// How data values map onto an axis: evenly (`linear`) or by order of magnitude (`log`, base 10).
public enum Scale: String, Sendable {
    case linear, log

    /// The value in the space where the axis is even: itself, or its base-10 logarithm.
    @inlinable public func transform(_ v: Double) -> Double { self == .log ? log10(v) : v }

    /// The inverse of `transform`.
    @inlinable public func inverse(_ t: Double) -> Double { self == .log ? pow(10, t) : t }

    /// Whether `v` can be placed on this scale: finite, and positive for a log scale.
    @inlinable public func accepts(_ v: Double) -> Bool { v.isFinite && (self == .linear || v > 0) }
}

/// An affine map from an axis's domain (in transformed space) to pixels. Pixel ranges may run backwards (the y
/// axis grows upwards while SVG's y grows downwards).
struct PixelMap {
    let scale: Scale
    let t0: Double, t1: Double
    let p0: Double, p1: Double

    init(_ axis: Axis, from p0: Double, to p1: Double) {
        scale = axis.scale
        t0 = axis.scale.transform(axis.domain.lowerBound)
        t1 = axis.scale.transform(axis.domain.upperBound)
        self.p0 = p0; self.p1 = p1
    }

    /// The pixel position of data value `v` (values outside the domain land outside the pixel range).
    func callAsFunction(_ v: Double) -> Double {
        let span = t1 - t0
        let f = span == 0 ? 0.5 : (scale.transform(v) - t0) / span
        return p0 + f * (p1 - p0)
    }
}
