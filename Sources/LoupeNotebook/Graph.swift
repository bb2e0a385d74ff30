import Foundation
import LoupeLang

/// What each cell defines and uses, and the order cells run in: found statically, before anything runs.
public struct DependencyGraph {
    /// Top-level names each cell defines (by cell position in `Notebook.cells`).
    public let definitions: [[Definition]]
    /// Names defined by other cells that each cell reads, sorted.
    public let uses: [[String]]
    /// For each cell, the cells it depends on (positions), sorted.
    public let dependencies: [[Int]]
    /// Which cell defines each name.
    public let definer: [String: Int]
    /// Cell positions in run order: dependencies first, otherwise source order.
    public let order: [Int]
    /// Errors found in a cell's code before running (syntax, undefined names): that cell fails when its turn comes.
    public let cellErrors: [Int: LoupeError]

    /// The name the front matter's params record has in cells.
    public static let paramsName = "params"

    /// Analyses `cells`. Throws a NotebookError for a name defined in two cells, a cell that assigns a name
    /// another cell defines, or a dependency cycle. `padded(i)` is cell i's code as the interpreter sees it.
    public static func build(_ notebook: Notebook, interpreter: Interpreter,
                             padded: (Int) -> String) throws -> DependencyGraph {
        let cells = notebook.cells
        let file = notebook.path
        var definitions: [[Definition]] = []
        var cellErrors: [Int: LoupeError] = [:]
        var definer: [String: Int] = [:]
        for (i, cell) in cells.enumerated() {
            var defs: [Definition] = []
            do { defs = try interpreter.definitions(in: padded(i), file: file) } catch let e as LoupeError {
                cellErrors[i] = e
            }
            definitions.append(defs)
            for d in defs {
                if d.name == paramsName {
                    throw NotebookError(.dependency, "\(cell.label) defines '\(paramsName)', the name of the notebook's params record; choose another name",
                                        file: file, line: d.span.line, column: d.span.column)
                }
                if let other = definer[d.name], other != i {
                    throw NotebookError(.dependency, "'\(d.name)' is defined in \(cells[other].label) and again in \(cell.label); define each name in one cell only",
                                        file: file, line: d.span.line, column: d.span.column)
                }
                definer[d.name] = i
            }
        }
        var uses: [[String]] = []
        var deps: [[Int]] = []
        for (i, cell) in cells.enumerated() {
            if cellErrors[i] != nil { uses.append([]); deps.append([]); continue }
            var external: [String: DefinitionKind] = [paramsName: .let]
            for (j, defs) in definitions.enumerated() where j != i {
                for d in defs { external[d.name] = d.kind }
            }
            let a = try interpreter.analyze(padded(i), file: file, external: external)
            if let first = a.errors.first { cellErrors[i] = first }
            if let (name, span) = a.assignments.first, let owner = definer[name] {
                throw NotebookError(.dependency, "\(cell.label) assigns to '\(name)', which \(cells[owner].label) defines; change a name only in the cell that defines it",
                                    file: file, line: span.line, column: span.column)
            }
            uses.append(a.uses)
            deps.append(Set(a.uses.compactMap { definer[$0] }).sorted())
        }
        let order = try topologicalOrder(cells, deps: deps, uses: uses, definer: definer, file: file)
        return DependencyGraph(definitions: definitions, uses: uses, dependencies: deps, definer: definer,
                               order: order, cellErrors: cellErrors)
    }

    /// Kahn's algorithm, always taking the ready cell that comes first in the file, so independent cells keep
    /// their source order.
    static func topologicalOrder(_ cells: [Cell], deps: [[Int]], uses: [[String]], definer: [String: Int],
                                 file: String) throws -> [Int] {
        let n = cells.count
        var remaining = deps.map { Set($0) }
        var dependents = [[Int]](repeating: [], count: n)
        for (i, ds) in deps.enumerated() { for d in ds { dependents[d].append(i) } }
        var done = [Bool](repeating: false, count: n)
        var order: [Int] = []
        var ready = (0..<n).filter { remaining[$0].isEmpty }
        while !ready.isEmpty {
            let i = ready.min()!
            ready.removeAll { $0 == i }
            order.append(i)
            done[i] = true
            for d in dependents[i] {
                remaining[d].remove(i)
                if remaining[d].isEmpty, !done[d], !ready.contains(d) { ready.append(d) }
            }
        }
        if order.count < n {
            // Walk from the first stuck cell along unfinished dependencies until a cell repeats: that is a cycle.
            var path: [Int] = []
            var at = (0..<n).first { !done[$0] }!
            while !path.contains(at) {
                path.append(at)
                at = remaining[at].sorted().first!
            }
            let cycle = Array(path[path.firstIndex(of: at)!...]) + [at]
            var steps: [String] = []
            for k in 0..<(cycle.count - 1) {
                let (a, b) = (cycle[k], cycle[k + 1])
                let name = uses[a].first { definer[$0] == b } ?? "?"
                steps.append("\(cells[a].label) uses '\(name)' from \(cells[b].label)")
            }
            throw NotebookError(.dependency, "dependency cycle: " + steps.joined(separator: ", ") + "",
                                file: file, line: cells[cycle[0]].line)
        }
        return order
    }
}
