import LoupeLang
import LoupeTensor

/// Tensor built-ins with numpy-like names at the top level, and the `linalg` and `nn` namespaces.
///
/// Decisions:
/// - Wherever a tensor is expected, a number or a (nested) list of numbers is accepted and converted.
/// - Reductions (`sum`, `mean`, `max`, `min`, `variance`, `std`, `logsumexp`, `norm`, also `dot` of vectors and
///   `nn.cross_entropy`) take `axis:` (an int or a list of ints) and `keepdims:`; without `axis` they reduce the
///   whole tensor to a float (numpy's scalar), so `if mean(correct) > 0.5 { }` works as it reads. The one
///   exception is a tensor that requires grad: then the result stays a 0-d tensor so gradients can flow.
///   `mean` and `sum` of a plain list of numbers give a number.
/// - Floats read out of Float32 tensors (`item`, `tolist`, `float`, whole reductions) take the float32 value's
///   shortest decimal, so `item(tensor([0.7]))` is 0.7 rather than 0.699999988079071.
/// - Index results: `argmax`/`argmin` without `axis` give an int (an index into the flattened tensor); with `axis`,
///   and `argsort` and `topk(...).indices`, give Float32 tensors holding whole numbers (exact below 2^24), so they
///   combine with other tensors. Built-ins that take indices (`take_along_axis`, `index_select`, `one_hot`,
///   `embedding`, `nn.cross_entropy`) accept such tensors, lists of ints, ranges or ints.
///   `tolist(t, ints: true)` turns them into ints.
/// - `transpose(t)` reverses the axes (numpy), so it is the matrix transpose for 2-d; `transpose(t, [1, 0, 2])`
///   permutes; `swapaxes(t, a, b)` swaps two.
/// - `randn`/`rand`/`randint`/`shuffle` take `seed:`: the same seed gives the same values (numpy's Philox). Without
///   a seed they draw from one stream per registry, seeded 0: successive calls differ, and a program's run is
///   reproducible as a whole.
/// The random stream that unseeded calls draw from.
/// A host may lend its own stream through `HostHooks.randomStream` (a notebook gives each cell one).
final class LibRandomSession {
    private var own = RandomStream(seed: 0, name: "loupe.session")
    var stream: RandomStream {
        get { HostHooks.randomStream ?? own }
        set { if HostHooks.randomStream != nil { HostHooks.randomStream = newValue } else { own = newValue } }
    }
}

enum TensorBuiltins {
    static let axisDoc = "axis: an int or list of ints (nil: all axes); keepdims: keep reduced axes with size 1."

    static func register(_ r: LibRegistrar) {
        registerCreation(r)
        registerShape(r)
        registerMath(r)
        registerReductions(r)
        registerIndexing(r)
        registerLinalg(r)
        registerNN(r)
    }

    // MARK: - Helpers used by Core.swift's dispatching built-ins

    /// A reduction of argument `name` over `axis:` with `keepdims:`.
    static func reduce(_ a: LibArgs, _ name: String, _ op: (Tensor, [Int]?, Bool) throws -> Tensor) throws -> Value {
        let t = try a.tensor(name)
        return LibConvert.scalar(try op(t, try a.axes("axis"), try a.bool("keepdims")))
    }

    /// concat(list_of_tensors, axis:)
    static func concatTensors(_ a: LibArgs) throws -> Value {
        let ts = try tensorList(a, "x")
        guard !ts.isEmpty else { throw a.error("x", "must not be empty") }
        return .tensor(try Tensor.concat(ts, axis: try a.optInt("axis") ?? 0))
    }

    /// split(t, n_or_sizes, axis:)
    static func splitTensor(_ a: LibArgs) throws -> Value {
        let t = try a.tensor("x")
        let axis = try a.int("axis")
        let parts: [Tensor]
        switch a["sep"] {
        case let .int(n):
            guard n > 0 else { throw a.error("sep", "must be a positive number of sections, got \(n)") }
            // More sections than elements could only give empty pieces (and LoupeTensor would build n of them).
            let ax = axis < 0 ? axis + t.rank : axis
            if ax >= 0, ax < t.rank, n > Swift.max(t.shape[ax], 1) {
                throw a.error("sep", "asks for \(n) sections of an axis of size \(t.shape[ax])")
            }
            parts = try t.split(sections: n, axis: axis)
        case .list: parts = try t.split(sizes: try a.shape("sep"), axis: axis)
        default: throw a.typeError("sep", "an int (sections) or a list of sizes for a tensor", a["sep"])
        }
        return .list(parts.map { .tensor($0) })
    }

