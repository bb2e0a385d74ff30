import Foundation
import XCTest
import LoupeLang
import LoupeLibrary
import LoupePlot

/// The `plot` namespace from Loupe code: figures come back as objects wrapping LoupePlot figures, options reach
/// the figure, and bad arguments fail through the registry's typing with the built-in's name.
final class PlotBuiltinsTests: XCTestCase {
    static let shared: Interpreter = try! Interpreter(registry: LoupeLibrary.makeRegistry())

    func run(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> Value {
        try PlotBuiltinsTests.shared.run(source, file: "plot-test.loupe")
    }

    func figure(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> Figure {
        let v = try run(source)
        guard case let .object(o) = v, let f = o as? FigureObject else {
            XCTFail("expected a figure, got \(v.repr)", file: file, line: line)
            throw LoupeError(.type, "not a figure")
        }
        return f.figure
    }

    func checkError(_ source: String, _ message: String, prefix: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let v = try run(source)
            XCTFail("expected an error, got \(v.repr)", file: file, line: line)
        } catch let e as LoupeError {
            if prefix {
                XCTAssertTrue(e.message.hasPrefix(message), e.message, file: file, line: line)
            } else {
                XCTAssertEqual(e.message, message, file: file, line: line)
            }
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testLineReturnsAFigure() throws {
        let v = try run("plot.line([1, 2, 3])")
        XCTAssertEqual(v.typeName, "figure")
        let f = try figure("plot.line([1, 2, 3])")
        XCTAssertEqual(f.kind, .line)
        XCTAssertEqual(f.seriesCount, 1)
        XCTAssertEqual(try run(#"plot.line([1, 2, 3], title: "loss").title"#).repr, #""loss""#)
        XCTAssertEqual(try run("plot.line([1, 2, 3]).kind").repr, #""line""#)
        XCTAssertTrue(try run("plot.line([1, 2, 3]).svg()").repr.hasPrefix(#""<svg xmlns="#))
    }

    func testOptionsReachTheFigure() throws {
        let f = try figure(#"""
            plot.line({train: [3, 2, 1.5], eval: [3.2, 2.5, 2.1]}, x: [10, 20, 30], title: "loss", xlabel: "step",
                      ylabel: "nats", log_y: true, caption: "Loss by step.", width: 500, height: 300)
            """#)
        XCTAssertEqual(f.seriesNames, ["train", "eval"])
        XCTAssertEqual(f.yScale, .log)
        XCTAssertEqual(f.xScale, .linear)
        XCTAssertEqual([f.title, f.xLabel, f.yLabel, f.caption], ["loss", "step", "nats", "Loss by step."])
        XCTAssertEqual([f.width, f.height], [500, 300])
        let rows = try figure("plot.scatter(tensor([[1, 2], [3, 4], [5, 6]]), labels: [\"a\", \"b\", \"c\"], err: [[0.1, 0.1], nil, [0.2, 0.3]])")
        XCTAssertEqual(rows.seriesNames, ["a", "b", "c"])
        XCTAssertEqual(rows.kind, .scatter)
        let band = try figure("plot.line([1, 2, nil, 4], band: [[0.5, 1.5, nil, 3.5], [1.5, 2.5, nil, 4.5]], xticks: [\"a\", \"b\", \"c\", \"d\"])")
        XCTAssertEqual(band.xTicks?.map(\.label), ["a", "b", "c", "d"])
    }

    func testBarHistHeatmap() throws {
        let bars = try figure(#"plot.bar({base: [0.6, 0.3], tuned: [0.7, 0.4]}, xticks: ["mmlu", "gsm8k"], err: [[0.01, 0.02], [0.01, 0.02]])"#)
        XCTAssertEqual(bars.kind, .bar)
        XCTAssertEqual(bars.seriesNames, ["base", "tuned"])
        XCTAssertTrue(bars.svg().contains(">gsm8k<"))
        XCTAssertTrue(try figure("plot.bar({a: 1, b: 3})").svg().contains(">b<"), "a record of numbers names the bars")

        let hist = try figure("plot.hist([[1, 2, 2, 3], [2, 3, 3, 9]], bins: 4)")
        XCTAssertEqual(hist.kind, .histogram)
        // Both series share one range (1...9), so their bins line up.
        XCTAssertTrue(hist.svg().contains("<rect"))
        let flat = try figure("plot.hist(randn([50, 4], seed: 1), bins: 8)")
        XCTAssertEqual(flat.seriesCount, 1, "a tensor of any rank is one sample")

        let heat = try figure(#"plot.heatmap(softmax(tensor([[1, 2], [3, 1]]), axis: -1), tokens: ["<s>", "hi"], vmin: 0, vmax: 1)"#)
        XCTAssertEqual(heat.kind, .heatmap)
        XCTAssertEqual(heat.svg().components(separatedBy: ">hi<").count - 1, 2, "token on both axes")
    }

    func testSaveWritesTheSVGAtomically() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plot-test-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("f.svg").path
        let v = try run("let f = plot.scatter([3, 1, 2]); f.save(\(Value.string(path).repr))")
        XCTAssertEqual(v.repr, Value.string(path).repr)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("<svg"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["f.svg"], "no temporary file left")
        checkError("plot.line([1]).save(\(Value.string(dir.path + "/missing/dir/f.svg").repr))",
                   "figure.save: cannot write \(dir.path)/missing/dir/f.svg: ", prefix: true)
    }

    func testArgumentErrors() {
        checkError(#"plot.hist([1, 2], bins: "x")"#, "plot.hist: argument 'bins' must be an int, got string")
        checkError("plot.hist([1, 2], bins: 0)", "plot.hist: argument 'bins' must be at least 1, got 0")
        checkError("plot.line([1, 0, 2], log_y: true)",
                   "plot.line: series 1: value 0 at index 1 cannot be shown on a log y axis (log axes need values > 0)")
        checkError("plot.line([])", "plot.line: series 1 is empty: a plot needs at least one value")
        checkError(#"plot.line([1, "a"])"#, "plot.line: argument 'data' must hold numbers, found string at index 1")
        checkError("plot.line([1, 2], labels: [\"a\", \"b\"])", "plot.line: argument 'labels' has 2 names for 1 series")
        checkError("plot.heatmap(zeros([2, 3, 3]))",
                   "plot.heatmap: argument 'data' must be a 2-d matrix, got a tensor of shape (2, 3, 3) (pick one head: pattern[h])")
        checkError("plot.bar([1, 2], log_x: true)", "plot.bar: unknown argument 'log_x' (did you mean 'log_y'?)")
        checkError("plot.line([1, 2], width: 20)", "plot.line: argument 'width' must be between 160 and 8000 pixels, got 20")
        checkError("plot.scatter([1, 2], x: [1, 2, 3])", "plot.scatter: series 1: x has 3 values but 2 are needed")
    }

    func testTerminalDisplayWritesTheSVGOnce() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plot-figs-\(ProcessInfo.processInfo.processIdentifier)")
        defer { try? FileManager.default.removeItem(at: dir) }
        setenv("LOUPE_FIGURE_DIR", dir.path, 1)
        defer { unsetenv("LOUPE_FIGURE_DIR") }
        guard case let .object(o) = try run("plot.line([1, 3, 2], title: \"shown\")"), let f = o as? FigureObject else {
            return XCTFail("not a figure")
        }
        let first = f.terminalDisplay(width: 60)
        XCTAssertTrue(first.hasPrefix("shown\n"))
        XCTAssertTrue(first.hasSuffix("svg: " + dir.appendingPathComponent("figure-1.svg").path), first)
        XCTAssertEqual(f.terminalDisplay(width: 60), first, "the same figure keeps its file")
        guard case let .object(o2) = try run("plot.line([1])"), let g = o2 as? FigureObject else { return XCTFail("not a figure") }
        XCTAssertTrue(g.terminalDisplay(width: 60).hasSuffix("figure-2.svg"))
    }
}
