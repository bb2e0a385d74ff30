import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import LoupePlot

/// An SVG parsed with Foundation's XMLParser (XMLDocument is not available on Linux): every element in document
/// order with its attributes and text. Parsing fails on anything that is not well-formed XML.
struct ParsedSVG {
    struct Element {
        let name: String
        let attributes: [String: String]
        var text: String
        /// Names of the enclosing elements, outermost first.
        let ancestors: [String]
        /// Attributes of the enclosing elements (innermost last), for inherited fills.
        let inherited: [[String: String]]
    }
    var elements: [Element] = []

    init(_ svg: String) throws {
        final class Delegate: NSObject, XMLParserDelegate {
            var elements: [Element] = []
            var stack: [(name: String, attrs: [String: String], index: Int)] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String]) {
                elements.append(Element(name: name, attributes: attributes, text: "", ancestors: stack.map(\.name),
                                        inherited: stack.map(\.attrs)))
                stack.append((name, attributes, elements.count - 1))
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) {
                if let top = stack.last { elements[top.index].text += string }
            }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                stack.removeLast()
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let delegate = Delegate()
        parser.delegate = delegate
        guard parser.parse() else {
            throw NSError(domain: "ParsedSVG", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?") at line \(parser.lineNumber)"])
        }
        elements = delegate.elements
    }

    func all(_ name: String) -> [Element] { elements.filter { $0.name == name } }

    /// Text elements by content, for finding where a tick label was placed.
    func text(_ content: String) -> [Element] { all("text").filter { $0.text == content } }
}

extension ParsedSVG.Element {
    func number(_ attr: String) -> Double? { attributes[attr].flatMap(Double.init) }
    /// An attribute here or on the nearest ancestor that sets it.
    func resolved(_ attr: String) -> String? { attributes[attr] ?? inherited.reversed().lazy.compactMap { $0[attr] }.first }
}

/// The points of a path's `d` (M and L commands only, as LoupePlot writes them), split into subpaths.
func subpaths(_ d: String) -> [[(Double, Double)]] {
    var out: [[(Double, Double)]] = []
    let scanner = d.replacingOccurrences(of: "M", with: " M ").replacingOccurrences(of: "L", with: " L ")
        .replacingOccurrences(of: "Z", with: " ").split(separator: " ")
    var i = 0
    while i < scanner.count {
        let cmd = scanner[i]
        if cmd == "M" || cmd == "L", i + 2 < scanner.count, let x = Double(scanner[i + 1]), let y = Double(scanner[i + 2]) {
            if cmd == "M" { out.append([]) }
            out[out.count - 1].append((x, y))
            i += 3
        } else { i += 1 }
    }
    return out
}

/// One figure of each kind, with the awkward parts (NaN, error bars, bands, logs, odd labels) switched on.
func sampleFigures() throws -> [(String, Figure)] {
    let line = try Figure(title: "Loss <train> & \"eval\"", xLabel: "step", yLabel: "loss", logY: true)
    try line.line(y: [3.2, 2.1, .nan, 1.2, 0.9, 0.7], name: "train", band: (lo: [3.0, 1.9, .nan, 1.0, 0.8, 0.6], hi: [3.4, 2.3, .nan, 1.4, 1.0, 0.8]))
    try line.line(y: [3.4, 2.5, 1.9, 1.6, 1.5, 1.45], name: "eval", err: [0.2, 0.2, 0.1, 0.1, 0.1, 0.1])
    let scatter = try Figure(title: "Scatter", xLabel: "x", yLabel: "y")
    try scatter.scatter(x: [0.1, 0.4, 0.35, 0.8, .infinity], y: [1, 3, 2, 5, 4], name: "a")
    try scatter.scatter(x: [0.2, 0.5, 0.9], y: [2, 2.5, 4.5], name: "b", err: [0.3, 0.2, 0.6])
    let bar = try Figure(title: "Accuracy", yLabel: "accuracy")
    try bar.bar(categories: ["mmlu", "gsm8k", "arc-challenge"], values: [0.61, 0.32, 0.55], name: "base", err: [0.02, 0.03, 0.02])
    try bar.bar(values: [0.66, 0.41, -0.1], name: "tuned")
    let hist = try Figure(title: "Logit lens entropy", xLabel: "nats")
    try hist.histogram([0.1, 0.5, 0.7, 1.2, 1.3, 1.35, 2.0, 2.2, 3.9, .nan], bins: 8, range: 0...4, name: "layer 3")
    try hist.histogram([0.3, 0.4, 1.0, 1.1, 2.8, 3.0], bins: 8, range: 0...4, name: "layer 9")
    let heat = try Figure(title: "Attention, head 0")
    let tokens = ["<bos>", "The", " cat", " sat", "\n", "&"]
    // A causal attention pattern, with one masked (NaN) cell above the diagonal.
    var pattern = [[Double]](repeating: [Double](repeating: 0, count: 6), count: 6)
    for q in 0..<6 {
        for k in 0...q { pattern[q][k] = 1.0 / Double(q + 1) }
        if q < 5 { pattern[q][q + 1] = .nan }
    }
    try heat.heatmap(pattern, rowLabels: tokens, columnLabels: tokens)
    return [("line", line), ("scatter", scatter), ("bar", bar), ("histogram", hist), ("heatmap", heat)]
}