    /// Each element of a list argument as a tensor.
    static func tensorList(_ a: LibArgs, _ name: String) throws -> [Tensor] {
        try a.list(name).enumerated().map { i, v in
            if case let .tensor(t) = v { return t }
            do { return try LibConvert.tensor(from: v) } catch let LibConvert.Problem.message(m) {
                throw a.error(name, "element \(i) \(m)")
            } catch {
                throw a.error(name, "must hold tensors, found \(v.typeName) at index \(i)", kind: .type)
            }
        }
    }

    static func record(_ fields: KeyValuePairs<String, Value>) -> Value { .record(Record(fields)) }

    // MARK: - Creation

    static func registerCreation(_ r: LibRegistrar) {
        r.add(nil, "tensor", [Parameter("data")], doc: """
              A Float32 tensor from a number or nested lists of numbers: tensor([[1, 2], [3, 4]]) has shape (2, 2).
              Ragged lists are an error; a tensor is returned as it is.
              """) { a in .tensor(try a.tensor("data")) }

        r.add(nil, "zeros", [Parameter("shape")], doc: "A tensor of zeros: zeros([2, 3]) (an int shape makes a vector).") { a in
            .tensor(try Tensor.zeros(try a.shape("shape")))
        }
        r.add(nil, "ones", [Parameter("shape")], doc: "A tensor of ones: ones([2, 3]).") { a in
            .tensor(try Tensor.ones(try a.shape("shape")))
        }
        r.add(nil, "full", [Parameter("shape"), Parameter("value", .number)], doc: "A tensor of the given shape filled with value.") { a in
            .tensor(try Tensor.full(try a.shape("shape"), Float(try a.double("value"))))
        }
        r.add(nil, "zeros_like", [Parameter("t")], doc: "Zeros with the shape of t.") { a in
            .tensor(try Tensor.zeros(try a.tensor("t").shape))
        }
        r.add(nil, "ones_like", [Parameter("t")], doc: "Ones with the shape of t.") { a in
            .tensor(try Tensor.ones(try a.tensor("t").shape))
        }

        r.add(nil, "arange", [Parameter("start", .number), Parameter("stop", .number, default: .nil),
                              Parameter("step", .number, default: .int(1))],
              doc: """
              Evenly spaced values in [start, stop) by step, as a tensor (numpy.arange): arange(5) is [0, 1, 2, 3, 4].
              """) { a in
            var start = try a.double("start")
            let stop: Double
            if let s = try a.optDouble("stop") { stop = s } else { stop = start; start = 0 }
            let step = try a.double("step")
            guard step != 0 else { throw a.error("step", "must not be zero") }
            return .tensor(try Tensor.arange(Float(start), Float(stop), step: Float(step)))
        }

        r.add(nil, "linspace", [Parameter("start", .number), Parameter("stop", .number),
                                Parameter("num", .int, default: .int(50))],
              doc: "num evenly spaced values from start to stop inclusive (numpy.linspace; num defaults to 50).") { a in
            let n = try a.int("num")
            guard n >= 0 else { throw a.error("num", "must not be negative, got \(n)") }
            return .tensor(try Tensor.linspace(Float(try a.double("start")), Float(try a.double("stop")), num: n))
        }

        r.add(nil, "eye", [Parameter("n", .int), Parameter("m", .int, default: .nil),
                           Parameter("k", .int, default: .int(0), keywordOnly: true)],
              doc: "The n x m identity matrix (m defaults to n); k shifts the diagonal (>0 above, <0 below).") { a in
            let n = try a.int("n"), m = try a.optInt("m")
            guard n >= 0 else { throw a.error("n", "must not be negative, got \(n)") }
            if let m, m < 0 { throw a.error("m", "must not be negative, got \(m)") }
            return .tensor(try Tensor.eye(n, m, k: try a.int("k")))
        }

        let seed = Parameter("seed", .int, default: .nil, keywordOnly: true)
        // Unseeded calls draw from one stream per registry (seeded 0), so successive calls differ while a whole
        // program run stays reproducible.
        let session = LibRandomSession()
        func withStream<T>(_ a: LibArgs, _ body: (inout RandomStream) throws -> T) throws -> T {
            if a.isNil("seed") { return try body(&session.stream) }
            var stream = RandomStream(seed: try a.seed("seed"))
            return try body(&stream)
        }
        r.add(nil, "randn", [Parameter("shape"), seed], doc: """
              Standard normal samples of the given shape; `seed:` makes them reproducible.
              randn([2, 3], seed: 7) gives the same values every run and on every machine (Philox4x64, numpy's
              generator). Without a seed, values come from the session's stream: different on each call, the same
              for each run of a program.
              """) { a in
            if a.isNil("seed") { return .tensor(try Tensor.randn(try a.shape("shape"), stream: &session.stream)) }
            return .tensor(try Tensor.randn(try a.shape("shape"), seed: try a.seed("seed")))
        }
        r.add(nil, "rand", [Parameter("shape"), seed], doc: """
              Uniform samples in [0, 1) of the given shape; `seed:` makes them reproducible (see randn).
              """) { a in
            if a.isNil("seed") { return .tensor(try Tensor.rand(try a.shape("shape"), stream: &session.stream)) }
            return .tensor(try Tensor.rand(try a.shape("shape"), seed: try a.seed("seed")))
        }
        r.add(nil, "randint", [Parameter("low", .int), Parameter("high", .int), Parameter("shape"), seed], doc: """
              Uniform random integers in [low, high) of the given shape, as a tensor; `seed:` makes them reproducible.
              """) { a in
            let (low, high, shape) = (try a.int("low"), try a.int("high"), try a.shape("shape"))
            guard low < high else { throw a.error("high", "must be above low (\(low)), got \(high)") }
            return .tensor(try withStream(a) { try Tensor.randint(low, high, shape, stream: &$0) }.asTensor)
        }
        r.add(nil, "shuffle", [Parameter("xs"), seed], doc: """
              The elements of a list (or range) in a random order; `seed:` makes it reproducible.
              """) { a in
            var items = try a.items("xs")
            try withStream(a) { $0.shuffle(&items) }
            return .list(items)
        }
    }

