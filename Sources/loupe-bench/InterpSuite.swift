import Foundation
import LoupeLang
import LoupeLibrary

/// Suite `interp`: the Loupe interpreter against CPython on the same small programs (bench/peers/interp_peer.py
/// has the Python side). Definitions and inputs are made once, untimed; a repetition runs one call.
/// Target (language issue): each ratio <= 0.5, i.e. twice as fast as CPython.
enum InterpSuite {
    /// One interpreter for the whole suite, with the standard library loaded (as a user would have it).
    static func makeInterpreter() throws -> Interpreter {
        try Interpreter(registry: LoupeLibrary.makeRegistry(), loadStdlib: true)
    }

    static func program(_ name: String, _ summary: String, kind: String, n: Int, setup: String, call: String,
                        target: Double? = 0.5) -> BenchCase {
        var c = BenchCase(name: name, summary: summary, peerName: "cpython", peerKind: kind, peerArgs: [("n", n)]) {
            let interp = try makeInterpreter()
            try interp.run(setup, file: "bench-\(name)-setup.loupe")
            var last: Value = .nil
            return .init(
                rep: { try timed { last = try interp.run(call, file: "bench-\(name).loupe") } },
                check: {
                    if case .nil = last { last = try interp.run(call, file: "bench-\(name).loupe") }
                    switch last {
                    case let .int(i): return ["value": Double(i)]
                    case let .float(d): return ["value": d]
                    default: return [:]
                    }
                })
        }
        c.target = target
        c.tolerance = 1e-9
        return c
    }

    static var cases: [BenchCase] {
        [
            program("fib-27", "recursive fib(27): 635k calls", kind: "fib", n: 27,
                    setup: "fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }",
                    call: "fib(27)"),
            program("loop-sum-10M", "for i in 0..10M { s += i } inside a function", kind: "loop-sum", n: 10_000_000,
                    setup: "fn loop_sum(n) { var s = 0; for i in 0..n { s += i }; s }",
                    call: "loop_sum(10000000)"),
            program("string-1M", "s += \"x\" 1M times, then len(s)", kind: "string-build", n: 1_000_000,
                    setup: "fn build(n) { var s = \"\"; for i in 0..n { s += \"x\" }; len(s) }",
                    call: "build(1000000)"),
            program("sort-1M", "sort 1M floats (a list made once), take the median element", kind: "sort", n: 1_000_000,
                    setup: "let xs = map(0..1000000, fn(i) -> ((i * 2654435761) % 4294967296) / 4294967296.0)",
                    call: "sort(xs)[500000]"),
            program("closure-1M", "1M calls of a closure capturing a local: s = add(s, i)", kind: "closure-calls", n: 1_000_000,
                    setup: "fn closure_calls(n) { let k = 3; let add = fn(a, b) -> a + b + k; var s = 0; for i in 0..n { s = add(s, i) }; s }",
                    call: "closure_calls(1000000)"),
            // The overhead of a builtin tensor op from the language: 100k `t + t` on a 4-element tensor
            // (numpy: the same loop over `t + t` on a 4-element array). Per-call time is this / 100k.
            program("tensor-op-100k", "100k calls of t + t on a 4-element tensor (builtin-call overhead)", kind: "tensor-op-call", n: 100_000,
                    setup: "let t = ones([4]); fn op_calls(n) { var r = t; for i in 0..n { r = t + t }; r[0] }",
                    call: "op_calls(100000)", target: nil),
        ]
    }
}
