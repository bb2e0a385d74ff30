/// Reverse-mode automatic differentiation.
///
/// Each operation that may be differentiated calls `Autograd.record` right after computing its result, passing a
/// closure that maps the gradient of the result to the gradients of its inputs. That closure is written beside
/// the forward code of the operation (micrograd's layout), so the two can be read together.
/// `record` does nothing unless grad mode is on and some input requires grad, so inference pays one branch.
///
/// A backward closure must not capture its own result strongly (result -> node -> closure -> result is a cycle
/// that leaks the whole graph): capture `out.detached()`, which shares the data, instead.
final class Node {
    let op: String
    private(set) var inputs: [Tensor]
    /// Gradient of the output -> gradient of each input (nil where an input needs none).
    private var rule: ((Tensor) throws -> [Tensor?])?

    init(op: String, inputs: [Tensor], backward: @escaping (Tensor) throws -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.rule = backward
    }

    func backward(_ g: Tensor) throws -> [Tensor?] {
        guard let rule else { throw TensorError.autograd("\(op): the graph was released") }
        return try rule(g)
    }

    /// Releasing a long chain (tensor -> node -> input tensor -> node ...) would otherwise recurse once per op
    /// and overflow the stack for deep graphs. Instead, the nodes of inputs that are about to die with this one
    /// are unlinked here and released one at a time, each after its own inputs were unlinked the same way.
    deinit {
        rule = nil  // drops the closure's references first, so uniqueness below is exact
        var pending: [Node] = []
        Node.unlinkInputs(&inputs, into: &pending)
        while let n = pending.popLast() {
            n.rule = nil
            Node.unlinkInputs(&n.inputs, into: &pending)
            // `n` is released here with no inputs left: its own deinit does not recurse.
        }
    }

    /// Moves the nodes of inputs referenced only by `inputs` (so about to be freed) onto `pending`.
    private static func unlinkInputs(_ inputs: inout [Tensor], into pending: inout [Node]) {
        // One reference per distinct input (x * x lists x twice), so that uniqueness can be tested.
        var distinct: [Tensor] = []
        for t in inputs where !distinct.contains(where: { $0 === t }) { distinct.append(t) }
        inputs.removeAll()
        for i in distinct.indices {
            guard isKnownUniquelyReferenced(&distinct[i]), var n = distinct[i].node else { continue }
            distinct[i].node = nil
            if isKnownUniquelyReferenced(&n) { pending.append(n) }
        }
    }
}

public enum Autograd {
    /// Grad mode. Off inside `noGrad` and while gradients themselves are computed.
    nonisolated(unsafe) public private(set) static var isEnabled = true

    /// Runs `body` without recording operations: no graph is kept, nothing is retained for backward.
    @discardableResult
    public static func noGrad<T>(_ body: () throws -> T) rethrows -> T {
        let saved = isEnabled
        isEnabled = false
        defer { isEnabled = saved }
        return try body()
    }

    /// Whether an op on these inputs must record its backward rule. Hot ops check this first, so that outside
    /// differentiation they allocate neither the input list nor the backward closure's context.
    @inline(__always)
    static func tracks(_ a: Tensor, _ b: Tensor? = nil) -> Bool {
        isEnabled && (a.requiresGrad || (b?.requiresGrad ?? false))
    }

    /// Attaches a backward rule to `out` when any input requires grad. Returns `out`.
    @inline(__always)
    static func record(
        _ out: Tensor, _ op: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) throws -> [Tensor?]
    ) -> Tensor {
        guard isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return out }
        out.requiresGrad = true
        out.node = Node(op: op, inputs: inputs, backward: backward)
        return out
    }
}

extension Tensor {
    /// A leaf that requires grad and shares this tensor's data.
    public func requiringGrad() -> Tensor {
        let t = Tensor(shape: shape, storage: storage)
        t.requiresGrad = true
        return t
    }

    /// The same data cut off from the graph.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// Forgets the gradient accumulated by earlier `backward()` calls.
    public func zeroGrad() { grad = nil }

    /// Back-propagates from this tensor. Without `seed` the tensor must have one element (a loss) and the seed
    /// is 1. Gradients accumulate into `grad` of every leaf that requires grad.
    public func backward(_ seed: Tensor? = nil) throws {
        guard requiresGrad else { throw TensorError.autograd("this tensor does not require grad") }
        let g0: Tensor
        if let seed {
            guard seed.shape == shape else { throw TensorError.shapeMismatch(op: "backward", lhs: shape, rhs: seed.shape) }
            g0 = seed
        } else {
            guard count == 1 else {
                throw TensorError.autograd("backward() without a seed needs a one-element tensor, got shape \(fmt(shape))")
            }
            g0 = try Tensor.ones(shape)
        }
        // Topological order by iterative depth-first search (deep graphs must not overflow the stack).
        var order: [Tensor] = []
        var seen = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard seen.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            for p in t.node?.inputs ?? [] where p.requiresGrad && !seen.contains(ObjectIdentifier(p)) {
                stack.append((p, false))
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): g0]
        try Autograd.noGrad {
            for t in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                guard let node = t.node else {
                    t.grad = try t.grad.map { try $0 + g } ?? g
                    continue
                }
                let inGrads = try node.backward(g)
                for (input, ig) in zip(node.inputs, inGrads) {
                    guard input.requiresGrad, let ig else { continue }
                    guard ig.shape == input.shape else {
                        throw TensorError.autograd("\(node.op) produced a gradient of shape \(fmt(ig.shape)) for an input of shape \(fmt(input.shape))")
                    }
                    let key = ObjectIdentifier(input)
                    grads[key] = try grads[key].map { try $0 + ig } ?? ig
                }
            }
        }
    }

    /// Sums a broadcast gradient back down to `target` (the inverse of broadcasting).
    func sumToShape(_ target: [Int]) throws -> Tensor {
        if shape == target { return self }
        let pad = rank - target.count
        var axes: [Int] = Array(0..<pad)
        for i in 0..<target.count where target[i] == 1 && shape[i + pad] != 1 { axes.append(i + pad) }
        let s = axes.isEmpty ? self : try sum(axes: axes, keepDims: true)
        return try s.reshape(target)
    }
}