    // MARK: - Shape

    static func registerShape(_ r: LibRegistrar) {
        r.add(nil, "shape", [Parameter("t")], doc: "The shape of a tensor (or nested list) as a list of ints; [] for a 0-d tensor.") { a in
            .list(try a.tensor("t").shape.map { .int($0) })
        }
        r.add(nil, "ndim", [Parameter("t")], doc: "The number of axes of a tensor.") { a in .int(try a.tensor("t").rank) }
        r.add(nil, "size", [Parameter("t")], doc: "The number of elements of a tensor.") { a in .int(try a.tensor("t").count) }

        r.add(nil, "tolist", [Parameter("t"), Parameter("ints", .bool, default: .bool(false), keywordOnly: true)], doc: """
              A tensor as nested lists of floats (a 0-d tensor gives a float).
              tolist(t, ints: true) gives ints instead, for index tensors (every value must be a whole number).
              """) { a in
            do { return try LibConvert.list(from: try a.tensor("t"), ints: try a.bool("ints")) } catch let LibConvert.Problem.message(m) {
                throw a.error("t", "holds a \(m)")
            }
        }

        r.add(nil, "item", [Parameter("t")], doc: "The value of a one-element tensor as a float (a number is returned as a float).") { a in
            if case let .int(i) = a["t"] { return .float(Double(i)) }
            if case .float = a["t"] { return a["t"] }
            let t = try a.tensor("t")
            guard t.count == 1 else { throw a.error("t", "must have exactly one element, got shape \(LibConvert.showShape(t.shape))") }
            return .float(LibConvert.double(t.scalars[0]))
        }

        r.add(nil, "reshape", [Parameter("t"), Parameter("shape")], doc: """
              The same values with a new shape; one dimension may be -1 (inferred): reshape(t, [2, -1]).
              """) { a in .tensor(try a.tensor("t").reshape(try a.shape("shape", allowInferred: true))) }

        r.add(nil, "flatten", [Parameter("x")], doc: """
              A tensor's values as a 1-d tensor (row-major); for a list, its nested lists joined one level deep.
              flatten([[1, 2], [3], 4]) is [1, 2, 3, 4] (a list); flatten(tensor([[1, 2], [3, 4]])) a tensor of 4.
              """) { a in
            if case let .list(xs) = a["x"] {
                return .list(xs.flatMap { x -> [Value] in if case let .list(ys) = x { return ys }; return [x] })
            }
            return .tensor(try a.tensor("x").flatten())
        }

        r.add(nil, "transpose", [Parameter("t"), Parameter("axes", default: .nil)], doc: """
              The tensor with its axes reversed (numpy): the matrix transpose for 2-d. transpose(t, [1, 0, 2])
              reorders axes as given (like permute). A 0-d or 1-d tensor is returned unchanged.
              """) { a in
            let t = try a.tensor("t")
            if let axes = try a.axes("axes") { return .tensor(try t.permute(axes)) }
            return .tensor(t.rank < 2 ? t : try t.permute(Array((0..<t.rank).reversed())))
        }
        r.add(nil, "permute", [Parameter("t"), Parameter("axes")], doc: """
              Reorders axes: result axis i is input axis axes[i] (PyTorch's permute).
              """) { a in
            guard let axes = try a.axes("axes") else { throw a.typeError("axes", "a list of ints", a["axes"]) }
            return .tensor(try a.tensor("t").permute(axes))
        }
        r.add(nil, "swapaxes", [Parameter("t"), Parameter("axis1", .int), Parameter("axis2", .int)], doc: """
              Swaps two axes (PyTorch's transpose(t, a, b)).
              """) { a in .tensor(try a.tensor("t").transpose(try a.int("axis1"), try a.int("axis2"))) }

        r.add(nil, "squeeze", [Parameter("t"), Parameter("axis", default: .nil, keywordOnly: true)], doc: """
              Removes axes of size 1: all of them, or those in axis: (an int or list).
              """) { a in .tensor(try a.tensor("t").squeeze(axes: try a.axes("axis"))) }
        r.add(nil, "unsqueeze", [Parameter("t"), Parameter("axis", .int)], doc: """
              Inserts an axis of size 1 at position axis (negative counts from the end).
              """) { a in .tensor(try a.tensor("t").unsqueeze(try a.int("axis"))) }
        r.add(nil, "broadcast_to", [Parameter("t"), Parameter("shape")], doc: """
              The tensor repeated along size-1 (and new leading) axes to reach shape (numpy.broadcast_to).
              """) { a in .tensor(try a.tensor("t").broadcast(to: try a.shape("shape"))) }

        r.add(nil, "stack", [Parameter("ts", .list), Parameter("axis", .int, default: .int(0), keywordOnly: true)], doc: """
              Joins tensors of one shape along a new axis: stack([a, b]) has shape (2, ...a.shape).
              """) { a in
            let ts = try tensorList(a, "ts")
            guard !ts.isEmpty else { throw a.error("ts", "must not be empty") }
            return .tensor(try Tensor.stack(ts, axis: try a.int("axis")))
        }

        r.add(nil, "flip", [Parameter("t"), Parameter("axis", default: .nil, keywordOnly: true)], doc: """
              Reverses the order of values along axis: (an int or list); all axes when nil.
              """) { a in
            var t = try a.tensor("t")
            for ax in try a.axes("axis") ?? Array(0..<t.rank) { t = try t.flip(axis: ax) }
            return .tensor(t)
        }
    }

