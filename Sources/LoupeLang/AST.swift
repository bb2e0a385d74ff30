/// The syntax tree. Nodes are classes so that the resolver can annotate them in place (slots, globals) for the
/// compiler; every node keeps the span users will see in messages.

class Node {
    let span: SourceSpan
    init(_ span: SourceSpan) { self.span = span }
}

// MARK: Expressions

class Expr: Node {}

final class IntLit: Expr { let value: Int; init(_ v: Int, _ s: SourceSpan) { value = v; super.init(s) } }
final class FloatLit: Expr { let value: Double; init(_ v: Double, _ s: SourceSpan) { value = v; super.init(s) } }
final class StringLit: Expr { let value: String; init(_ v: String, _ s: SourceSpan) { value = v; super.init(s) } }
final class BoolLit: Expr { let value: Bool; init(_ v: Bool, _ s: SourceSpan) { value = v; super.init(s) } }
final class NilLit: Expr {}

enum FPart {
    case text(String)
    case expr(Expr, spec: String?)
}
final class FStringExpr: Expr { let parts: [FPart]; init(_ p: [FPart], _ s: SourceSpan) { parts = p; super.init(s) } }

/// Where a name lives, decided by the resolver.
enum NameRef {
    case unresolved
    /// A slot of the current frame (locals, parameters, and captured values, which are copied into the frame).
    case local(Int)
    /// A value captured from an enclosing function: the slot is decided once the function's locals are counted.
    case capture(Int)
    case global(GlobalBox)
    case builtin(Value)
}

final class NameExpr: Expr {
    let name: String
    var ref: NameRef = .unresolved
    init(_ n: String, _ s: SourceSpan) { name = n; super.init(s) }
}

final class ListExpr: Expr { let items: [Expr]; init(_ i: [Expr], _ s: SourceSpan) { items = i; super.init(s) } }
final class RecordExpr: Expr {
    let keys: [String]; let values: [Expr]
    init(_ k: [String], _ v: [Expr], _ s: SourceSpan) { keys = k; values = v; super.init(s) }
}

enum UnaryOp { case neg, plus, not }
final class UnaryExpr: Expr {
    let op: UnaryOp; let operand: Expr
    init(_ op: UnaryOp, _ e: Expr, _ s: SourceSpan) { self.op = op; operand = e; super.init(s) }
}

enum BinaryOp: String {
    case add = "+", sub = "-", mul = "*", div = "/", floorDiv = "//", mod = "%", pow = "**", matmul = "@"
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", `in` = "in"
}
final class BinaryExpr: Expr {
    let op: BinaryOp; let lhs: Expr; let rhs: Expr
    /// The operator's own span, where errors point.
    let opSpan: SourceSpan
    init(_ op: BinaryOp, _ l: Expr, _ r: Expr, _ opSpan: SourceSpan) {
        self.op = op; lhs = l; rhs = r; self.opSpan = opSpan; super.init(opSpan)
    }
}
final class LogicalExpr: Expr {
    let isAnd: Bool; let lhs: Expr; let rhs: Expr
    init(_ a: Bool, _ l: Expr, _ r: Expr, _ s: SourceSpan) { isAnd = a; lhs = l; rhs = r; super.init(s) }
}
final class RangeExpr: Expr {
    let start: Expr; let end: Expr; let step: Expr?
    init(_ a: Expr, _ b: Expr, _ c: Expr?, _ s: SourceSpan) { start = a; end = b; step = c; super.init(s) }
}

struct KeywordArg { let name: String; let value: Expr; let span: SourceSpan }
final class CallExpr: Expr {
    let callee: Expr; var args: [Expr]; let keywords: [KeywordArg]
    init(_ c: Expr, _ a: [Expr], _ k: [KeywordArg], _ s: SourceSpan) { callee = c; args = a; keywords = k; super.init(s) }
}

enum Subscript {
    case index(Expr)
    case slice(Expr?, Expr?, Expr?)
    case ellipsis
    case newAxis
}
final class IndexExpr: Expr {
    let target: Expr; let subscripts: [Subscript]
    init(_ t: Expr, _ s: [Subscript], _ sp: SourceSpan) { target = t; subscripts = s; super.init(sp) }
}
final class MemberExpr: Expr {
    let target: Expr; let name: String
    init(_ t: Expr, _ n: String, _ s: SourceSpan) { target = t; name = n; super.init(s) }
}

