import LoupeTensor
#if canImport(Glibc)
import Glibc
#endif

/// Compiled code: a Swift closure evaluated against a frame pointer. Locals live in slots of one contiguous value
/// stack; a call puts the callee's frame right above the caller's (`fp + frameSize`), so calls allocate nothing.
typealias Code = (UnsafeMutablePointer<Value>) throws -> Value

/// Set from any thread (or a signal handler) to stop the running program at the next loop iteration or call.
/// A plain Int32 store is async-signal-safe; the interpreter polls it.
nonisolated(unsafe) var loupeInterruptFlag: Int32 = 0

/// Mutable interpreter state, reached through a pointer so that hot paths pay no exclusivity checks.
struct MachineState {
    var depth = 0
    var maxDepth = 10_000
    /// Non-local exits in flight: 0 none, 1 break, 2 continue, 3 return (value in `ret`).
    var unwind = 0
    var ret: Value = .nil
    /// Where code entered from Swift (API calls, built-ins calling back, imports) puts its frame.
    var top: UnsafeMutablePointer<Value>
    /// End of the part of the value stack that holds `.nil`s; above it the mapping is untouched zero pages.
    var limit: UnsafeMutablePointer<Value>
}

let unwindBreak = 1, unwindContinue = 2, unwindReturn = 3

/// What a Loupe function is, independent of the values it captured.
final class FunctionProto {
    let name: String
    let paramCount: Int
    /// Slots for parameters and locals; captured values follow them.
    let localCount: Int
    let frameSize: Int
    let body: Code
    let span: SourceSpan
    init(name: String, paramCount: Int, localCount: Int, captureCount: Int, span: SourceSpan, body: @escaping Code) {
        self.body = body
        self.name = name; self.paramCount = paramCount; self.localCount = localCount
        self.frameSize = localCount + captureCount; self.span = span
    }
}

/// A Loupe function value: its code and the values it captured when it was created.
final class Closure: FunctionValue {
    let proto: FunctionProto
    /// The captured values, in a buffer of the prototype's capture count so calls copy them without touching an
    /// array's reference count. Groups of local functions that call each other fill it after creation.
    let captureBase: UnsafeMutablePointer<Value>
    let captureCount: Int
    init(proto: FunctionProto, parameters: [Parameter], captures: ContiguousArray<Value>) {
        self.proto = proto
        captureCount = proto.frameSize - proto.localCount
        captureBase = .allocate(capacity: max(captureCount, 1))
        captureBase.initialize(repeating: .nil, count: captureCount)
        for (i, v) in captures.prefix(captureCount).enumerated() { captureBase[i] = v }
        super.init(name: proto.name, parameters: parameters, doc: "")
        kindTag = 1
    }

    deinit {
        captureBase.deinitialize(count: captureCount)
        captureBase.deallocate()
    }

    func setCaptures(_ values: ContiguousArray<Value>) {
        for (i, v) in values.prefix(captureCount).enumerated() { captureBase[i] = v }
    }
}

final class Machine {
    let st: UnsafeMutablePointer<MachineState>
    let stack: UnsafeMutablePointer<Value>
    let stackEnd: UnsafeMutablePointer<Value>
    static let stackSlots = 1 << 20
    /// Slots set to `.nil` up front and per growth step. Initialising all 1M slots (32 MiB) at start-up cost
    /// ~8k page faults, about half of an empty notebook run's 50 ms, for stack space that almost no program uses.
    static let stackChunk = 1 << 14
    /// The callback handed to built-ins (`Arguments.call`).
    private(set) var hostCall: ((Value, [Value]) throws -> Value)!

