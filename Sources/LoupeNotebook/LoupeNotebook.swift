import Foundation
import LoupeLang

/// LoupeNotebook: the .nb format (`Notebook`), its dependency graph (`DependencyGraph`), the cell cache
/// (`CellCache`), the runner (`NotebookRunner`), reports (`Report`, `OutputWriter`, `Exporter`) and snapshot tests
/// (`Snapshot`). docs/notebook.md describes the format and the rules.
public enum LoupeNotebook {
    /// Loads, checks and runs a notebook in one call. Throws NotebookError for a notebook that cannot run at all
    /// (bad format, bad params, a dependency cycle); cell errors are in the run's results.
    public static func run(path: String, options: RunOptions = RunOptions()) throws -> (NotebookRun, NotebookRunner) {
        let nb = try Notebook.load(path)
        let runner = try NotebookRunner(notebook: nb, options: options)
        return (runner.run(), runner)
    }
}