struct ParamDecl { let name: String; let defaultValue: Expr?; let span: SourceSpan }

/// A function literal or declaration body, with what the resolver learns about it.
final class FunctionExpr: Expr {
    let name: String
    let params: [ParamDecl]
    let body: Expr
    /// Filled in by the resolver: frame slots used by locals (parameters first), and for each captured value the
    /// slot it comes from in the enclosing frame.
    var localCount = 0
    var captureSourcesRefs: [NameRef] = []
    init(_ n: String, _ p: [ParamDecl], _ b: Expr, _ s: SourceSpan) { name = n; params = p; body = b; super.init(s) }
}

final class BlockExpr: Expr { let statements: [Stmt]; init(_ st: [Stmt], _ s: SourceSpan) { statements = st; super.init(s) } }
final class IfExpr: Expr {
    let cond: Expr; let then: BlockExpr; let otherwise: Expr?
    init(_ c: Expr, _ t: BlockExpr, _ e: Expr?, _ s: SourceSpan) { cond = c; then = t; otherwise = e; super.init(s) }
}

/// A binding target: a name, `[a, b]` or `{x, y}`.
enum Pattern {
    case name(String, SourceSpan)
    case list([(String, SourceSpan)], SourceSpan)
    case record([(String, SourceSpan)], SourceSpan)

    var names: [(String, SourceSpan)] {
        switch self {
        case let .name(n, s): return [(n, s)]
        case let .list(ns, _), let .record(ns, _): return ns
        }
    }
}

final class ForExpr: Expr {
    let pattern: Pattern; let iterable: Expr; let body: BlockExpr
    var targets: [NameRef] = []
    init(_ p: Pattern, _ i: Expr, _ b: BlockExpr, _ s: SourceSpan) { pattern = p; iterable = i; body = b; super.init(s) }
}
final class WhileExpr: Expr {
    let cond: Expr; let body: BlockExpr
    init(_ c: Expr, _ b: BlockExpr, _ s: SourceSpan) { cond = c; body = b; super.init(s) }
}
final class TryExpr: Expr {
    let body: BlockExpr; let name: String?; let handler: BlockExpr
    var target: NameRef = .unresolved
    init(_ b: BlockExpr, _ n: String?, _ h: BlockExpr, _ s: SourceSpan) { body = b; name = n; handler = h; super.init(s) }
}
final class BreakExpr: Expr {}
final class ContinueExpr: Expr {}
final class ReturnExpr: Expr { let value: Expr?; init(_ v: Expr?, _ s: SourceSpan) { value = v; super.init(s) } }

// MARK: Statements

class Stmt: Node {}

final class ExprStmt: Stmt { let expr: Expr; init(_ e: Expr) { expr = e; super.init(e.span) } }
final class LetStmt: Stmt {
    let pattern: Pattern; let value: Expr; let isVar: Bool
    var targets: [NameRef] = []
    init(_ p: Pattern, _ v: Expr, isVar: Bool, _ s: SourceSpan) { pattern = p; value = v; self.isVar = isVar; super.init(s) }
}
enum AssignOp: String { case set = "=", add = "+=", sub = "-=", mul = "*=", div = "/=" }
final class AssignStmt: Stmt {
    let name: String; let op: AssignOp; let value: Expr; let nameSpan: SourceSpan; let opSpan: SourceSpan
    var target: NameRef = .unresolved
    init(_ n: String, _ op: AssignOp, _ v: Expr, nameSpan: SourceSpan, opSpan: SourceSpan) {
        name = n; self.op = op; value = v; self.nameSpan = nameSpan; self.opSpan = opSpan; super.init(nameSpan)
    }
}
final class FnStmt: Stmt {
    let name: String; let function: FunctionExpr; let nameSpan: SourceSpan
    var target: NameRef = .unresolved
    init(_ n: String, _ f: FunctionExpr, nameSpan: SourceSpan, _ s: SourceSpan) { name = n; function = f; self.nameSpan = nameSpan; super.init(s) }
}
final class ImportStmt: Stmt {
    let path: String; let alias: String?
    /// Resolved by the resolver: the absolute path, and the bindings it makes (name -> where).
    var resolvedPath = ""
    var bindings: [(String, NameRef)] = []
    init(_ p: String, _ a: String?, _ s: SourceSpan) { path = p; alias = a; super.init(s) }
}