    // MARK: - Math

    static func registerMath(_ r: LibRegistrar) {
        r.add(nil, "matmul", [Parameter("a"), Parameter("b")], doc: """
              Matrix product with numpy's rules (the `@` operator): batch axes broadcast; 1-d operands are vectors.
              """) { a in .tensor(try Tensor.matmul(try a.tensor("a"), try a.tensor("b"))) }
        r.add(nil, "outer", [Parameter("a"), Parameter("b")], doc: "Outer product of two vectors (flattened first).") { a in
            .tensor(try Tensor.outer(try a.tensor("a"), try a.tensor("b")))
        }
        r.add(nil, "dot", [Parameter("a"), Parameter("b")], doc: """
              Dot product of two vectors (a float); for matrices, the matrix product.
              """) { a in
            let x = try a.tensor("a"), y = try a.tensor("b")
            if x.rank == 1, y.rank == 1 {
                guard x.shape == y.shape else { throw TensorError.shapeMismatch(op: "dot", lhs: x.shape, rhs: y.shape) }
                return LibConvert.scalar(try (x * y).sum())
            }
            return .tensor(try x.matmul(y))
        }

        let axis = Parameter("axis", .int, default: .int(-1), keywordOnly: true)
        r.add(nil, "softmax", [Parameter("t"), axis], doc: """
              exp(t) / sum(exp(t)) along axis (default -1, the last), computed stably.
              """) { a in .tensor(try a.tensor("t").softmax(axis: try a.int("axis"))) }
        r.add(nil, "log_softmax", [Parameter("t"), axis], doc: """
              t - logsumexp(t) along axis (default -1): log-probabilities from logits, computed stably.
              """) { a in .tensor(try a.tensor("t").logSoftmax(axis: try a.int("axis"))) }

        r.add(nil, "where", [Parameter("cond"), Parameter("a"), Parameter("b")], doc: """
              Elementwise choice: a where cond is nonzero, else b; all three broadcast (a and b may be numbers).
              """) { a in
            .tensor(try Tensor.where(try a.tensor("cond"), try a.tensor("a"), try a.tensor("b")))
        }
        r.add(nil, "clamp", [Parameter("t"), Parameter("min", .number, default: .nil, keywordOnly: true),
                             Parameter("max", .number, default: .nil, keywordOnly: true)], doc: """
              Limits values to [min, max] (either may be omitted).
              """) { a in
            .tensor(try a.tensor("t").clamp(min: try a.optDouble("min").map(Float.init), max: try a.optDouble("max").map(Float.init)))
        }
        r.add(nil, "cumsum", [Parameter("t"), axis], doc: "Running sum along axis (default -1).") { a in
            .tensor(try a.tensor("t").cumsum(axis: try a.int("axis")))
        }
        r.add(nil, "cosine_similarity", [Parameter("a"), Parameter("b"), axis,
                                         Parameter("eps", .number, default: .float(1e-8), keywordOnly: true)], doc: """
              Cosine of the angle between a and b along axis (default -1): sum(a * b) / (|a| |b|), broadcasting.
              Vectors give a float; [n, d] against [d] gives n similarities. Norms below eps count as eps.
              """) { a in
            let x = try a.tensor("a"), y = try a.tensor("b")
            let ax = try a.int("axis"), eps = Float(try a.double("eps"))
            let dotted = try (x * y).sum(axes: [ax])
            let norms = try x.norm(axes: [ax]).clamp(min: eps) * y.norm(axes: [ax]).clamp(min: eps)
            return LibConvert.scalar(try dotted / norms)
        }
        r.add(nil, "normalize", [Parameter("t"), axis, Parameter("eps", .number, default: .float(1e-12), keywordOnly: true)], doc: """
              t scaled to unit L2 norm along axis (default -1); norms below eps count as eps.
              """) { a in
            let t = try a.tensor("t")
            let n = try t.norm(axes: [try a.int("axis")], keepDims: true).clamp(min: Float(try a.double("eps")))
            return .tensor(try t / n)
        }
        r.add(nil, "rsqrt", [Parameter("t")], doc: "1 / sqrt(t), elementwise.") { a in .tensor(try a.tensor("t").rsqrt()) }
        r.add(nil, "maximum", [Parameter("a"), Parameter("b")], doc: "Elementwise maximum of two tensors (broadcasting; nan wins).") { a in
            .tensor(try a.tensor("a").maximum(try a.tensor("b")))
        }
        r.add(nil, "minimum", [Parameter("a"), Parameter("b")], doc: "Elementwise minimum of two tensors (broadcasting; nan wins).") { a in
            .tensor(try a.tensor("a").minimum(try a.tensor("b")))
        }
    }