    init() {
        // Reserve the whole stack as a lazily-faulted anonymous mapping (frames hold raw pointers into it, so it
        // can never move) and put `.nil`s only into a first chunk; `reserve` extends that prefix on demand. The
        // untouched zero pages read as `.bool(false)`, a value with nothing to release, so code that assigns into
        // a slot above the prefix (arguments written before the callee's frame is checked) stays safe.
        let bytes = Machine.stackSlots * MemoryLayout<Value>.stride
        guard let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              raw != MAP_FAILED else {
            fatalError("cannot map the interpreter's value stack (\(bytes) bytes)")
        }
        stack = raw.bindMemory(to: Value.self, capacity: Machine.stackSlots)
        stack.initialize(repeating: .nil, count: Machine.stackChunk)
        stackEnd = stack + Machine.stackSlots
        st = .allocate(capacity: 1)
        st.initialize(to: MachineState(top: stack, limit: stack + Machine.stackChunk))
        hostCall = { [unowned self] f, args in try self.callFromHost(f, args, [], span: nil) }
    }

    deinit {
        stack.deinitialize(count: st.pointee.limit - stack)
        munmap(UnsafeMutableRawPointer(stack), Machine.stackSlots * MemoryLayout<Value>.stride)
        st.deinitialize(count: 1)
        st.deallocate()
    }

    /// Makes `[start, end)` usable as a frame: extends the `.nil` prefix of the stack past `end`, leaving the
    /// slots below `keep` (arguments already written) as they are. False when `end` is beyond the stack.
    @inline(never)
    func reserve(upTo end: UnsafeMutablePointer<Value>, keep: UnsafeMutablePointer<Value>) -> Bool {
        let limit = st.pointee.limit
        if end <= limit { return true }
        if end > stackEnd { return false }
        let newLimit = min(stackEnd, max(end, limit + Machine.stackChunk))
        let from = max(limit, keep)
        if newLimit > from { from.initialize(repeating: .nil, count: newLimit - from) }
        st.pointee.limit = newLimit
        return true
    }

    @inline(__always) static func checkInterrupt(_ span: SourceSpan) throws {
        if loupeInterruptFlag != 0 {
            loupeInterruptFlag = 0
            throw LoupeError(.interrupted, "interrupted", at: span)
        }
    }

    /// Runs closure `c` whose arguments are already in `nfp[0..<paramCount]`. Inlined into every call node, so
    /// the error paths (messages built with string interpolation) are out of line: they made the hot path save
    /// registers and reserve a large stack frame on every call.
    @inline(__always)
    func invoke(_ c: Closure, _ nfp: UnsafeMutablePointer<Value>, _ span: SourceSpan) throws -> Value {
        let s = st
        let p = c.proto
        if s.pointee.depth >= s.pointee.maxDepth || nfp + p.frameSize > s.pointee.limit || loupeInterruptFlag != 0 {
            if let refusal = refuseCall(p, nfp, span) { throw refusal }
        }
        s.pointee.depth += 1
        let n = c.captureCount
        if n != 0 {
            // Slots above the caller's frame are nil (frames are cleared on return), so no destruction is needed.
            let dst = nfp + p.localCount, src = c.captureBase
            var i = 0
            while i < n {
                // Numbers are copied bitwise, with no outlined copy (no reference count to touch).
                switch src[i] {
                case let .int(x): (dst + i).initialize(to: .int(x))
                case let .float(x): (dst + i).initialize(to: .float(x))
                default: (dst + i).initialize(to: src[i])
                }
                i += 1
            }
        }
        // No `defer`: it was emitted as an out-of-line call on every return. Each exit clears the frame itself.
        let r: Value
        do {
            r = try p.body(nfp)
        } catch {
            Machine.clearFrame(nfp, p.frameSize)
            s.pointee.depth -= 1
            throw Machine.traced(error, p, span)
        }
        Machine.clearFrame(nfp, p.frameSize)
        s.pointee.depth -= 1
        if s.pointee.unwind == unwindReturn { return takeReturn() }
        return r
    }

    /// The value of a `return` that ended the call.
    @inline(never)
    func takeReturn() -> Value {
        st.pointee.unwind = 0
        let v = st.pointee.ret
        st.pointee.ret = .nil
        return v
    }

