import Foundation
import LoupeLang
import LoupeTensor

/// Writes what `loupe run FILE.nb` leaves behind: `DIR/NAME.html` and `DIR/NAME.nb.out/` with each figure as an
/// SVG file and `manifest.json` (per cell: status, seconds, cached, printed output, value, error, figure files).
public enum OutputWriter {
    /// Where the report and outputs of a run go.
    public struct Paths {
        public let html: String
        public let outDirectory: String
    }

    public static func paths(for notebook: Notebook, outDirectory: String?) -> Paths {
        let dir = outDirectory ?? {
            let d = (notebook.path as NSString).deletingLastPathComponent
            return d.isEmpty ? "." : d
        }()
        return Paths(html: dir + "/" + notebook.name + ".html", outDirectory: dir + "/" + notebook.name + ".nb.out")
    }

    @discardableResult
    public static func write(_ run: NotebookRun, interpreter: Interpreter, outDirectory: String?) throws -> Paths {
        let p = paths(for: run.notebook, outDirectory: outDirectory)
        let fm = FileManager.default
        // Old figures of an earlier run would look current: the folder is rewritten as a whole.
        if fm.fileExists(atPath: p.outDirectory) { try fm.removeItem(atPath: p.outDirectory) }
        try fm.createDirectory(atPath: p.outDirectory, withIntermediateDirectories: true)
        var cells: [[String: Any]] = []
        for r in run.results {
            var c: [String: Any] = [
                "index": r.cell.index, "line": r.cell.line, "id": r.cell.stableID, "status": r.status.rawValue,
                "seconds": r.seconds, "cached": r.status == .cached, "output": r.output,
            ]
            if let n = r.cell.options.name { c["name"] = n }
            if let v = r.value { c["value"] = SnapshotValue.json(v) }
            if let e = r.error { c["error"] = e }
            if let s = r.skipReason { c["skipped_because"] = s }
            if let n = r.notCachedBecause, r.status == .computed { c["not_cached_because"] = n }
            if !r.modelFiles.isEmpty { c["model_files"] = r.modelFiles }
            var figs: [String] = []
            for (k, f) in r.figures.enumerated() {
                let name = "cell-\(r.cell.index)-fig-\(k + 1).svg"
                try writeAtomically(Data(f.svg.utf8), to: p.outDirectory + "/" + name)
                figs.append(name)
            }
            if !figs.isEmpty { c["figures"] = figs }
            cells.append(c)
        }
        let manifest: [String: Any] = [
            "notebook": (run.notebook.path as NSString).lastPathComponent,
            "sha256": run.notebookHash, "seed": NSNumber(value: run.notebook.frontMatter.seed),
            "params": Dictionary(uniqueKeysWithValues: run.params.map { ($0.name, paramJSON($0.value)) }),
            "loupe_version": run.loupeVersion, "seconds": run.seconds,
            "started": UTCStamp.iso8601(run.started), "failed": run.failed, "cells": cells,
            "prose": run.prose.map { v -> [String: Any] in
                var p: [String: Any] = ["expression": v.expression.source, "line": v.expression.line]
                if let t = v.text { p["text"] = t }
                if let e = v.error { p["error"] = e }
                return p
            },
        ]
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try writeAtomically(data, to: p.outDirectory + "/manifest.json")
        try writeAtomically(Data(Report.html(run, interpreter: interpreter).utf8), to: p.html)
        return p
    }

    static func paramJSON(_ v: ParamValue) -> Any {
        switch v {
        case let .int(i): return i
        case let .float(d): return d
        case let .bool(b): return b
        case let .string(s): return s
        }
    }
}