    // MARK: - Reductions

    static func registerReductions(_ r: LibRegistrar) {
        let axis = Parameter("axis", default: .nil, keywordOnly: true)
        let keep = Parameter("keepdims", .bool, default: .bool(false), keywordOnly: true)

        r.add(nil, "mean", [Parameter("x"), axis, keep], doc: """
              Mean of a tensor over axis (a float without axis), or of a list of numbers (a float).
              \(axisDoc)
              """) { a in
            if case .tensor = a["x"] {} else if a.isNil("axis"), let items = try LibConvert.items(a["x"]),
                items.allSatisfy({ LibCompare.number($0) != nil }) {
                guard !items.isEmpty else { throw a.error("x", "is empty; the mean of nothing is undefined") }
                return .float(items.reduce(0.0) { $0 + LibCompare.number($1)! } / Double(items.count))
            }
            return try reduce(a, "x") { t, axes, k in try t.mean(axes: axes, keepDims: k) }
        }

        let ddof = Parameter("ddof", .int, default: .int(0), keywordOnly: true)
        r.add(nil, "variance", [Parameter("t"), axis, keep, ddof], doc: """
              Variance over axis with ddof delta degrees of freedom (default 0, numpy's var; `var` is a keyword).
              \(axisDoc)
              """) { a in
            let d = try a.int("ddof")
            return try reduce(a, "t") { t, axes, k in try t.variance(axes: axes, keepDims: k, ddof: d) }
        }
        r.add(nil, "std", [Parameter("t"), axis, keep, ddof], doc: """
              Standard deviation over axis with ddof delta degrees of freedom (default 0, numpy's std).
              \(axisDoc)
              """) { a in
            let d = try a.int("ddof")
            return try reduce(a, "t") { t, axes, k in try t.std(axes: axes, keepDims: k, ddof: d) }
        }
        r.add(nil, "logsumexp", [Parameter("t"), axis, keep], doc: """
              log(sum(exp(t))) over axis, computed without overflow.
              \(axisDoc)
              """) { a in try reduce(a, "t") { t, axes, k in try t.logsumexp(axes: axes, keepDims: k) } }
        r.add(nil, "norm", [Parameter("t"), Parameter("p", .number, default: .int(2), keywordOnly: true), axis, keep], doc: """
              Vector p-norm over axis (numpy's ord for vectors): p = 2 (default), 1, inf (max |x|), -inf, 0 (nonzeros).
              \(axisDoc)
              """) { a in
            let p = Float(try a.double("p"))
            return try reduce(a, "t") { t, axes, k in try t.norm(p: p, axes: axes, keepDims: k) }
        }

        for (name, greater) in [("argmax", true), ("argmin", false)] {
            r.add(nil, name, [Parameter("t"), Parameter("axis", .int, default: .nil, keywordOnly: true), keep], doc: """
                  Index of the first \(greater ? "maximum" : "minimum") (nan counts as it).
                  Without axis: an int, the position in the flattened tensor. With axis: a tensor of indices
                  (Float32 whole numbers), e.g. \(name)(logits, axis: -1) gives one index per row.
                  """) { a in
                let t = try a.tensor("t")
                let ax = try a.optInt("axis"), k = try a.bool("keepdims")
                let idx = greater ? try t.argmax(axis: ax, keepDims: k) : try t.argmin(axis: ax, keepDims: k)
                if ax == nil, !k { return .int(idx.data[0]) }
                return LibConvert.tensor(idx)
            }
        }
    }

