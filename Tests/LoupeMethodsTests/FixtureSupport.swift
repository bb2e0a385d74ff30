import Foundation
import XCTest

/// Reads the JSON fixtures that Tests/Fixtures/make_*.py write into this target's Fixtures/ folder.
enum Fixture {
    /// The parsed JSON object of `Fixtures/NAME.json`.
    static func load(_ name: String) throws -> [String: Any] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw FixtureError.shape("fixture \(name).json is missing from the test bundle (run Tests/Fixtures/make_metrics_fixtures.py)")
        }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let dict = object as? [String: Any] else { throw FixtureError.shape("\(name).json is not an object") }
        return dict
    }

    enum FixtureError: Error { case shape(String) }
}

/// A fixture loaded once per test class; a missing or unreadable file fails every test that reads it.
final class LoadedFixture {
    let value: [String: Any]
    let problem: String?
    init(_ name: String) {
        do { value = try Fixture.load(name); problem = nil } catch {
            value = [:]; problem = "cannot read fixture \(name).json: \(error)"
        }
    }
    func section(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> [Case] {
        if let problem { XCTFail(problem, file: file, line: line) }
        return Case(value).cases(name).nonEmpty(name, file: file, line: line)
    }
    var root: Case { Case(value) }
}

/// Typed access to a fixture case (a JSON object), failing the test on a missing or mistyped field.
struct Case {
    let raw: [String: Any]
    init(_ raw: Any) { self.raw = raw as? [String: Any] ?? [:] }

    /// A number; the fixture scripts write infinities and NaN as the strings "inf", "-inf" and "nan".
    func double(_ k: String) -> Double {
        if let s = raw[k] as? String { return s == "inf" ? .infinity : s == "-inf" ? -.infinity : .nan }
        return (raw[k] as? NSNumber)?.doubleValue ?? .nan
    }
    func int(_ k: String) -> Int { (raw[k] as? NSNumber)?.intValue ?? -1 }
    func isNull(_ k: String) -> Bool { raw[k] is NSNull }
    func doubles(_ k: String) -> [Double] { (raw[k] as? [NSNumber])?.map(\.doubleValue) ?? [] }
    func ints(_ k: String) -> [Int] { (raw[k] as? [NSNumber])?.map(\.intValue) ?? [] }
    func matrix(_ k: String) -> [[Double]] { (raw[k] as? [[NSNumber]])?.map { $0.map(\.doubleValue) } ?? [] }
    func intMatrix(_ k: String) -> [[Int]] { (raw[k] as? [[NSNumber]])?.map { $0.map(\.intValue) } ?? [] }
    func strings2(_ k: String) -> [[String]] { raw[k] as? [[String]] ?? [] }
    func cases(_ k: String) -> [Case] { (raw[k] as? [Any])?.map(Case.init) ?? [] }
    func sub(_ k: String) -> Case { Case(raw[k] as Any) }
}

extension Array where Element == Case {
    /// Fails when a fixture section is empty (a renamed key would otherwise make the loop test nothing).
    func nonEmpty(_ what: String, file: StaticString = #filePath, line: UInt = #line) -> [Case] {
        XCTAssertFalse(isEmpty, "no fixture cases for \(what)", file: file, line: line)
        return self
    }
}

/// |a - b| <= tol, with NaN equal to NaN and infinities equal to themselves.
func assertClose(_ a: Double, _ b: Double, _ tol: Double = 1e-9, _ message: @autoclosure () -> String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    if a.isNaN && b.isNaN { return }
    if a == b { return }
    XCTAssertLessThanOrEqual(Swift.abs(a - b), tol, "\(a) vs \(b) \(message())", file: file, line: line)
}

func assertClose(_ a: [Double], _ b: [Double], _ tol: Double = 1e-9, _ message: @autoclosure () -> String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "lengths \(message())", file: file, line: line)
    for (x, y) in zip(a, b) { assertClose(x, y, tol, message(), file: file, line: line) }
}
