import Foundation

/// One series of a bar chart: a value per category, with optional error bars.
struct BarSeries {
    let name: String
    let named: Bool
    let values: [Double]
    let err: [Double]?
    let index: Int
}

extension Figure {
    /// Adds a series of bars, one per category. Several series make grouped bars: each category gets one bar per
    /// series, side by side, in the order the series were added. Every series must have one value per category;
    /// a NaN value leaves a gap. Bars rise from zero (negative values hang below it); on a log y axis they rise
    /// from the bottom of the axis.
    ///
    /// - Parameters:
    ///   - categories: the category names (x labels); the first series sets them, later ones may pass nil.
    ///   - values: one value per category.
    ///   - err: half-lengths of error bars, one per category.
    /// - Throws: `PlotError` for empty data, a length that does not match the categories, non-positive values on
    ///   a log axis, or a figure that holds another kind of chart.
    public func bar(categories: [String]? = nil, values: [Double], name: String? = nil, err: [Double]? = nil) throws {
        try adopt(.bar)
        let label = seriesName(name)
        guard !values.isEmpty else { throw PlotError.emptyData(series: label) }
        if let categories {
            if !bars.isEmpty, categories != barCategories {
                throw PlotError.categoriesDiffer(series: label, expected: barCategories, got: categories)
            }
            if categories.count != values.count {
                throw PlotError.lengthMismatch(series: label, field: "categories", expected: values.count, got: categories.count)
            }
        }
        let expected = bars.isEmpty ? values.count : barCategories.count
        if values.count != expected {
            throw PlotError.lengthMismatch(series: label, field: "values", expected: expected, got: values.count)
        }
        if let err, err.count != values.count {
            throw PlotError.lengthMismatch(series: label, field: "err", expected: values.count, got: err.count)
        }
        try checkLog(values, scale: yScale, axis: "y", series: label)
        guard values.contains(where: \.isFinite) else { throw PlotError.noFiniteValues(series: label) }
        if bars.isEmpty { barCategories = categories ?? values.indices.map { String($0) } }
        bars.append(BarSeries(name: label, named: name != nil, values: values, err: err.map { $0.map(abs) },
                              index: seriesCount))
    }

    /// The category names shown: the caller's x ticks when set, else those given with the data.
    var barLabels: [String] {
        if let xTicks, xTicks.count == barCategories.count { return xTicks.map(\.label) }
        return barCategories
    }

    /// The y extent of the bars including zero (linear) and error bars.
    func barExtent() -> Extent {
        var e = Extent()
        if yScale == .linear { e.add(0) }
        for s in bars {
            for (i, v) in s.values.enumerated() where yScale.accepts(v) {
                e.add(v)
                if let d = s.err?[i], d.isFinite {
                    e.add(v + d)
                    if yScale.accepts(v - d) { e.add(v - d) }
                }
            }
        }
        return e
    }

    /// Categories sit at x = 0, 1, 2, ...; a group takes 80% of its slot, split evenly among the series.
    func drawBars(_ c: inout ChartContext) {
        let slot = abs(c.x(1) - c.x(0))
        let group = slot * 0.8
        let barWidth = group / Double(max(bars.count, 1))
        let base = yScale == .log ? c.area.bottom : c.y(0)
        for s in bars {
            let color = Palette.color(s.index)
            c.svg.open("g", [("fill", color)])
            var whiskers: [String] = []
            for (i, v) in s.values.enumerated() where yScale.accepts(v) {
                let left = c.x(Double(i)) - group / 2 + Double(s.index) * barWidth
                let top = c.y(v)
                // A 1-pixel gap between neighbours keeps grouped bars apart when they touch.
                let w = max(barWidth - (bars.count > 1 ? 1 : 0), 0.5)
                c.svg.element("rect", [("x", SVGWriter.num(left)), ("y", SVGWriter.num(min(top, base))),
                                       ("width", SVGWriter.num(w)), ("height", SVGWriter.num(abs(base - top)))])
                if let d = s.err?[i], d.isFinite, d > 0 {
                    let cx = left + w / 2
                    let hi = c.y(v + d)
                    let lo = yScale.accepts(v - d) ? c.y(v - d) : c.area.bottom
                    let cap = min(4, w / 3)
                    whiskers.append("M\(SVGWriter.num(cx)) \(SVGWriter.num(hi)) L\(SVGWriter.num(cx)) \(SVGWriter.num(lo))")
                    whiskers.append("M\(SVGWriter.num(cx - cap)) \(SVGWriter.num(hi)) L\(SVGWriter.num(cx + cap)) \(SVGWriter.num(hi))")
                    whiskers.append("M\(SVGWriter.num(cx - cap)) \(SVGWriter.num(lo)) L\(SVGWriter.num(cx + cap)) \(SVGWriter.num(lo))")
                }
            }
            c.svg.close("g")
            if !whiskers.isEmpty {
                c.svg.element("path", [("d", whiskers.joined(separator: " ")), ("fill", "none"), ("stroke", "#222222"),
                                       ("stroke-width", "1.2")])
            }
        }
    }
}
