import Foundation
import LoupeLang
import LoupeLibrary

/// A figure ready for a report: its SVG and what to say under it.
public struct RenderedFigure {
    public let svg: String
    public let title: String?
    public let caption: String?

    public init(svg: String, title: String? = nil, caption: String? = nil) {
        self.svg = svg; self.title = title; self.caption = caption
    }
}

/// Finds figures among a cell's values. Plot objects are host objects made by the `plot` namespace
/// (`FigureObject`); the runner asks each registered extractor whether a host object is a figure. Besides
/// `FigureObject`, any host object of type "figure" whose `svg` member is a string or a method giving one (with
/// optional `title` and `caption` members) is taken, so other modules can make figures too.
public enum FigureExtractors {
    public typealias Extractor = (HostObject, Interpreter) -> RenderedFigure?

    nonisolated(unsafe) public static var extractors: [Extractor] = [plotFigure, duckTyped]

    /// The `plot` namespace's figures, read directly.
    static func plotFigure(_ o: HostObject, _ interpreter: Interpreter) -> RenderedFigure? {
        guard let f = o as? FigureObject else { return nil }
        return RenderedFigure(svg: f.figure.svg(), title: f.figure.title, caption: f.figure.caption)
    }

    /// Adds an extractor tried before the others (e.g. one that reads LoupePlot's `Figure` directly).
    public static func register(_ e: @escaping Extractor) { extractors.insert(e, at: 0) }

    static func duckTyped(_ o: HostObject, _ interpreter: Interpreter) -> RenderedFigure? {
        guard o.typeName == "figure" else { return nil }
        func text(_ name: String) -> String? {
            switch o.member(name) {
            case let .string(s)?: return s
            case let .function(f)?:
                if case let .string(s)? = try? interpreter.call(.function(f), []) { return s }
                return nil
            default: return nil
            }
        }
        guard let svg = text("svg") else { return nil }
        return RenderedFigure(svg: svg, title: text("title"), caption: text("caption"))
    }

    /// Figures in `values` (looking inside lists and records), each host object once, in order.
    static func collect(_ values: [Value], interpreter: Interpreter) -> [RenderedFigure] {
        var seen = Set<ObjectIdentifier>()
        var out: [RenderedFigure] = []
        func visit(_ v: Value, depth: Int) {
            guard depth < 8 else { return }
            switch v {
            case let .object(o):
                guard seen.insert(ObjectIdentifier(o)).inserted else { return }
                for e in extractors { if let f = e(o, interpreter) { out.append(f); return } }
            case let .list(xs): xs.prefix(1000).forEach { visit($0, depth: depth + 1) }
            case let .record(r): r.values.forEach { visit($0, depth: depth + 1) }
            default: break
            }
        }
        values.forEach { visit($0, depth: 0) }
        return out
    }
}