    /// Why a call cannot start: an interrupt, or the depth limit / frame stack is exhausted; nil when the frame
    /// only needed more of the stack's `.nil` prefix. Clears the arguments already written into a refused frame.
    @inline(never)
    func refuseCall(_ p: FunctionProto, _ nfp: UnsafeMutablePointer<Value>, _ span: SourceSpan) -> Error? {
        if st.pointee.depth < st.pointee.maxDepth && loupeInterruptFlag == 0
            && reserve(upTo: nfp + p.frameSize, keep: nfp + p.paramCount) {
            return nil
        }
        for k in 0..<p.paramCount { nfp[k] = .nil }
        if loupeInterruptFlag != 0 {
            loupeInterruptFlag = 0
            return LoupeError(.interrupted, "interrupted", at: span)
        }
        return LoupeError(.stackOverflow, "stack overflow at depth \(st.pointee.depth)", at: span)
    }

    /// An error leaving a call, with the call added to its trace (up to 20 entries).
    @inline(never)
    static func traced(_ error: Error, _ p: FunctionProto, _ span: SourceSpan) -> Error {
        guard var e = error as? LoupeError else { return error }
        if e.trace.count < 20 { e.trace.append("in \(p.name) called at \(span.description)") }
        return e
    }

    /// Clears a frame so it holds no references; numbers need no destruction, so skip the call for them.
    @inline(__always)
    static func clearFrame(_ nfp: UnsafeMutablePointer<Value>, _ size: Int) {
        var k = 0
        while k < size {
            switch nfp[k] {
            case .nil, .bool, .int, .float: (nfp + k).initialize(to: .nil)
            default: nfp[k] = .nil
            }
            k += 1
        }
    }

    /// Calls any function value with positional and keyword arguments, its frame at `top`.
    func call(_ f: Value, _ args: [Value], _ keywords: [(String, Value)], span: SourceSpan,
              top: UnsafeMutablePointer<Value>) throws -> Value {
        guard case let .function(fn) = f else {
            throw LoupeError(.type, "a \(f.typeName) is not callable", at: span)
        }
        if fn.kindTag == 1 {
            let c = unsafeDowncast(fn, to: Closure.self)
            if keywords.isEmpty && args.count == c.proto.paramCount {
                for (i, v) in args.enumerated() { top[i] = v }
            } else {
                let vals = try Binder.bind(fn, args, keywords, span: span)
                for (i, v) in vals.enumerated() { top[i] = v }
            }
            return try invoke(c, top, span)
        }
        if fn.kindTag == 2 {
            let b = unsafeDowncast(fn, to: Builtin.self)
            if keywords.isEmpty { return try callBuiltinPositional(b, args, span: span, top: top) }
            return try callBuiltin(b, args, keywords, span: span, top: top)
        }
        throw LoupeError(.type, "\(fn.name) cannot be called", at: span)
    }

    func callBuiltin(_ b: Builtin, _ args: [Value], _ keywords: [(String, Value)], span: SourceSpan,
                     top: UnsafeMutablePointer<Value>) throws -> Value {
        let vals = b.variadic ? try Binder.variadic(b, args, keywords, span: span) : try Binder.bind(b, args, keywords, span: span)
        return try runBuiltinBody(b, vals, span: span, top: top)
    }

    /// A built-in called with positional arguments only (the common case): checked in place, no matching tables.
    @inline(__always)
    func callBuiltinPositional(_ b: Builtin, _ args: [Value], span: SourceSpan, top: UnsafeMutablePointer<Value>) throws -> Value {
        var vals = args
        if !b.variadic {
            let params = b.parameters
            if vals.count != params.count || !b.simple {
                return try callBuiltin(b, args, [], span: span, top: top)
            }
            for i in 0..<vals.count {
                if let t = params[i].type {
                    if case .any = t { continue }
                    guard let c = Binder.convert(vals[i], to: t) else {
                        throw LoupeError(.type, "\(b.name): argument '\(params[i].name)' must be \(t), got \(vals[i].typeName)", at: span)
                    }
                    vals[i] = c
                }
            }
        }
        return try runBuiltinBody(b, vals, span: span, top: top)
    }