    // MARK: - Sorting and indexing

    static func registerIndexing(_ r: LibRegistrar) {
        r.add(nil, "topk", [Parameter("t"), Parameter("k", .int), Parameter("axis", .int, default: .int(-1), keywordOnly: true),
                            Parameter("largest", .bool, default: .bool(true), keywordOnly: true)], doc: """
              The k largest values along axis and their indices, in sorted order: a record {values, indices}.
              indices is a tensor of whole numbers; largest: false gives the k smallest. Ties keep input order.
              """) { a in
            let k = try a.int("k")
            guard k >= 0 else { throw a.error("k", "must not be negative, got \(k)") }
            let (v, i) = try a.tensor("t").topk(k, axis: try a.int("axis"), largest: try a.bool("largest"))
            return record(["values": .tensor(v), "indices": LibConvert.tensor(i)])
        }
        r.add(nil, "argsort", [Parameter("t"), Parameter("axis", .int, default: .int(-1), keywordOnly: true),
                               Parameter("descending", .bool, default: .bool(false), keywordOnly: true)], doc: """
              Indices that sort t along axis (stable, nan last), as a tensor of whole numbers.
              """) { a in
            LibConvert.tensor(try a.tensor("t").argsort(axis: try a.int("axis"), descending: try a.bool("descending")))
        }
        r.add(nil, "take_along_axis", [Parameter("t"), Parameter("indices"), Parameter("axis", .int, default: .int(-1), keywordOnly: true)], doc: """
              numpy's take_along_axis: picks t's values at `indices` along axis (indices has t's rank; other axes broadcast).
              """) { a in
            .tensor(try a.tensor("t").takeAlongAxis(try a.indices("indices"), axis: try a.int("axis")))
        }
        r.add(nil, "index_select", [Parameter("t"), Parameter("indices"), Parameter("axis", .int, default: .int(0), keywordOnly: true)], doc: """
              Whole slices of t at the given positions along axis (default 0): index_select(t, [2, 0]) picks rows 2 and 0.
              """) { a in
            let idx = try a.indices("indices")
            guard idx.rank <= 1 else { throw a.error("indices", "must be a list of ints (1-d), got shape \(LibConvert.showShape(idx.shape))") }
            return .tensor(try a.tensor("t").indexSelect(axis: try a.int("axis"), indices: idx.data))
        }
        r.add(nil, "one_hot", [Parameter("indices"), Parameter("classes", .int)], doc: """
              One-hot rows: shape indices.shape + [classes].
              """) { a in
            let c = try a.int("classes")
            guard c >= 0 else { throw a.error("classes", "must not be negative, got \(c)") }
            return .tensor(try Tensor.oneHot(try a.indices("indices"), classes: c))
        }
        r.add(nil, "embedding", [Parameter("table"), Parameter("ids")], doc: """
              Rows of an embedding table [vocab, d] for each id: shape ids.shape + [d].
              """) { a in .tensor(try a.tensor("table").embedding(try a.indices("ids"))) }
    }

