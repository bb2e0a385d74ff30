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
        // Damaged bytes are errors, never crashes: a tensor whose shape needs more bytes than are left, a string
        // length past the end, trailing bytes, an unknown tag.
        let tensor2 = try ValueCodec.encode(.tensor(try Tensor(shape: [2], data: [1, 2])))
        XCTAssertThrowsError(try ValueCodec.decode(tensor2.dropLast(1))) { e in
            XCTAssertEqual("\(e)", "stored value is damaged: tensor shape [2] does not fit in the 7 bytes left")
        }
        XCTAssertThrowsError(try ValueCodec.decode(try ValueCodec.encode(.string("abc")).dropLast(1)))
        XCTAssertThrowsError(try ValueCodec.decode(try ValueCodec.encode(.int(1)) + Data([0])))
        XCTAssertThrowsError(try ValueCodec.decode(Data([42]))) { e in
            XCTAssertEqual("\(e)", "stored value is damaged: unknown tag 42 at byte 0")
        }
        XCTAssertThrowsError(try ValueCodec.encode(.list([.int(1), .function(Builtin(name: "f", parameters: [], doc: "") { _ in .nil })]), path: "xs")) { e in
            XCTAssertEqual("\(e)", "xs[1] is a function, which cannot be stored")
        }
    }

    /// Every kind of value through a side file (inline limit 0, so nothing stays in the JSON): stored, looked up
    /// (only the JSON is read), loaded and checked, and bit-identical to what was stored.
    func testSideFilesRoundTripEveryValueKind() throws {
        let dir = try Fixture.tempDir() + "/.x.nb.cache"
        let cache = CellCache(directory: dir)
        cache.inlineLimit = 0
        let t = try Tensor(shape: [2, 3], data: [0, -0.0, .nan, .infinity, Float.leastNonzeroMagnitude, -1e-30])
        let values: [Value] = [
            .nil, .bool(false), .int(Int.min), .float(-0.0), .float(.nan), .string("é\n\"q\""),
            .list([.int(1), .list([]), .float(0.1)]), .record(Record(keys: ["b", "a"], values: [.float(2.5), .string("x")])),
            .range(RangeValue(start: 10, end: -3, step: -4)), .tensor(t), .tensor(try Tensor(shape: [], data: [3])),
            .tensor(try Tensor(shape: [0, 2], data: [])),
            .error(ErrorValue(LoupeError(.index, "out of range", at: SourceSpan(file: "f", line: 2, column: 3, length: 4)))),
        ]
        let encoded = try values.map { try ValueCodec.encode($0) }
        let key = String(repeating: "ab", count: 32)
        try cache.store(CacheEntry(key: key, cell: "c", output: "", value: .bytes(encoded[9]),
                                   bindings: encoded.enumerated().map { ("v\($0)", .bytes($1), SHA256.hex($1)) },
                                   modelFiles: [:], seconds: 1, created: Date()))
        guard case let .hit(entry) = cache.lookup(key) else { return XCTFail("no hit") }
        for ((b, original), bytes) in zip(zip(entry.bindings, values), encoded) {
            guard case .sideFile? = b.value else { return XCTFail("\(b.name) is not in a side file") }
            let back = try cache.load(b.value!, hash: b.hash)
            XCTAssertEqual(try ValueCodec.encode(back), bytes, original.repr)
            XCTAssertEqual(back.typeName, original.typeName)
        }
        guard case let .tensor(u)? = try entry.value.map({ try cache.load($0) }) else { return XCTFail() }
        XCTAssertEqual(u.shape, [2, 3])
        XCTAssertEqual(u.scalars.map(\.bitPattern), t.scalars.map(\.bitPattern))

        // The tensor's side file, byte by byte: header (magic, format 1, payload length, sha256 of the payload), then
        // tag 8, rank, the dims as int64 and the elements as little-endian float32.
        let file = try Data(contentsOf: URL(fileURLWithPath: dir + "/\(key).9.bin"))
        var expected = Data("LOUPEVAL".utf8) + le(UInt32(1)) + le(UInt32(0)) + le(UInt64(1 + 8 + 16 + 24))
        var payload = Data([8]) + le(UInt64(2)) + le(UInt64(2)) + le(UInt64(3))
        for x in t.scalars { payload += le(x.bitPattern) }
        var sha = SHA256()
        sha.update(payload)
        expected += Data(sha.finalize()) + payload
        XCTAssertEqual(file, expected)

        // A small value stays inline with the default limit; a tensor never does.
        cache.inlineLimit = 256
        try cache.store(CacheEntry(key: key, cell: "c", output: "", value: nil,
                                   bindings: [("i", .bytes(encoded[2]), ""), ("t", .bytes(encoded[10]), "")],
                                   modelFiles: [:], seconds: 1, created: Date()))
        guard case let .hit(small) = cache.lookup(key) else { return XCTFail("no hit") }
        guard case .bytes? = small.bindings[0].value, case .sideFile? = small.bindings[1].value else { return XCTFail() }
    }

    func le<T: FixedWidthInteger>(_ x: T) -> Data { withUnsafeBytes(of: x.littleEndian) { Data($0) } }

    /// The side file of a cell's binding, and the entry key of the cell named `cell`.
    func sideFile(_ run: NotebookRun, cell: String, binding: Int) throws -> String {
        let r = try XCTUnwrap(run.results.first { $0.cell.options.name == cell })
        return CellCache.directory(for: run.notebook.path) + "/" + (try XCTUnwrap(r.cacheKey)) + ".\(binding).bin"
    }

    func scalars(_ v: Value?) -> [UInt32] {
        guard case let .tensor(t)? = v else { XCTFail("not a tensor"); return [] }
        return t.scalars.map(\.bitPattern)
    }

    func testDamagedSideFilesAreCacheMisses() throws {
        let path = try Fixture.write(notebook)
        let cold = try run(path)
        let dataFile = try sideFile(cold, cell: "data", binding: 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dataFile))

        // Truncated: found when the entry is looked up (its size no longer matches); the cell recomputes, to the
        // same values, so the cells that use them stay cached.
        try bytes.prefix(bytes.count - 4).write(to: URL(fileURLWithPath: dataFile))
        let truncated = try run(path)
        XCTAssertEqual(statuses(truncated)["data"], .computed)
        XCTAssertEqual(truncated.results[0].cacheNote,
                       "cache entry was damaged (stored value is damaged: side file \((dataFile as NSString).lastPathComponent) has \(bytes.count - 4) bytes, not \(bytes.count)); recomputed")
        XCTAssertEqual(scalars(truncated.results[0].bindings[0].value), scalars(cold.results[0].bindings[0].value))
        XCTAssertEqual(statuses(truncated)["stats"], .cached)

        // Missing: the same.
        try FileManager.default.removeItem(atPath: dataFile)
        let missing = try run(path)
        XCTAssertEqual(statuses(missing)["data"], .computed)
        XCTAssertTrue(missing.results[0].cacheNote?.hasSuffix("is missing); recomputed") ?? false, missing.results[0].cacheNote ?? "")

        // One flipped bit in the payload: the size is right, so the rerun serves the cell without reading it...
        bytes = try Data(contentsOf: URL(fileURLWithPath: dataFile))
        bytes[bytes.count - 3] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: dataFile))
        XCTAssertEqual(statuses(try run(path))["data"], .cached)
        // ...until a computing cell needs the value: the checksum fails, and the cell recomputes before it.
        let needed = try run(path, overrides: [("k", "4")])
        XCTAssertEqual(statuses(needed)["data"], .computed)
        XCTAssertEqual(needed.results[0].cacheNote,
                       "cache entry was damaged (stored value is damaged: side file \((dataFile as NSString).lastPathComponent): checksum mismatch); recomputed")
        XCTAssertEqual(statuses(needed)["scaled"], .computed)
        XCTAssertEqual(scalars(needed.results[2].bindings[0].value), scalars(cold.results[0].bindings[0].value).map {
            (Float(bitPattern: $0) * 4).bitPattern
        })
        XCTAssertEqual(statuses(try run(path, overrides: [("k", "4")])).values.filter { $0 != .cached }, [], "stored again")

        // A damaged side file of a cell's value (read at lookup, the report shows it): recomputed at once.
        let stats = try XCTUnwrap(cold.results[1].cacheKey)
        let valueFile = CellCache.directory(for: path) + "/" + stats + ".value.bin"
        var v = try Data(contentsOf: URL(fileURLWithPath: valueFile))
        v[v.count - 1] ^= 0x01
        try v.write(to: URL(fileURLWithPath: valueFile))
        let warm = try run(path)
        XCTAssertEqual(statuses(warm)["stats"], .computed)
        XCTAssertEqual(warm.results[1].cacheNote,
                       "cache entry was damaged (stored value is damaged: side file \(stats).value.bin: checksum mismatch); recomputed")
        XCTAssertEqual(scalars(warm.results[1].value), scalars(cold.results[1].value))
    }

    func testCachedBindingsAreDecodedOnlyWhenAComputingCellUsesThem() throws {
        let path = try Fixture.write(notebook)
        let cold = try run(path)
        XCTAssertEqual(cold.decodedBindings, [])
        let warm = try run(path)
        XCTAssertEqual(Set(warm.results.map(\.status)), [.cached])
        XCTAssertEqual(warm.decodedBindings, [], "a fully cached rerun decodes no binding")
        XCTAssertFalse(warm.results.flatMap(\.boundValues).contains { $0.value.isLoaded })
        XCTAssertEqual(warm.results[1].value.map { scalars($0) }, cold.results[1].value.map { scalars($0) }, "values are shown")
        // A new k makes `scaled` compute: it reads `data` (and `params`, which is no cached binding), nothing else.
        let p = try run(path, overrides: [("k", "2")])
        XCTAssertEqual(statuses(p)["scaled"], .computed)
        XCTAssertEqual(p.decodedBindings, ["data"])
        XCTAssertTrue(p.results[0].boundValues[0].value.isLoaded)
        XCTAssertFalse(p.results[3].boundValues[0].value.isLoaded, "'other' is not used")
        // Reading a cached cell's bindings afterwards decodes them, exactly.
        XCTAssertEqual(p.results[3].bindings[0].value.repr, cold.results[3].bindings[0].value.repr)
        XCTAssertEqual(p.decodedBindings, ["data"], "the run's log is fixed when it ends")
    }

    /// The report files of a cached rerun show what the cold run showed: the same outputs, values and figures per
    /// cell, with the cells marked cached.
    func testCachedRerunWritesTheSameReport() throws {
        let path = try Fixture.write(notebook + """
            ```loupe name=figure caption="A figure"
            let fig = plot.line([1, 4, 9], title: "squares")
            ```

            """)
        var o = RunOptions()
        o.makeRegistry = LoupeLibrary.makeRegistry
        func manifest(_ out: String) throws -> [[String: Any]] {
            let runner = try NotebookRunner(notebook: try Notebook.load(path), options: o)
            try OutputWriter.write(runner.run(), interpreter: runner.interpreter, outDirectory: out)
            let data = try Data(contentsOf: URL(fileURLWithPath: out + "/" + (path as NSString).lastPathComponent.dropLast(3) + ".nb.out/manifest.json"))
            return try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["cells"] as? [[String: Any]])
        }
        let dir = (path as NSString).deletingLastPathComponent
        let cold = try manifest(dir + "/cold"), warm = try manifest(dir + "/warm")
        XCTAssertEqual(cold.count, 7)
        XCTAssertEqual(warm.map { $0["status"] as? String }, Array(repeating: "cached", count: 7))
        for (a, b) in zip(cold, warm) {
            XCTAssertEqual(a["status"] as? String, "computed")
            XCTAssertEqual(a["output"] as? String, b["output"] as? String)
            func json(_ v: Any?) throws -> String? {
                try v.map { String(decoding: try JSONSerialization.data(withJSONObject: [$0], options: [.sortedKeys]), as: UTF8.self) }
            }
            XCTAssertEqual(try json(a["value"]), try json(b["value"]), "\(a["id"] ?? "")")
            XCTAssertEqual(a["figures"] as? [String], b["figures"] as? [String])
        }
        XCTAssertNotNil(cold[1]["value"], "the stats cell shows its value")
        let figure = "/" + (path as NSString).lastPathComponent.dropLast(3) + ".nb.out/cell-7-fig-1.svg"
        XCTAssertEqual(try String(contentsOfFile: dir + "/cold" + figure, encoding: .utf8),
                       try String(contentsOfFile: dir + "/warm" + figure, encoding: .utf8))
        let html = try String(contentsOfFile: dir + "/warm/" + (path as NSString).lastPathComponent.dropLast(3) + ".html", encoding: .utf8)
        XCTAssertTrue(html.contains("made data"))
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