    /// Runs a built-in's body on matched arguments, with `top` as the frame stack's top for any callback into
    /// Loupe code; tensor errors become language errors at the call's span.
    @inline(__always)
    private func runBuiltinBody(_ b: Builtin, _ vals: [Value], span: SourceSpan, top: UnsafeMutablePointer<Value>) throws -> Value {
        let saved = st.pointee.top
        st.pointee.top = top
        defer { st.pointee.top = saved }
        do {
            return try b.body(Arguments(function: b.name, names: b.parameterNames, values: vals, span: span, call: hostCall))
        } catch {
            throw Ops.tensorError(error, span)
        }
    }

    /// Entry from Swift: API calls and built-ins calling back into Loupe code.
    func callFromHost(_ f: Value, _ args: [Value], _ keywords: [(String, Value)], span: SourceSpan?) throws -> Value {
        let top = st.pointee.top
        defer { st.pointee.top = top }
        let sp = span ?? SourceSpan(file: "<host>", line: 0, column: 0)
        return try call(f, args, keywords, span: sp, top: top)
    }
}

/// Matches call arguments to parameters, with the errors the spec asks for (naming the function and parameter).
enum Binder {
    static func bind(_ fn: FunctionValue, _ args: [Value], _ keywords: [(String, Value)], span: SourceSpan) throws -> [Value] {
        let params = fn.parameters
        var out = [Value?](repeating: nil, count: params.count)
        let positional = params.prefix { !$0.keywordOnly }.count
        if args.count > positional {
            let what = positional == 1 ? "1 argument" : "\(positional) arguments"
            let extra = params.count > positional ? " positionally" : ""
            throw LoupeError(.type, "\(fn.name): takes \(what)\(extra), got \(args.count)", at: span)
        }
        for (i, v) in args.enumerated() { out[i] = v }
        for (k, v) in keywords {
            guard let i = params.firstIndex(where: { $0.name == k }) else {
                let hint = Suggest.nearest(k, in: Set(params.map(\.name))).map { " (did you mean '\($0)'?)" } ?? ""
                throw LoupeError(.type, "\(fn.name): unknown argument '\(k)'\(hint)", at: span)
            }
            if out[i] != nil { throw LoupeError(.type, "\(fn.name): argument '\(k)' given twice", at: span) }
            out[i] = v
        }
        var result: [Value] = []
        result.reserveCapacity(params.count)
        let typed = fn is Builtin
        for (i, p) in params.enumerated() {
            guard let v = out[i] ?? p.defaultValue else {
                throw LoupeError(.type, "\(fn.name): missing argument '\(p.name)'", at: span)
            }
            if typed, let t = p.type, out[i] != nil {
                guard let c = convert(v, to: t) else {
                    throw LoupeError(.type, "\(fn.name): argument '\(p.name)' must be \(t), got \(v.typeName)", at: span)
                }
                result.append(c)
            } else {
                result.append(v)
            }
        }
        return result
    }

    static func variadic(_ b: Builtin, _ args: [Value], _ keywords: [(String, Value)], span: SourceSpan) throws -> [Value] {
        if let (k, _) = keywords.first { throw LoupeError(.type, "\(b.name): unknown argument '\(k)'", at: span) }
        return args
    }

    /// The value as the declared type wants it (ints widen to floats, ranges become lists), or nil if it is not one.
    static func convert(_ v: Value, to t: ValueType) -> Value? {
        switch (t, v) {
        case (.any, _): return v
        case (.bool, .bool), (.int, .int), (.float, .float), (.string, .string), (.list, .list), (.record, .record),
             (.tensor, .tensor), (.function, .function):
            return v
        case let (.float, .int(i)): return .float(Double(i))
        case (.number, .int), (.number, .float): return v
        case let (.list, .range(r)): return .list((0..<r.count).map { .int(r[$0]) })
        case let (.object(name), .object(o)): return o.typeName == name ? v : nil
        case (.tensorLike, .tensor), (.tensorLike, .list), (.tensorLike, .int), (.tensorLike, .float): return v
        case let (.tensorLike, .range(r)): return .list((0..<r.count).map { .int(r[$0]) })
        case (.optional, .nil): return v
        case let (.optional(inner), _): return convert(v, to: inner)
        case let (.oneOf(ts), _):
            for t in ts { if let c = convert(v, to: t) { return c } }
            return nil
        default: return nil
        }
    }
}