final class SVGTests: XCTestCase {
    func testEveryKindIsWellFormedStandaloneSVG() throws {
        for (kind, fig) in try sampleFigures() {
            let svg = fig.svg()
            XCTAssertTrue(svg.unicodeScalars.allSatisfy(\.isASCII), "\(kind): pure ASCII, whatever page it is inlined in")
            let doc = try ParsedSVG(svg)
            let root = try XCTUnwrap(doc.elements.first, kind)
            XCTAssertEqual(root.name, "svg", kind)
            XCTAssertEqual(root.attributes["xmlns"], "http://www.w3.org/2000/svg", kind)
            XCTAssertEqual(root.attributes["viewBox"], "0 0 640 400", kind)
            XCTAssertEqual(doc.all("title").first?.text, fig.title, kind)
            // Every number in a coordinate attribute carries at most two decimals.
            for e in doc.elements {
                for attr in ["x", "y", "width", "height", "cx", "cy", "d", "transform"] {
                    guard let v = e.attributes[attr] else { continue }
                    XCTAssertNil(v.range(of: #"\d\.\d{3}"#, options: .regularExpression), "\(kind): \(attr)=\(v)")
                    XCTAssertFalse(v.contains("nan") || v.contains("inf"), "\(kind): \(attr)=\(v)")
                }
            }
        }
    }

    func testTextIsEscapedAndRoundTrips() throws {
        let fig = try Figure(title: "a < b && c > \"d\" 'e'", xLabel: "ctrl\u{1}char")
        try fig.line(y: [1, 2], name: "<tag>")
        let svg = fig.svg()
        XCTAssertTrue(svg.contains("a &lt; b &amp;&amp; c &gt; &quot;d&quot; &apos;e&apos;"))
        let doc = try ParsedSVG(svg)
        XCTAssertEqual(doc.all("title").first?.text, "a < b && c > \"d\" 'e'")
        XCTAssertEqual(doc.text("<tag>").count, 1, "legend entry")
        // A control character XML cannot hold becomes U+FFFD rather than breaking the document.
        XCTAssertEqual(doc.text("ctrl\u{FFFD}char").count, 1)
        XCTAssertEqual(SVGWriter.escape("a\nb"), "a&#x21B5;b")
        // Non-ASCII goes out as character references and comes back intact.
        let accents = try Figure(title: "café ‖h‖ 注意")
        try accents.line(y: [1, 2])
        XCTAssertTrue(accents.svg().unicodeScalars.allSatisfy(\.isASCII))
        XCTAssertEqual(try ParsedSVG(accents.svg()).all("title").first?.text, "café ‖h‖ 注意")
    }

    func testSameDataGivesSameBytesAndDifferentDataADifferentClipId() throws {
        let a = try sampleFigures().map { $0.1.svg() }
        let b = try sampleFigures().map { $0.1.svg() }
        XCTAssertEqual(a, b)
        let f1 = try Figure(), f2 = try Figure()
        try f1.line(y: [1, 2, 3]); try f2.line(y: [1, 2, 4])
        func clipId(_ s: String) throws -> String? { try ParsedSVG(s).all("clipPath").first?.attributes["id"] }
        let id1 = try XCTUnwrap(clipId(f1.svg())), id2 = try XCTUnwrap(clipId(f2.svg()))
        XCTAssertNotEqual(id1, id2)
        XCTAssertTrue(f1.svg().contains("url(#\(id1))"))
        XCTAssertFalse(f1.svg().contains(Figure.clipPlaceholder))
    }

    func testCaptionBecomesDescAndSizeIsTheViewBox() throws {
        let fig = try Figure(width: 300, height: 200)
        fig.caption = "Figure 1: a caption"
        try fig.scatter(y: [1, 2])
        let doc = try ParsedSVG(fig.svg())
        XCTAssertEqual(doc.all("desc").first?.text, "Figure 1: a caption")
        XCTAssertEqual(doc.elements[0].attributes["viewBox"], "0 0 300 200")
        XCTAssertThrowsError(try Figure(width: 10, height: 200)) { e in
            XCTAssertEqual(e as? PlotError, .invalidSize(width: 10, height: 200))
        }
    }

    func testEmptyFigureSaysNoData() throws {
        let doc = try ParsedSVG(try Figure(title: "nothing yet").svg())
        XCTAssertEqual(doc.text("no data").count, 1)
    }

    func testNumberFormats() {
        XCTAssertEqual(NumberFormat.coordinate(12.5), "12.5")
        XCTAssertEqual(NumberFormat.coordinate(3.0), "3")
        XCTAssertEqual(NumberFormat.coordinate(-0.001), "0")
        XCTAssertEqual(NumberFormat.coordinate(-2.345), "-2.35")
        XCTAssertEqual(NumberFormat.coordinate(0.005), "0.01")
        XCTAssertEqual(NumberFormat.fixed(0.5, 2), "0.50")
        XCTAssertEqual(NumberFormat.fixed(-0.04, 1), "0.0")
        XCTAssertEqual(NumberFormat.plain(0.1 + 0.2), "0.3")
        XCTAssertEqual(NumberFormat.plain(42), "42")
        XCTAssertEqual(NumberFormat.plain(1.5e-7), "1.5e-7")
        XCTAssertEqual(NumberFormat.exponent(9.9999e5, significant: 2), "1e6")
    }
}
