import CBLAS

/// OpenBLAS as Loupe uses it: opened on first use with the core type chosen for this CPU (see CBLAS.h).
public enum BLAS {
    /// Opens OpenBLAS if it is not open yet. Throws if the library is missing.
    public static func ensureLoaded() throws {
        if loaded { return }
        var buf = [CChar](repeating: 0, count: 512)
        if loupe_blas_load(&buf, buf.count) != 0 {
            throw TensorError.blasUnavailable(String(cString: buf))
        }
        loaded = true
    }
    nonisolated(unsafe) private static var loaded = false

    /// The kernel set OpenBLAS is running ("Haswell", "Zen", "SkylakeX", ...; never "Prescott" on AVX2 CPUs).
    public static var coreName: String { (try? ensureLoaded()) == nil ? "unavailable" : String(cString: loupe_blas_corename()) }
    /// The value Loupe set for OPENBLAS_CORETYPE ("" when the user set it, or the CPU has no AVX2).
    public static var coreTypeChosen: String { String(cString: loupe_blas_coretype_chosen()) }
    /// Which shared library was opened.
    public static var library: String { String(cString: loupe_blas_library()) }
    public static var threads: Int {
        get { (try? ensureLoaded()) == nil ? 0 : Int(loupe_blas_get_threads()) }
        set { if (try? ensureLoaded()) != nil { loupe_blas_set_threads(Int32(newValue)) } }
    }

    /// C = alpha * op(A) op(B) + beta * C, row-major. A is m x k after op, B is k x n after op.
    @inline(__always)
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        loupe_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
}
