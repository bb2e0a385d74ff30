import Foundation

/// A chart: its data (one or more series of one kind), titles and axes, drawn as standalone SVG (`svg()`) or as a
/// compact Unicode sketch for a terminal (`terminalPreview(width:height:)`).
///
/// A figure holds series of one kind; line and scatter series may share a figure (both are y against x). Series
/// are checked when added, so every `PlotError` surfaces at the call that caused it and drawing never fails:
/// empty data, mismatched lengths, and values a log axis cannot show are refused there. NaN and infinite values
/// are allowed and skipped when drawing: a line breaks at them instead of jumping across.
///
/// ```swift
/// let fig = Figure(title: "Loss", xLabel: "step", yLabel: "loss", logY: true)
/// try fig.line(y: [3.2, 1.9, 1.1, 0.8], name: "train")
/// try fig.line(y: [3.4, 2.2, 1.5, 1.3], name: "eval")
/// let svg = fig.svg()
/// ```
public final class Figure {
    /// What a figure draws.
    public enum Kind: String, Sendable {
        case line, scatter, bar, histogram, heatmap
    }

    /// The smallest size a figure can be laid out in, and the largest side.
    public static let minSize = (width: 160, height: 120)
    public static let maxSide = 8000

    public var title: String?
    public var xLabel: String?
    public var yLabel: String?
    /// A sentence describing the figure; kept as the SVG's `<desc>` and shown by reports under the figure.
    public var caption: String?
    /// Size in pixels (the SVG's width, height and viewBox).
    public private(set) var width: Int
    public private(set) var height: Int
    public let xScale: Scale
    public let yScale: Scale
    /// Whether to draw the legend; nil draws it when there are several series or any series was named.
    public var showLegend: Bool?
    /// Ticks chosen by the caller (positions and labels) instead of automatic ones. For bar charts the x labels
    /// name the categories; for heatmaps they label columns (x) and rows (y).
    public private(set) var xTicks: [Axis.Tick]?
    public private(set) var yTicks: [Axis.Tick]?

    /// The kind of the first series added; nil while the figure is empty.
    public private(set) var kind: Kind?
    var xy: [XYSeries] = []
    var bars: [BarSeries] = []
    var barCategories: [String] = []
    var histograms: [HistogramSeries] = []
    var heatmap: HeatmapData?

    /// An empty figure. `logX`/`logY` make that axis logarithmic (base 10); data added later must then be
    /// positive on it.
    public init(title: String? = nil, xLabel: String? = nil, yLabel: String? = nil,
                logX: Bool = false, logY: Bool = false, width: Int = 640, height: Int = 400) throws {
        guard (Figure.minSize.width...Figure.maxSide).contains(width),
              (Figure.minSize.height...Figure.maxSide).contains(height) else {
            throw PlotError.invalidSize(width: width, height: height)
        }
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
        self.xScale = logX ? .log : .linear
        self.yScale = logY ? .log : .linear
        self.width = width; self.height = height
    }

    /// The number of series (a heatmap counts as one).
    public var seriesCount: Int {
        xy.count + bars.count + histograms.count + (heatmap == nil ? 0 : 1)
    }

    /// The series' names, in the order they were added.
    public var seriesNames: [String] {
        xy.map(\.name) + bars.map(\.name) + histograms.map(\.name)
    }

    /// Sets labelled ticks on the x axis (values on the data's scale, labels shown as given).
    public func setXTicks(_ ticks: [Axis.Tick]) throws {
        try checkTicks(ticks, scale: xScale, axis: "x")
        xTicks = ticks
    }

    /// Sets labelled ticks on the y axis.
    public func setYTicks(_ ticks: [Axis.Tick]) throws {
        try checkTicks(ticks, scale: yScale, axis: "y")
        yTicks = ticks
    }

    /// Labels at positions 0, 1, 2, ... (the default x of series given without x, bar categories, heatmap cells).
    public static func indexTicks(_ labels: [String]) -> [Axis.Tick] {
        labels.enumerated().map { Axis.Tick(value: Double($0.offset), label: $0.element) }
    }

    private func checkTicks(_ ticks: [Axis.Tick], scale: Scale, axis: String) throws {
        for (i, t) in ticks.enumerated() where !scale.accepts(t.value) {
            throw PlotError.nonPositiveOnLogAxis(axis: axis, series: "\(axis)ticks", index: i, value: t.value)
        }
    }

    /// Records the kind of a series about to be added, refusing kinds that cannot share the figure.
    func adopt(_ k: Kind) throws {
        guard let existing = kind else { kind = k; return }
        let compatible = existing == k || (Set([existing, k]) == Set([.line, .scatter]))
        guard compatible else { throw PlotError.incompatibleKinds(existing: existing, adding: k) }
    }

    /// The name of the next series: the caller's, or "series N" (1-based).
    func seriesName(_ name: String?) -> String { name ?? "series \(seriesCount + 1)" }

    /// Refuses non-positive values on a log axis (NaN and infinities pass: they are skipped when drawing).
    func checkLog(_ values: [Double], scale: Scale, axis: String, series: String) throws {
        guard scale == .log else { return }
        for (i, v) in values.enumerated() where !v.isNaN && v <= 0 {
            throw PlotError.nonPositiveOnLogAxis(axis: axis, series: series, index: i, value: v)
        }
    }

    /// Whether the legend is drawn.
    var legendShown: Bool {
        if let showLegend { return showLegend && kind != .heatmap && seriesCount > 0 }
        switch kind {
        case .none, .heatmap: return false
        default: return seriesCount > 1 || xy.contains { $0.named } || bars.contains { $0.named }
                || histograms.contains { $0.named }
        }
    }
}
