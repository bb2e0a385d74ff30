import Foundation

extension Figure {
    /// Adds a scatter series: a marker at each (x, y) (x defaults to 0, 1, 2, ...), with optional vertical error
    /// bars (half-lengths). Points with a NaN or infinite coordinate are skipped. Scatter and line series may
    /// share a figure.
    ///
    /// - Throws: `PlotError` as `line` does.
    public func scatter(x: [Double]? = nil, y: [Double], name: String? = nil, err: [Double]? = nil) throws {
        try addXY(.markers, x: x, y: y, name: name, err: err, band: nil)
    }

    /// Filled circles, slightly transparent so that overlapping points show as darker.
    func drawMarkers(_ s: XYSeries, color: String, ok: (Int) -> Bool, _ c: inout ChartContext) {
        c.svg.open("g", [("fill", color), ("fill-opacity", "0.8"), ("stroke", "#ffffff"), ("stroke-width", "0.5")])
        for i in s.y.indices where ok(i) {
            c.svg.element("circle", [("cx", SVGWriter.num(c.x(s.x[i]))), ("cy", SVGWriter.num(c.y(s.y[i]))), ("r", "3.5")])
        }
        c.svg.close("g")
    }
}
