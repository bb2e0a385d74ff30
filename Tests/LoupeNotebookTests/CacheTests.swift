import Foundation
import LoupeLang
import LoupeLibrary
import LoupeTensor
import XCTest
@testable import LoupeNotebook

final class CacheTests: XCTestCase {
    /// Runs the notebook at `path` with the cache on (a registry with `load_model_file(path)`, which reports the
    /// file as a loaded model file the way model loaders do).
    func run(_ path: String, overrides: [(String, String)] = []) throws -> NotebookRun {
        var o = RunOptions()
        o.overrides = overrides.map { (name: $0.0, value: $0.1) }
        o.makeRegistry = {
            let r = LoupeLibrary.makeRegistry()
            r.register(nil, "load_model_file", [Parameter("path", .string)], doc: "test: reports a model file") { a in
                guard case let .string(p) = a[0] else { return .nil }
                HostHooks.recordFileLoaded(p)
                return .int((try? String(contentsOfFile: p, encoding: .utf8))?.count ?? -1)
            }
            return r
        }
        return try NotebookRunner(notebook: try Notebook.load(path), options: o).run()
    }

    func statuses(_ run: NotebookRun) -> [String: CellStatus] {
        Dictionary(uniqueKeysWithValues: run.results.map { ($0.cell.options.name ?? "\($0.cell.index)", $0.status) })
    }

    let notebook = """
        ---
        seed: 5
        params:
          k: 3
        ---
        ```loupe name=data
        let data = randn([64, 8])
        print("made data")
        ```
        ```loupe name=stats
        let col = mean(data, axis: 0)
        col
        ```
        ```loupe name=scaled
        let scaled = data * params.k
        ```
        ```loupe name=other
        let other = [1, 2.5, "x", {a: nil, b: true}, 0..10 by 3]
        ```
        ```loupe name=helper
        fn helper(x) { x + 1 }
        print("helper defined")
        ```
        ```loupe name=uses-helper
        let h = helper(41)
        ```

        """

    func testRerunIsServedFromTheCacheWithExactValues() throws {
        let path = try Fixture.write(notebook)
        let cold = try run(path)
        XCTAssertEqual(Set(cold.results.map(\.status)), [.computed])
        let warm = try run(path)
        // The cell binding a function has no stored values, only a display entry: it need not run, since the
        // one cell that uses it is cached.
        XCTAssertEqual(statuses(warm), ["data": .cached, "stats": .cached, "scaled": .cached, "other": .cached, "helper": .cached, "uses-helper": .cached])
        XCTAssertEqual(warm.results[4].output, "helper defined\n")
        XCTAssertEqual(warm.results[4].bindings.count, 0)
        XCTAssertEqual(warm.results[0].output, "made data\n")
        for (a, b) in zip(cold.results, warm.results) where b.status == .cached && !b.bindings.isEmpty {
            XCTAssertEqual(a.bindings.map(\.name), b.bindings.map(\.name))
            for (x, y) in zip(a.bindings, b.bindings) {
                if case let .tensor(tx) = x.value, case let .tensor(ty) = y.value {
                    XCTAssertEqual(tx.shape, ty.shape)
                    XCTAssertEqual(tx.scalars.map(\.bitPattern), ty.scalars.map(\.bitPattern))
                } else if case .function = x.value {
                } else {
                    XCTAssertEqual(x.value.repr, y.value.repr)
                }
            }
        }
        XCTAssertEqual(cold.results[4].notCachedBecause, "display entry only: 'helper' is a function, which cannot be stored")
        XCTAssertEqual(warm.results[5].bindings.map(\.value.repr), ["42"])

        // Once a cell that uses it must compute, the display-only cell runs first, then that cell.
        try notebook.replacingOccurrences(of: "helper(41)", with: "helper(1)").write(toFile: path, atomically: true, encoding: .utf8)
        let edited = try run(path)
        XCTAssertEqual(statuses(edited)["helper"], .computed)
        XCTAssertEqual(edited.results[4].cacheNote, "ran again because cell 'uses-helper' (line 24) needed its names")
        XCTAssertEqual(statuses(edited)["uses-helper"], .computed)
        XCTAssertEqual(edited.results[5].bindings.map(\.value.repr), ["2"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: CellCache.directory(for: path)))
    }

