import Foundation

/// Counts of values in equal-width bins, computed exactly as `numpy.histogram(values, bins, range)` does, so the
/// counts can be checked against it: edges from `linspace(lo, hi, bins + 1)`, each bin half-open `[a, b)` except
/// the last, which includes its right edge, and the same correction for values that rounding puts one bin off.
public struct Histogram: Equatable {
    /// The most bins a histogram may have (a figure cannot show more, and a typo like 2^40 must not allocate).
    public static let maxBins = 100_000
    /// `bins + 1` increasing edges.
    public let edges: [Double]
    /// One count per bin.
    public let counts: [Int]

    /// Bins `values`. NaN and infinite values are skipped (numpy refuses them); so are values outside `range`.
    ///
    /// - Parameters:
    ///   - bins: the number of bins, at least 1.
    ///   - range: the interval binned; nil takes the smallest and largest finite value, widened by 0.5 on each
    ///     side when they are equal (as numpy does).
    ///   - logarithmic: bins of equal width in log10 (for a log x axis); values must then be positive.
    /// - Throws: `PlotError.invalidBins`, `.invalidRange`, or `.noFiniteValues` when nothing remains to bin.
    public static func compute(_ values: [Double], bins: Int, range: ClosedRange<Double>? = nil,
                               logarithmic: Bool = false, series: String = "series 1") throws -> Histogram {
        // A cap keeps absurd bin counts (bins: 2^40) an error rather than an allocation that kills the process.
        guard bins >= 1, bins <= Histogram.maxBins else { throw PlotError.invalidBins(bins) }
        let scale: Scale = logarithmic ? .log : .linear
        if let range, !(range.lowerBound.isFinite && range.upperBound.isFinite && range.lowerBound < range.upperBound)
            || (logarithmic && range.lowerBound <= 0) {
            throw PlotError.invalidRange(lo: range.lowerBound, hi: range.upperBound)
        }
        let data = values.filter { $0.isFinite && scale.accepts($0) }.map(scale.transform)
        guard !data.isEmpty else { throw PlotError.noFiniteValues(series: series) }
        var first: Double, last: Double
        if let range {
            first = scale.transform(range.lowerBound); last = scale.transform(range.upperBound)
        } else {
            first = data.min()!; last = data.max()!
            if first == last { first -= 0.5; last += 0.5 }
        }
        // A span that overflows (values near ±Double.greatestFiniteMagnitude), or one that the ±0.5 widening of a
        // constant sample cannot open (|value| beyond 2^53), has no meaningful bins.
        guard (last - first).isFinite, last > first else { throw PlotError.invalidRange(lo: first, hi: last) }
        // numpy.linspace: start + i * (delta / bins), with the last edge set to stop exactly.
        let step = (last - first) / Double(bins)
        var edges = (0...bins).map { Double($0) * step + first }
        edges[bins] = last
        var counts = [Int](repeating: 0, count: bins)
        let span = last - first
        for x in data where x >= first && x <= last {
            var i = Int((x - first) / span * Double(bins))
            if i == bins { i -= 1 }
            if x < edges[i] { i -= 1 }
            if x >= edges[i + 1] && i != bins - 1 { i += 1 }
            counts[i] += 1
        }
        if logarithmic { edges = edges.map { pow(10, $0) } }
        return Histogram(edges: edges, counts: counts)
    }
}

/// One histogram of a figure.
struct HistogramSeries {
    let name: String
    let named: Bool
    let histogram: Histogram
    let index: Int
}

extension Figure {
    /// Adds a histogram of `values` in `bins` equal-width bins (equal in log10 on a log x axis). Several
    /// histograms overlay each other, half transparent; give them the same `range` so that their bins line up.
    ///
    /// - Throws: `PlotError` for empty data, no finite values, bins < 1, a bad range, values at or below zero on
    ///   a log x axis, or a figure that holds another kind of chart.
    public func histogram(_ values: [Double], bins: Int = 10, range: ClosedRange<Double>? = nil,
                          name: String? = nil) throws {
        try adopt(.histogram)
        let label = seriesName(name)
        guard !values.isEmpty else { throw PlotError.emptyData(series: label) }
        try checkLog(values, scale: xScale, axis: "x", series: label)
        let h = try Histogram.compute(values, bins: bins, range: range, logarithmic: xScale == .log, series: label)
        histograms.append(HistogramSeries(name: label, named: name != nil, histogram: h, index: seriesCount))
    }

    /// The extents: x over every edge; y from zero (half the smallest count on a log axis, so that bar still
    /// has a height) to the largest count.
    func histogramExtents() -> (x: Extent, y: Extent) {
        var ex = Extent(), ey = Extent()
        for s in histograms {
            ex.add(s.histogram.edges.first!); ex.add(s.histogram.edges.last!)
            for c in s.histogram.counts where c > 0 { ey.add(Double(c)) }
        }
        if yScale == .log { if !ey.isEmpty { ey.add(ey.lo / 2) } } else { ey.add(0) }
        if ey.isEmpty || ey.hi <= 0 { ey.add(1) }
        return (ex, ey)
    }

    /// Overlaid histograms are half transparent so that each stays visible through the others.
    var histogramOpacity: String { histograms.count > 1 ? "0.55" : "0.85" }

    func drawHistograms(_ c: inout ChartContext) {
        let opacity = histogramOpacity
        for s in histograms {
            let h = s.histogram
            c.svg.open("g", [("fill", Palette.color(s.index)), ("fill-opacity", opacity), ("stroke", "#ffffff"),
                             ("stroke-width", "0.5")])
            let base = yScale == .log ? c.area.bottom : c.y(0)
            for (i, n) in h.counts.enumerated() where n > 0 {
                let left = c.x(h.edges[i]), right = c.x(h.edges[i + 1])
                let top = c.y(Double(n))
                c.svg.element("rect", [("x", SVGWriter.num(left)), ("y", SVGWriter.num(top)),
                                       ("width", SVGWriter.num(max(right - left, 0.5))),
                                       ("height", SVGWriter.num(max(base - top, 0)))])
            }
            c.svg.close("g")
        }
    }
}