    // MARK: - linalg

    static func registerLinalg(_ r: LibRegistrar) {
        r.registry.documentNamespace("linalg", "Linear algebra (LAPACK): svd, qr, eigh, solve, lstsq, inv.")
        r.add("linalg", "svd", [Parameter("a"), Parameter("full_matrices", .bool, default: .bool(false), keywordOnly: true)], doc: """
              Singular value decomposition a = u @ diag(s) @ vt: a record {u, s, vt} (numpy.linalg.svd).
              For a of shape [..., m, n] and k = min(m, n): s is [..., k] descending, u is [..., m, k] and vt [..., k, n]
              (square with full_matrices: true).
              """) { a in
            let (u, s, vt) = try a.tensor("a").svd(fullMatrices: try a.bool("full_matrices"))
            return record(["u": .tensor(u), "s": .tensor(s), "vt": .tensor(vt)])
        }
        r.add("linalg", "qr", [Parameter("a")], doc: """
              Reduced QR decomposition a = q @ r: a record {q, r}; q has orthonormal columns, r is upper triangular.
              """) { a in
            let (q, rr) = try a.tensor("a").qr()
            return record(["q": .tensor(q), "r": .tensor(rr)])
        }
        r.add("linalg", "eigh", [Parameter("a")], doc: """
              Eigen-decomposition of a symmetric matrix: a record {values (ascending), vectors (in columns)}.
              Only the lower triangle is read.
              """) { a in
            let (v, w) = try a.tensor("a").eigh()
            return record(["values": .tensor(v), "vectors": .tensor(w)])
        }
        r.add("linalg", "solve", [Parameter("a"), Parameter("b")], doc: """
              Solves a @ x = b for x (a square, [..., n, n]; b [n] or [..., n, k]). Singular a is an error.
              """) { a in .tensor(try Tensor.solve(try a.tensor("a"), try a.tensor("b"))) }
        r.add("linalg", "inv", [Parameter("a")], doc: "The inverse of a square matrix (or a batch of them); singular is an error.") { a in
            let m = try a.tensor("a")
            guard m.rank >= 2, m.shape[m.rank - 1] == m.shape[m.rank - 2] else {
                throw a.error("a", "must be a square matrix, got shape \(LibConvert.showShape(m.shape))", kind: .shape)
            }
            return .tensor(try Tensor.solve(m, try Tensor.eye(m.shape[m.rank - 1])))
        }
        r.add("linalg", "lstsq", [Parameter("a"), Parameter("b"), Parameter("rcond", .number, default: .nil, keywordOnly: true)], doc: """
              Least-squares solution of a @ x ≈ b: a record {solution, residuals, rank, singular_values}
              (numpy.linalg.lstsq; a is [m, n], b is [m] or [m, k]).
              """) { a in
            let res = try Tensor.lstsq(try a.tensor("a"), try a.tensor("b"), rcond: try a.optDouble("rcond").map(Float.init))
            return record(["solution": .tensor(res.solution), "residuals": .tensor(res.residuals),
                           "rank": .int(res.rank), "singular_values": .tensor(res.singularValues)])
        }
    }

