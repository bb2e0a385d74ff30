/// LoupePlot: SVG charts (line, scatter, bar, histogram, heatmap) and their terminal previews.
/// It depends on nothing else of Loupe's, so a figure can be built from plain Swift arrays.
public enum LoupePlot {}