    func testChangesRecomputeExactlyTheAffectedCells() throws {
        let path = try Fixture.write(notebook)
        _ = try run(path)
        // A param change reruns the cell that reads params; a value that did not change keeps its dependents cached.
        let p = try run(path, overrides: [("k", "4")])
        XCTAssertEqual(statuses(p)["scaled"], .computed)
        XCTAssertEqual(statuses(p)["data"], .cached)
        XCTAssertEqual(statuses(p)["stats"], .cached)
        // Editing the first cell reruns it and every cell that uses its value.
        try notebook.replacingOccurrences(of: "randn([64, 8])", with: "randn([64, 8]) + 1")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let e = try run(path)
        XCTAssertEqual(statuses(e)["data"], .computed)
        XCTAssertEqual(statuses(e)["stats"], .computed)
        XCTAssertEqual(statuses(e)["scaled"], .computed)
        XCTAssertEqual(statuses(e)["other"], .cached)
    }

    func testCorruptEntryIsDetectedAndRecomputed() throws {
        let path = try Fixture.write(notebook)
        let cold = try run(path)
        let key = try XCTUnwrap(cold.results[1].cacheKey)
        let file = CellCache.directory(for: path) + "/" + key + ".json"
        var data = try Data(contentsOf: URL(fileURLWithPath: file))
        data[data.count - 5] ^= 0x01
        try data.write(to: URL(fileURLWithPath: file))
        let warm = try run(path)
        XCTAssertEqual(warm.results[1].status, .computed)
        XCTAssertEqual(warm.results[1].cacheNote, "cache entry was damaged (stored value is damaged: checksum mismatch); recomputed")
        XCTAssertEqual(warm.results[0].status, .cached)
        XCTAssertEqual(try run(path).results[1].status, .cached, "the recomputed entry was stored again")
        // A truncated file is damaged too.
        try Data("abc".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(try run(path).results[1].status, .computed)
    }

    func testModelFilesAreHashedIntoEntriesAndChecked() throws {
        let dir = try Fixture.tempDir()
        let model = dir + "/weights.bin"
        try "abc".write(toFile: model, atomically: true, encoding: .utf8)
        let path = dir + "/m.nb"
        try "```loupe name=load\nlet size = load_model_file(\"\(model)\")\n```\n".write(toFile: path, atomically: true, encoding: .utf8)
        let cold = try run(path)
        // sha256("abc"), FIPS 180-2 appendix B.1.
        XCTAssertEqual(cold.results[0].modelFiles[model], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(try run(path).results[0].status, .cached)
        try "abcd".write(toFile: model, atomically: true, encoding: .utf8)
        let changed = try run(path)
        XCTAssertEqual(changed.results[0].status, .computed)
        XCTAssertEqual(changed.results[0].cacheNote, "cache entry out of date (a model file changed); recomputed")
        XCTAssertEqual(changed.results[0].bindings[0].value.repr, "4")
    }

    /// A second process (a new FileHasher over the same files.json) must reuse the remembered hash while size and
    /// modification time are unchanged: the proof is a file whose bytes changed behind the hasher's back (same size,
    /// mtime put back) still reporting the remembered hash, and a touched file being hashed afresh.
    func testFileHashesAreRememberedAcrossRuns() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-hasher-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("weights.bin")
        try Data("abc".utf8).write(to: file)
        // A fixed modification time with a fractional part (as real files have), set the same way both times so
        // that the two reads agree whatever the precision of utimes.
        let mtime = Date(timeIntervalSince1970: 1_700_000_000.123456)
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: file.path)
        let first = FileHasher(cacheDirectory: dir.path)
        let h1 = try first.sha256(file.path)
        XCTAssertEqual(h1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        first.save()
        try Data("abd".utf8).write(to: file)
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: file.path)
        XCTAssertEqual(try FileHasher(cacheDirectory: dir.path).sha256(file.path), h1, "the remembered hash was not reused")
        try FileManager.default.setAttributes([.modificationDate: mtime.addingTimeInterval(1)], ofItemAtPath: file.path)
        XCTAssertNotEqual(try FileHasher(cacheDirectory: dir.path).sha256(file.path), h1)
    }

