import LoupeLang
import LoupeTensor

/// List primitives that call back into Loupe functions: `map`, `filter`, `reduce`, `zip`, `enumerate`, ...
///
/// They are Swift rather than Loupe because lists are immutable: building a result with `acc + [x]` in a
/// Loupe loop copies the list each time (O(n²)); here each is one pass. Data comes first, so pipelines read
/// left to right: `xs |> filter(fn(x) -> x > 0) |> map(fn(x) -> x * 2)`.
///
/// Every function accepts any iterable: a list, a range, a string (its characters), a record (its keys) or a
/// tensor (its rows along the first axis), and returns a list.
enum FunctionalBuiltins {
    static func register(_ r: LibRegistrar) {
        let xs = Parameter("xs"), f = Parameter("f", .function)

        r.add(nil, "map", [xs, f], doc: """
              The list of f(x) for each element x: map([1, 2, 3], fn(x) -> x * x) is [1, 4, 9].
              """) { a in
            let fn = try a.function("f")
            return .list(try a.items("xs").map { try a.call(fn, [$0]) })
        }

        r.add(nil, "filter", [xs, f], doc: """
              The elements for which f(x) is truthy, in order.
              """) { a in
            let fn = try a.function("f")
            return .list(try a.items("xs").filter { try a.call(fn, [$0]).isTruthy })
        }

        r.add(nil, "reduce", [xs, f, Parameter("initial", default: .nil)], doc: """
              Folds the elements from the left: f(f(f(initial, x0), x1), x2)...
              Without `initial`, starts from the first element (an empty list is then an error).
              reduce([1, 2, 3], fn(acc, x) -> acc + x, 0) is 6.
              """) { a in
            let fn = try a.function("f")
            var items = try a.items("xs")[...]
            var acc: Value
            if a.isNil("initial") {
                guard let first = items.popFirst() else { throw a.error("xs", "is empty and no initial value was given") }
                acc = first
            } else { acc = a["initial"] }
            for x in items { acc = try a.call(fn, [acc, x]) }
            return acc
        }

        r.add(nil, "flat_map", [xs, f], doc: """
              Applies f (which returns a list) to each element and joins the results into one list.
              """) { a in
            let fn = try a.function("f")
            var out: [Value] = []
            for (i, x) in try a.items("xs").enumerated() {
                let y = try a.call(fn, [x])
                guard let ys = try LibConvert.items(y), !{ if case .string = y { return true }; return false }() else {
                    throw a.fail("f must return a list, returned \(y.typeName) for element \(i)", kind: .type)
                }
                out += ys
            }
            return .list(out)
        }

        for (name, isAny) in [("any", true), ("all", false)] {
            r.add(nil, name, [xs, Parameter("f", .function, default: .nil)], doc: isAny ? """
                  Whether some element is truthy (or makes f truthy); false for an empty list. Stops at the first.
                  """ : """
                  Whether every element is truthy (or makes f truthy); true for an empty list. Stops at the first failure.
                  """) { a in
                let fn = a["f"]
                if !a.isNil("f") { _ = try a.function("f") }
                for x in try a.items("xs") {
                    let t = a.isNil("f") ? x.isTruthy : try a.call(fn, [x]).isTruthy
                    if t == isAny { return .bool(isAny) }
                }
                return .bool(!isAny)
            }
        }

        r.add(nil, "find", [xs, f], doc: """
              The first element for which f(x) is truthy, or nil.
              """) { a in
            let fn = try a.function("f")
            for x in try a.items("xs") where try a.call(fn, [x]).isTruthy { return x }
            return .nil
        }

        r.add(nil, "count", [xs, Parameter("f", default: .nil)], doc: """
              How many elements make f truthy, or (when f is not a function) how many equal f; without f, the length.
              """) { a in
            let items = try a.items("xs")
            let g = a["f"]
            switch g {
            case .nil: return .int(items.count)
            case .function: return .int(try items.reduce(0) { $0 + (try a.call(g, [$1]).isTruthy ? 1 : 0) })
            default: return .int(items.filter { LibCompare.equal($0, g) }.count)
            }
        }

        r.add(nil, "zip", [Parameter("xs"), Parameter("ys"), Parameter("zs", default: .nil)], doc: """
              Pairs up elements: zip([1, 2], ["a", "b"]) is [[1, "a"], [2, "b"]]; stops at the shortest.
              A third list gives triples.
              """) { a in
            let p = try a.items("xs"), q = try a.items("ys")
            if a.isNil("zs") { return .list(zip(p, q).map { .list([$0, $1]) }) }
            let s = try a.items("zs")
            let n = Swift.min(p.count, q.count, s.count)
            return .list((0..<n).map { .list([p[$0], q[$0], s[$0]]) })
        }

        r.add(nil, "enumerate", [xs, Parameter("start", .int, default: .int(0), keywordOnly: true)], doc: """
              Pairs each element with its position: enumerate(["a", "b"]) is [[0, "a"], [1, "b"]].
              Use as `for [i, x] in enumerate(xs) { }`.
              """) { a in
            let start = try a.int("start")
            let items = try a.items("xs")
            guard start.addingReportingOverflow(items.count).overflow == false else { throw a.error("start", "is too large, got \(start)") }
            return .list(items.enumerated().map { .list([.int(start + $0), $1]) })
        }

        r.add(nil, "take", [xs, Parameter("n", .int)], doc: """
              The first n elements (all of them if there are fewer).
              """) { a in
            let n = try a.int("n")
            guard n >= 0 else { throw a.error("n", "must not be negative, got \(n)") }
            if case let .list(l) = a["xs"] { return .list(Array(l.prefix(n))) }
            return .list(Array(try a.items("xs").prefix(n)))
        }

        r.add(nil, "drop", [xs, Parameter("n", .int)], doc: """
              All but the first n elements.
              """) { a in
            let n = try a.int("n")
            guard n >= 0 else { throw a.error("n", "must not be negative, got \(n)") }
            return .list(Array(try a.items("xs").dropFirst(n)))
        }

        r.add(nil, "take_while", [xs, f], doc: "The leading elements for which f(x) is truthy.") { a in
            let fn = try a.function("f")
            var out: [Value] = []
            for x in try a.items("xs") { guard try a.call(fn, [x]).isTruthy else { break }; out.append(x) }
            return .list(out)
        }

        r.add(nil, "drop_while", [xs, f], doc: "The elements after the leading ones for which f(x) is truthy.") { a in
            let fn = try a.function("f")
            let items = try a.items("xs")
            var i = 0
            while i < items.count, try a.call(fn, [items[i]]).isTruthy { i += 1 }
            return .list(Array(items[i...]))
        }

        r.add(nil, "sort_by", [xs, f, Parameter("reverse", .bool, default: .bool(false), keywordOnly: true)], doc: """
              The elements sorted (stably) by f(x), which is computed once per element; reverse: true for descending.
              """) { a in
            .list(try CoreBuiltins.sortValues(try a.items("xs"), key: try a.function("f"), reverse: try a.bool("reverse"), a))
        }

        r.add(nil, "group_by", [xs, f], doc: """
              A record from each key f(x) to the list of elements with that key, keys in order of first appearance.
              Keys that are not strings are converted with str (so 1 and "1" share a group).
              """) { a in
            let fn = try a.function("f")
            var keys: [String] = [], groups: [[Value]] = [], index: [String: Int] = [:]
            for x in try a.items("xs") {
                let k = LibConvert.text(try a.call(fn, [x]))
                if let i = index[k] { groups[i].append(x) } else { index[k] = keys.count; keys.append(k); groups.append([x]) }
            }
            return .record(Record(keys: keys, values: groups.map { .list($0) }))
        }

        r.add(nil, "count_by", [xs, f], doc: """
              A record from each key f(x) to how many elements have it, keys in order of first appearance
              (non-string keys converted with str).
              """) { a in
            let fn = try a.function("f")
            var keys: [String] = [], counts: [Int] = [], index: [String: Int] = [:]
            for x in try a.items("xs") {
                let k = LibConvert.text(try a.call(fn, [x]))
                if let i = index[k] { counts[i] += 1 } else { index[k] = keys.count; keys.append(k); counts.append(1) }
            }
            return .record(Record(keys: keys, values: counts.map { .int($0) }))
        }

        r.add(nil, "partition", [xs, f], doc: """
              Splits the elements into [those where f(x) is truthy, the rest], keeping their order.
              """) { a in
            let fn = try a.function("f")
            var yes: [Value] = [], no: [Value] = []
            for x in try a.items("xs") { if try a.call(fn, [x]).isTruthy { yes.append(x) } else { no.append(x) } }
            return .list([.list(yes), .list(no)])
        }

        r.add(nil, "each", [xs, f], doc: """
              Calls f(x) for each element, for its effect (printing, plotting); returns nil.
              """) { a in
            let fn = try a.function("f")
            for x in try a.items("xs") { _ = try a.call(fn, [x]) }
            return .nil
        }
    }
}