    // MARK: - nn

    static func registerNN(_ r: LibRegistrar) {
        r.registry.documentNamespace("nn", "Fused neural-network operations: normalisation, cross-entropy, attention.")
        let eps = Parameter("eps", .number, default: .float(1e-5), keywordOnly: true)
        r.add("nn", "layer_norm", [Parameter("x"), Parameter("weight", default: .nil, keywordOnly: true),
                                   Parameter("bias", default: .nil, keywordOnly: true), eps], doc: """
              (x - mean) / sqrt(var + eps) * weight + bias over the last axis; weight and bias ([d]) are optional.
              """) { a in
            .tensor(try a.tensor("x").layerNorm(weight: try a.optTensor("weight"), bias: try a.optTensor("bias"),
                                                eps: Float(try a.double("eps"))))
        }
        r.add("nn", "rms_norm", [Parameter("x"), Parameter("weight", default: .nil, keywordOnly: true), eps], doc: """
              x / sqrt(mean(x²) + eps) * weight over the last axis (Llama, Gemma); weight ([d]) is optional.
              """) { a in
            .tensor(try a.tensor("x").rmsNorm(weight: try a.optTensor("weight"), eps: Float(try a.double("eps"))))
        }
        r.add("nn", "cross_entropy", [Parameter("logits"), Parameter("targets")], doc: """
              Mean negative log-likelihood of the target classes under softmax(logits) (a float; a 0-d tensor when
              logits require grad).
              logits is [..., C]; targets holds class indices with shape [...] (a list of ints or an index tensor).
              """) { a in LibConvert.scalar(try a.tensor("logits").crossEntropy(try a.indices("targets"))) }
        r.add("nn", "attention", [Parameter("q"), Parameter("k"), Parameter("v"),
                                  Parameter("causal", .bool, default: .bool(false), keywordOnly: true),
                                  Parameter("mask", default: .nil, keywordOnly: true),
                                  Parameter("scale", .number, default: .nil, keywordOnly: true)], doc: """
              Scaled dot-product attention softmax(q kᵀ * scale + mask) v.
              q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv]; batch axes broadcast. causal: true hides later keys;
              mask is added to the scores; scale defaults to 1 / sqrt(d).
              """) { a in
            .tensor(try Tensor.attention(q: try a.tensor("q"), k: try a.tensor("k"), v: try a.tensor("v"),
                                         causal: try a.bool("causal"), mask: try a.optTensor("mask"),
                                         scale: try a.optDouble("scale").map(Float.init)))
        }
    }
}