    func testNoCacheAndCacheFalse() throws {
        let path = try Fixture.write("```loupe name=a\nlet a = 1\n```\n```loupe name=b cache=false\nlet b = 2\n```\n")
        _ = try run(path)
        let warm = try run(path)
        XCTAssertEqual(warm.results.map(\.status), [.cached, .computed])
        XCTAssertEqual(warm.results[1].notCachedBecause, "cache=false")
        var o = RunOptions()
        o.useCache = false
        let off = try NotebookRunner(notebook: try Notebook.load(path), options: o).run()
        XCTAssertEqual(off.results.map(\.status), [.computed, .computed])
        let cache = CellCache(directory: CellCache.directory(for: path))
        XCTAssertEqual(cache.list().count, 1)
        XCTAssertEqual(try cache.clear(), 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.directory))
    }

    func testValueCodecIsExact() throws {
        let t = try Tensor(shape: [2, 3], data: [0, -0.0, .nan, .infinity, Float.leastNonzeroMagnitude, 1e-30])
        let values: [Value] = [
            .nil, .bool(true), .int(Int.max), .int(Int.min), .float(-0.0), .float(.nan), .float(5e-324), .float(0.1),
            .string("é\n\"q\""), .list([.int(1), .list([])]), .range(RangeValue(start: 10, end: -3, step: -4)),
            .record(Record(keys: ["b", "a"], values: [.float(2.5), .string("x")])), .tensor(t),
            .tensor(try Tensor(shape: [], data: [3])), .tensor(try Tensor(shape: [0, 2], data: [])),
            .error(ErrorValue(LoupeError(.index, "out of range", at: SourceSpan(file: "f", line: 2, column: 3, length: 4)))),
        ]
        for v in values {
            let back = try ValueCodec.decode(try ValueCodec.encode(v))
            XCTAssertEqual(try ValueCodec.encode(back), try ValueCodec.encode(v), v.repr)
            XCTAssertEqual(back.typeName, v.typeName)
        }
        guard case let .tensor(u) = try ValueCodec.decode(try ValueCodec.encode(.tensor(t))) else { return XCTFail() }
        XCTAssertEqual(u.scalars.map(\.bitPattern), t.scalars.map(\.bitPattern))
        guard case let .float(z) = try ValueCodec.decode(try ValueCodec.encode(.float(-0.0))) else { return XCTFail() }
        XCTAssertEqual(z.bitPattern, (-0.0).bitPattern)
        XCTAssertThrowsError(try ValueCodec.decode(Data("[[\"t\", [2], \"AAAA\"]]".utf8)))
        XCTAssertThrowsError(try ValueCodec.encode(.list([.int(1), .function(Builtin(name: "f", parameters: [], doc: "") { _ in .nil })]), path: "xs")) { e in
            XCTAssertEqual("\(e)", "xs[1] is a function, which cannot be stored")
        }
    }

    /// sha256 against Python's hashlib (Tests/Fixtures/make_notebook_fixtures.py).
    func testSHA256MatchesHashlib() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("sha256_vectors.json")))
        let vectors = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: String]])
        XCTAssertGreaterThanOrEqual(vectors.count, 5)
        for v in vectors {
            let input = try XCTUnwrap(Data(base64Encoded: v["input_base64"]!))
            XCTAssertEqual(SHA256.hex(input), v["sha256"], "length \(input.count)")
            // Fed in uneven pieces, the digest is the same.
            var s = SHA256()
            var i = 0, step = 1
            while i < input.count { let j = min(input.count, i + step); s.update(input[i..<j]); i = j; step = step * 3 % 97 + 1 }
            XCTAssertEqual(s.finalize().map { String(format: "%02x", $0) }.joined(), v["sha256"])
        }
    }
}
